#include "train/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "backend/capabilities.h"
#include "core/error.h"
#include "model/net_spec.h"
#include "train/schedule.h"

namespace alexnet {

using nlohmann::json;

namespace {

std::vector<std::string> augment_presets() { return {"none", "seed", "standard", "paper"}; }

std::vector<std::string> init_schemes() {
  std::vector<std::string> s = init_scheme_names();
  s.insert(s.begin(), "auto");
  return s;
}

using C = TrainConfig;

// The settings, a row each (config.h). Data, read only after main() starts.
const std::vector<ConfigField> kConfigFields = {
  {.key = "model", .member = &C::model,
   .help = "Network: seed (the article's AlexNet, 224x224), paper (the 2012 paper's: groups=2 + LRN, 227x227), "
           "torchvision (torchvision.models.alexnet), cifar (small, 32x32)",
   .choices = net_variants},
  {.key = "num_classes", .member = &C::num_classes, .help = "Output classes (0 = the dataset's)", .min = 0, .max = 1000000},
  {.key = "width", .member = &C::width, .help = "Channel width multiplier (1 = the published network)", .min = 0.001, .max = 16},
  {.key = "hidden", .member = &C::hidden, .help = "Units of FC6 and FC7 (0 = the model's own)", .min = 0, .max = 65536},
  {.key = "input_size", .member = &C::input_size, .help = "Input width and height, square (0 = the model's own)", .min = 0, .max = 4096},
  {.key = "dropout", .member = &C::dropout, .help = "Dropout probability in the classifier (negative = 0.5)", .min = -1, .max = 0.99},
  {.key = "init_scheme", .member = &C::init_scheme,
   .help = "Random initialisation: auto (the model's own: paper for paper, else pytorch), pytorch (nn.Conv2d/"
           "nn.Linear's default), paper (N(0, 0.01), biases 1 as the 2012 paper), kaiming (He et al.: "
           "N(0, 2/fan_in), zero biases; no plateau at chance at the start of training)",
   .choices = init_schemes},
  {.key = "data", .member = &C::data,
   .help = "Training data: CIFAR-10/100 binary (folder or .tar.gz), an ImageFolder (folder, .tar, .tar.gz) or a "
           ".safetensors tensor dataset",
   .resumable = true},
  {.key = "augment", .member = &C::augment,
   .help = "Augmentation: none, seed (resize + normalise, as the article), standard (pad-4 crop + flip, or "
           "random-resized crop + flip), paper (256-resize, random crops, flips, PCA colour)",
   .choices = augment_presets},
  {.key = "color_jitter", .member = &C::color_jitter,
   .help = "Colour augmentation on top of the preset: brightness, contrast and saturation each scaled by a random "
           "factor in [1-x, 1+x], in a random order (torchvision's ColorJitter(x, x, x); 0 = off; on the CPU)",
   .min = 0, .max = 1},
  {.key = "resize_float", .member = &C::resize_float,
   .help = "Resize float tensor images of another size than the model's input (shorter side, centre crop) instead "
           "of refusing them",
   .resumable = true},
  {.key = "val_split", .member = &C::val_split,
   .help = "Hold out this fraction of the training data for validation (negative: the dataset's test split if it "
           "has one, else 0.1; 0: none)",
   .min = -1, .max = 0.9},
  {.key = "holdout", .member = &C::holdout,
   .help = "Set aside this fraction of the training data as a test set that training and validation never see "
           "(the same images whatever the seed); eval then measures on it",
   .min = 0, .max = 0.9},
  {.key = "workers", .member = &C::workers, .help = "Data loader threads", .min = 1, .max = 256, .resumable = true},
  {.key = "shuffle", .member = &C::shuffle,
   .help = "Visit samples in dataset order (batch s holds samples s*B .. s*B+B-1) instead of shuffling"},
  {.key = "batch_size", .member = &C::batch_size, .help = "Images per step (per process)", .min = 1, .max = 1 << 20},
  {.key = "lr", .member = &C::lr, .help = "Learning rate (the peak rate for onecycle)", .min = 0,
   .max = double(std::numeric_limits<float>::max()), .min_exclusive = true},
  {.key = "lr_scale_batch", .member = &C::lr_scale_batch,
   .help = "Linear scaling rule (Goyal et al.): the rate used is lr x (batch size x processes) / this; 0 = lr as "
           "given. With --lr 0.05 --lr-scale-batch 64, batch 256 trains at 0.2",
   .min = 0, .max = 1 << 20},
  {.key = "momentum", .member = &C::momentum, .help = "SGD momentum", .min = 0, .max = 1},
  {.key = "weight_decay", .member = &C::weight_decay, .help = "L2 weight decay (all parameters, as torch.optim.SGD)", .min = 0, .max = 1},
  {.key = "nesterov", .member = &C::nesterov, .help = "Nesterov momentum"},
  {.key = "label_smoothing", .member = &C::label_smoothing, .help = "Cross-entropy label smoothing", .min = 0, .max = 0.999},
  {.key = "ema", .member = &C::ema,
   .help = "Also keep an exponential moving average of the weights with this decay per step (e.g. 0.999; 0 = none): "
           "validated and saved as ema.safetensors beside the raw weights",
   .min = 0, .max = 0.99999},
  {.key = "epochs", .member = &C::epochs, .help = "Passes over the training data", .min = 1, .resumable = true},
  {.key = "steps", .member = &C::steps, .help = "Train exactly this many steps instead of the epochs (0 = by epochs)",
   .min = 0, .resumable = true},
  {.key = "schedule", .member = &C::schedule,
   .help = "Learning-rate schedule: constant, step, multistep, cosine, onecycle, plateau", .choices = LrSchedule::kinds},
  {.key = "warmup_epochs", .member = &C::warmup_epochs,
   .help = "Linear learning-rate warm-up, in epochs (fractions allowed)", .min = 0, .max = 1000},
  {.key = "milestones", .member = &C::milestones, .help = "multistep: epochs at which the rate is multiplied by gamma", .min = 0},
  {.key = "step_size", .member = &C::step_size, .help = "step: epochs between decays", .min = 1},
  {.key = "gamma", .member = &C::gamma, .help = "step/multistep: decay factor", .min = 0, .max = 1},
  {.key = "backend", .member = &C::backend},      // chosen from the device and precision
  {.key = "precision", .member = &C::precision},
  {.key = "seed", .member = &C::seed, .help = "Seed of initialisation, shuffling, dropout and augmentation"},
  {.key = "bucket_mb", .member = &C::bucket_mb,
   .help = "Data parallel: all-reduce the gradients in buckets of this many MiB while backward runs, the last "
           "layers' first (0: all at once after backward)",
   .min = 0, .max = 4096, .resumable = true},
  {.key = "collective_timeout", .member = &C::collective_timeout,
   .help = "Several processes: stop the run with an error (rank 0 saving a checkpoint of the last completed "
           "step) when an exchange between the processes waits this many seconds (a process, host or link died; "
           "keep it under Open MPI's own 3 to 8 minutes, which end the processes without a checkpoint); 0: wait "
           "forever",
   .min = 0, .max = 1e6, .resumable = true},
  {.key = "split", .member = &C::split,
   .help = "Model parallel: split every layer into this many columns, one process each, as the 2012 paper's two "
           "GPUs (mpirun -np 2 alexnet train --model paper --split 2); N processes train N/split data-parallel "
           "copies of the split model. CPU backends only",
   .min = 1, .max = 64, .resumable = true},
  {.key = "out", .member = &C::out, .help = "Run directory (default runs/<model>-<date-time>)"},
  {.key = "save", .member = &C::save, .help = "Also write the final weights to this file"},
  {.key = "init", .member = &C::init,
   .help = "Start from these weights (.safetensors); tensors whose shape differs (a classifier with another class "
           "count) are re-initialised, and the program says so"},
  {.key = "print_freq", .member = &C::print_freq, .help = "Print a progress line every this many steps", .min = 1,
   .resumable = true},
  {.key = "save_every", .member = &C::save_every,
   .help = "Also checkpoint every this many steps (0: at the end of each epoch only)", .min = 0},
  {.key = "eval_every", .member = &C::eval_every, .help = "Validate every this many epochs (0: never)", .min = 0},
  {.key = "report", .member = &C::report, .help = "Draw no pictures and no report.html at the end"},
  {.key = "world_size", .member = &C::world_size, .min = 1},  // recorded: the data-parallel processes that trained
  {.key = "threads", .member = &C::threads, .min = 0, .max = 65536},  // recorded: the CPU threads that computed
};

}  // namespace

const std::vector<ConfigField>& train_config_fields() { return kConfigFields; }

const ConfigField& train_config_field(const std::string& key) {
  for (const ConfigField& f : train_config_fields())
    if (key == f.key) return f;
  fail("no training setting named '", key, "'");
}

std::string ConfigField::accepted() const {
  if (choices) {
    const std::vector<std::string> c = choices();
    std::string s;
    for (size_t i = 0; i < c.size(); ++i) s += (i ? (i + 1 == c.size() ? " or " : ", ") : "") + c[i];
    return s;
  }
  if (min_exclusive) return max < kUnbounded ? cat("more than ", min, ", at most ", max) : cat("more than ", min);
  if (max < kUnbounded) return cat(min, " to ", max);
  if (min == 0) return "0 or more";
  return cat("at least ", min);
}

void copy_field(const ConfigField& field, const TrainConfig& from, TrainConfig& to) {
  std::visit([&](auto member) { to.*member = from.*member; }, field.member);
}

namespace {

// A float as the shortest decimal that reads back as the same float: 0.05f is stored as 0.05, not as
// its exact value 0.05000000074505806, so config.json and the report show settings as they were given
// (and reading the number back as a float gives the same bits).
double shortest_decimal(float v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf - 1, v);
  if (ec != std::errc()) return double(v);
  *end = 0;
  return std::strtod(buf, nullptr);
}

}  // namespace

