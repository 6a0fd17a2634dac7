// What a training run prints while it runs, and the numbers behind it: the seed article's loss line
// every print_freq steps of an epoch (with our throughput, data-wait share and time left after `|`),
// a progress bar with throughput and time left between lines when stdout is a terminal, the end-of-epoch summary, and one warning
// when the loss sits at chance. Files are written by the caller (report/metrics.h) from the records
// this returns.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "report/metrics.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace alexnet {

struct ProgressOptions {
  int64_t total_steps = 1, steps_per_epoch = 1, first_step = 0;
  int print_freq = 100;
  int num_classes = 2;   // chance loss is ln(num_classes)
  bool print = true;     // false on every process but the first
};

class Progress {
 public:
  // `epoch`: the sums of the steps of the first epoch done before (a resumed run).
  explicit Progress(ProgressOptions options, EpochSums epoch = {});

  // Accounts for one finished step. When it printed a line, returns the record of the interval: the
  // mean loss of the last print_freq steps (across epoch boundaries), throughput and time split.
  std::optional<report::StepRecord> step(const StepReport& r);
  // At the end of an epoch (after its last step()): prints and returns the epoch's training loss and
  // accuracy, and starts the next epoch's sums.
  report::EpochRecord end_epoch(const StepReport& last);
  const EpochSums& epoch_sums() const { return epoch_; }

 private:
  ProgressOptions o_;
  bool tty_ = false, warned_stuck_ = false;
  std::deque<float> recent_;  // the last print_freq losses
  double window_start_, run_start_, window_compute_ = 0, window_wait_ = 0;
  int64_t window_samples_ = 0;
  EpochSums epoch_;
};

// The lines of a run other than the loss lines: the plan, notes, validation results, how it ended.
// Results go to stdout, notes to stderr; on every process but the first, nothing.
class RunConsole {
 public:
  explicit RunConsole(bool print) : print_(print) {}
  bool prints() const { return print_; }
  void note(const std::string& text) const;
  void validation(int64_t epoch, const EvalResult& r, double best_top1) const;
  void weight_average(int64_t epoch, const EvalResult& r) const;
  void lr_reduced(float lr) const;
  void stopped(int sig, int64_t steps, const std::string& run_dir) const;

 private:
  bool print_;
};

// "1h2m", "3m7s", "12s"; "?" when unknown.
std::string format_duration(double seconds);

// `text` in lines of at most 100 columns (a longer word stays whole), starting at `column`; lines
// after the first are indented by `indent` spaces. For every note a run prints.
std::string wrap_columns(const std::string& text, size_t indent, size_t column = 0);
// The same for words given one by one (a word may hold spaces: "--lr 0.05" stays on one line).
std::string wrap_columns(const std::vector<std::string>& words, size_t indent, size_t column = 0);

// What one progress line or bar shows.
struct ProgressFigures {
  int64_t epoch = 0, step_in_epoch = 0;  // 0-based
  int64_t done_in_epoch = 0, steps_per_epoch = 1;
  double loss = 0, mean_loss = 0, lr = 0, img_s = 0;
  double wait_share = 0;   // of the interval's time, waiting for data (0 to 1)
  double eta_seconds = -1;  // negative: unknown
};
// The periodic line: the seed article's "Epoch [E], Step [S], Loss: L", then ours after `|`. At
// most 100 columns up to 999 epochs of 99999 steps, losses under 10, 99999 img/s and 99h59m left.
std::string format_step_line(const ProgressFigures& f);
// The live bar redrawn between lines on a terminal, as narrow.
std::string format_progress_bar(const ProgressFigures& f);

}  // namespace alexnet
