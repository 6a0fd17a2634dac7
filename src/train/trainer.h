// The training loop: pulls batches, runs forward/backward/SGD on a Net, follows the schedule, and
// reports progress through a callback. Everything about files and the console lives elsewhere.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "backend/net.h"
#include "train/batch_source.h"
#include "train/schedule.h"

namespace alexnet {

class Communicator;
class DeviceAllReduce;

// Whether 0-based `step`, at `step_in_epoch` of its epoch, is the last of an epoch or of the run.
inline bool is_epoch_end(int64_t step, int64_t step_in_epoch, int64_t steps_per_epoch, int64_t total_steps) {
  return step_in_epoch + 1 == steps_per_epoch || step + 1 == total_steps;
}

// An epoch's running sums of the training loss and top-1 (the end-of-epoch summary), kept in the
// checkpoint so that a resumed epoch reports the figures of an uninterrupted one.
struct EpochSums {
  double loss = 0;  // sum of the steps' losses
  int64_t steps = 0, correct = 0, samples = 0;
};

struct StepReport {
  int64_t step = 0;        // global step just finished (0-based)
  int64_t epoch = 0;       // 0-based
  int64_t step_in_epoch = 0;
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  float loss = 0;          // this batch (over all processes: the global batch)
  float lr = 0;
  int correct = 0, samples = 0;   // top-1 on this batch (training mode; all processes)
  double compute_seconds = 0, wait_seconds = 0;
  double comm_seconds = 0;        // part of compute_seconds spent combining gradients across processes
  bool ends_epoch() const { return is_epoch_end(step, step_in_epoch, steps_per_epoch, total_steps); }
};

struct TrainLoopOptions {
  int batch_size = 64;
  int64_t total_steps = 1;
  int64_t start_step = 0;  // > 0 when resuming
  SgdOptions sgd;
  // Data parallelism: null or one process trains alone. Otherwise every process calls train_loop
  // with its own shard of the data (the source) and the same options; gradients are averaged over
  // all processes between backward() and sgd_step(), and the loss, accuracy and sample counts in
  // the reports are those of the global batch, so every process takes the same decisions.
  Communicator* comm = nullptr;
  // With several processes and device gradients (CUDA): average them in place on the device (NCCL)
  // instead of through host memory. Null: the host path.
  DeviceAllReduce* device_reduce = nullptr;
  // With several processes and host gradients: all-reduce them in buckets of at least this many floats
  // while backward runs (dist/gradient_allreduce.h); 0: all of them after backward.
  size_t bucket_floats = size_t(25) << 18;  // 25 MiB
};

// Runs steps [start_step, total_steps). `on_step` is called after every step; returning false stops
// the loop after that step (with several processes, every process must return the same). Throws alexnet::Error when the loss becomes NaN or infinite (parameters
// are then those of the last step that was still finite: the update of the bad step is not applied).
int64_t train_loop(Net& net, BatchSource& source, const LrSchedule& schedule, const TrainLoopOptions& options,
                   const std::function<bool(const StepReport&)>& on_step);

}  // namespace alexnet
