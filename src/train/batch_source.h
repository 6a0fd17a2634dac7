// Where training batches come from: the trainer asks for the batch of a global step; the source
// turns that into (epoch, batch within the epoch), so a resumed run gets exactly the same batches.
#pragma once

#include <cstdint>

#include "backend/net.h"
#include "data/loader.h"

namespace alexnet {

struct BatchView {
  const float* images = nullptr;   // [n, 3, S, S], normalised; or, when `plans` is set:
  const uint8_t* source = nullptr; // [n, source_h, source_w, 3] uint8 with
  const SamplePlan* plans = nullptr;  // each sample's transform (BatchFormat::U8_PLANNED)
  int source_h = 0, source_w = 0;
  const int64_t* labels = nullptr; // [n]
  int n = 0;
};

// net.forward of the batch: forward_planned when it comes with plans, forward otherwise.
void forward_batch(Net& net, const BatchView& batch, Mode mode, uint64_t step = 0);

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t steps_per_epoch() const = 0;
  // The batch of global step `step` (0-based); valid until the next call.
  virtual BatchView get(int64_t step) = 0;
  // Seconds the last get() spent waiting for data (0 when it was ready).
  virtual double last_wait_seconds() const { return 0; }
};

// Batches from the threaded loader. Steps run through epochs in order; asking for a step that is not
// the next one (a resume) restarts the loader at that epoch and skips to the batch.
class LoaderBatchSource final : public BatchSource {
 public:
  explicit LoaderBatchSource(Loader& loader) : loader_(loader) {}
  int64_t steps_per_epoch() const override { return loader_.batches_per_epoch(); }
  BatchView get(int64_t step) override;
  double last_wait_seconds() const override { return wait_; }

 private:
  Loader& loader_;
  int64_t epoch_ = -1, next_batch_ = 0;
  double wait_ = 0;
};

}  // namespace alexnet
