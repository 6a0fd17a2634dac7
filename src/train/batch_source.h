// Where training batches come from: an interface the trainer pulls from, so it does not care whether
// batches are decoded by the threaded loader or sliced from a tensor already in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/rng.h"
#include "tensor/tensor.h"

namespace alexnet {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t steps_per_epoch() const = 0;
  // Fills images [B, 3, S, S] (normalised float) and labels [B] for `step` (global, 0-based) of a run;
  // returns the number of samples (B, or fewer at the end of an epoch).
  virtual int fill(int64_t step, float* images, int64_t* labels) = 0;
  // Seconds the last fill() spent waiting for data (0 when data was ready).
  virtual double last_wait_seconds() const { return 0; }
};

// Batches sliced from an in-memory tensor dataset (images F32 [N, 3, S, S] used as given, labels I64 [N]).
// shuffle=false: step s uses samples [s*B, (s+1)*B) modulo N (wrapping around).
// shuffle=true: each epoch of ceil(N/B) steps visits a permutation of the samples drawn from (seed, epoch).
class TensorBatchSource final : public BatchSource {
 public:
  TensorBatchSource(Tensor images, Tensor labels, int batch_size, bool shuffle, uint64_t seed);
  int64_t steps_per_epoch() const override;
  int fill(int64_t step, float* images, int64_t* labels) override;

 private:
  Tensor images_, labels_;
  int batch_;
  bool shuffle_;
  uint64_t seed_;
  int64_t order_epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace alexnet