std::string TrainConfig::to_json() const {
  json j = json::object();
  for (const ConfigField& f : train_config_fields()) {
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(this->*member)>;
          if constexpr (std::is_same_v<T, BackendKind>) j[f.key] = backend_name(this->*member);
          else if constexpr (std::is_same_v<T, Precision>) j[f.key] = precision_name(this->*member);
          else if constexpr (std::is_same_v<T, float>) j[f.key] = shortest_decimal(this->*member);
          else j[f.key] = this->*member;
        },
        f.member);
  }
  return j.dump(2);
}

namespace {

// One value of a stored config, converted only when it fits the field: a number that is out of the
// type's range, or a fraction for a whole-number field, is an error rather than a wrapped or
// undefined conversion. (The field's own range is validate()'s.)
template <typename T>
T config_value(const json& v, const char* key) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
    return v.get<T>();  // a json::type_error for anything else
  } else if constexpr (std::is_same_v<T, BackendKind>) {
    return parse_backend(v.get<std::string>());  // an unknown name is an error, never silently oneDNN
  } else if constexpr (std::is_same_v<T, Precision>) {
    return parse_precision(v.get<std::string>());
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) fail("training config: ", key, " is ", v.dump(), ", not a whole number");
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<T>::max())) fail("training config: ", key, " is ", v.dump(), ", out of range");
      return T(u);
    }
    const int64_t x = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (x < 0) fail("training config: ", key, " is ", v.dump(), ", out of range");
    } else {
      if (x < int64_t(std::numeric_limits<T>::min()) || x > int64_t(std::numeric_limits<T>::max()))
        fail("training config: ", key, " is ", v.dump(), ", out of range");
    }
    return T(x);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) fail("training config: ", key, " is ", v.dump(), ", not a number");
    const double d = v.get<double>();
    if (!(std::abs(d) <= double(std::numeric_limits<T>::max()))) fail("training config: ", key, " is ", v.dump(), ", out of range");
    return T(d);
  } else {  // std::vector<int>
    if (!v.is_array()) fail("training config: ", key, " is ", v.dump(), ", not a list");
    T out;
    for (const json& e : v) out.push_back(config_value<typename T::value_type>(e, key));
    return out;
  }
}

}  // namespace

