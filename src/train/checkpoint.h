// Checkpoints and run directories.
//
// A run directory (--out) holds:
//   last.safetensors, best.safetensors   weights under PyTorch's state_dict names; __metadata__ has
//                                        the model, classes, input size, normalisation, the config
//                                        and the step they were taken at (load_state_dict works as is)
//   state-<step>.safetensors             optimiser and loop state of last.safetensors: the momentum
//                                        buffer and the schedule's state; the step names the file
//   config.json, metrics.jsonl, metrics.csv, *.png, report.html
// Every file is written atomically (temporary file, fsync, rename). The state file is written before
// the weights that point at it and old state files are removed only after, so a run killed at any
// instant leaves a last.safetensors whose state file exists.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "data/transforms.h"
#include "model/net_spec.h"
#include "tensor/safetensors.h"
#include "train/schedule.h"
#include "train/trainer.h"

namespace alexnet {

// Everything needed to rebuild the network and its preprocessing from a weights file.
struct ModelInfo {
  std::string variant = "seed";
  NetOptions options;                  // num_classes, width, hidden, input_size, dropout
  std::vector<std::string> classes;    // class names (may be empty)
  std::vector<std::string> class_descriptions;  // human-readable names per class (ImageNet's), or empty
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f}, std{0.5f, 0.5f, 0.5f};
  std::string eval_preset = "seed";    // the preprocessing preset used for evaluation
  bool small_images = true;            // trained on small (CIFAR-like) images: pad-and-crop, not resize

  NetSpec spec() const { return make_net_spec(variant, options); }
  // The preprocessing of this model's input with `preset` (its normalisation, input size, image size).
  TransformConfig transform(const std::string& preset) const;
  std::map<std::string, std::string> metadata() const;
  // Reads the keys written by metadata(); throws alexnet::Error naming `path` when they are missing.
  static ModelInfo from_metadata(const std::map<std::string, std::string>& meta, const std::string& path);
};

struct LoopState {
  int64_t step = 0;        // steps completed
  double best_top1 = -1;   // best validation top-1 so far (-1: none yet)
  LrSchedule::State schedule;
  EpochSums epoch;         // of the epoch in progress
  std::string run_id;      // names the run: a state file of another run is refused
};

// A new run's id: 16 hexadecimal digits, different for every run.
std::string new_run_id();

// Writes weights (+ metadata incl. "step") to run_dir/<name>.safetensors atomically.
void save_weights_file(const std::string& path, const ParamTable& table, std::span<const float> params,
                       const ModelInfo& model, const std::string& config_json, int64_t step);

// Writes state-<step>.safetensors, then last.safetensors, then removes older state files. `ema`, when
// not empty, is the moving average of the weights (--ema): kept in the state file for resume.
void save_last_checkpoint(const std::string& run_dir, const ParamTable& table, std::span<const float> params,
                          std::span<const float> momentum, const ModelInfo& model, const std::string& config_json,
                          const LoopState& state, std::span<const float> ema = {});

struct ResumePoint {
  ModelInfo model;
  std::string config_json;
  LoopState state;
  std::vector<float> params, momentum;
  std::vector<float> ema;  // empty when the run keeps no moving average
};
// Reads run_dir/last.safetensors and its state file. Throws alexnet::Error with what is wrong (not a
// run directory, a truncated or corrupt file, a missing state file, a state file of another run or step).
ResumePoint load_last_checkpoint(const std::string& run_dir, const ParamTable* expect = nullptr);

}  // namespace alexnet
