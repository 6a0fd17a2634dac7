// alexnet bench: training and inference speed of a model on random data (after warm-up, the median
// of timed steps), like `caffe time`.
#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/rng.h"
#include "data/loader_bench.h"
#include "data/readers.h"

namespace alexnet::cli {

namespace {

struct BenchFlags {
  ModelFlags model;
  DeviceFlags device;
  int batch_size = 64;
  int steps = 5;
  int warmup = 2;
  bool json = false;
  bool train_only = false, infer_only = false;
  // loader benchmark
  std::string data, augment = "seed", format = "float";
  bool loader_only = false, per_layer = false;
  double seconds = 5;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Times `step` `warmup + steps` times and returns the median of the last `steps` durations.
template <class F>
double time_median(int warmup, int steps, F&& step) {
  std::vector<double> times;
  for (int i = 0; i < warmup + steps; ++i) {
    const double t0 = now_seconds();
    step(i);
    if (i >= warmup) times.push_back(now_seconds() - t0);
  }
  return median(times);
}

// --per-layer: forward and backward time of every layer, like `caffe time`. Each layer is built as a
// network of its own on the same backend, fed an input of its shape in the full network; its
// "loss" is cross-entropy over its flattened output, which adds a negligible pass.
void run_per_layer(const BenchFlags& f) {
  const int threads = f.device.apply_threads();
  const NetSpec spec = f.model.spec();
  const std::vector<ActShape> shapes = activation_shapes(spec);
  const int B = f.batch_size;
  const ComputeChoice compute = f.device.resolve_and_say();
  std::fprintf(stderr, "bench: per layer, model %s, batch %d, %s, %d threads\n", spec.variant.c_str(), B,
               precision_name(compute.precision), threads);
  std::printf("%-16s %-20s %-18s %10s %10s\n", "layer", "kind", "output", "fwd ms", "bwd ms");
  nlohmann::json rows = nlohmann::json::array();
  double total_f = 0, total_b = 0;
  Rng rng(3);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const ActShape in = i ? shapes[i - 1] : ActShape{spec.in_channels, spec.input_size, spec.input_size};
    NetSpec one;
    one.variant = spec.variant;
    one.in_channels = in.c;
    one.input_size = in.h;
    one.num_classes = int(shapes[i].numel());
    one.layers = {spec.layers[i]};
    BuildOptions options;
    options.max_batch = B;
    options.precision = compute.precision;
    std::unique_ptr<Net> net = make_net(compute.backend, one, options);
    std::vector<float> params(net->params().total);
    init_params(one, net->params(), params, 1);
    net->set_params(params);
    std::vector<float> x(size_t(B) * in.numel());
    for (float& v : x) v = float(rng.normal());
    const std::vector<int64_t> labels(static_cast<size_t>(B), 0);
    double tf = time_median(f.warmup, f.steps, [&](int s) {
      net->forward(x.data(), B, Mode::Train, uint64_t(s));
      net->synchronize();
    });
    double tb = time_median(f.warmup, f.steps, [&](int) {
      net->backward(labels.data());
      net->synchronize();
    });
    total_f += tf, total_b += tb;
    const std::string out = shapes[i].flat ? cat(shapes[i].c) : cat(shapes[i].c, "x", shapes[i].h, "x", shapes[i].w);
    std::printf("%-16s %-20s %-18s %10.2f %10.2f\n", spec.layers[i].name.c_str(), layer_kind(spec.layers[i].op), out.c_str(),
                tf * 1e3, tb * 1e3);
    rows.push_back({{"layer", spec.layers[i].name}, {"kind", layer_kind(spec.layers[i].op)}, {"forward_ms", tf * 1e3},
                    {"backward_ms", tb * 1e3}});
  }
  std::printf("%-56s %10.2f %10.2f\n", "total", total_f * 1e3, total_b * 1e3);
  if (f.json) print_json_line(nlohmann::json{{"model", spec.variant}, {"batch_size", B}, {"layers", rows}}.dump());
}

void run_loader(const BenchFlags& f) {
  const std::unique_ptr<Dataset> data = open_dataset(f.data, Split::Train);
  LoaderBenchOptions o;
  o.input_size = f.model.input_size ? f.model.input_size : 224;
  o.preset = f.augment;
  o.threads = f.device.threads > 0 ? f.device.threads : 2;
  o.batch_size = f.batch_size;
  o.seconds = f.seconds;
  o.format = f.format == "uint8" ? BatchFormat::U8_NHWC : BatchFormat::F32_NCHW;
  o.small_images = has_small_images(*data);
  std::fprintf(stderr, "bench: loader over %s, %zu images, %d threads, batch %d, %s output\n", data->describe().c_str(),
               data->size(), o.threads, o.batch_size, f.format.c_str());
  const LoaderBenchResult r = run_loader_bench(*data, o);
  std::fprintf(stderr, "loader: %.0f img/s (%.0f img/s per busy thread), %s\n", r.img_s, r.img_s_per_thread(),
               r.transform.c_str());
  if (f.json) print_json_line(r.json());
}

void run_bench(const BenchFlags& f) {
  if (f.loader_only) {
    if (f.data.empty()) fail("--loader-only needs --data PATH");
    return run_loader(f);
  }
  if (f.per_layer) return run_per_layer(f);
  const int threads = f.device.apply_threads();
  const NetSpec spec = f.model.spec();
  BuildOptions options;
  options.max_batch = f.batch_size;
  const ComputeChoice compute = f.device.resolve_and_say();
  options.precision = compute.precision;
  std::unique_ptr<Net> net = make_net(compute.backend, spec, options);

  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, 1);
  net->set_params(params);
  const int B = f.batch_size;
  Rng rng(7);
  std::vector<float> input(size_t(B) * 3 * spec.input_size * spec.input_size);
  for (float& v : input) v = float(rng.normal());
  std::vector<int64_t> labels(static_cast<size_t>(B));
  for (auto& l : labels) l = int64_t(rng.below(uint64_t(spec.num_classes)));

