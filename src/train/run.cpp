#include "train/run.h"

#include <ctime>

#include "data/loader.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/device_allreduce.h"
#include "train/batch_source.h"
#include "train/training_run.h"

namespace alexnet {

ResumeFrom open_resume(const std::string& run_dir) {
  ResumeFrom r;
  r.dir = run_dir;
  r.point = load_last_checkpoint(run_dir);
  r.config = TrainConfig::from_json(r.point.config_json);
  return r;
}

namespace {

std::string default_run_dir(const std::string& model) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + model + "-" + stamp;
}

Processes arrange_processes(Communicator* comm, int split) {
  Processes p;
  if (!comm) comm = (p.single = make_single_process_communicator()).get();
  p.all = comm;
  p.groups = split_processes(*comm, split);
  p.facts = {.rank = p.data().rank(), .replicas = p.data().size(), .processes = comm->size(),
             .local_rank = comm->local_rank(), .transport = comm->transport()};
  return p;
}

DataFacts facts_of(const TrainingData& d) {
  return {.train_size = d.train->size(), .classes = d.train->classes(),
          .class_descriptions = d.train->class_descriptions(), .small_images = has_small_images(*d.train),
          .float_images = d.train->has_float_images(), .train_describe = d.train->describe(),
          .val_size = d.val ? d.val->size() : 0, .val_note = d.val_note, .holdout_size = d.holdout ? d.holdout->size() : 0};
}

// Gradients on GPUs: averaged there by NCCL (one communicator for the run) when it is built in.
std::unique_ptr<DeviceAllReduce> device_gradient_reduce(Net& net, const Processes& procs, const RunConsole& console) {
  if (procs.facts.replicas == 1 || !net.device_grads().data || !nccl_compiled_in()) return nullptr;
  std::unique_ptr<DeviceAllReduce> reduce = make_nccl_allreduce(procs.data());  // fails on every rank alike
  console.note("gradients: averaged on the GPUs by " + reduce->transport());
  return reduce;
}

TrainResult run_training_impl(TrainConfig c, const ResumeFrom* resume, Communicator* comm) {
  const Processes procs = arrange_processes(comm, c.split);
  if (c.data.empty()) fail("no training data given");
  const TrainingData data = open_training_data(c.data, c.val_split, c.seed, c.holdout);
  std::optional<ResumeFacts> resumed;
  if (resume)
    resumed = ResumeFacts{resume->dir, resume->point.state.step, resume->config.world_size, resume->point.model.classes};
  const bool default_out = !resume && c.out.empty();
  if (default_out) c.out = default_run_dir(c.model);
  const RunPlan plan = plan_run(c, facts_of(data), procs.facts, resumed);
  TrainConfig same = plan.config;  // every process must train the same thing from the same weights
  if (default_out) same.out.clear();  // (a clock: each process reads its own)

  Loader loader(*data.train, plan.loader);  // checks the images against the model's input first
  LoaderBatchSource source(loader);
  NetRequest request = plan.net;
  request.columns = procs.groups.columns.get();
  const std::unique_ptr<Net> net = build_net(plan.model.spec(), request);
  TrainingRun run(plan, procs, data, *net, resume);
  require_same_everywhere(*procs.all, "the training configuration",
                          cat(same.to_json(), "\ntraining samples ", data.train->size(), "\nresumed at step ", plan.start_step));
  broadcast_params(*net, procs.data());
  const std::unique_ptr<DeviceAllReduce> device_reduce = device_gradient_reduce(*net, procs, run.console());

  run.open_run_directory(resume);
  run.console().note(loader.input_note());
  run.console().note(describe(plan));
  TrainLoopOptions loop = plan.loop;
  loop.comm = &procs.data();
  loop.device_reduce = device_reduce.get();
  try {
    StopOnSignals signals;
    train_loop(*net, source, run.schedule(), loop, [&](const StepReport& r) { return run.after_step(r); });
  } catch (const std::exception&) {
    run.checkpoint_after_error();
    throw;
  }
  TrainResult result = run.finish();
  run.console().note("data: " + loader.stats().summary());
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
