#include "train/plan.h"

#include <cmath>

#include "core/error.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/split_net.h"
#include "model/net_spec.h"

namespace alexnet {

namespace {

// The model a config describes, with the classes and the preprocessing its data calls for.
ModelInfo model_for(const TrainConfig& c, const DataFacts& data) {
  ModelInfo m;
  m.variant = c.model;
  m.options = {c.num_classes, c.width, c.hidden, c.input_size, c.dropout, c.init_scheme == "auto" ? "" : c.init_scheme};
  m.classes = data.classes;
  m.class_descriptions = data.class_descriptions;
  m.small_images = data.small_images;
  if (!m.small_images) m.mean = kImageNetMean, m.std = kImageNetStd;
  m.eval_preset = c.augment;
  return m;
}

// "a, b, c, ... (10 classes)".
std::string names_preview(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 4; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 4) out += ", ...";
  return cat(out, " (", names.size(), names.size() == 1 ? " class)" : " classes)");
}

// The peak rate: --lr, or with the linear scaling rule --lr x global batch / lr_scale_batch.
float peak_lr(const TrainConfig& c) {
  return c.lr_scale_batch > 0 ? float(double(c.lr) * c.batch_size * c.world_size / c.lr_scale_batch) : c.lr;
}

LoaderOptions loader_options(const TrainConfig& c, const TransformConfig& t, const WorldFacts& world) {
  LoaderOptions lo;
  lo.batch_size = c.batch_size;
  lo.threads = c.workers;
  lo.shuffle = c.shuffle;
  lo.drop_last = false;
  lo.train = true;
  lo.seed = c.seed;
  lo.transform = t;
  lo.rank = world.rank;
  lo.world_size = world.replicas;
  lo.resize_float_images = c.resize_float;
  return lo;
}

NetRequest training_net(const TrainConfig& c, const WorldFacts& world) {
  NetRequest r;
  r.backend = c.backend;
  r.precision = c.precision;
  r.max_batch = c.batch_size;
  // Dropout masks derive from (seed, step, layer, index in the batch): each replica draws its own
  // (the columns of one replica the same).
  r.seed = world.rank == 0 ? c.seed : fingerprint(cat("dropout seed ", c.seed, " rank ", world.rank));
  r.label_smoothing = c.label_smoothing;
  r.local_rank = world.local_rank;
  return r;
}

ScheduleConfig schedule_for(const TrainConfig& c, int64_t total_steps, int64_t steps_per_epoch) {
  ScheduleConfig s;
  s.kind = c.schedule;
  s.lr = peak_lr(c);
  s.total_steps = total_steps;
  s.steps_per_epoch = steps_per_epoch;
  s.warmup_steps = int64_t(std::llround(c.warmup_epochs * double(steps_per_epoch)));
  s.milestones = c.milestones;
  s.step_size = c.step_size;
  s.gamma = c.gamma;
  return s;
}

}  // namespace

RunPlan plan_run(TrainConfig c, const DataFacts& data, const WorldFacts& world, const std::optional<ResumeFacts>& resume) {
  RunPlan p;
  if (data.train_size == 0) fail("the training data holds no samples");
  if (c.num_classes == 0) c.num_classes = int(data.classes.size());
  if (c.num_classes < int(data.classes.size()))
    fail("the data has ", data.classes.size(), " classes but num_classes is ", c.num_classes);
  c.world_size = world.replicas;
  if (resume) c.out = resume->dir;
  if (resume && !resume->classes.empty() && resume->classes != data.classes)
    fail("the data's classes (", names_preview(data.classes), ") are not the run's (", names_preview(resume->classes),
         "): a resumed run trains on data of the same classes; to train these classes from its weights, start a new run "
         "with --init ", resume->dir, "/last.safetensors (a classifier of another size is re-initialised)");
  if (c.out.empty()) fail("the run needs a directory (out)");
  p.data = data;
  p.world = world;
  p.resumed = resume;
  p.run_dir = c.out;

  p.model = model_for(c, data);
  const NetSpec spec = p.model.spec();
  p.parameters = make_param_table(spec).total;
  p.transform = p.model.transform(c.augment);
  p.transform.jitter = {c.color_jitter, c.color_jitter, c.color_jitter};
  // On a GPU the transform of decoded images is the network's (Net::forward_planned): the loader
  // sends uint8 images at their source size with each sample's plan. Colour jitter and float images
  // keep the CPU pipeline.
  p.transform_on_device = c.backend == BackendKind::CUDA && !p.transform.jitter.enabled() && !data.float_images;

  p.loader = loader_options(c, p.transform, world);
  if (p.transform_on_device) p.loader.format = BatchFormat::U8_PLANNED;
  p.net = training_net(c, world);

  // Steps. Steps per epoch depend on the number of processes: a run resumed on another number
  // continues in the same epoch, at the same fraction of it (exact at epoch ends).
  p.steps_per_epoch = batches_per_epoch(data.train_size, world.replicas, c.batch_size, false);
  p.total_steps = c.steps > 0 ? c.steps : p.steps_per_epoch * c.epochs;
  if (resume)
    p.start_step = map_resumed_step(resume->step, batches_per_epoch(data.train_size, resume->stored_replicas, c.batch_size, false),
                                    p.steps_per_epoch);

  p.schedule = schedule_for(c, p.total_steps, p.steps_per_epoch);
  TrainLoopOptions& loop = p.loop;
  loop.batch_size = c.batch_size;
  loop.total_steps = p.total_steps;
  loop.start_step = p.start_step;
  loop.sgd = {c.momentum, c.weight_decay, 0.f, c.nesterov};
  loop.bucket_floats = size_t(double(c.bucket_mb) * (1 << 20) / sizeof(float));

  EvalOptions& eo = p.eval;
  eo.transform = p.transform;
  eo.batch_size = c.batch_size;
  eo.threads = c.workers;
  eo.resize_float_images = c.resize_float;  // as the training images
  eo.planned = p.transform_on_device;
  p.config = std::move(c);
  return p;
}

