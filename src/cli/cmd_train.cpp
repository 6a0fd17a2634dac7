// alexnet train: SGD training of a variant on a dataset; the defaults are the seed article's recipe.
#include <cmath>
#include <cstring>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "model/weights.h"
#include "train/trainer.h"

namespace alexnet::cli {

namespace {

struct TrainFlags {
  ModelFlags model;
  DeviceFlags device;
  std::string data, init, save;
  int batch_size = 64;
  float lr = 0.01f, momentum = 0.9f, weight_decay = 0.f, label_smoothing = 0.f;
  bool nesterov = false;
  int64_t steps = 0;
  int epochs = 1;
  std::string augment = "seed";
  bool no_shuffle = false;
  uint64_t seed = 0;
  int print_freq = 100;
  std::string schedule = "constant";
  float warmup_epochs = 0;
};

// A tensor dataset: images F32 [N, 3, S, S] used as given, or U8 [N, S, S, 3] scaled to [0, 1] and
// normalised with mean = std = 0.5; labels I64 [N] in [0, classes).
std::unique_ptr<BatchSource> open_tensor_source(const TrainFlags& f, const NetSpec& spec) {
  const TensorFile file = read_safetensors(f.data);
  const Tensor& images = file.get("images");
  const Tensor& labels = file.get("labels");
  const int S = spec.input_size;
  Tensor x;
  if (images.dtype() == DType::F32 && images.ndim() == 4 && images.dim(1) == 3 && images.dim(2) == S && images.dim(3) == S) {
    x = images;
  } else if (images.dtype() == DType::U8 && images.ndim() == 4 && images.dim(3) == 3 && images.dim(1) == S && images.dim(2) == S) {
    const int64_t N = images.dim(0);
    x = Tensor(DType::F32, {N, 3, S, S});
    const uint8_t* src = images.data<uint8_t>();
    float* dst = x.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < S * S; ++i) dst[(n * 3 + c) * S * S + i] = (src[(n * S * S + i) * 3 + c] / 255.f - 0.5f) / 0.5f;
  } else {
    fail(f.data, ": tensor 'images' is ", dtype_name(images.dtype()), " ", shape_str(images.shape()), ", expected F32 [N, 3, ",
         S, ", ", S, "] or U8 [N, ", S, ", ", S, ", 3] for the '", spec.variant, "' model");
  }
  if (labels.dtype() != DType::I64 || labels.ndim() != 1 || labels.dim(0) != x.dim(0))
    fail(f.data, ": tensor 'labels' is ", dtype_name(labels.dtype()), " ", shape_str(labels.shape()), ", expected I64 [",
         x.dim(0), "]");
  for (int64_t i = 0; i < labels.numel(); ++i) {
    const int64_t l = labels.data<int64_t>()[i];
    if (l < 0 || l >= spec.num_classes)
      fail(f.data, ": label ", l, " of sample ", i, " is out of range for ", spec.num_classes, " classes");
  }
  return std::make_unique<TensorBatchSource>(x, labels, f.batch_size, !f.no_shuffle, f.seed);
}

void run_train(const TrainFlags& f) {
  const int threads = f.device.apply_threads();
  const NetSpec spec = f.model.spec();
  if (f.augment != "none" && f.data.ends_with(".safetensors") == false)
    fail("only tensor datasets (.safetensors) are supported by this build's train command");
  std::unique_ptr<BatchSource> source = open_tensor_source(f, spec);

  BuildOptions options;
  options.max_batch = f.batch_size;
  options.precision = f.device.precision_value();
  options.seed = f.seed;
  options.label_smoothing = f.label_smoothing;
  std::unique_ptr<Net> net = make_net(f.device.backend_kind(), spec, options);

  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, f.seed);
  if (!f.init.empty()) {
    const TensorFile init = read_safetensors(f.init);
    const PartialLoad loaded = load_matching_weights(init, net->params(), params);
    std::fprintf(stderr, "init: loaded %zu tensors from %s\n", loaded.loaded.size(), f.init.c_str());
    for (const std::string& s : loaded.skipped) std::fprintf(stderr, "init: re-initialised %s\n", s.c_str());
  }
  net->set_params(params);

