#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <optional>
#include <vector>

#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/device_allreduce.h"
#include "dist/gradient_allreduce.h"

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
  Communicator* comm = options.comm && options.comm->size() > 1 ? options.comm : nullptr;
  std::vector<float> grad_scratch;  // host copy of device gradients for the all-reduce
  // Host gradients are combined bucket by bucket while backward runs; device ones after it.
  std::optional<GradientAllReduce> reducer;
  struct Unhook {
    Net& net;
    ~Unhook() { net.on_gradients_ready(nullptr); }
  } unhook{net};
  if (comm && !net.host_grads().empty()) {
    reducer.emplace(*comm, net.host_grads(), options.bucket_floats);
    net.on_gradients_ready([&reducer](size_t begin, size_t end) { reducer->ready(begin, end); });
  }
  for (; step < options.total_steps; ++step) {
    const BatchView batch = source.get(step);
    const int n = batch.n;
    const int64_t* labels = batch.labels;
    const double t0 = seconds();
    if (reducer) reducer->begin(n);
    const float lr = schedule.lr(step);
    forward_batch(net, batch, Mode::Train, uint64_t(step));
    float loss = net.backward(labels);
    net.get_logits(logits.data());
    int correct = 0;
    for (int i = 0; i < n; ++i) {
      const float* z = logits.data() + size_t(i) * spec.num_classes;
      int best = 0;
      for (int c = 1; c < spec.num_classes; ++c)
        if (z[c] > z[best]) best = c;
      correct += best == labels[i];
    }
    int samples = n;
    double comm_seconds = 0;
    if (comm) {
      // The global batch's loss and accuracy first: every process then sees the same (finite or
      // not) loss and stops at the same step.
      const double tc = seconds();
      double totals[3] = {double(loss) * n, double(correct), double(n)};
      comm->allreduce_sum(totals);
      loss = float(totals[0] / totals[2]);
      correct = int(totals[1]);
      samples = int(totals[2]);
      if (reducer) reducer->finish(totals[2]);  // always: its buckets are already under way on every rank
      else if (std::isfinite(loss))  // on a device: equal batches on every rank (the loader pads)
        average_gradients(net, *comm, n, grad_scratch, options.device_reduce);
      comm_seconds = seconds() - tc;
    }
    if (!std::isfinite(loss))
      fail("the loss became ", loss, " at step ", step + 1, " (learning rate ", lr,
           "); the parameters of the previous step are kept. Try a lower learning rate, or a warm-up");
    net.sgd_step(options.sgd, lr);
    StepReport r;
    r.step = step;
    r.epoch = step / per_epoch;
    r.step_in_epoch = step % per_epoch;
    r.steps_per_epoch = per_epoch;
    r.total_steps = options.total_steps;
    r.loss = loss;
    r.lr = lr;
    r.samples = samples;
    r.correct = correct;
    r.comm_seconds = comm_seconds;
    r.compute_seconds = seconds() - t0;
    r.wait_seconds = source.last_wait_seconds();
    if (!on_step(r)) return step + 1;
  }
  return step;
}

}  // namespace alexnet
