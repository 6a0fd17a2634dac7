// Learning-rate schedules, as a pure function of progress (plus the state of reduce-on-plateau),
// so a resumed run gets exactly the same rates.
//
//   constant   lr
//   step       lr * gamma^floor(epoch / step_size)                      (torch StepLR, per epoch)
//   multistep  lr * gamma^(number of milestones <= epoch)               (torch MultiStepLR)
//   cosine     min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2       (per step, T = all steps)
//   onecycle   torch OneCycleLR(max_lr=lr, pct_start, div_factor 25, final_div_factor 1e4, cos), per step
//   plateau    lr * factor^(reductions), one reduction when the validation loss has not improved
//              for `patience` epochs (torch ReduceLROnPlateau, mode min, threshold 1e-4 rel)
// Linear warm-up (optional, any schedule but onecycle) multiplies by (t + 1) / warmup_steps for
// the first warmup_steps steps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace alexnet {

struct ScheduleConfig {
  std::string kind = "constant";  // constant, step, multistep, cosine, onecycle, plateau
  float lr = 0.01f;
  int64_t total_steps = 1;        // all steps of the run (cosine, onecycle)
  int64_t steps_per_epoch = 1;
  int64_t warmup_steps = 0;
  float gamma = 0.1f;             // step, multistep
  int step_size = 30;             // step: epochs between decays
  std::vector<int> milestones;    // multistep: epochs
  float min_lr = 0.f;             // cosine
  float pct_start = 0.3f;         // onecycle
  float factor = 0.1f;            // plateau
  int patience = 2;               // plateau: epochs without improvement
};

class LrSchedule {
 public:
  explicit LrSchedule(ScheduleConfig config);  // throws alexnet::Error for an unknown kind or bad values

  // The learning rate of global step `step` (0-based).
  float lr(int64_t step) const;
  // Reduce-on-plateau: report the epoch's validation loss. Returns true when the rate was reduced.
  bool end_epoch(double val_loss);

  // Checkpointed state (plateau only).
  struct State {
    int reductions = 0;
    double best = 1e300;
    int bad_epochs = 0;
  };
  const State& state() const { return state_; }
  void set_state(const State& s) { state_ = s; }
  const ScheduleConfig& config() const { return config_; }

  static std::vector<std::string> kinds();

 private:
  ScheduleConfig config_;
  State state_;
};

}  // namespace alexnet