void set_field(const ConfigField& field, TrainConfig& config, const std::string& text) {
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(config.*member)>;
        json v;
        try {
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, BackendKind> ||
                        std::is_same_v<T, Precision>)
            v = text;
          else if constexpr (std::is_same_v<T, std::vector<int>>)
            v = json::parse("[" + text + "]");
          else
            v = json::parse(text);
          config.*member = config_value<T>(v, field.key);
        } catch (const Error&) {
          throw;
        } catch (const std::exception&) {
          fail(field.key, ": '", text, "' is not a value of this setting");
        }
      },
      field.member);
}

const std::vector<Recipe>& train_recipes() {
  // Each is what its source trains with; how long to train (--epochs) is part of the recipe only
  // where the source fixes it.
  static const std::vector<Recipe> recipes = {
      {"seed", "the seed article's AlexNet: 224x224 by resizing, plain SGD, one epoch (the defaults)",
       {{"model", "seed"}, {"augment", "seed"}, {"batch_size", "64"}, {"lr", "0.01"}, {"momentum", "0.9"},
        {"weight_decay", "0"}, {"schedule", "constant"}, {"epochs", "1"}, {"print_freq", "100"}}},
      {"cifar-fast", "the demo's (scripts/demo.sh): the small AlexNet on 32x32 images, 84% on CIFAR-10 in 20 epochs; "
                     "20% held out as a test set (eval measures on it); choose the epochs",
       {{"model", "cifar"}, {"holdout", "0.2"}, {"val_split", "0"}, {"augment", "standard"}, {"batch_size", "64"},
        {"lr", "0.05"}, {"schedule", "onecycle"}, {"nesterov", "true"}, {"init_scheme", "kaiming"},
        {"label_smoothing", "0.2"}, {"weight_decay", "5e-4"}, {"dropout", "0.25"}, {"print_freq", "100"}}},
      {"paper", "the 2012 paper's ImageNet recipe: batch 128, momentum 0.9, weight decay 5e-4, lr 0.01 divided by "
                "10 when validation stops improving, about 90 epochs",
       {{"model", "paper"}, {"augment", "paper"}, {"init_scheme", "paper"}, {"batch_size", "128"}, {"lr", "0.01"},
        {"momentum", "0.9"}, {"weight_decay", "5e-4"}, {"schedule", "plateau"}, {"epochs", "90"}}},
      {"torchvision", "torchvision's reference for models.alexnet (references/classification): 256 images a step "
                      "(8 GPUs x 32), lr 0.01 divided by 10 every 30 epochs, 90 epochs",
       {{"model", "torchvision"}, {"augment", "standard"}, {"batch_size", "256"}, {"lr", "0.01"}, {"momentum", "0.9"},
        {"weight_decay", "1e-4"}, {"schedule", "step"}, {"step_size", "30"}, {"gamma", "0.1"}, {"epochs", "90"}}},
  };
  return recipes;
}

