// The data loader: worker threads decode and transform samples into a ring of prefetched batches.
//
//   Loader loader(dataset, options);
//   for (int64_t epoch = 0; epoch < E; ++epoch) {
//     loader.start_epoch(epoch);
//     while (const Batch* b = loader.next()) train_step(b->images_f32, b->labels, b->size);
//   }
//   std::puts(loader.stats().summary().c_str());
//
// Order and contents depend only on (seed, epoch): the epoch's sample order is a permutation drawn
// from (seed, epoch), each sample's augmentation from (seed, epoch, dataset index), so any number of
// threads gives identical batches. Workers fill the ring's slots in batch order, several threads
// per batch; the consumer waits only when the next batch is not complete yet, and that wait is
// measured (LoaderStats::wait_seconds).
//
// A sample whose decode throws CorruptSample is replaced by the next sample of the epoch's order
// (then the one after, ...), so batch shapes never change; each replacement is warned about and
// counted. In evaluation (LoaderOptions::replace_corrupt off) it is not replaced but left out: its
// row keeps its place with the label kSkippedSample, so that no sample is counted twice and the
// evaluation says how many it could not read. Any other exception in a worker stops the loader and
// is rethrown by next().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace alexnet {

// This rank's share of one epoch, as torch.utils.data.DistributedSampler (drop_last=False) gives it:
// the permutation of [0, n) drawn from (seed, epoch) (or 0..n-1 unshuffled) is padded by repeating
// its beginning to a multiple of world_size, and rank r takes positions r, r + world_size, ...
// Every sample appears once per epoch over all ranks, plus fewer than world_size repeats.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch, bool shuffle, int rank = 0, int world_size = 1);

enum class BatchFormat {
  F32_NCHW,  // normalised float [N, 3, S, S]: CPU training
  U8_NHWC,   // uint8 [N, S0, S0, 3] at the source size, cropped and flipped only
  // uint8 [N, S0, S0, 3], the source images themselves (others brought to S0 x S0: shorter side, centre
  // crop), and each sample's SamplePlan (image/sample_plan.h): the transform is left to
  // Net::forward_planned, on the GPU for CUDA. No colour jitter.
  U8_PLANNED,
};

// Where batch buffers live. The default is 64-byte aligned host memory; pinned (page-locked) memory
// for fast host-to-device copies plugs in here.
class BatchAllocator {
 public:
  virtual ~BatchAllocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
};

struct LoaderOptions {
  int batch_size = 64;
  int threads = 2;               // worker threads
  int prefetch = 4;              // ring depth (>= 1), counting the batch the consumer holds: up to
                                 // prefetch - 1 batches are decoded while the consumer works on one
  bool shuffle = true;
  bool drop_last = true;         // drop the last partial batch of an epoch
  bool train = true;             // random augmentation; false: the preset's evaluation transform
  uint64_t seed = 0;
  BatchFormat format = BatchFormat::F32_NCHW;
  TransformConfig transform;     // preset, input size S, mean/std, ...
  int rank = 0, world_size = 1;  // this process's shard of every epoch
  std::shared_ptr<BatchAllocator> allocator;                 // null: aligned host memory
  std::function<void(const std::string&)> warn;              // null: one line to stderr
  size_t pca_images = 2000;      // images sampled for PCA colour statistics when `paper` needs them
  // Float tensor datasets whose images are not S x S: resize them (shorter side to S, centre crop)
  // instead of refusing the dataset (check_model_input).
  bool resize_float_images = false;
  // A corrupt sample is replaced by the next one (training), or left in its row with the label
  // kSkippedSample and zero pixels (evaluation: every sample counted once, the unreadable ones not).
  bool replace_corrupt = true;
};

// The label of a row whose sample could not be read, when corrupt samples are not replaced.
constexpr int64_t kSkippedSample = -1;

// The one rule for images whose shape differs from the model's input, S x S x 3 (docs/data-formats.md,
// "Images and the model's input"), checked before the first batch by every Loader:
//   * decoded and 8-bit images (CIFAR, ImageFolder, U8 tensors) are always RGB; `seed`, `standard`
//     and `paper` resize them to S, whatever their size; `none` does not, and an image that is not
//     S x S is an error (the first one here, before any batch; a later one when it is loaded);
//   * float tensor images [3, H, W] are used as given when H = W = S; otherwise they are resized only
//     when resize_float is set, and are an error otherwise;
//   * float images cannot make uint8 batches.
// Returns one line saying what will happen ("images 224x224 (first sample) resized to 32x32 by
// --augment seed"), or throws alexnet::Error naming the file, the image shape found and the shape
// the model needs.
std::string check_model_input(const Dataset& dataset, const TransformConfig& transform, BatchFormat format,
                              bool resize_float);

