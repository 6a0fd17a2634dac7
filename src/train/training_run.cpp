#include "train/training_run.h"

#include <algorithm>
#include <atomic>
#include <csignal>

#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "model/weights.h"
#include "report/run_report.h"
#include "train/ema.h"

namespace alexnet {

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

// The weights a run starts from: the checkpoint's when resuming, else fresh ones (and --init's tensors).
std::vector<float> initial_weights(const RunPlan& plan, const ParamTable& table, const ResumeFrom* resume,
                                   const RunConsole& console) {
  if (resume) {
    if (resume->point.params.size() != table.total) fail(resume->dir, ": the checkpoint is of another model");
    return resume->point.params;
  }
  std::vector<float> params(table.total);
  init_params(plan.model.spec(), table, params, plan.config.seed);
  if (plan.config.init.empty()) return params;
  const PartialLoad loaded = load_matching_weights(read_safetensors(plan.config.init), table, params);
  console.note(cat("init: loaded ", loaded.loaded.size(), " of ", table.entries.size(), " tensors from ", plan.config.init));
  for (const std::string& s : loaded.skipped) console.note("init: re-initialised " + s);
  return params;
}

}  // namespace

StopOnSignals::StopOnSignals() : previous_int(std::signal(SIGINT, on_signal)), previous_term(std::signal(SIGTERM, on_signal)) {
  g_signal = 0;
}

StopOnSignals::~StopOnSignals() { std::signal(SIGINT, previous_int), std::signal(SIGTERM, previous_term); }

int StopOnSignals::agreed(Communicator& comm) {
  int sig = g_signal.load();
  if (comm.size() > 1) {
    double any[1] = {double(sig != 0)};
    comm.allreduce_sum(any);
    if (any[0] > 0 && !sig) sig = SIGTERM;
  }
  return sig;
}

TrainingRun::TrainingRun(const RunPlan& plan, const Processes& procs, const TrainingData& data, Net& net,
                         const ResumeFrom* resume)
    : plan_(plan), procs_(procs), net_(net), table_(net.params()), console_(procs.root()), schedule_(plan.schedule),
      config_json_(plan.config.to_json()),
      progress_({.total_steps = plan.total_steps, .steps_per_epoch = plan.steps_per_epoch, .first_step = plan.start_step,
                 .print_freq = plan.config.print_freq, .num_classes = plan.model.spec().num_classes, .print = procs.root()},
                resume ? resume->point.state.epoch : EpochSums{}) {
  if (resume) state_ = resume->point.state;
  else state_.run_id = new_run_id();
  state_.step = saved_step_ = plan.start_step;
  schedule_.set_state(state_.schedule);
  params_ = initial_weights(plan, table_, resume, console_);
  net_.set_params(params_);
  if (resume && state_.step > 0) net_.set_momentum(resume->point.momentum);
  if (plan.config.ema > 0) ema_ = resume && !resume->point.ema.empty() ? resume->point.ema : params_;
  val_ = data.val;  // validation: each process evaluates its shard (every sample once overall)
  if (val_ && plan.world.replicas > 1)
    val_ = std::make_shared<SubsetDataset>(data.val, evaluation_shard(data.val->size(), plan.world.rank, plan.world.replicas),
                                           data.val->describe());
}

void TrainingRun::open_run_directory(const ResumeFrom* resume) {
  if (!procs_.root()) return;
  writer_.emplace(rundir::Writer::open(plan_.run_dir, resume ? std::optional(resume->point.state.step) : std::nullopt));
  rundir::write_config(plan_.run_dir, config_json_);
  metrics_ = std::make_unique<report::MetricsWriter>(plan_.run_dir);
}

bool TrainingRun::after_step(const StepReport& r) {
  state_.step = r.step + 1;
  if (!ema_.empty()) {
    net_.get_params(params_);
    ema_update(ema_, params_, ema_decay(plan_.config.ema, r.step));
  }
  if (const auto line = progress_.step(r); line && metrics_) metrics_->write(*line);
  if (r.ends_epoch()) {
    report::EpochRecord record = progress_.end_epoch(r);
    if (plan_.validates_after(r.step, r.epoch, r.step_in_epoch)) validate(record);
    if (metrics_) metrics_->write(record);
  }
  if (plan_.checkpoints_after(r.step, r.step_in_epoch)) checkpoint();
  if (r.ends_epoch()) epoch_pictures_and_best();
  if (const int sig = StopOnSignals::agreed(*procs_.all)) {
    checkpoint();
    console_.stopped(sig, r.step + 1, plan_.run_dir);
    exit_code_ = 128 + sig;
    return false;
  }
  return true;
}