const Recipe& train_recipe(const std::string& name) {
  std::string names;
  for (const Recipe& r : train_recipes()) {
    if (name == r.name) return r;
    names += (names.empty() ? "" : ", ") + std::string(r.name);
  }
  fail("no recipe named '", name, "' (", names, ")");
}

TrainConfig TrainConfig::from_json(const std::string& text) {
  TrainConfig c;
  try {
    const json j = json::parse(text);
    if (!j.is_object()) fail("malformed training config (not a JSON object)");
    for (const ConfigField& f : train_config_fields()) {
      if (!j.contains(f.key)) continue;
      std::visit([&](auto member) { c.*member = config_value<std::decay_t<decltype(c.*member)>>(j.at(f.key), f.key); },
                 f.member);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("malformed training config (", e.what(), ")");
  }
  c.validate();
  return c;
}

void TrainConfig::validate() const {
  for (const ConfigField& f : train_config_fields()) {
    // Compared in the field's own type, so that a float field's 0.99f meets a limit of 0.99.
    auto in_range = [&](auto v) {
      using V = decltype(v);
      const double x = double(v);
      const double lo = std::is_floating_point_v<V> ? double(V(f.min)) : f.min;
      const double hi = std::is_floating_point_v<V> ? double(V(f.max)) : f.max;
      return (f.min_exclusive ? x > lo : x >= lo) && x <= hi;
    };
    std::visit(
        [&](auto member) {
          const auto& value = this->*member;
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (f.choices) {
              const std::vector<std::string> c = f.choices();
              if (std::find(c.begin(), c.end(), value) == c.end())
                fail("training config: ", f.key, " is '", value, "' (", f.accepted(), ")");
            }
          } else if constexpr (std::is_same_v<T, std::vector<int>>) {
            for (int v : value)
              if (!in_range(v)) fail("training config: ", f.key, " holds ", v, " (each ", f.accepted(), ")");
          } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
            if (!in_range(value)) fail("training config: ", f.key, " is ", value, " (", f.accepted(), ")");
          }
        },
        f.member);
  }
}

}  // namespace alexnet
