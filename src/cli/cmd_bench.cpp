// alexnet bench: training and inference speed of a model on random data (after warm-up, the median
// of timed steps), like `caffe time`.
#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/data_flags.h"
#include "core/rng.h"
#include "data/loader_bench.h"
#include "data/readers.h"
#include "data/transforms.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/device_allreduce.h"
#include "dist/process_net.h"
#include "dist/split_net.h"

namespace alexnet::cli {

namespace {

struct BenchFlags {
  ModelFlags model;
  DeviceFlags device;
  DataLimitFlags limits;  // --loader-only's decoding
  int batch_size = 64;
  int steps = 5;
  int warmup = 2;
  bool json = false;
  bool train_only = false, infer_only = false;
  // loader benchmark
  std::string data, augment = "seed", format = "float";
  bool loader_only = false, per_layer = false;
  int split = 1;  // under mpirun: columns per model (the rest data parallel)
  bool nccl = false;  // average the gradients with NCCL every step (CUDA), also in one process
  int matmul = 0;     // >0: time an n x n x n matrix product on the backend instead of a model
  double seconds = 5;
  // The model benchmark's input: fp32 batches (forward), or uint8 source images of source_size with
  // each sample's transform plan (forward_planned: on a GPU, the transform kernel and a small upload).
  std::string input = "float";
  int source_size = 32;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// The median of `steps` timed calls of step(i) after `warmup` untimed ones, with setup(i) run, untimed,
// before each.
template <class F, class G>
double time_median(int warmup, int steps, F&& step, G&& setup) {
  std::vector<double> times;
  for (int i = 0; i < warmup + steps; ++i) {
    setup(i);
    const double t0 = now_seconds();
    step(i);
    if (i >= warmup) times.push_back(now_seconds() - t0);
  }
  return median(times);
}

// The same without a setup.
template <class F>
double time_median(int warmup, int steps, F&& step) {
  return time_median(warmup, steps, step, [](int) {});
}

// --per-layer: forward and backward time of every layer, like `caffe time`. Each layer is built as a
// network of its own on the same backend, fed an input of its shape in the full network. Backward is
// the pass from a given output gradient (Net::backward_from: no loss) with the layer's weight and
// bias gradients and, except for the network's first layer (whose input gradient training never
// needs), its input gradient. Both columns include copying the layer's input (forward) or output
// gradient and input gradient (backward) between plain NCHW host memory and the backend's layout,
// except on a backend with a device clock (CUDA): there they are the device time between events
// around the layer's own work (Net::device_times), so the host copies do not swamp the layer.
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
    std::unique_ptr<Net> net = build_net(one, net_request(compute, B));
    std::vector<float> params(net->params().total);
    init_params(one, net->params(), params, 1);
    net->set_params(params);
    std::vector<float> x(size_t(B) * in.numel());
    for (float& v : x) v = float(rng.normal());
    std::vector<float> dout(size_t(B) * shapes[i].numel()), dx(i > 0 ? x.size() : 0);
    for (float& v : dout) v = float(rng.normal());
    // A backend with a device clock (CUDA) reports the layer's own device time, without the copies.
    std::vector<double> device_f, device_b;
    double tf = time_median(f.warmup, f.steps, [&](int s) {
      net->forward(x.data(), B, Mode::Train, uint64_t(s));
      net->synchronize();
      if (const double ms = net->device_times().forward_ms; ms >= 0 && s >= f.warmup) device_f.push_back(ms / 1e3);
    });
    double tb = time_median(
        f.warmup, f.steps,
        [&](int s) {
          net->backward_from(dout.data());
          if (i > 0) net->get_input_grad(dx.data());
          net->synchronize();
          if (const double ms = net->device_times().backward_ms; ms >= 0 && s >= f.warmup) device_b.push_back(ms / 1e3);
        },
        [&](int s) {  // a fresh forward pass, untimed, before each backward
          net->forward(x.data(), B, Mode::Train, uint64_t(s));
          net->synchronize();
        });
    if (!device_f.empty()) tf = median(device_f);
    if (!device_b.empty()) tb = median(device_b);
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
  o.format = f.format == "uint8"     ? BatchFormat::U8_NHWC
             : f.format == "planned" ? BatchFormat::U8_PLANNED
                                     : BatchFormat::F32_NCHW;
  o.small_images = has_small_images(*data);
  std::fprintf(stderr, "bench: loader over %s, %zu images, %d threads, batch %d, %s output\n", data->describe().c_str(),
               data->size(), o.threads, o.batch_size, f.format.c_str());
  const LoaderBenchResult r = run_loader_bench(*data, o);
  std::fprintf(stderr, "loader: %.0f img/s (%.0f img/s per busy thread), %s\n", r.img_s, r.img_s_per_thread(),
               r.transform.c_str());
  if (f.json) print_json_line(r.json());
}

// --matmul N: the backend's fully connected layer as one N x N x N matrix product (a batch of N
// rows through Linear(N, N)), the arithmetic peak a model's GFLOP/s is compared with.
void run_matmul(const BenchFlags& f) {
  const int threads = f.device.apply_threads();
  const int n = f.matmul;
  NetSpec spec;
  spec.variant = "matmul";
  spec.in_channels = n;
  spec.input_size = 1;
  spec.num_classes = n;
  spec.layers = {{"flatten", Flatten{}}, {"fc", Linear{n, n}}};
  const ComputeChoice compute = f.device.resolve_and_say();
  std::unique_ptr<Net> net = build_net(spec, net_request(compute, n));
  std::vector<float> params(net->params().total), x(size_t(n) * n);
  init_params(spec, net->params(), params, 1);
  net->set_params(params);
  Rng rng(5);
  for (float& v : x) v = float(rng.normal());
  const double t = time_median(f.warmup, f.steps, [&](int) {
    net->forward(x.data(), n, Mode::Eval);
    net->synchronize();
  });
  const double gflops = 2.0 * n * n * double(n) / t / 1e9;
  std::fprintf(stderr, "matmul: %dx%dx%d %s on the %s backend, %d threads: %.2f ms, %.1f GFLOP/s\n", n, n, n,
               precision_name(compute.precision), backend_name(net->backend()), threads, t * 1e3, gflops);
  if (f.json)
    print_json_line(nlohmann::json{{"matmul", n}, {"precision", precision_name(compute.precision)},
                                   {"backend", backend_name(net->backend())}, {"threads", threads},
                                   {"ms", t * 1e3}, {"gflop_s", gflops}}.dump());
}

void run_bench(const BenchFlags& f) {
  f.limits.apply();
  if (f.loader_only) {
    if (f.data.empty()) fail("--loader-only needs --data PATH");
    return run_loader(f);
  }
  if (f.matmul > 0) return run_matmul(f);
  if (f.per_layer) return run_per_layer(f);
  const int threads = f.device.apply_threads();
  const NetSpec spec = f.model.spec();
  // Under mpirun: the processes are S-column models (--split S), data parallel over the rest.
  std::unique_ptr<Communicator> world = make_communicator();
  const bool root = world->is_root();
  const SplitGroups groups = split_processes(*world, f.split);
  Communicator* data = groups.data;
  const ComputeChoice compute = agree_on_compute(*world, root ? f.device.resolve_and_say() : f.device.resolve());
  NetRequest request = net_request(compute, f.batch_size);
  request.columns = groups.columns.get();
  std::unique_ptr<Net> net = build_net(spec, request);
  std::unique_ptr<DeviceAllReduce> device_reduce;
  if (f.nccl) {
    if (!net->device_grads().data) fail("--nccl averages device gradients: use --device cuda");
    device_reduce = make_nccl_allreduce(*data);
  }

  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, 1);
  net->set_params(params);
  const int B = f.batch_size;
  Rng rng(7);
  std::vector<float> input(size_t(B) * 3 * spec.input_size * spec.input_size);
  for (float& v : input) v = float(rng.normal());
  std::vector<int64_t> labels(static_cast<size_t>(B));
  for (auto& l : labels) l = int64_t(rng.below(uint64_t(spec.num_classes)));
  // --input planned: random source images, and the `standard` preset's plans for training (a
  // translation, a flip, the resize) and for inference (the resize).
  const bool planned = f.input == "planned";
  const int S0 = f.source_size;
  std::vector<uint8_t> source;
  std::vector<SamplePlan> train_plans, eval_plans;
  if (planned) {
    source.resize(size_t(B) * size_t(S0) * size_t(S0) * 3);
    for (uint8_t& v : source) v = uint8_t(rng.next() >> 56);
    TransformConfig tc;
    tc.preset = "standard";
    tc.input_size = spec.input_size;
    const Pipeline train_pipeline(tc, true), eval_pipeline(tc, false);
    for (int i = 0; i < B; ++i) {
      SampleRng a(7, 0, uint64_t(i)), b(7, 0, uint64_t(i));
      train_plans.push_back(train_pipeline.plan(S0, S0, a));
      eval_plans.push_back(eval_pipeline.plan(S0, S0, b));
    }
  }
  auto forward = [&](Mode mode, uint64_t step) {
    if (planned)
      net->forward_planned(source.data(), S0, S0, (mode == Mode::Train ? train_plans : eval_plans).data(), B, mode, step);
    else
      net->forward(input.data(), B, mode, step);
  };

