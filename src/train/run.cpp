#include "train/run.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "backend/capabilities.h"
#include "core/atomic_file.h"
#include "data/loader.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "data/readers.h"
#include "model/weights.h"
#include "report/run_report.h"
#include "train/batch_source.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace alexnet {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- config <-> JSON ---------------------------------------------------------------------------

std::string TrainConfig::to_json() const {
  return json{{"model", model},       {"num_classes", num_classes}, {"width", width},
              {"hidden", hidden},     {"input_size", input_size},   {"dropout", dropout},
              {"data", data},         {"augment", augment},         {"resize_float", resize_float},         {"val_split", val_split},
              {"workers", workers},   {"shuffle", shuffle},         {"batch_size", batch_size},
              {"lr", lr},             {"momentum", momentum},       {"weight_decay", weight_decay},
              {"label_smoothing", label_smoothing}, {"nesterov", nesterov}, {"epochs", epochs},
              {"steps", steps},       {"schedule", schedule},       {"warmup_epochs", warmup_epochs},
              {"milestones", milestones}, {"step_size", step_size}, {"gamma", gamma},
              {"backend", backend_name(backend)}, {"precision", precision_name(precision)},
              {"seed", seed},         {"out", out},                 {"save", save},
              {"init", init},         {"print_freq", print_freq},   {"save_every", save_every},
              {"eval_every", eval_every}, {"report", report}, {"world_size", world_size}}
      .dump(2);
}

namespace {

// One value of a stored config, converted only when it fits the field: a number that is out of the
// field's range, or a fraction for a whole-number field, is an error rather than a wrapped or
// undefined conversion.
template <typename T>
T config_value(const json& v, const char* key) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
    return v.get<T>();  // a json::type_error for anything else
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

TrainConfig TrainConfig::from_json(const std::string& text) {
  TrainConfig c;
  try {
    const json j = json::parse(text);
    if (!j.is_object()) fail("malformed training config (not a JSON object)");
    auto get = [&](const char* key, auto& field) {
      if (j.contains(key)) field = config_value<std::decay_t<decltype(field)>>(j.at(key), key);
    };
    get("model", c.model); get("num_classes", c.num_classes); get("width", c.width); get("hidden", c.hidden);
    get("input_size", c.input_size); get("dropout", c.dropout); get("data", c.data); get("augment", c.augment); get("resize_float", c.resize_float);
    get("val_split", c.val_split); get("workers", c.workers); get("shuffle", c.shuffle);
    get("batch_size", c.batch_size); get("lr", c.lr); get("momentum", c.momentum);
    get("weight_decay", c.weight_decay); get("label_smoothing", c.label_smoothing); get("nesterov", c.nesterov);
    get("epochs", c.epochs); get("steps", c.steps); get("schedule", c.schedule); get("warmup_epochs", c.warmup_epochs);
    get("milestones", c.milestones); get("step_size", c.step_size); get("gamma", c.gamma); get("seed", c.seed);
    get("out", c.out); get("save", c.save); get("init", c.init); get("print_freq", c.print_freq);
    get("save_every", c.save_every); get("eval_every", c.eval_every); get("report", c.report);
    get("world_size", c.world_size);
    std::string b = "onednn", p = "fp32";
    get("backend", b);
    get("precision", p);
    c.backend = parse_backend(b);  // an unknown name is an error, never silently oneDNN
    c.precision = parse_precision(p);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("malformed training config (", e.what(), ")");
  }
  c.validate();
  return c;
}

void TrainConfig::validate() const {
  auto check = [](bool ok, const char* field, const auto& value, const char* range) {
    if (!ok) fail("training config: ", field, " is ", value, " (", range, ")");
  };
  check(num_classes >= 0 && num_classes <= 1000000, "num_classes", num_classes, "0 to 1000000");
  check(width > 0 && width <= 16, "width", width, "more than 0, at most 16");
  check(hidden >= 0 && hidden <= 65536, "hidden", hidden, "0 to 65536");
  check(input_size >= 0 && input_size <= 4096, "input_size", input_size, "0 to 4096");
  check(dropout >= -1 && dropout < 1, "dropout", dropout, "-1 to 0.99");
  check(augment == "none" || augment == "seed" || augment == "standard" || augment == "paper", "augment", augment,
        "none, seed, standard or paper");
  check(val_split >= -1 && val_split <= 0.9, "val_split", val_split, "-1 to 0.9");
  check(workers >= 1 && workers <= 256, "workers", workers, "1 to 256");
  check(batch_size >= 1 && batch_size <= (1 << 20), "batch_size", batch_size, "1 to 1048576");
  check(lr > 0 && std::isfinite(lr), "lr", lr, "positive");
  check(momentum >= 0 && momentum <= 1, "momentum", momentum, "0 to 1");
  check(weight_decay >= 0 && weight_decay <= 1, "weight_decay", weight_decay, "0 to 1");
  check(label_smoothing >= 0 && label_smoothing < 1, "label_smoothing", label_smoothing, "0 to 0.999");
  check(epochs >= 1, "epochs", epochs, "at least 1");
  check(steps >= 0, "steps", steps, "0 or more");
  const std::vector<std::string> kinds = LrSchedule::kinds();
  check(std::find(kinds.begin(), kinds.end(), schedule) != kinds.end(), "schedule", schedule, "a known schedule");
  check(warmup_epochs >= 0 && warmup_epochs <= 1000, "warmup_epochs", warmup_epochs, "0 to 1000");
  for (int m : milestones) check(m >= 0, "a milestone", m, "0 or more");
  check(step_size >= 1, "step_size", step_size, "at least 1");
  check(gamma >= 0 && gamma <= 1, "gamma", gamma, "0 to 1");
  check(print_freq >= 1, "print_freq", print_freq, "at least 1");
  check(save_every >= 0, "save_every", save_every, "0 or more");
  check(eval_every >= 0, "eval_every", eval_every, "0 or more");
  check(world_size >= 1, "world_size", world_size, "at least 1");
}

std::string resolve_data_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("ALEXNET_DATA"); env && *env) return env;
  if (fs::exists("data")) return "data";
  return "";
}

