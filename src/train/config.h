// The settings of a training run, and the one table that describes them.
//
// Every setting is a field of TrainConfig and a row of train_config_fields(): its JSON key (in
// config.json and a checkpoint's "config" metadata), its help text, the values it accepts and whether
// a later `--resume` may change it. The command line builds its flags from the table, to_json and
// from_json write and read it, validate() checks it, and resume copies the resumable rows: a new
// setting is one field here and one row in config.cpp.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "backend/net.h"

namespace alexnet {

struct TrainConfig {
  // model
  std::string model = "seed";
  int num_classes = 0;           // 0: the dataset's number of classes
  double width = 1.0;
  int hidden = 0;                // 0: the variant's own
  int input_size = 0;            // 0: the variant's own
  float dropout = -1.f;          // <0: the variant's own (0.5)
  std::string init_scheme = "auto";  // auto: the variant's own; pytorch, paper, kaiming
  // data
  std::string data;              // a path (any format open_dataset reads)
  std::string augment = "seed";  // none, seed, standard, paper
  float color_jitter = 0.f;      // >0: ColorJitter(x, x, x) on top of the preset
  bool resize_float = false;     // float tensor images of another size than the input: resize, not refuse
  double val_split = -1;         // <0: the dataset's own test/val split if it has one, else 0.1
  double holdout = 0;            // >0: this fraction set aside as a test set, never trained or validated on
  int workers = 2;               // loader threads
  bool shuffle = true;
  // optimisation
  int batch_size = 64;
  float lr = 0.01f, momentum = 0.9f, weight_decay = 0.f, label_smoothing = 0.f;
  bool nesterov = false;
  int lr_scale_batch = 0;        // >0: linear scaling rule, lr * (batch * processes) / lr_scale_batch
  float ema = 0.f;               // >0: also keep an exponential moving average of the weights
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
  float bucket_mb = 25;          // data parallel: gradient all-reduce buckets (0: all after backward)
  double collective_timeout = 120;  // several processes: seconds a collective may wait before the run stops (0: forever)
  int split = 1;                 // model parallel: columns per model, one process each (dist/split_net.h)
  // output
  std::string out;               // run directory; empty: runs/<model>-<date-time>
  std::string save;              // also write the final weights here
  std::string init;              // start from these weights (fine-tuning)
  int print_freq = 100;
  int64_t save_every = 0;        // steps between checkpoints (0: every epoch only)
  int eval_every = 1;            // epochs between validations (0: never)
  bool report = true;            // pictures + report.html at the end
  // recorded, not chosen: the data-parallel processes (replicas of the model) that trained; resume
  // maps steps when it changes
  int world_size = 1;
  // recorded: the CPU threads that computed (0: not recorded); a resume takes the same number, so
  // that its steps are bitwise those of an uninterrupted run
  int threads = 0;

  std::string to_json() const;
  // Parses what to_json wrote (config.json, a checkpoint's "config" metadata) and validates it.
  // Keys it does not hold keep their defaults.
  static TrainConfig from_json(const std::string& json);
  // Throws alexnet::Error naming the first value out of its field's range.
  void validate() const;
};

// One row of the table.
struct ConfigField {
  using Member = std::variant<std::string TrainConfig::*, int TrainConfig::*, int64_t TrainConfig::*,
                              uint64_t TrainConfig::*, float TrainConfig::*, double TrainConfig::*,
                              bool TrainConfig::*, std::vector<int> TrainConfig::*, BackendKind TrainConfig::*,
                              Precision TrainConfig::*>;
  static constexpr double kUnbounded = std::numeric_limits<double>::infinity();

  const char* key;                 // JSON key; the flag is --key with '-' for '_'
  Member member;
  const char* help = nullptr;      // nullptr: no flag of its own (chosen another way, or only recorded)
  double min = -kUnbounded, max = kUnbounded;  // numbers (each element of a list): the accepted range, inclusive
  bool min_exclusive = false;      // ... or above min
  std::vector<std::string> (*choices)() = nullptr;  // strings: the accepted values
  bool resumable = false;          // may be changed when a run is resumed

  // "0 to 1", "more than 0", "at least 1", or the choices: what the field accepts, in words.
  std::string accepted() const;
};

const std::vector<ConfigField>& train_config_fields();
const ConfigField& train_config_field(const std::string& key);  // throws alexnet::Error for unknown keys

// Copies one field's value from `from` to `to`.
void copy_field(const ConfigField& field, const TrainConfig& from, TrainConfig& to);

// Sets one field from its text as on the command line ("0.05", "true", "cifar", "30,60,90"); throws
// alexnet::Error when the text is not a value of the field's type.
void set_field(const ConfigField& field, TrainConfig& config, const std::string& text);

// A named group of settings (`alexnet train --recipe NAME`): rows of the table and their values as
// text. Settings given beside a recipe win over it.
struct Recipe {
  const char* name;
  const char* source;  // where it comes from, one line
  std::vector<std::pair<const char*, const char*>> settings;  // (key of a row, value as text)
};
const std::vector<Recipe>& train_recipes();
const Recipe& train_recipe(const std::string& name);  // throws alexnet::Error naming the recipes

}  // namespace alexnet
