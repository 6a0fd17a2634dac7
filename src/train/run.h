// A whole training run as the `alexnet train` command and the C++ API perform it: data, network,
// schedule, the loop, progress lines, validation, checkpoints in a run directory, resume, signals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/net.h"
#include "train/checkpoint.h"

namespace alexnet {

class Communicator;

struct TrainConfig {
  // model
  std::string model = "seed";
  int num_classes = 0;           // 0: the dataset's number of classes
  double width = 1.0;
  int hidden = 0;
  int input_size = 0;            // 0: the variant's own
  float dropout = -1.f;
  // data
  std::string data;              // a path (any format open_dataset reads)
  std::string augment = "seed";  // none, seed, standard, paper
  bool resize_float = false;     // float tensor images of another size than the input: resize, not refuse
  double val_split = -1;         // <0: the dataset's own test/val split if it has one, else 0.1
  int workers = 2;               // loader threads
  bool shuffle = true;
  // optimisation
  int batch_size = 64;
  float lr = 0.01f, momentum = 0.9f, weight_decay = 0.f, label_smoothing = 0.f;
  bool nesterov = false;
  int epochs = 1;
  int64_t steps = 0;             // >0: exactly this many steps instead of epochs
  std::string schedule = "constant";
  float warmup_epochs = 0;
  std::vector<int> milestones{30, 60, 90};
  int step_size = 30;
  float gamma = 0.1f;
  // compute
  BackendKind backend = BackendKind::OneDNN;
  Precision precision = Precision::F32;
  uint64_t seed = 0;
  // output
  std::string out;               // run directory; empty: runs/<model>-<date-time>
  std::string save;              // also write the final weights here
  std::string init;              // start from these weights (fine-tuning)
  int print_freq = 100;
  int64_t save_every = 0;        // steps between checkpoints (0: every epoch only)
  int eval_every = 1;            // epochs between validations (0: never)
  bool report = true;            // pictures + report.html at the end
  // recorded, not chosen: the number of processes that trained (resume maps steps when it changes)
  int world_size = 1;

  std::string to_json() const;
  // Parses what to_json wrote (a checkpoint's "config" metadata, on --resume and eval) and checks
  // every value against the ranges `alexnet train` accepts for its flags (validate()).
  static TrainConfig from_json(const std::string& json);
  // Throws alexnet::Error naming the first value out of range.
  void validate() const;
};

struct TrainResult {
  std::string run_dir;
  int64_t steps = 0;
  double val_top1 = -1, val_top5 = -1, best_top1 = -1;
  int exit_code = 0;             // 0, or 130/143 when stopped by SIGINT/SIGTERM
};

// Runs (or, with resume_dir, continues) a training run. Throws alexnet::Error for bad input.
// With a communicator of several processes, every process calls this with the same config and
// trains data-parallel on its shard (docs/parallel.md); rank 0 alone prints and writes files. A
// process that throws must make the others stop (Communicator::abort).
TrainResult run_training(TrainConfig config, const std::string& resume_dir = "", Communicator* comm = nullptr);

// Where the data is: `flag` if given, else $ALEXNET_DATA, else ./data if it exists; empty if none.
std::string resolve_data_path(const std::string& flag);

}  // namespace alexnet
