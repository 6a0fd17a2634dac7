// A training run carried out: the plan on a network, with what the training loop's hook keeps between
// steps (the loop state, the weight average) and writes (metrics, validation results, checkpoints in
// the run directory), and how the run ends (a signal, an error, the report).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/readers.h"
#include "dist/split_net.h"
#include "report/metrics.h"
#include "rundir/run_dir.h"
#include "train/plan.h"
#include "train/progress.h"
#include "train/run.h"

namespace alexnet {

// The processes of the run: the columns of a split model (--split S), the model's copies data
// parallel over the rest; rank 0 of them all prints and writes the run directory.
struct Processes {
  std::unique_ptr<Communicator> single;  // when the caller gave none
  Communicator* all = nullptr;
  SplitGroups groups;
  WorldFacts facts;
  Communicator& data() const { return *groups.data; }
  bool root() const { return all->rank() == 0; }
};

// SIGINT and SIGTERM, while an object lives: the loop finishes its step, checkpoints and stops.
struct StopOnSignals {
  using Handler = void (*)(int);
  Handler previous_int, previous_term;
  StopOnSignals();
  ~StopOnSignals();
  // The signal that stops every process at this step (0: none); every process must call it.
  static int agreed(Communicator& comm);
};

class TrainingRun {
 public:
  // Sets the network's starting weights (the checkpoint's when resuming, else fresh ones and --init's).
  TrainingRun(const RunPlan& plan, const Processes& procs, const TrainingData& data, Net& net, const ResumeFrom* resume);

  const RunConsole& console() const { return console_; }
  const LrSchedule& schedule() const { return schedule_; }

  // Rank 0 takes the run directory (one writer at a time) and writes the config and the metrics.
  void open_run_directory(const ResumeFrom* resume);
  // The loop's hook after every step; false stops the run (a signal).
  bool after_step(const StepReport& r);
  // Saves the last completed step (every process must call it: a split net assembles its parameters
  // from its columns); nothing when that step is saved already.
  void checkpoint();
  // After an error: the steps completed since the last checkpoint saved, when this process can do it
  // alone (not a split model, whose parameters live in several processes). Says what it did.
  void checkpoint_after_error();
  // The final weights (--save) and the report.
  TrainResult finish();

 private:
  EvalResult evaluate_here();
  void validate(report::EpochRecord& record);
  void save_final_weights();
  // At an epoch's end: the first layer's filters as a picture, and without validation best = latest.
  void epoch_pictures_and_best();
  void write_report() const;

  const RunPlan& plan_;
  const Processes& procs_;
  Net& net_;
  const ParamTable& table_;
  RunConsole console_;
  LrSchedule schedule_;
  std::string config_json_;
  Progress progress_;
  LoopState state_;
  int64_t saved_step_ = 0;
  std::vector<float> params_, momentum_, ema_;
  std::shared_ptr<const Dataset> val_;
  std::optional<rundir::Writer> writer_;
  std::unique_ptr<report::MetricsWriter> metrics_;
  double val_top1_ = -1, val_top5_ = -1, ema_top1_ = -1;
  int exit_code_ = 0;
};

}  // namespace alexnet
