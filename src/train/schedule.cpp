#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace alexnet {

std::vector<std::string> LrSchedule::kinds() { return {"constant", "step", "multistep", "cosine", "onecycle", "plateau"}; }

LrSchedule::LrSchedule(ScheduleConfig config) : config_(std::move(config)) {
  const auto k = kinds();
  if (std::find(k.begin(), k.end(), config_.kind) == k.end())
    fail("unknown schedule '", config_.kind, "' (expected constant, step, multistep, cosine, onecycle or plateau)");
  if (!(config_.lr > 0) || !std::isfinite(config_.lr)) fail("learning rate must be a positive number, got ", config_.lr);
  if (config_.total_steps < 1) config_.total_steps = 1;
  if (config_.steps_per_epoch < 1) config_.steps_per_epoch = 1;
  if (config_.warmup_steps < 0) fail("warm-up must not be negative");
  if (config_.step_size < 1) fail("step size must be at least 1 epoch, got ", config_.step_size);
  if (!(config_.pct_start > 0 && config_.pct_start < 1)) fail("onecycle pct_start must be in (0, 1)");
}

float LrSchedule::lr(int64_t step) const {
  const ScheduleConfig& c = config_;
  const double t = double(step), T = double(c.total_steps);
  const int64_t epoch = step / c.steps_per_epoch;
  double rate = c.lr;
  if (c.kind == "step") {
    rate = c.lr * std::pow(c.gamma, double(epoch / c.step_size));
  } else if (c.kind == "multistep") {
    int passed = 0;
    for (int m : c.milestones) passed += epoch >= m;
    rate = c.lr * std::pow(c.gamma, passed);
  } else if (c.kind == "cosine") {
    rate = c.min_lr + (c.lr - c.min_lr) * 0.5 * (1 + std::cos(M_PI * std::min(t, T) / T));
  } else if (c.kind == "onecycle") {
    // torch OneCycleLR (three_phase=False): up from max/25 to max over pct_start, then cosine down to
    // max/25/1e4; phase ends at steps pct_start*T - 1 and T - 1.
    const double initial = c.lr / 25.0, final_lr = initial / 1e4;
    const double up_end = c.pct_start * T - 1, down_end = T - 1;
    auto cos_anneal = [](double start, double end, double pct) { return end + (start - end) / 2 * (std::cos(M_PI * pct) + 1); };
    if (t <= up_end)
      rate = cos_anneal(initial, c.lr, up_end > 0 ? t / up_end : 1.0);
    else
      rate = cos_anneal(c.lr, final_lr, std::min(1.0, (t - up_end) / std::max(1.0, down_end - up_end)));
    return float(rate);
  } else if (c.kind == "plateau") {
    rate = c.lr * std::pow(c.factor, state_.reductions);
  }
  if (step < c.warmup_steps) rate *= double(step + 1) / double(c.warmup_steps);
  return float(rate);
}

bool LrSchedule::end_epoch(double val_loss) {
  if (config_.kind != "plateau") return false;
  if (val_loss < state_.best * (1 - 1e-4)) {
    state_.best = val_loss;
    state_.bad_epochs = 0;
    return false;
  }
  if (++state_.bad_epochs > config_.patience) {
    ++state_.reductions;
    state_.bad_epochs = 0;
    return true;
  }
  return false;
}

}  // namespace alexnet