// ---- the run -----------------------------------------------------------------------------------
// (The fuzzers, fuzz/run_config_fuzz.cpp, build this file with ALEXNET_FUZZ_CONFIG_ONLY: the config
// parser above without the training run below and everything it links.)
#if !defined(ALEXNET_FUZZ_CONFIG_ONLY)

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = long(s + 0.5);
  if (t >= 3600) return cat(t / 3600, "h", (t % 3600) / 60, "m");
  if (t >= 60) return cat(t / 60, "m", t % 60, "s");
  return cat(t, "s");
}

std::string default_run_dir(const std::string& model) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + model + "-" + stamp;
}

struct Data {
  std::shared_ptr<const Dataset> train, val;
  std::string val_note;
};

Data open_data(const TrainConfig& c) {
  if (c.data.empty())
    fail("no training data: pass --data PATH (CIFAR-10/100 binary folder or .tar.gz, an ImageFolder folder/.tar/.tar.gz, "
         "or a .safetensors tensor dataset), set ALEXNET_DATA, put it in ./data, or use --download cifar10");
  Data d;
  std::shared_ptr<const Dataset> base = open_dataset(c.data, Split::Train);
  if (c.val_split > 0) {
    TrainValSplit s = split_off_validation(base, c.val_split, c.seed);
    d.train = std::move(s.train);
    d.val = std::move(s.val);
    d.val_note = cat("held-out ", c.val_split * 100, "% of the training set");
  } else if (c.val_split < 0) {
    std::shared_ptr<const Dataset> test;
    try {
      test = open_dataset(c.data, Split::Test);
    } catch (const Error&) {  // a train/ folder without val/ or test/: no test split
    }
    if (test && test->describe() != base->describe()) {
      d.train = base;
      d.val = test;
      d.val_note = test->describe();
    } else {  // no separate split: hold out 10%
      TrainValSplit s = split_off_validation(base, 0.1, c.seed);
      d.train = std::move(s.train);
      d.val = std::move(s.val);
      d.val_note = "held-out 10% of the training set (the data has no test split; --val-split changes it)";
    }
  } else {
    d.train = base;
  }
  return d;
}

}  // namespace

