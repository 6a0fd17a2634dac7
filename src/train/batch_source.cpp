#include "train/batch_source.h"

namespace alexnet {

BatchView LoaderBatchSource::get(int64_t step) {
  const int64_t per_epoch = steps_per_epoch();
  const int64_t epoch = step / per_epoch, batch = step % per_epoch;
  const double wait_before = loader_.stats().wait_seconds;
  if (epoch != epoch_ || batch != next_batch_) {
    loader_.start_epoch(epoch);
    epoch_ = epoch;
    for (next_batch_ = 0; next_batch_ < batch; ++next_batch_)
      if (!loader_.next()) fail("the data loader ended epoch ", epoch, " early");
  }
  const Batch* b = loader_.next();
  if (!b) fail("the data loader ended epoch ", epoch, " early");
  ++next_batch_;
  if (next_batch_ == per_epoch) epoch_ = -1;  // the next step starts a new epoch
  wait_ = loader_.stats().wait_seconds - wait_before;
  BatchView v;
  v.images = b->images_f32;
  v.source = b->images_u8;
  v.plans = b->plans;
  v.source_h = b->height;
  v.source_w = b->width;
  v.labels = b->labels;
  v.n = int(b->size);
  return v;
}

void forward_batch(Net& net, const BatchView& batch, Mode mode, uint64_t step) {
  if (batch.plans)
    net.forward_planned(batch.source, batch.source_h, batch.source_w, batch.plans, batch.n, mode, step);
  else
    net.forward(batch.images, batch.n, mode, step);
}

}  // namespace alexnet
