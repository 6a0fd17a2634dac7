#include "train/run.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backend/capabilities.h"
#include "core/atomic_file.h"
#include "data/loader.h"
#include "data/readers.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/device_allreduce.h"
#include "dist/split_net.h"
#include "model/weights.h"
#include "report/metrics.h"
#include "report/run_report.h"
#include "train/batch_source.h"
#include "train/ema.h"
#include "train/evaluate.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace alexnet {

namespace fs = std::filesystem;

ResumeFrom open_resume(const std::string& run_dir) {
  ResumeFrom r;
  r.dir = run_dir;
  r.point = load_last_checkpoint(run_dir);
  r.config = TrainConfig::from_json(r.point.config_json);
  return r;
}

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

// SIGINT and SIGTERM finish the current step, checkpoint and stop; the previous handlers come back
// when the run ends, however it ends.
struct StopOnSignals {
  using Handler = void (*)(int);
  Handler previous_int, previous_term;
  StopOnSignals() : previous_int(std::signal(SIGINT, on_signal)), previous_term(std::signal(SIGTERM, on_signal)) { g_signal = 0; }
  ~StopOnSignals() { std::signal(SIGINT, previous_int), std::signal(SIGTERM, previous_term); }
  // The signal that stops every process at this step (0: none); every process must call it.
  static int agreed(Communicator& comm) {
    int sig = g_signal.load();
    if (comm.size() > 1) {
      double any[1] = {double(sig != 0)};
      comm.allreduce_sum(any);
      if (any[0] > 0 && !sig) sig = SIGTERM;
    }
    return sig;
  }
};

std::string default_run_dir(const std::string& model) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + model + "-" + stamp;
}

// The model a config describes, with the classes and the preprocessing its data calls for.
ModelInfo model_for(const TrainConfig& c, const Dataset& train) {
  ModelInfo m;
  m.variant = c.model;
  m.options = {c.num_classes, c.width, c.hidden, c.input_size, c.dropout, c.init_scheme == "auto" ? "" : c.init_scheme};
  m.classes = train.classes();
  m.small_images = has_small_images(train);
  if (!m.small_images) m.mean = kImageNetMean, m.std = kImageNetStd;
  m.eval_preset = c.augment;
  return m;
}

TransformConfig transform_for(const ModelInfo& m, const std::string& preset) {
  TransformConfig t;
  t.preset = preset;
  t.input_size = m.spec().input_size;
  t.mean = m.mean;
  t.std = m.std;
  t.small_images = m.small_images;
  return t;
}

// On a GPU the transform of decoded images is the network's (Net::forward_planned): the loader sends
// uint8 images at their source size with each sample's plan. Colour jitter and float images keep the
// CPU pipeline.
bool transform_on_device(const TrainConfig& c, const TransformConfig& t, const Dataset& data) {
  return c.backend == BackendKind::CUDA && !t.jitter.enabled() && !data.has_float_images();
}

LoaderOptions loader_options(const TrainConfig& c, const TransformConfig& t, const Communicator& comm) {
  LoaderOptions o;
  o.batch_size = c.batch_size;
  o.threads = c.workers;
  o.shuffle = c.shuffle;
  o.drop_last = false;
  o.train = true;
  o.seed = c.seed;
  o.transform = t;
  o.rank = comm.rank();
  o.world_size = comm.size();
  o.resize_float_images = c.resize_float;
  return o;
}

// The peak rate: --lr, or with the linear scaling rule --lr x global batch / lr_scale_batch.
float peak_lr(const TrainConfig& c) {
  return c.lr_scale_batch > 0 ? float(double(c.lr) * c.batch_size * c.world_size / c.lr_scale_batch) : c.lr;
}

ScheduleConfig schedule_for(const TrainConfig& c, int64_t total, int64_t per_epoch) {
  ScheduleConfig s;
  s.kind = c.schedule;
  s.lr = peak_lr(c);
  s.total_steps = total;
  s.steps_per_epoch = per_epoch;
  s.warmup_steps = int64_t(std::llround(c.warmup_epochs * double(per_epoch)));
  s.milestones = c.milestones;
  s.step_size = c.step_size;
  s.gamma = c.gamma;
  return s;
}

// The weights to start from: the checkpoint's when resuming, else fresh ones (and --init's tensors).
void initial_weights(const TrainConfig& c, const NetSpec& spec, const ParamTable& table, const ResumeFrom* resume,
                     bool root, std::vector<float>& params) {
  if (resume) {
    if (resume->point.params.size() != table.total) fail(resume->dir, ": the checkpoint is of another model");
    params = resume->point.params;
    return;
  }
  init_params(spec, table, params, c.seed);
  if (c.init.empty()) return;
  const PartialLoad loaded = load_matching_weights(read_safetensors(c.init), table, params);
  if (!root) return;
  std::fprintf(stderr, "init: loaded %zu of %zu tensors from %s\n", loaded.loaded.size(), table.entries.size(), c.init.c_str());
  for (const std::string& s : loaded.skipped) std::fprintf(stderr, "init: re-initialised %s\n", s.c_str());
}

