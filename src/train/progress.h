// What a training run prints while it runs, and the numbers behind it: the seed article's loss line
// every print_freq steps of an epoch (with our throughput, data-wait share and time left after `|`),
// a progress bar between lines when stdout is a terminal, the end-of-epoch summary, and one warning
// when the loss sits at chance. Files are written by the caller (report/metrics.h) from the records
// this returns.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

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

}  // namespace alexnet