  std::fprintf(stderr, "bench: model %s (%zu parameters), batch %d, %s, %s backend, %d threads\n", spec.variant.c_str(),
               net->params().total, B, precision_name(options.precision), backend_name(net->backend()), threads);
  nlohmann::json out{{"model", spec.variant},
                     {"batch_size", B},
                     {"precision", precision_name(options.precision)},
                     {"backend", backend_name(net->backend())},
                     {"threads", threads},
                     {"steps", f.steps}};
  if (!f.infer_only) {
    const SgdOptions sgd{0.9f, 5e-4f, 0.f, false};
    const double t = time_median(f.warmup, f.steps, [&](int i) {
      net->forward(input.data(), B, Mode::Train, uint64_t(i));
      net->backward(labels.data());
      net->sgd_step(sgd, 1e-4f);
      net->synchronize();
    });
    out["train_step_ms"] = t * 1e3;
    out["train_img_s"] = B / t;
    std::fprintf(stderr, "train: %.1f ms/step, %.2f img/s\n", t * 1e3, B / t);
  }
  if (!f.train_only) {
    const double t = time_median(f.warmup, f.steps, [&](int) {
      net->forward(input.data(), B, Mode::Eval);  // on a GPU this only queues the work: wait for it
      net->synchronize();
    });
    out["infer_step_ms"] = t * 1e3;
    out["infer_img_s"] = B / t;
    std::fprintf(stderr, "inference: %.1f ms/batch, %.2f img/s\n", t * 1e3, B / t);
  }
  if (f.json) print_json_line(out.dump());
}

}  // namespace

void add_bench(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure training and inference speed on random data");
  f->model.add(cmd, false);
  f->device.add(cmd);
  cmd->add_option("-b,--batch-size", f->batch_size, "Images per step")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--steps", f->steps, "Timed steps (the median is reported)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", f->warmup, "Untimed steps first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--train-only", f->train_only, "Time only the training step");
  cmd->add_flag("--infer-only", f->infer_only, "Time only inference");
  cmd->add_flag("--json", f->json, "Print the results as one JSON object on the last line");
  cmd->add_flag("--per-layer", f->per_layer, "Time forward and backward of every layer separately");
  cmd->add_flag("--loader-only", f->loader_only, "Measure the data loader alone (decode + augment + batch) on --data");
  cmd->add_option("--data", f->data, "Dataset for --loader-only (any format train reads)");
  cmd->add_option("--augment", f->augment, "--loader-only: augmentation preset none, seed, standard, paper")
      ->capture_default_str()->check(CLI::IsMember({"none", "seed", "standard", "paper"}));
  cmd->add_option("--format", f->format, "--loader-only: float (normalised NCHW) or uint8 (NHWC at the source size: decode, crop, flip)")
      ->capture_default_str()->check(CLI::IsMember({"float", "uint8"}));
  cmd->add_option("--seconds", f->seconds, "--loader-only: timed seconds")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([f] { run_bench(*f); });
}

}  // namespace alexnet::cli