  const int replicas_n = data->size();
  if (root) {
    std::fprintf(stderr, "bench: model %s (%zu parameters), batch %d, %s, %s backend, %d threads\n", spec.variant.c_str(),
                 net->params().total, B, precision_name(compute.precision), backend_name(net->backend()), threads);
    if (world->size() > 1)
      std::fprintf(stderr, "bench: %d processes over %s: %d column%s x %d data-parallel cop%s, batch %d each = %d images "
                           "per step\n",
                   world->size(), world->transport().c_str(), f.split, f.split == 1 ? "" : "s", replicas_n,
                   replicas_n == 1 ? "y" : "ies", B, B * replicas_n);
  }
  nlohmann::json out{{"model", spec.variant},
                     {"batch_size", B},
                     {"precision", precision_name(compute.precision)},
                     {"backend", backend_name(net->backend())},
                     {"threads", threads},
                     {"steps", f.steps},
                     {"processes", world->size()},
                     {"split", f.split},
                     {"input", planned ? cat("planned uint8 ", S0, "x", S0) : std::string("float")}};
  if (planned && root)
    std::fprintf(stderr, "bench: input uint8 %dx%d images with transform plans (the standard preset, resize to %d)\n",
                 S0, S0, spec.input_size);
  const int global = B * replicas_n;  // images per step over all processes
  if (!f.infer_only) {
    const SgdOptions sgd{0.9f, 5e-4f, 0.f, false};
    std::vector<float> scratch;
    std::vector<double> comm_s;
    const double t = time_median(f.warmup, f.steps, [&](int i) {
      forward(Mode::Train, uint64_t(i));
      net->backward(labels.data());
      const double t0 = now_seconds();
      average_gradients(*net, *data, B, scratch, device_reduce.get());  // host: nothing with one copy
      if (i >= f.warmup) comm_s.push_back(now_seconds() - t0 + split_exchange(*net).seconds);
      net->sgd_step(sgd, 1e-4f);
      net->synchronize();
    });
    out["train_step_ms"] = t * 1e3;
    out["train_img_s"] = global / t;
    const double per_image = flops_per_image(spec).training, gflops = per_image * global / t / 1e9;
    out["train_gflop_s"] = gflops;
    if (root)
      std::fprintf(stderr, "train: %.1f ms/step, %.2f img/s, %.1f GFLOP/s (%.2f GFLOP per image)\n", t * 1e3, global / t,
                   gflops, per_image / 1e9);
    if (device_reduce && root)
      std::fprintf(stderr, "gradients: averaged every step by %s over %d process%s\n", device_reduce->transport().c_str(),
                   replicas_n, replicas_n == 1 ? "" : "es");
    if (world->size() > 1) {
      const double bytes = double(split_exchange(*net).bytes) + (replicas_n > 1 ? 4.0 * double(net->params().total) : 0.0);
      out["exchange_mb_per_step"] = bytes / 1e6;
      out["exchange_ms_per_step"] = median(comm_s) * 1e3;
      if (root)
        std::fprintf(stderr, "exchange: %.1f MB per step per process (%s), %.1f ms of the step in collectives\n",
                     bytes / 1e6,
                     f.split > 1 ? (replicas_n > 1 ? "activations between columns + gradient all-reduce" : "activations between columns")
                                 : "gradient all-reduce",
                     median(comm_s) * 1e3);
    }
  }
  if (!f.train_only) {
    const double t = time_median(f.warmup, f.steps, [&](int) {
      forward(Mode::Eval, 0);  // on a GPU this only queues the work: wait for it
      net->synchronize();
    });
    out["infer_step_ms"] = t * 1e3;
    out["infer_img_s"] = global / t;
    const double gflops = flops_per_image(spec).forward * global / t / 1e9;
    out["infer_gflop_s"] = gflops;
    if (root) std::fprintf(stderr, "inference: %.1f ms/batch, %.2f img/s, %.1f GFLOP/s\n", t * 1e3, global / t, gflops);
  }
  if (f.json && root) print_json_line(out.dump());
}

}  // namespace