  const int64_t per_epoch = source->steps_per_epoch();
  const int64_t total = f.steps > 0 ? f.steps : per_epoch * f.epochs;
  ScheduleConfig sc;
  sc.kind = f.schedule;
  sc.lr = f.lr;
  sc.total_steps = total;
  sc.steps_per_epoch = per_epoch;
  sc.warmup_steps = int64_t(std::llround(f.warmup_epochs * double(per_epoch)));
  const LrSchedule schedule(sc);

  TrainLoopOptions loop;
  loop.batch_size = f.batch_size;
  loop.total_steps = total;
  loop.sgd = {f.momentum, f.weight_decay, 0.f, f.nesterov};
  std::fprintf(stderr, "train: model %s, %zu parameters, %lld steps of batch %d, %s, %s backend, %d threads\n",
               spec.variant.c_str(), net->params().total, (long long)total, f.batch_size,
               precision_name(options.precision), backend_name(net->backend()), threads);
  double loss_sum = 0;
  int loss_count = 0;
  train_loop(*net, *source, schedule, loop, [&](const StepReport& r) {
    loss_sum += r.loss;
    ++loss_count;
    if (r.step_in_epoch % f.print_freq == 0 || r.step + 1 == r.total_steps) {
      std::printf("Epoch [%lld], Step [%lld], Loss: %.4f\n", (long long)r.epoch + 1, (long long)r.step_in_epoch, r.loss);
      std::fflush(stdout);
    }
    return true;
  });
  net->get_params(params);
  if (!f.save.empty()) {
    save_weights(f.save, net->params(), params, {{"model", spec.variant}, {"num_classes", std::to_string(spec.num_classes)}});
    std::fprintf(stderr, "saved weights to %s\n", f.save.c_str());
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network with SGD (defaults: the seed article's recipe)");
  f->model.add(cmd, true);
  f->device.add(cmd);
  cmd->add_option("--data", f->data, "Training data: a .safetensors tensor dataset (images, labels)")->required();
  cmd->add_option("--init", f->init, "Start from these weights (.safetensors); tensors whose shape differs are re-initialised");
  cmd->add_option("--save", f->save, "Write the final weights here (.safetensors)");
  cmd->add_option("-b,--batch-size", f->batch_size, "Images per step")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--lr", f->lr, "Learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--momentum", f->momentum, "SGD momentum")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--wd,--weight-decay", f->weight_decay, "L2 weight decay")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--nesterov", f->nesterov, "Nesterov momentum");
  cmd->add_option("--label-smoothing", f->label_smoothing, "Cross-entropy label smoothing")->capture_default_str()->check(CLI::Range(0.0, 0.999));
  auto* steps = cmd->add_option("--steps", f->steps, "Train for exactly this many steps (overrides --epochs)")->check(CLI::PositiveNumber);
  cmd->add_option("--epochs", f->epochs, "Passes over the training data")->capture_default_str()->check(CLI::PositiveNumber)->excludes(steps);
  cmd->add_option("--schedule", f->schedule, "Learning-rate schedule: constant, step, multistep, cosine, onecycle, plateau")
      ->capture_default_str()
      ->check(CLI::IsMember(LrSchedule::kinds()));
  cmd->add_option("--warmup-epochs", f->warmup_epochs, "Linear learning-rate warm-up")->capture_default_str()->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--augment", f->augment, "Augmentation preset: none, seed, standard, paper")->capture_default_str()
      ->check(CLI::IsMember({"none", "seed", "standard", "paper"}));
  cmd->add_flag("--no-shuffle", f->no_shuffle, "Visit samples in order: step s uses samples [s*B, (s+1)*B), wrapping around");
  cmd->add_option("--seed", f->seed, "Seed of initialisation, shuffling, dropout and augmentation")->capture_default_str();
  cmd->add_option("-p,--print-freq", f->print_freq, "Print the loss every this many steps")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([f] { run_train(*f); });
}

}  // namespace alexnet::cli
