#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <vector>

namespace alexnet {

namespace {
double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

int64_t train_loop(Net& net, BatchSource& source, const LrSchedule& schedule, const TrainLoopOptions& options,
                   const std::function<bool(const StepReport&)>& on_step) {
  const NetSpec& spec = net.spec();
  const int B = options.batch_size;
  std::vector<float> logits(size_t(B) * spec.num_classes);
  const int64_t per_epoch = source.steps_per_epoch();
  int64_t step = options.start_step;
  for (; step < options.total_steps; ++step) {
    const BatchView batch = source.get(step);
    const int n = batch.n;
    const int64_t* labels = batch.labels;
    const double t0 = seconds();
    const float lr = schedule.lr(step);
    net.forward(batch.images, n, Mode::Train, uint64_t(step));
    const float loss = net.backward(labels);
    if (!std::isfinite(loss))
      fail("the loss became ", loss, " at step ", step + 1, " (learning rate ", lr,
           "); the parameters of the previous step are kept. Try a lower --lr, or warm-up (--warmup-epochs)");
    net.sgd_step(options.sgd, lr);
    net.get_logits(logits.data());
    StepReport r;
    r.step = step;
    r.epoch = step / per_epoch;
    r.step_in_epoch = step % per_epoch;
    r.steps_per_epoch = per_epoch;
    r.total_steps = options.total_steps;
    r.loss = loss;
    r.lr = lr;
    r.samples = n;
    for (int i = 0; i < n; ++i) {
      const float* z = logits.data() + size_t(i) * spec.num_classes;
      int best = 0;
      for (int c = 1; c < spec.num_classes; ++c)
        if (z[c] > z[best]) best = c;
      r.correct += best == labels[i];
    }
    r.compute_seconds = seconds() - t0;
    r.wait_seconds = source.last_wait_seconds();
    if (!on_step(r)) return step + 1;
  }
  return step;
}

}  // namespace alexnet