void print_plan(const TrainConfig& c, const TrainingData& data, const Loader& loader, const Net& net,
                const Communicator& comm, int64_t total, int64_t per_epoch, int64_t start, const std::string& run_dir) {
  const NetSpec& spec = net.spec();
  std::fprintf(stderr, "data: %s, %zu training images, %zu classes; augment %s\n", data.train->describe().c_str(),
               data.train->size(), data.train->classes().size(), c.augment.c_str());
  std::fprintf(stderr, "%s\n", loader.input_note().c_str());
  if (data.val) std::fprintf(stderr, "validation: %zu images, %s\n", data.val->size(), data.val_note.c_str());
  if (data.holdout)
    std::fprintf(stderr, "test set: %zu images held out (%g%%), not used in training or validation; eval measures on them\n",
                 data.holdout->size(), c.holdout * 100);
  std::string initialisation = start > 0 ? "from the checkpoint" : init_scheme_name(spec.init);
  if (start == 0 && !c.init.empty()) initialisation += ", then " + c.init;
  std::fprintf(stderr, "model: %s, %zu parameters, input %dx%d, %d classes; %s %s; initialisation %s\n",
               spec.variant.c_str(), net.params().total, spec.input_size, spec.input_size, spec.num_classes,
               backend_name(net.backend()), precision_name(c.precision), initialisation.c_str());
  const std::string lr = c.lr_scale_batch > 0 ? cat(peak_lr(c), " (", c.lr, " x ", c.batch_size * comm.size(), " / ",
                                                     c.lr_scale_batch, ")")
                                               : cat(c.lr);
  std::fprintf(stderr, "train: %lld steps (%lld per epoch) of batch %d, SGD lr %s momentum %g wd %g%s, schedule %s%s%s\n",
               (long long)total, (long long)per_epoch, c.batch_size, lr.c_str(), c.momentum, c.weight_decay,
               c.nesterov ? " nesterov" : "", c.schedule.c_str(), c.ema > 0 ? cat(", weight average decay ", c.ema).c_str() : "",
               start > 0 ? cat(", resuming at step ", start).c_str() : "");
  if (comm.size() > 1)
    std::fprintf(stderr, "parallel: %d processes over %s, each its own shard of every epoch; batch %d per process = "
                         "effective batch %d; lr %s; validation sharded over the processes; rank 0 writes the run "
                         "directory\n",
                 comm.size(), comm.transport().c_str(), c.batch_size, c.batch_size * comm.size(),
                 c.lr_scale_batch > 0 ? "scaled with the global batch"
                                      : cat(c.lr, " as given (not scaled with the global batch: see lr_scale_batch)").c_str());
  if (c.split > 1)
    std::fprintf(stderr, "model parallel: %d columns, one process each, holding 1/%d of every layer's kernels and "
                         "outputs; %s\n",
                 c.split, c.split, describe_split(spec, c.split).c_str());
  std::fprintf(stderr, "run directory: %s\n", run_dir.c_str());
}