namespace {
TrainResult run_training_impl(TrainConfig c, const std::string& resume_dir, Communicator* comm) {
  std::unique_ptr<Communicator> single;
  if (!comm) comm = (single = make_single_process_communicator()).get();
  const int rank = comm->rank(), world = comm->size();
  const bool root = rank == 0;  // prints and writes the run directory
  const bool resuming = !resume_dir.empty();
  ResumePoint resume;
  if (resuming) resume = load_last_checkpoint(resume_dir);
  const int stored_world = resuming ? TrainConfig::from_json(resume.config_json).world_size : world;
  c.world_size = world;

  // Data and the classes it defines.
  c.data = resolve_data_path(c.data);
  const Data data = open_data(c);
  const std::vector<std::string> classes = data.train->classes();
  if (c.num_classes == 0) c.num_classes = int(classes.size());
  if (c.num_classes < int(classes.size()))
    fail("the data has ", classes.size(), " classes but --num-classes is ", c.num_classes);

  ModelInfo model;
  model.variant = c.model;
  model.options = {c.num_classes, c.width, c.hidden, c.input_size, c.dropout};
  model.classes = classes;
  const NetSpec spec = model.spec();
  // Small (CIFAR-like) or large (ImageNet-like) images, from the first one that decodes.
  bool small = true;
  if (!data.train->has_float_images())
    for (size_t i = 0; i < data.train->size() && i < 100; ++i) {
      try {
        const Image probe = data.train->image(i);
        small = std::max(probe.height, probe.width) <= 64;
        break;
      } catch (const CorruptSample&) {  // the loader skips it too
      }
    }
  if (!small) {
    model.mean = kImageNetMean;
    model.std = kImageNetStd;
  }
  model.eval_preset = c.augment;
  TransformConfig tc;
  tc.preset = c.augment;
  tc.input_size = spec.input_size;
  tc.mean = model.mean;
  tc.std = model.std;
  tc.small_images = small;

  LoaderOptions lo;
  lo.batch_size = c.batch_size;
  lo.threads = c.workers;
  lo.shuffle = c.shuffle;
  lo.drop_last = false;
  lo.train = true;
  lo.seed = c.seed;
  lo.transform = tc;
  lo.rank = rank;
  lo.world_size = world;
  lo.resize_float_images = c.resize_float;
  Loader loader(*data.train, lo);  // checks the images against the model's input before anything else
  LoaderBatchSource source(loader);

  BuildOptions bo;
  bo.max_batch = c.batch_size;
  bo.precision = c.precision;
  // Dropout masks derive from (seed, step, layer, index in the batch): each process draws its own.
  bo.seed = rank == 0 ? c.seed : fingerprint(cat("dropout seed ", c.seed, " rank ", rank));
  bo.label_smoothing = c.label_smoothing;
  std::unique_ptr<Net> net = make_net(c.backend, spec, bo);
  const ParamTable& table = net->params();

  std::vector<float> params(table.total), momentum;
  LoopState state;
  if (resuming) {
    if (resume.params.size() != table.total) fail(resume_dir, ": the checkpoint is of another model");
    params = resume.params;
    momentum = resume.momentum;
    state = resume.state;
  } else {
    init_params(spec, table, params, c.seed);
    if (!c.init.empty()) {
      const TensorFile init = read_safetensors(c.init);
      const PartialLoad loaded = load_matching_weights(init, table, params);
      if (root) std::fprintf(stderr, "init: loaded %zu of %zu tensors from %s\n", loaded.loaded.size(), table.entries.size(), c.init.c_str());
      for (const std::string& s : loaded.skipped)
        if (root) std::fprintf(stderr, "init: re-initialised %s\n", s.c_str());
    }
  }
  net->set_params(params);
  if (resuming && state.step > 0) net->set_momentum(momentum);
  // Every process must train the same thing from the same weights.
  require_same_everywhere(*comm, "the training configuration",
                          cat(c.to_json(), "\ntraining samples ", data.train->size(), "\nresumed at step ", state.step));
  broadcast_params(*net, *comm);

  // The run directory.
  TrainResult result;
  result.run_dir = resuming ? resume_dir : (c.out.empty() ? default_run_dir(c.model) : c.out);
  c.out = result.run_dir;
  std::error_code ec;
  if (root) fs::create_directories(result.run_dir, ec);
  if (ec) fail(result.run_dir, ": cannot create the run directory (", ec.message(), ")");
  const std::string config_json = c.to_json();
  if (root) write_file_atomic((fs::path(result.run_dir) / "config.json").string(), config_json + "\n");
  const std::string jsonl = (fs::path(result.run_dir) / "metrics.jsonl").string();
  const std::string csv = (fs::path(result.run_dir) / "metrics.csv").string();
  if (root && !fs::exists(csv)) append_line(csv, "kind,epoch,step,loss,lr,img_s,train_acc,val_loss,val_top1,val_top5");

  const int64_t per_epoch = source.steps_per_epoch();
  const int64_t total = c.steps > 0 ? c.steps : per_epoch * c.epochs;
  std::string resume_note;
  if (resuming && stored_world != world) {
    // Steps per epoch depend on the number of processes: continue in the same epoch, at the same
    // fraction of it (exact at epoch ends).
    const int64_t n = int64_t(data.train->size()), W = stored_world, B = c.batch_size;
    const int64_t old_per_epoch = ((W == 1 ? n : (n + W - 1) / W) + B - 1) / B;
    const int64_t mapped = map_resumed_step(state.step, old_per_epoch, per_epoch);
    resume_note = cat("resume: step ", state.step, " of ", stored_world, " process", stored_world == 1 ? "" : "es", " (",
                      old_per_epoch, " steps per epoch) is step ", mapped, " of ", world, " (", per_epoch, " per epoch)");
    state.step = mapped;
  }
  ScheduleConfig sc;
  sc.kind = c.schedule;
  sc.lr = c.lr;
  sc.total_steps = total;
  sc.steps_per_epoch = per_epoch;
  sc.warmup_steps = int64_t(std::llround(c.warmup_epochs * double(per_epoch)));
  sc.milestones = c.milestones;
  sc.step_size = c.step_size;
  sc.gamma = c.gamma;
  LrSchedule schedule(sc);
  schedule.set_state(state.schedule);

  if (root) {
    std::fprintf(stderr, "data: %s, %zu training images, %zu classes; augment %s\n", data.train->describe().c_str(),
                 data.train->size(), classes.size(), c.augment.c_str());
    std::fprintf(stderr, "%s\n", loader.input_note().c_str());
    if (data.val) std::fprintf(stderr, "validation: %zu images, %s\n", data.val->size(), data.val_note.c_str());
    std::fprintf(stderr, "model: %s, %zu parameters, input %dx%d, %d classes; %s %s\n", spec.variant.c_str(), table.total,
                 spec.input_size, spec.input_size, spec.num_classes, backend_name(net->backend()), precision_name(c.precision));
    std::fprintf(stderr, "train: %lld steps (%lld per epoch) of batch %d, SGD lr %g momentum %g wd %g, schedule %s%s\n",
                 (long long)total, (long long)per_epoch, c.batch_size, c.lr, c.momentum, c.weight_decay, c.schedule.c_str(),
                 resuming ? cat(", resuming at step ", state.step).c_str() : "");
    if (world > 1)
      std::fprintf(stderr, "parallel: %d processes over %s, each its own shard of every epoch; batch %d per process = "
                           "effective batch %d; lr %g as given (not scaled: for the linear scaling rule pass --lr %g); "
                           "validation sharded over the processes; rank 0 writes the run directory\n",
                   world, comm->transport().c_str(), c.batch_size, c.batch_size * world, c.lr, c.lr * world);
    if (!resume_note.empty()) std::fprintf(stderr, "%s\n", resume_note.c_str());
    std::fprintf(stderr, "run directory: %s\n", result.run_dir.c_str());
  }

  auto checkpoint = [&] {
    if (!root) return;
    net->get_params(params);
    momentum.resize(table.total);
    net->get_momentum(momentum);
    state.schedule = schedule.state();
    save_last_checkpoint(result.run_dir, table, params, momentum, model, config_json, state);
  };
  // Validation: each process evaluates its shard (every sample once overall) and the counts are summed.
  std::shared_ptr<const Dataset> val_shard = data.val;
  if (data.val && world > 1)
    val_shard = std::make_shared<SubsetDataset>(data.val, evaluation_shard(data.val->size(), rank, world),
                                                data.val->describe());
  auto validate = [&](int64_t epoch) {
    EvalOptions eo;
    eo.transform = tc;
    eo.batch_size = c.batch_size;
    eo.threads = c.workers;
    const EvalResult er = combine_evaluations(*comm, val_shard->size() ? evaluate(*net, *val_shard, eo) : EvalResult{});
    result.val_top1 = er.top1;
    result.val_top5 = er.top5;
    json confusion{{"classes", classes}, {"matrix", er.confusion}};
    if (root) write_file_atomic((fs::path(result.run_dir) / "confusion.json").string(), confusion.dump() + "\n");
    if (er.top1 > state.best_top1) {
      state.best_top1 = er.top1;
      net->get_params(params);
      if (root)
        save_weights_file((fs::path(result.run_dir) / "best.safetensors").string(), table, params, model, config_json,
                          state.step);
    }
    if (root) std::printf("epoch %lld validation: loss %.4f, top-1 %.2f%%, top-5 %.2f%% (best top-1 %.2f%%) on %lld images\n",
                (long long)epoch + 1, er.loss, er.top1 * 100, er.top5 * 100, state.best_top1 * 100, (long long)er.n);
    std::fflush(stdout);
    return er;
  };

  const bool tty = ::isatty(STDOUT_FILENO);
  auto previous_int = std::signal(SIGINT, on_signal);
  auto previous_term = std::signal(SIGTERM, on_signal);
  g_signal = 0;

  // Running statistics.
  double window_loss = 0, epoch_loss = 0, window_compute = 0, window_wait = 0;
  int64_t window_steps = 0, window_samples = 0, epoch_correct = 0, epoch_samples = 0, epoch_steps = 0;
  double window_start = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const double run_start = window_start;
  const int64_t first_step = state.step;
  bool warned_stuck = false;
  const double chance_loss = std::log(double(spec.num_classes));

  TrainLoopOptions loop;
  loop.batch_size = c.batch_size;
  loop.total_steps = total;
  loop.start_step = state.step;
  loop.sgd = {c.momentum, c.weight_decay, 0.f, c.nesterov};
  loop.comm = comm;
  try {
    train_loop(*net, source, schedule, loop, [&](const StepReport& r) {
      state.step = r.step + 1;
      window_loss += r.loss, epoch_loss += r.loss;
      window_compute += r.compute_seconds, window_wait += r.wait_seconds;
      ++window_steps, ++epoch_steps;
      window_samples += r.samples;
      epoch_correct += r.correct, epoch_samples += r.samples;
      const bool epoch_end = r.step_in_epoch + 1 == per_epoch || r.step + 1 == total;
      const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
      if (root && (r.step_in_epoch % c.print_freq == 0 || epoch_end)) {
        const double img_s = window_samples / std::max(1e-9, now - window_start);
        const double eta = (now - run_start) / double(r.step + 1 - first_step) * double(total - r.step - 1);
        const double mean = window_loss / double(window_steps);
        if (tty) std::printf("\r\033[K");
        std::printf("Epoch [%lld], Step [%lld], Loss: %.4f | step %lld/%lld, mean loss %.4f, lr %.5g | %.1f img/s, "
                    "waiting for data %.0f%% | ETA %s\n",
                    (long long)r.epoch + 1, (long long)r.step_in_epoch, r.loss, (long long)r.step + 1, (long long)total,
                    mean, r.lr, img_s, 100 * window_wait / std::max(1e-9, window_wait + window_compute),
                    format_duration(eta).c_str());
        std::fflush(stdout);
        json line{{"kind", "step"}, {"epoch", r.epoch + 1}, {"step", r.step + 1}, {"loss", mean}, {"lr", r.lr},
                  {"img_s", img_s}, {"data_wait_s", window_wait}, {"compute_s", window_compute}};
        append_line(jsonl, line.dump());
        append_line(csv, cat("step,", r.epoch + 1, ",", r.step + 1, ",", mean, ",", r.lr, ",", img_s, ",,,,"));
        if (!warned_stuck && r.step + 1 - first_step >= 300 && std::abs(mean - chance_loss) < 0.02 * chance_loss) {
          warned_stuck = true;
          std::fprintf(stderr, "warning: the loss has stayed near ln(%d) = %.3f (chance) for %lld steps: the network is "
                               "not learning yet. AlexNet without normalisation often needs a smaller --lr, a "
                               "warm-up (--warmup-epochs 1) or more steps to leave this plateau.\n",
                       spec.num_classes, chance_loss, (long long)(r.step + 1 - first_step));
        }
        window_loss = window_compute = window_wait = 0;
        window_steps = window_samples = 0;
        window_start = now;
      } else if (tty && root) {
        const int64_t done = r.step_in_epoch + 1;
        const int width = 30, filled = int(width * done / per_epoch);
        std::printf("\r\033[Kepoch %lld [%s%s] %lld/%lld loss %.4f", (long long)r.epoch + 1, std::string(size_t(filled), '=').c_str(),
                    std::string(size_t(width - filled), ' ').c_str(), (long long)done, (long long)per_epoch, r.loss);
        std::fflush(stdout);
      }
      if (epoch_end) {
        const double train_loss = epoch_loss / double(std::max<int64_t>(1, epoch_steps));
        const double train_acc = double(epoch_correct) / double(std::max<int64_t>(1, epoch_samples));
        if (root)
          std::printf("epoch %lld done: train loss %.4f, train top-1 %.2f%% (training mode)\n", (long long)r.epoch + 1,
                      train_loss, train_acc * 100);
        std::fflush(stdout);
        json line{{"kind", "epoch"}, {"epoch", r.epoch + 1}, {"step", r.step + 1}, {"train_loss", train_loss}, {"train_acc", train_acc}};
        std::string csv_val = ",,";
        if (data.val && c.eval_every > 0 && ((r.epoch + 1) % c.eval_every == 0 || r.step + 1 == total)) {
          const EvalResult er = validate(r.epoch);
          line["val_loss"] = er.loss;
          line["val_top1"] = er.top1;
          line["val_top5"] = er.top5;
          csv_val = cat(er.loss, ",", er.top1, ",", er.top5);
          if (schedule.end_epoch(er.loss) && root) std::printf("validation loss stopped improving: learning rate now %g\n", schedule.lr(r.step + 1));
        }
        if (root) append_line(jsonl, line.dump());
        if (root) append_line(csv, cat("epoch,", r.epoch + 1, ",", r.step + 1, ",", train_loss, ",,,", train_acc, ",", csv_val));
        epoch_loss = 0;
        epoch_correct = epoch_samples = epoch_steps = 0;
        checkpoint();
      } else if (c.save_every > 0 && (r.step + 1) % c.save_every == 0) {
        checkpoint();
      }
      int sig = g_signal.load();
      if (world > 1) {  // all processes stop at the same step when any of them was signalled
        double any[1] = {double(sig != 0)};
        comm->allreduce_sum(any);
        if (any[0] > 0 && !sig) sig = SIGTERM;
      }
      if (sig) {
        if (!epoch_end) checkpoint();
        if (root) std::fprintf(stderr, "\n%s: stopped after step %lld; checkpoint saved in %s (continue with --resume %s)\n",
                     sig == SIGINT ? "interrupted" : "terminated", (long long)(r.step + 1), result.run_dir.c_str(),
                     result.run_dir.c_str());
        result.exit_code = 128 + sig;
        return false;
      }
      return true;
    });
  } catch (...) {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    throw;
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  result.steps = state.step;
  result.best_top1 = state.best_top1;
  if (root && !c.save.empty() && result.exit_code == 0) {
    net->get_params(params);
    save_weights_file(c.save, table, params, model, config_json, state.step);
    std::fprintf(stderr, "saved weights to %s\n", c.save.c_str());
  }
  if (root && c.report) {
    try {
      const report::ReportResult rr = report::write_report_html(result.run_dir);
      for (const std::string& note : rr.notes) std::fprintf(stderr, "report: %s\n", note.c_str());
      std::fprintf(stderr, "report: %s\n", rr.html_path.c_str());
    } catch (const Error& e) {  // the run itself succeeded; the pictures are a courtesy
      std::fprintf(stderr, "warning: no report (%s)\n", e.what());
    }
  }
  const LoaderStats ls = loader.stats();
  if (root) std::fprintf(stderr, "data: %s\n", ls.summary().c_str());
  return result;
}

}  // namespace

TrainResult run_training(TrainConfig config, const std::string& resume_dir, Communicator* comm) {
  const int batch = config.batch_size;
  try {
    return run_training_impl(std::move(config), resume_dir, comm);
  } catch (const std::bad_alloc&) {
    fail("out of memory with --batch-size ", batch, ": try --batch-size ", std::max(1, batch / 2),
         " (or a smaller --width or --input-size)");
  }
}

#endif  // !ALEXNET_FUZZ_CONFIG_ONLY

}  // namespace alexnet
