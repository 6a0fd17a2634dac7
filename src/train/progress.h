// What a training run prints while it runs, and the numbers behind it: the seed article's loss line
// every print_freq steps of an epoch (with our throughput, data-wait share and time left after `|`),
// a progress bar between lines when stdout is a terminal, the end-of-epoch summary, and one warning
// when the loss sits at chance. Files are written by the caller (report/metrics.h) from the records
// this returns.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "report/metrics.h"
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
  explicit Progress(ProgressOptions options);

  // Accounts for one finished step. When it printed a line, returns the record of the interval: the
  // mean loss of the last print_freq steps (across epoch boundaries), throughput and time split.
  std::optional<report::StepRecord> step(const StepReport& r);
  // At the end of an epoch (after its last step()): prints and returns the epoch's training loss and
  // accuracy, and starts the next epoch's sums.
  report::EpochRecord end_epoch(const StepReport& last);

 private:
  ProgressOptions o_;
  bool tty_ = false, warned_stuck_ = false;
  std::deque<float> recent_;  // the last print_freq losses
  double window_start_, run_start_, window_compute_ = 0, window_wait_ = 0;
  int64_t window_samples_ = 0;
  double epoch_loss_ = 0;
  int64_t epoch_steps_ = 0, epoch_correct_ = 0, epoch_samples_ = 0;
};

// "1h2m", "3m7s", "12s"; "?" when unknown.
std::string format_duration(double seconds);

}  // namespace alexnet
