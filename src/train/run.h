// A whole training run as the `alexnet train` command and the C++ API perform it: data, network,
// schedule, the loop, progress lines, validation, checkpoints in a run directory, resume, signals.
#pragma once

#include <cstdint>
#include <string>

#include "train/checkpoint.h"
#include "train/config.h"

namespace alexnet {

class Communicator;

struct TrainResult {
  std::string run_dir;
  int64_t steps = 0;
  double val_top1 = -1, val_top5 = -1, best_top1 = -1;
  double ema_top1 = -1;          // the moving average's last validation top-1 (--ema)
  int exit_code = 0;             // 0, or 130/143 when stopped by SIGINT/SIGTERM
};

// A run to continue: its directory, its last checkpoint and the config stored with it, read once.
struct ResumeFrom {
  std::string dir;
  ResumePoint point;
  TrainConfig config;
};
// Throws alexnet::Error when RUN_DIR is not a run directory or its checkpoint does not load.
ResumeFrom open_resume(const std::string& run_dir);

// Runs (or, with `resume`, continues) a training run with `config` (for a resumed run: the stored
// config with whatever the caller allows to change). Throws alexnet::Error for bad input. With a
// communicator of several processes, every process calls this with the same config and trains
// data-parallel on its shard (docs/parallel.md); rank 0 alone prints and writes files. A process that
// throws must make the others stop (Communicator::abort).
TrainResult run_training(TrainConfig config, const ResumeFrom* resume = nullptr, Communicator* comm = nullptr);

}  // namespace alexnet