void TrainingRun::checkpoint() {
  if (saved_step_ == state_.step) return;
  net_.get_params(params_);
  momentum_.resize(table_.total);
  net_.get_momentum(momentum_);
  saved_step_ = state_.step;
  if (!procs_.root()) return;
  state_.schedule = schedule_.state();
  state_.epoch = progress_.epoch_sums();
  save_last_checkpoint(plan_.run_dir, table_, params_, momentum_, plan_.model, config_json_, state_, ema_);
  if (!ema_.empty())
    save_weights_file(rundir::file(plan_.run_dir, rundir::kEma), table_, ema_, plan_.model, config_json_, state_.step);
}

void TrainingRun::epoch_pictures_and_best() {
  if (!procs_.root()) return;  // params_ are those of the checkpoint just saved
  if (const ParamInfo* w1 = table_.find("features.0.weight")) {
    Tensor w(DType::F32, w1->shape);
    std::copy_n(params_.data() + w1->offset, w1->numel, w.data<float>());
    metrics_->write_filters(state_.step, w);  // (only for RGB kernels)
  }
  if (!plan_.validates())  // nothing to choose the best by: the latest weights (README's commands work)
    save_weights_file(rundir::file(plan_.run_dir, rundir::kBest), table_, params_, plan_.model, config_json_, state_.step);
}

void TrainingRun::checkpoint_after_error() {
  if (!procs_.root() || procs_.groups.columns || saved_step_ == state_.step || !writer_) return;
  try {
    saved_step_ = -1;  // a failed save of this step may have been the error: try once more
    checkpoint();
    console_.note(cat("the run stopped on an error after step ", state_.step, "; a checkpoint of that step is saved in ",
                      plan_.run_dir, " (continue with --resume ", plan_.run_dir, " once the cause is fixed)"));
  } catch (const std::exception& e) {
    console_.note(cat("warning: no checkpoint of step ", state_.step, " could be saved (", e.what(), ")"));
  }
}

TrainResult TrainingRun::finish() {
  TrainResult result;
  result.run_dir = plan_.run_dir;
  result.steps = state_.step;
  result.best_top1 = state_.best_top1;
  result.val_top1 = val_top1_, result.val_top5 = val_top5_, result.ema_top1 = ema_top1_;
  result.exit_code = exit_code_;
  if (exit_code_ == 0 && !plan_.config.save.empty()) save_final_weights();
  if (procs_.root() && plan_.config.report) write_report();
  return result;
}

EvalResult TrainingRun::evaluate_here() {
  return combine_evaluations(procs_.data(), val_->size() ? evaluate(net_, *val_, plan_.eval) : EvalResult{});
}

void TrainingRun::validate(report::EpochRecord& record) {
  if (ema_.empty()) net_.get_params(params_);  // with --ema, every step has fetched them already
  const EvalResult er = evaluate_here();
  val_top1_ = er.top1, val_top5_ = er.top5;
  record.values.insert({{"val_loss", er.loss}, {"val_top1", er.top1}, {"val_top5", er.top5}});
  if (procs_.root()) {
    rundir::write_confusion(plan_.run_dir, {plan_.model.classes, er.confusion, plan_.model.class_descriptions});
    metrics_->write_confusion(state_.step, er.confusion, plan_.model.classes);
  }
  if (er.top1 > state_.best_top1) {
    state_.best_top1 = er.top1;
    if (procs_.root())
      save_weights_file(rundir::file(plan_.run_dir, rundir::kBest), table_, params_, plan_.model, config_json_, state_.step);
  }
  console_.validation(record.epoch, er, state_.best_top1);
  if (!ema_.empty()) {  // the average, evaluated in the same network, then the raw weights back
    net_.set_params(ema_);
    const EvalResult ee = evaluate_here();
    net_.set_params(params_);
    ema_top1_ = ee.top1;
    record.values.insert({{"ema_loss", ee.loss}, {"ema_top1", ee.top1}, {"ema_top5", ee.top5}});
    console_.weight_average(record.epoch, ee);
  }
  if (schedule_.end_epoch(er.loss)) console_.lr_reduced(schedule_.lr(state_.step));
}

void TrainingRun::save_final_weights() {
  net_.get_params(params_);  // every process (a split net)
  if (!procs_.root()) return;
  save_weights_file(plan_.config.save, table_, params_, plan_.model, config_json_, state_.step);
  console_.note("saved weights to " + plan_.config.save);
}

void TrainingRun::write_report() const {
  try {
    const report::ReportResult rr = report::write_report_html(plan_.run_dir);
    for (const std::string& note : rr.notes) console_.note("report: " + note);
    console_.note("report: " + rr.html_path);
  } catch (const Error& e) {  // the run itself succeeded; the pictures are a courtesy
    console_.note(cat("warning: no report (", e.what(), ")"));
  }
}

}  // namespace alexnet