TrainResult run_training_impl(TrainConfig c, const ResumeFrom* resume, Communicator* comm) {
  std::unique_ptr<Communicator> single;
  if (!comm) comm = (single = make_single_process_communicator()).get();
  const bool root = comm->rank() == 0;  // prints and writes the run directory
  // Model parallelism (--split S): the columns of each copy, and the copies data parallel.
  const SplitGroups groups = split_processes(*comm, c.split);
  Communicator* data_comm = groups.data;
  const int rank = data_comm->rank(), world = data_comm->size();  // this replica, of `world`
  const int stored_world = resume ? resume->config.world_size : world;
  c.world_size = world;

  // Data, model, network, weights.
  if (c.data.empty()) fail("no training data given");
  const TrainingData data = open_training_data(c.data, c.val_split, c.seed, c.holdout);
  if (c.num_classes == 0) c.num_classes = int(data.train->classes().size());
  if (c.num_classes < int(data.train->classes().size()))
    fail("the data has ", data.train->classes().size(), " classes but num_classes is ", c.num_classes);
  const ModelInfo model = model_for(c, *data.train);
  const NetSpec spec = model.spec();
  const TransformConfig tc = transform_for(model, c.augment);
  LoaderOptions lo = loader_options(c, tc, *data_comm);
  if (transform_on_device(c, tc, *data.train)) lo.format = BatchFormat::U8_PLANNED;
  Loader loader(*data.train, lo);  // checks the images against the model's input first
  LoaderBatchSource source(loader);
  BuildOptions bo;
  bo.max_batch = c.batch_size;
  bo.precision = c.precision;
  // Dropout masks derive from (seed, step, layer, index in the batch): each replica draws its own
  // (the columns of one replica the same).
  bo.seed = rank == 0 ? c.seed : fingerprint(cat("dropout seed ", c.seed, " rank ", rank));
  bo.label_smoothing = c.label_smoothing;
  bo.device = comm->local_rank();  // one process per GPU
  std::unique_ptr<Net> net =
      groups.columns ? make_split_net(c.backend, spec, bo, *groups.columns) : make_net(c.backend, spec, bo);
  const ParamTable& table = net->params();
  std::vector<float> params(table.total), momentum;
  initial_weights(c, spec, table, resume, root, params);
  net->set_params(params);
  LoopState state = resume ? resume->point.state : LoopState{};
  if (resume && state.step > 0) net->set_momentum(resume->point.momentum);
  std::vector<float> ema;
  if (c.ema > 0) ema = resume && !resume->point.ema.empty() ? resume->point.ema : params;
  // Every process must train the same thing from the same weights.
  require_same_everywhere(*comm, "the training configuration",
                          cat(c.to_json(), "\ntraining samples ", data.train->size(), "\nresumed at step ", state.step));
  broadcast_params(*net, *data_comm);

  // Gradients on GPUs: averaged there by NCCL (one communicator for the run) when it is built in.
  std::unique_ptr<DeviceAllReduce> device_reduce;
  if (world > 1 && net->device_grads().data && nccl_compiled_in()) {
    device_reduce = make_nccl_allreduce(*data_comm);  // fails on every rank alike (the same machine setup)
    if (root) std::fprintf(stderr, "gradients: averaged on the GPUs by %s\n", device_reduce->transport().c_str());
  }

  // Steps and schedule. Steps per epoch depend on the number of processes: a run resumed on another
  // number continues in the same epoch, at the same fraction of it (exact at epoch ends).
  const int64_t per_epoch = source.steps_per_epoch();
  const int64_t total = c.steps > 0 ? c.steps : per_epoch * c.epochs;
  if (resume && stored_world != world) {
    const int64_t old_per_epoch = batches_per_epoch(data.train->size(), stored_world, c.batch_size, false);
    const int64_t mapped = map_resumed_step(state.step, old_per_epoch, per_epoch);
    if (root)
      std::fprintf(stderr, "resume: step %lld of %d process%s (%lld steps per epoch) is step %lld of %d (%lld per epoch)\n",
                   (long long)state.step, stored_world, stored_world == 1 ? "" : "es", (long long)old_per_epoch,
                   (long long)mapped, world, (long long)per_epoch);
    state.step = mapped;
  }
  LrSchedule schedule(schedule_for(c, total, per_epoch));
  schedule.set_state(state.schedule);

  // The run directory.
  TrainResult result;
  result.run_dir = resume ? resume->dir : (c.out.empty() ? default_run_dir(c.model) : c.out);
  c.out = result.run_dir;
  const fs::path dir(result.run_dir);
  std::error_code ec;
  if (root) fs::create_directories(dir, ec);
  if (ec) fail(result.run_dir, ": cannot create the run directory (", ec.message(), ")");
  const std::string config_json = c.to_json();
  std::unique_ptr<report::MetricsWriter> metrics;
  if (root) {
    write_file_atomic((dir / "config.json").string(), config_json + "\n");
    metrics = std::make_unique<report::MetricsWriter>(result.run_dir);
    print_plan(c, data, loader, *net, *data_comm, total, per_epoch, state.step, result.run_dir);
  }

  auto checkpoint = [&] {
    net->get_params(params);  // on every process: a split net assembles them from its columns
    momentum.resize(table.total);
    net->get_momentum(momentum);
    if (!root) return;
    state.schedule = schedule.state();
    save_last_checkpoint(result.run_dir, table, params, momentum, model, config_json, state, ema);
    if (!ema.empty()) save_weights_file((dir / "ema.safetensors").string(), table, ema, model, config_json, state.step);
  };
  // Validation: each process evaluates its shard (every sample once overall) and the counts are summed.
  std::shared_ptr<const Dataset> val_shard = data.val;
  if (data.val && world > 1)
    val_shard = std::make_shared<SubsetDataset>(data.val, evaluation_shard(data.val->size(), rank, world), data.val->describe());
  auto evaluate_here = [&] {
    EvalOptions eo;
    eo.transform = tc;
    eo.batch_size = c.batch_size;
    eo.threads = c.workers;
    eo.resize_float_images = c.resize_float;  // as the training images
    eo.planned = transform_on_device(c, tc, *val_shard);
    return combine_evaluations(*data_comm, val_shard->size() ? evaluate(*net, *val_shard, eo) : EvalResult{});
  };
  auto validate = [&](report::EpochRecord& record) {
    if (ema.empty()) net->get_params(params);  // with --ema, every step has fetched them already
    const EvalResult er = evaluate_here();
    result.val_top1 = er.top1, result.val_top5 = er.top5;
    record.values.insert({{"val_loss", er.loss}, {"val_top1", er.top1}, {"val_top5", er.top5}});
    if (root)
      write_file_atomic((dir / "confusion.json").string(),
                        nlohmann::json{{"classes", model.classes}, {"matrix", er.confusion}}.dump() + "\n");
    if (er.top1 > state.best_top1) {
      state.best_top1 = er.top1;
      if (root) save_weights_file((dir / "best.safetensors").string(), table, params, model, config_json, state.step);
    }
    if (root)
      std::printf("epoch %lld validation: loss %.4f, top-1 %.2f%%, top-5 %.2f%% (best top-1 %.2f%%) on %lld images\n",
                  (long long)record.epoch, er.loss, er.top1 * 100, er.top5 * 100, state.best_top1 * 100, (long long)er.n);
    if (!ema.empty()) {  // the average, evaluated in the same network, then the raw weights back
      net->set_params(ema);
      const EvalResult ee = evaluate_here();
      net->set_params(params);
      result.ema_top1 = ee.top1;
      record.values.insert({{"ema_loss", ee.loss}, {"ema_top1", ee.top1}, {"ema_top5", ee.top5}});
      if (root) std::printf("epoch %lld weight average: loss %.4f, top-1 %.2f%%, top-5 %.2f%%\n", (long long)record.epoch,
                            ee.loss, ee.top1 * 100, ee.top5 * 100);
    }
    std::fflush(stdout);
    if (schedule.end_epoch(er.loss) && root)
      std::printf("validation loss stopped improving: learning rate now %g\n", schedule.lr(state.step));
  };

  Progress progress({.total_steps = total, .steps_per_epoch = per_epoch, .first_step = state.step,
                     .print_freq = c.print_freq, .num_classes = spec.num_classes, .print = root});
  TrainLoopOptions loop;
  loop.batch_size = c.batch_size;
  loop.total_steps = total;
  loop.start_step = state.step;
  loop.sgd = {c.momentum, c.weight_decay, 0.f, c.nesterov};
  loop.comm = data_comm;
  loop.device_reduce = device_reduce.get();
  loop.bucket_floats = size_t(double(c.bucket_mb) * (1 << 20) / sizeof(float));
  StopOnSignals signals;
  train_loop(*net, source, schedule, loop, [&](const StepReport& r) {
    state.step = r.step + 1;
    if (!ema.empty()) {
      net->get_params(params);
      ema_update(ema, params, ema_decay(c.ema, r.step));
    }
    if (const auto line = progress.step(r); line && root) metrics->write(*line);
    const bool epoch_end = r.step_in_epoch + 1 == per_epoch || r.step + 1 == total;
    if (epoch_end) {
      report::EpochRecord record = progress.end_epoch(r);
      if (data.val && c.eval_every > 0 && ((r.epoch + 1) % c.eval_every == 0 || r.step + 1 == total)) validate(record);
      if (root) metrics->write(record);
      checkpoint();
    } else if (c.save_every > 0 && (r.step + 1) % c.save_every == 0) {
      checkpoint();
    }
    if (const int sig = StopOnSignals::agreed(*comm)) {
      if (!epoch_end) checkpoint();
      if (root)
        std::fprintf(stderr, "\n%s: stopped after step %lld; checkpoint saved in %s (continue with --resume %s)\n",
                     sig == SIGINT ? "interrupted" : "terminated", (long long)(r.step + 1), result.run_dir.c_str(),
                     result.run_dir.c_str());
      result.exit_code = 128 + sig;
      return false;
    }
    return true;
  });
  result.steps = state.step;
  result.best_top1 = state.best_top1;
  if (!c.save.empty() && result.exit_code == 0) net->get_params(params);  // every process (a split net)
  if (root && !c.save.empty() && result.exit_code == 0) {
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
  if (root) std::fprintf(stderr, "data: %s\n", loader.stats().summary().c_str());
  return result;
}

}  // namespace

TrainResult run_training(TrainConfig config, const ResumeFrom* resume, Communicator* comm) {
  const int batch = config.batch_size;
  try {
    return run_training_impl(std::move(config), resume, comm);
  } catch (const std::bad_alloc&) {
    fail("out of memory at batch size ", batch, ": try a batch size of ", std::max(1, batch / 2),
         " (or a smaller width or input size)");
  }
}

}  // namespace alexnet