bool RunPlan::epoch_ends_after(int64_t step, int64_t step_in_epoch) const {
  return is_epoch_end(step, step_in_epoch, steps_per_epoch, total_steps);
}

bool RunPlan::validates_after(int64_t step, int64_t epoch, int64_t step_in_epoch) const {
  return validates() && epoch_ends_after(step, step_in_epoch) &&
         ((epoch + 1) % config.eval_every == 0 || step + 1 == total_steps);
}

bool RunPlan::checkpoints_after(int64_t step, int64_t step_in_epoch) const {
  return epoch_ends_after(step, step_in_epoch) || (config.save_every > 0 && (step + 1) % config.save_every == 0);
}

std::string describe(const RunPlan& p) {
  const TrainConfig& c = p.config;
  const NetSpec spec = p.model.spec();
  std::string out = cat("data: ", p.data.train_describe, ", ", p.data.train_size, " training images, ", p.data.classes.size(),
                        " classes; augment ", c.augment,
                        c.color_jitter > 0 ? cat(", colour jitter ", c.color_jitter) : std::string(), "\n");
  if (p.validates()) out += cat("validation: ", p.data.val_size, " images, ", p.data.val_note, "\n");
  else out += "validation: none; best.safetensors holds the latest weights\n";
  if (p.data.holdout_size)
    out += cat("test set: ", p.data.holdout_size, " images held out (", c.holdout * 100,
               "%), not used in training or validation; eval measures on them\n");
  std::string initialisation = p.start_step > 0 ? "from the checkpoint" : init_scheme_name(spec.init);
  if (p.start_step == 0 && !c.init.empty()) initialisation += ", then " + c.init;
  out += cat("model: ", spec.variant, ", ", p.parameters, " parameters, input ", spec.input_size, "x", spec.input_size, ", ",
             spec.num_classes, " classes; ", backend_name(c.backend), " ", precision_name(c.precision), "; initialisation ",
             initialisation, "\n");
  const int global_batch = c.batch_size * p.world.replicas;
  const std::string lr = c.lr_scale_batch > 0 ? cat(p.peak_lr(), " (", c.lr, " x ", global_batch, " / ", c.lr_scale_batch, ")")
                                              : cat(c.lr);
  if (p.resumed && p.resumed->stored_replicas != p.world.replicas) {
    const int old = p.resumed->stored_replicas;
    out += cat("resume: step ", p.resumed->step, " of ", old, old == 1 ? " process" : " processes", " (",
               batches_per_epoch(p.data.train_size, old, c.batch_size, false), " steps per epoch) is step ", p.start_step,
               " of ", p.world.replicas, " (", p.steps_per_epoch, " per epoch)\n");
  }
  out += cat("train: ", p.total_steps, " steps (", p.steps_per_epoch, " per epoch) of batch ", c.batch_size, ", SGD lr ", lr,
             " momentum ", c.momentum, " wd ", c.weight_decay, c.nesterov ? " nesterov" : "", ", schedule ", c.schedule,
             c.ema > 0 ? cat(", weight average decay ", c.ema) : std::string(),
             p.start_step > 0 ? cat(", resuming at step ", p.start_step) : std::string(), "\n");
  if (p.world.replicas > 1)
    out += cat("parallel: ", p.world.replicas, " processes over ", p.world.transport,
               ", each its own shard of every epoch; batch ", c.batch_size, " per process = effective batch ", global_batch,
               "; lr ",
               c.lr_scale_batch > 0 ? std::string("scaled with the global batch")
                                    : cat(c.lr, " as given (not scaled with the global batch: see lr_scale_batch)"),
               "; validation sharded over the processes; rank 0 writes the run directory\n");
  if (c.split > 1)
    out += cat("model parallel: ", c.split, " columns, one process each, holding 1/", c.split,
               " of every layer's kernels and outputs; ", describe_split(spec, c.split), "\n");
  out += cat("run directory: ", p.run_dir);
  return out;
}

}  // namespace alexnet