void add_bench(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure training and inference speed on random data");
  f->model.add(cmd, false);
  f->device.add(cmd);
  f->limits.add(cmd);
  cmd->add_option("-b,--batch-size", f->batch_size, "Images per step")->capture_default_str()->check(number_check(1, 1 << 20));
  cmd->add_option("--steps", f->steps, "Timed steps (the median is reported)")->capture_default_str()->check(number_check(1, 1 << 30));
  cmd->add_option("--warmup", f->warmup, "Untimed steps first")->capture_default_str()->check(number_check(0, 1 << 30));
  cmd->add_flag("--train-only", f->train_only, "Time only the training step");
  cmd->add_flag("--infer-only", f->infer_only, "Time only inference");
  cmd->add_flag("--json", f->json, "Print the results as one JSON object on stdout; everything else goes to stderr");
  cmd->add_option("--split", f->split,
                  "Under mpirun: split the model into this many columns, one process each (the rest data parallel); "
                  "reports the bytes exchanged per step")
      ->capture_default_str()
      ->check(number_check(1, 64));
  cmd->add_option("--matmul", f->matmul,
                  "Instead of a model: time an N x N x N matrix product (a batch of N through Linear(N, N)) on the "
                  "backend, the peak a model's GFLOP/s compares with")
      ->check(number_check(1, 16384));
  cmd->add_flag("--nccl", f->nccl,
               "--device cuda: average the gradients with NCCL on the GPU every step, also in one process (its cost)");
  cmd->add_flag("--per-layer", f->per_layer, "Time forward and backward of every layer separately");
  cmd->add_flag("--loader-only", f->loader_only, "Measure the data loader alone (decode + augment + batch) on --data");
  cmd->add_option("--data", f->data, "Dataset for --loader-only (any format train reads)");
  cmd->add_option("--augment", f->augment, "--loader-only: augmentation preset none, seed, standard, paper")
      ->capture_default_str()->check(one_of({"none", "seed", "standard", "paper"}));
  cmd->add_option("--format", f->format,
                  "--loader-only: float (normalised NCHW), uint8 (NHWC at the source size: decode, crop, flip) or "
                  "planned (the source images and each sample's transform plan, what a GPU run is fed)")
      ->capture_default_str()->check(one_of({"float", "uint8", "planned"}));
  cmd->add_option("--input", f->input,
                  "What the model is fed: float (normalised fp32 batches) or planned (uint8 --source-size images "
                  "with each sample's transform, done by the backend: on a GPU by one kernel)")
      ->capture_default_str()->check(one_of({"float", "planned"}));
  cmd->add_option("--source-size", f->source_size, "--input planned: side of the source images")
      ->capture_default_str()->check(number_check(1, 4096));
  cmd->add_option("--seconds", f->seconds, "--loader-only: timed seconds")->capture_default_str()->check(number_check(0.0, 86400.0, false, true));
  cmd->callback([f] {
    if (f->json) keep_stdout_for_json();
    run_bench(*f);
  });
}

}  // namespace alexnet::cli
