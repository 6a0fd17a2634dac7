// A training run planned as data: every setting the run derives from its config, the data, the
// processes and the resume point, computed by one pure function (no files, no data, no network), so
// that each number can be checked by a test and printed before the run starts (describe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "dist/process_net.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/evaluate.h"
#include "train/schedule.h"
#include "train/trainer.h"

namespace alexnet {

// What the plan needs to know of the data (open_training_data's parts).
struct DataFacts {
  size_t train_size = 0;
  std::vector<std::string> classes;
  std::vector<std::string> class_descriptions;  // Dataset::class_descriptions (may be empty)
  bool small_images = true;        // has_small_images
  bool float_images = false;       // Dataset::has_float_images
  std::string train_describe;
  size_t val_size = 0;             // 0: no validation
  std::string val_note;
  size_t holdout_size = 0;         // 0: no test set held out
};

// The processes: `replicas` copies of the model train data parallel, this process being `rank` of
// them; `processes` in all (replicas x columns of a split model).
struct WorldFacts {
  int rank = 0, replicas = 1, processes = 1, local_rank = 0;
  std::string transport = "single process";
};

// Where a resumed run stopped.
struct ResumeFacts {
  std::string dir;
  int64_t step = 0;                // steps completed
  int stored_replicas = 1;         // the data-parallel processes that trained them
  std::vector<std::string> classes;  // the checkpoint's class names (empty: not recorded)
};

struct RunPlan {
  TrainConfig config;              // as given, with num_classes, world_size and out filled in
  DataFacts data;
  WorldFacts world;
  ModelInfo model;                 // recorded in every checkpoint
  TransformConfig transform;       // the training preset; evaluation uses its counterpart
  bool transform_on_device = false;  // the loader sends uint8 images and plans (Net::forward_planned)
  LoaderOptions loader;
  NetRequest net;                  // columns (a split model) are the run's to fill in
  ScheduleConfig schedule;
  TrainLoopOptions loop;           // comm and device_reduce are the run's to fill in
  EvalOptions eval;                // progress is the caller's
  int64_t steps_per_epoch = 1, total_steps = 1;
  int64_t start_step = 0;          // the resumed step, mapped to this number of processes
  std::optional<ResumeFacts> resumed;
  std::string run_dir;
  size_t parameters = 0;

  float peak_lr() const { return schedule.lr; }
  // After 0-based `step` (of `epoch`, at `step_in_epoch`): whether an epoch (or the run) ends there,
  // whether to validate, whether to save a checkpoint (also at every epoch end).
  bool epoch_ends_after(int64_t step, int64_t step_in_epoch) const;
  bool validates_after(int64_t step, int64_t epoch, int64_t step_in_epoch) const;
  bool checkpoints_after(int64_t step, int64_t step_in_epoch) const;
  // Whether the run validates at all (a validation set, and eval_every > 0).
  bool validates() const { return data.val_size > 0 && config.eval_every > 0; }
};

// The run's plan. Throws alexnet::Error for what cannot be trained (more classes in the data than
// num_classes, no data).
RunPlan plan_run(TrainConfig config, const DataFacts& data, const WorldFacts& world,
                 const std::optional<ResumeFacts>& resume = std::nullopt);

// What the run will do, in lines for people (data, model, steps and schedule, processes, folder).
std::string describe(const RunPlan& plan);

}  // namespace alexnet
