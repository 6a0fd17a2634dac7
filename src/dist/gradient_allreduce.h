// Data-parallel gradients combined while backward is still running: the gradient buffer is cut into
// buckets of whole layers, last layer first (the classifier, 96% of AlexNet's parameters, is ready
// while the convolutions are still computing theirs), and each bucket's all-reduce starts as soon as
// its layers are final (Net::on_gradients_ready), on the communicator's non-blocking path. What never
// got announced (a backend without the hook) is reduced at the end. PyTorch's DistributedDataParallel
// does the same with 25 MiB buckets and a 1 MiB first bucket.
//
//   per step:  begin(n)          this rank's sample count n
//              ready(b, e) ...   from backward: grads[b, e) final -> scaled by n, bucket started when full
//              finish(total)     the rest started, all completed, grads /= total (the global batch)
// Every rank sees the same layers in the same order, so every rank starts the same buckets.
#pragma once

#include <cstddef>
#include <span>

#include "dist/communicator.h"

namespace alexnet {

class GradientAllReduce {
 public:
  // bucket_floats: start a bucket when it holds at least this many floats; the first bucket is at
  // most 1/25 of that. 0, or a buffer no bigger than one bucket (the cifar model's 7 MB: measured
  // 1,386 img/s in buckets against 1,517 at once on 2 processes), is one blocking all-reduce of the
  // whole buffer in finish(), nothing overlapped.
  GradientAllReduce(Communicator& comm, std::span<float> grads, size_t bucket_floats);

  void begin(int n);
  void ready(size_t begin, size_t end);
  void finish(double total);
  int buckets_last_step() const { return buckets_; }

 private:
  void start(size_t begin, size_t end);

  Communicator& comm_;
  std::span<float> grads_;
  size_t bucket_floats_;
  float weight_ = 1;
  size_t pending_begin_ = 0, pending_end_ = 0;  // announced, not yet started: [begin, end); above: started
  int buckets_ = 0;
};

}  // namespace alexnet
