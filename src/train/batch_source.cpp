#include "train/batch_source.h"

#include <cstring>
#include <numeric>

namespace alexnet {

TensorBatchSource::TensorBatchSource(Tensor images, Tensor labels, int batch_size, bool shuffle, uint64_t seed)
    : images_(std::move(images)), labels_(std::move(labels)), batch_(batch_size), shuffle_(shuffle), seed_(seed) {
  ALEXNET_ASSERT(images_.dtype() == DType::F32 && images_.ndim() == 4, "TensorBatchSource: images");
  ALEXNET_ASSERT(labels_.dtype() == DType::I64 && labels_.dim(0) == images_.dim(0), "TensorBatchSource: labels");
  if (images_.dim(0) < 1) fail("the dataset holds no images");
}

int64_t TensorBatchSource::steps_per_epoch() const { return (images_.dim(0) + batch_ - 1) / batch_; }

int TensorBatchSource::fill(int64_t step, float* images, int64_t* labels) {
  const int64_t N = images_.dim(0);
  const size_t image = size_t(images_.numel() / N);
  if (!shuffle_) {
    for (int i = 0; i < batch_; ++i) {
      const int64_t s = (step * batch_ + i) % N;
      std::memcpy(images + size_t(i) * image, images_.data<float>() + size_t(s) * image, image * sizeof(float));
      labels[i] = labels_.data<int64_t>()[s];
    }
    return batch_;
  }
  const int64_t epoch = step / steps_per_epoch(), in_epoch = step % steps_per_epoch();
  if (epoch != order_epoch_) {  // Fisher-Yates from (seed, epoch): the same order on resume
    order_.resize(size_t(N));
    std::iota(order_.begin(), order_.end(), 0);
    Rng rng(seed_ ^ (0x5eed0000ull + uint64_t(epoch)));
    for (int64_t i = N - 1; i > 0; --i) std::swap(order_[size_t(i)], order_[rng.below(uint64_t(i + 1))]);
    order_epoch_ = epoch;
  }
  const int n = int(std::min<int64_t>(batch_, N - in_epoch * batch_));
  for (int i = 0; i < n; ++i) {
    const int64_t s = order_[size_t(in_epoch * batch_ + i)];
    std::memcpy(images + size_t(i) * image, images_.data<float>() + size_t(s) * image, image * sizeof(float));
    labels[i] = labels_.data<int64_t>()[s];
  }
  return n;
}

}  // namespace alexnet
