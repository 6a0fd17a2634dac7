#include "dist/gradient_allreduce.h"

#include <algorithm>

#include "core/error.h"

namespace alexnet {

GradientAllReduce::GradientAllReduce(Communicator& comm, std::span<float> grads, size_t bucket_floats)
    : comm_(comm), grads_(grads), bucket_floats_(grads.size() <= bucket_floats ? 0 : bucket_floats) {}

void GradientAllReduce::begin(int n) {
  weight_ = float(n);
  pending_begin_ = pending_end_ = grads_.size();
  buckets_ = 0;
}

void GradientAllReduce::start(size_t begin, size_t end) {
  if (end <= begin) return;
  // Weighted by this rank's samples, so that ranks with unequal batches average correctly.
  for (size_t i = begin; i < end; ++i) grads_[i] *= weight_;
  comm_.start_allreduce_sum(grads_.subspan(begin, end - begin));
  ++buckets_;
}

void GradientAllReduce::ready(size_t begin, size_t end) {
  if (bucket_floats_ == 0) return;
  // Layers arrive last to first; the parameters of consecutive layers are adjacent in the buffer.
  if (end != pending_begin_ || begin > end) fail("gradients announced out of order: [", begin, ", ", end, ") after ", pending_begin_);
  pending_begin_ = begin;
  const size_t limit = buckets_ == 0 ? std::max<size_t>(1, bucket_floats_ / 25) : bucket_floats_;
  if (pending_end_ - pending_begin_ >= limit) {
    start(pending_begin_, pending_end_);
    pending_end_ = pending_begin_;
  }
  comm_.progress();
}

void GradientAllReduce::finish(double total) {
  if (buckets_ == 0) {  // nothing under way: one blocking all-reduce of the whole buffer
    for (float& x : grads_) x *= weight_;
    comm_.allreduce_sum(grads_);
  } else {  // what is pending, and below it whatever was never announced
    start(0, pending_end_);
    comm_.wait_all();
  }
  const float scale = float(1.0 / total);
  for (float& x : grads_) x *= scale;
}

}  // namespace alexnet