// One batch, owned by the loader: valid until the next call to next() or start_epoch().
struct Batch {
  int64_t epoch = 0;
  int64_t number = 0;            // index of the batch within the epoch
  int64_t size = 0;              // N (the last batch may be smaller when drop_last is off)
  BatchFormat format = BatchFormat::F32_NCHW;
  int height = 0, width = 0;     // S x S (float) or S0 x S0 (uint8)
  float* images_f32 = nullptr;   // [N, 3, H, W] when F32_NCHW
  uint8_t* images_u8 = nullptr;  // [N, H, W, 3] when U8_NHWC or U8_PLANNED
  const SamplePlan* plans = nullptr;  // [N] when U8_PLANNED: each sample's transform to S x S
  int64_t* labels = nullptr;     // [N]; kSkippedSample for a corrupt sample left out (replace_corrupt off)
  const size_t* indices = nullptr;  // [N] dataset index of each sample (after corrupt replacement)
};

struct LoaderStats {
  int64_t batches = 0, samples = 0;    // delivered to the consumer, all epochs
  double wait_seconds = 0;             // consumer time spent waiting in next() for a batch
  double busy_seconds = 0;             // summed over workers: time decoding + transforming
  int64_t corrupt = 0;                 // corrupt decodes, replaced or left out (one corrupt in two epochs counts twice)
  std::vector<size_t> corrupt_indices; // distinct corrupt dataset indices, ascending
  // "12 batches, 768 samples, waited 0.42 s; 2 corrupt decodes skipped (2 distinct samples: 5, 17)".
  std::string summary() const;
};

// Batches per epoch for one of `world_size` processes sharing `samples` (each gets ceil(samples /
// world_size), padded by repetition): the one formula the loader and a resumed run both use.
int64_t batches_per_epoch(size_t samples, int world_size, int batch_size, bool drop_last);

class Loader {
 public:
  // Starts the worker threads (idle until start_epoch). Throws alexnet::Error for bad options. The
  // dataset must outlive the loader. For `paper` in training without TransformConfig::pca, the PCA
  // colour statistics are estimated here from options.pca_images images.
  Loader(const Dataset& dataset, LoaderOptions options);
  ~Loader();  // stops and joins the workers
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begins epoch `epoch` (abandoning whatever is left of the previous one).
  void start_epoch(int64_t epoch);
  // The next batch of the epoch, or nullptr at its end. Rethrows a worker's exception.
  const Batch* next();

  int64_t batches_per_epoch() const;
  size_t samples_per_epoch() const;  // this rank's samples (after padding)
  const Pipeline& pipeline() const { return pipeline_; }
  // What check_model_input said about this dataset and the model's input (one line).
  const std::string& input_note() const { return input_note_; }
  // Side of the uint8 output (S0): TransformConfig::source_size, or the first image's size.
  int source_size() const { return source_size_; }
  LoaderStats stats() const;
  // Stops and joins the workers; next() then throws. Idempotent.
  void stop();

 private:
  struct Slot;
  void worker_loop();
  // Loads order_[pos] (or its replacement) into row `row` of `slot`.
  void load_sample(Slot& slot, int64_t row, size_t pos, int64_t epoch);
  // Fills row `row` for a corrupt sample left out (replace_corrupt off): zeros, kSkippedSample.
  void leave_out(Slot& slot, int64_t row, size_t index, int64_t epoch, size_t key);
  void warn(const std::string& message);
  int64_t batch_length(int64_t batch) const;

  const Dataset& dataset_;
  LoaderOptions options_;
  Pipeline pipeline_;
  std::string input_note_;
  int source_size_ = 0;
  size_t sample_floats_ = 0, sample_bytes_ = 0;  // per sample, in the output format

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;      // workers: a task or a free slot appeared, or stop
  std::condition_variable done_cv_;      // consumer: a batch completed, or an error
  std::vector<std::unique_ptr<Slot>> ring_;
  std::vector<std::thread> workers_;

  // The epoch in progress (guarded by mutex_).
  uint64_t generation_ = 0;              // bumped by start_epoch: stale work is dropped
  int64_t epoch_ = -1;
  std::vector<size_t> order_;            // this rank's dataset indices, in epoch order
  int64_t num_batches_ = 0;
  int64_t next_task_ = 0;                // next chunk to hand out, counted over the whole epoch
  int64_t chunks_per_batch_ = 1;
  int64_t consumed_ = 0;                 // batches handed to the consumer this epoch
  int64_t released_ = 0;                 // batches whose slots the consumer gave back this epoch
  bool holding_ = false;                 // the consumer holds batch consumed_ - 1
  int active_workers_ = 0;               // workers inside fill()
  bool stopping_ = false;
  std::exception_ptr error_;

  LoaderStats stats_;
  std::mutex warn_mutex_;
};

}  // namespace alexnet
