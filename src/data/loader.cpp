#include "data/loader.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace alexnet {

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch, bool shuffle, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    fail("rank ", rank, " is not in [0, world size ", world_size, ")");
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  if (shuffle) {
    // The sample streams use index keys < n; the order's stream uses the largest key.
    SampleRng rng(seed, uint64_t(epoch), ~uint64_t(0));
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[size_t(rng.uniform_int(0, int(i - 1)))]);
  }
  if (world_size == 1 || n == 0) return order;
  const size_t W = size_t(world_size);
  const size_t total = (n + W - 1) / W * W;
  for (size_t i = n; i < total; ++i) order.push_back(order[(i - n) % n]);  // pad with the beginning
  std::vector<size_t> mine;
  mine.reserve(total / W);
  for (size_t i = size_t(rank); i < total; i += W) mine.push_back(order[i]);
  return mine;
}

std::string LoaderStats::summary() const {
  std::string s = cat(batches, " batches, ", samples, " samples, waited ", wait_seconds, " s");
  if (corrupt == 0) return s + "; no corrupt samples";
  s += cat("; ", corrupt, " corrupt decode", corrupt == 1 ? "" : "s", " skipped (", corrupt_indices.size(),
           " distinct sample", corrupt_indices.size() == 1 ? "" : "s", ": ");
  for (size_t i = 0; i < corrupt_indices.size() && i < 20; ++i) s += cat(i ? ", " : "", corrupt_indices[i]);
  if (corrupt_indices.size() > 20) s += ", ...";
  return s + ")";
}

namespace {

class AlignedAllocator : public BatchAllocator {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, size_t) override { std::free(p); }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TransformConfig prepared_transform(const Dataset& dataset, const LoaderOptions& options) {
  TransformConfig config = options.transform;
  Pipeline probe(config, options.train);  // validates the config (unknown preset, bad values)
  if (probe.needs_pca() && !config.pca && !dataset.has_float_images())
    config.pca = compute_pca_lighting(dataset, options.pca_images);
  return config;
}

// The first image that decodes among the first few (the others are corrupt samples), if any.
bool first_readable_image(const Dataset& dataset, Image& out, size_t& index) {
  for (size_t i = 0; i < dataset.size() && i < 100; ++i) {
    try {
      out = dataset.image(i);
      index = i;
      return true;
    } catch (const CorruptSample&) {
    }
  }
  return false;
}

// The first readable image's square side, for the uint8 output's size.
int first_image_side(const Dataset& dataset) {
  for (size_t i = 0; i < dataset.size() && i < 100; ++i) {
    try {
      Image im = dataset.image(i);
      return std::min(im.height, im.width);
    } catch (const CorruptSample&) {
    }
  }
  fail("cannot find the source image size: the first images of ", dataset.describe(),
       " are corrupt (set TransformConfig::source_size)");
}

// Image sizes are said width x height, as `alexnet info` and image viewers do.
std::string size_text(int h, int w) { return cat(w, "x", h); }

// ", or --input-size N for a model of their size" when the images are square.
std::string input_size_hint(int h, int w) { return h == w ? cat(", or --input-size ", h, " for a model of their size") : ""; }

}  // namespace

std::string check_model_input(const Dataset& dataset, const TransformConfig& transform, BatchFormat format,
                              bool resize_float) {
  const int S = transform.input_size;
  if (dataset.size() == 0) fail("dataset ", dataset.describe(), " is empty");
  if (dataset.has_float_images()) {
    const auto [h, w] = dataset.float_image_size();
    const std::string where = dataset.sample_name(0);
    if (format != BatchFormat::F32_NCHW)
      fail(where, ": holds float images [3, ", h, ", ", w, "]: they cannot make uint8 batches");
    if (h <= 0 || w <= 0) fail(where, ": float images of size ", size_text(h, w));
    if (h == S && w == S) return cat("input: float images 3x", S, "x", S, ", the model's input size, used as given");
    if (!resize_float)
      fail(where, ": float images are 3x", h, "x", w, " but the model's input is 3x", S, "x", S,
           "; float images are used as given (no --augment preset applies to them): pass --resize-float to resize "
           "them", input_size_hint(h, w));
    return cat("input: float images 3x", h, "x", w, " resized to 3x", S, "x", S,
               " (--resize-float: shorter side to ", S, ", centre crop)");
  }
  const Preset preset = parse_preset(transform.preset);
  Image first;
  size_t index = 0;
  if (!first_readable_image(dataset, first, index))
    return cat("input: the first images of ", dataset.describe(), " do not decode (they are skipped as corrupt)");
  const std::string found = size_text(first.height, first.width);
  if (format == BatchFormat::U8_NHWC)
    return cat("input: images ", found, " (width x height, first sample), cropped and flipped at the source size (uint8 batches)");
  if (format == BatchFormat::U8_PLANNED) {
    if (transform.jitter.enabled())
      fail("colour jitter is done on the CPU only: it cannot go with batches transformed by the network's device "
           "(leave --color-jitter off, or train on the CPU)");
    if (preset == Preset::None && (first.height != S || first.width != S))
      fail(dataset.sample_name(index), ": image is ", found, " but the model's input is ", S, "x", S,
           "; --augment none does not resize: use --augment seed, standard or paper to resize them",
           input_size_hint(first.height, first.width));
    return cat("input: images ", found, " (width x height, first sample) sent as uint8 with each sample's transform (--augment ",
               transform.preset, ", to ", S, "x", S, "), done on the network's device");
  }
  if (first.height == S && first.width == S)
    return cat("input: images ", found, " (width x height, first sample), the model's input size; --augment ", transform.preset);
  if (preset == Preset::None)
    fail(dataset.sample_name(index), ": image is ", found, " but the model's input is ", S, "x", S,
         "; --augment none does not resize: use --augment seed, standard or paper to resize them",
         input_size_hint(first.height, first.width));
  // Will the preset manage this image? (An image too elongated to resize is refused here.)
  try {
    shorter_side_size(first.height, first.width, S);
  } catch (const CorruptSample& e) {
    fail(dataset.sample_name(index), ": ", e.what());
  }
  return cat("input: images ", found, " (width x height, first sample) resized to ", S, "x", S, " by --augment ", transform.preset);
}

// One ring slot: the buffers of one batch.
struct Loader::Slot {
  std::shared_ptr<BatchAllocator> allocator;
  void* images = nullptr;
  size_t image_bytes = 0;
  int64_t* labels = nullptr;
  std::vector<size_t> indices;
  std::vector<SamplePlan> plans;  // U8_PLANNED
  int64_t done = 0;  // samples written for the batch this slot holds
  Batch view;

  ~Slot() {
    if (images) allocator->deallocate(images, image_bytes);
    if (labels) allocator->deallocate(labels, sizeof(int64_t) * indices.size());
  }
};

Loader::Loader(const Dataset& dataset, LoaderOptions options)
    : dataset_(dataset), options_(std::move(options)), pipeline_(prepared_transform(dataset_, options_), options_.train) {
  const LoaderOptions& o = options_;
  if (o.batch_size < 1) fail("batch size must be >= 1, got ", o.batch_size);
  if (o.threads < 1) fail("loader threads must be >= 1, got ", o.threads);
  if (o.prefetch < 1) fail("loader prefetch depth must be >= 1, got ", o.prefetch);
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    fail("rank ", o.rank, " is not in [0, world size ", o.world_size, ")");
  if (dataset_.size() == 0) fail("dataset ", dataset_.describe(), " is empty");
  input_note_ = check_model_input(dataset_, pipeline_.config(), o.format, o.resize_float_images);

  const int S = pipeline_.config().input_size;
  if (o.format != BatchFormat::F32_NCHW) {
    if (dataset_.has_float_images())
      fail("dataset ", dataset_.describe(), " holds float images: it cannot produce uint8 batches");
    source_size_ = pipeline_.config().source_size > 0 ? pipeline_.config().source_size : first_image_side(dataset_);
    sample_bytes_ = size_t(source_size_) * size_t(source_size_) * 3;
  } else {
    sample_floats_ = size_t(3) * size_t(S) * size_t(S);
    sample_bytes_ = sample_floats_ * sizeof(float);
  }

  std::shared_ptr<BatchAllocator> allocator = o.allocator ? o.allocator : std::make_shared<AlignedAllocator>();
  const size_t B = size_t(o.batch_size);
  for (int i = 0; i < o.prefetch; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->allocator = allocator;
    slot->image_bytes = B * sample_bytes_;
    slot->images = allocator->allocate(slot->image_bytes);
    slot->indices.resize(B);
    if (o.format == BatchFormat::U8_PLANNED) slot->plans.resize(B);
    slot->labels = static_cast<int64_t*>(allocator->allocate(sizeof(int64_t) * B));
    if (!slot->images || !slot->labels) fail("batch allocator returned null for ", slot->image_bytes, " bytes");
    ring_.push_back(std::move(slot));
  }
  // Chunks of a few samples, so that all threads work on the batch the consumer needs next.
  const int64_t chunk = std::clamp<int64_t>((o.batch_size + 4 * o.threads - 1) / (4 * o.threads), 1, 16);
  chunks_per_batch_ = (o.batch_size + chunk - 1) / chunk;
  for (int i = 0; i < o.threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() { stop(); }

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

int64_t Loader::batch_length(int64_t batch) const {
  const int64_t B = options_.batch_size;
  return std::min<int64_t>(B, int64_t(order_.size()) - batch * B);
}

int64_t batches_per_epoch(size_t samples, int world_size, int batch_size, bool drop_last) {
  const int64_t W = std::max(1, world_size), B = std::max(1, batch_size);
  const int64_t n = (int64_t(samples) + W - 1) / W;
  return drop_last ? n / B : (n + B - 1) / B;
}

int64_t Loader::batches_per_epoch() const {  // known before the first epoch starts
  return alexnet::batches_per_epoch(dataset_.size(), options_.world_size, options_.batch_size, options_.drop_last);
}

size_t Loader::samples_per_epoch() const {
  const size_t n = dataset_.size(), W = size_t(options_.world_size);
  return (n + W - 1) / W;
}

LoaderStats Loader::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Loader::start_epoch(int64_t epoch) {
  std::vector<size_t> order =
      epoch_order(dataset_.size(), options_.seed, epoch, options_.shuffle, options_.rank, options_.world_size);
  std::unique_lock<std::mutex> lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  if (stopping_) fail("the loader was stopped");
  // Hand out no more work of the old epoch and let the chunks in flight finish (their results are
  // dropped: the generation changed).
  ++generation_;
  next_task_ = num_batches_ * chunks_per_batch_;
  done_cv_.wait(lock, [&] { return active_workers_ == 0; });
  order_ = std::move(order);
  const int64_t n = int64_t(order_.size()), B = options_.batch_size;
  num_batches_ = options_.drop_last ? n / B : (n + B - 1) / B;
  epoch_ = epoch;
  next_task_ = consumed_ = released_ = 0;
  holding_ = false;
  for (auto& slot : ring_) slot->done = 0;
  lock.unlock();
  work_cv_.notify_all();
}

const Batch* Loader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  if (stopping_) fail("the loader was stopped");
  if (epoch_ < 0) fail("Loader::next() called before start_epoch()");
  if (holding_) {  // the consumer is done with the previous batch: its slot is free again
    holding_ = false;
    ring_[size_t(released_ % options_.prefetch)]->done = 0;
    ++released_;
    work_cv_.notify_all();
  }
  if (consumed_ == num_batches_) return nullptr;

  const int64_t b = consumed_;
  Slot& slot = *ring_[size_t(b % options_.prefetch)];
  const int64_t length = batch_length(b);
  if (slot.done < length && !error_) {
    auto t0 = std::chrono::steady_clock::now();
    done_cv_.wait(lock, [&] { return slot.done >= length || error_ || stopping_; });
    stats_.wait_seconds += seconds_since(t0);
  }
  if (error_) std::rethrow_exception(error_);
  if (stopping_) fail("the loader was stopped");

  Batch& v = slot.view;
  v = Batch{};
  v.epoch = epoch_;
  v.number = b;
  v.size = length;
  v.format = options_.format;
  if (options_.format == BatchFormat::F32_NCHW) {
    v.height = v.width = pipeline_.config().input_size;
    v.images_f32 = static_cast<float*>(slot.images);
  } else {
    v.height = v.width = source_size_;
    v.images_u8 = static_cast<uint8_t*>(slot.images);
    if (options_.format == BatchFormat::U8_PLANNED) v.plans = slot.plans.data();
  }
  v.labels = slot.labels;
  v.indices = slot.indices.data();
  ++consumed_;
  holding_ = true;
  stats_.batches += 1;
  stats_.samples += length;
  return &v;
}

void Loader::warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(warn_mutex_);
  if (options_.warn) {
    options_.warn(message);
  } else {
    std::fprintf(stderr, "warning: %s\n", message.c_str());
  }
}

void Loader::load_sample(Slot& slot, int64_t row, size_t pos, int64_t epoch) {
  const size_t key = order_[pos];  // the augmentation follows the scheduled sample, even when replaced
  size_t p = pos;
  for (size_t tries = 0;; ++tries) {
    const size_t index = order_[p];
    try {
      SampleRng rng(options_.seed, uint64_t(epoch), key);
      if (options_.format == BatchFormat::F32_NCHW) {
        float* out = static_cast<float*>(slot.images) + size_t(row) * sample_floats_;
        const int S = pipeline_.config().input_size;
        if (dataset_.has_float_images()) {
          const auto [h, w] = dataset_.float_image_size();
          if (h == S && w == S) {
            dataset_.float_image(index, out);
          } else {
            // check_model_input allowed this only with resize_float_images.
            ALEXNET_ASSERT(options_.resize_float_images, "float images of another size than the input");
            thread_local std::vector<float> staged;
            staged.resize(size_t(3) * size_t(h) * size_t(w));
            dataset_.float_image(index, staged.data());
            resize_float_chw(staged.data(), h, w, S, out);
          }
        } else {
          const Image image = dataset_.image_scaled(index, pipeline_.min_decode_side());
          if (pipeline_.preset() == Preset::None && (image.height != S || image.width != S))
            fail(dataset_.sample_name(index), ": image is ", image.width, "x", image.height, " but the model's input is ",
                 S, "x", S, "; --augment none does not resize (use --augment seed, standard or paper)");
          pipeline_.to_float(image, rng, out);
        }
      } else if (options_.format == BatchFormat::U8_NHWC) {
        uint8_t* out = static_cast<uint8_t*>(slot.images) + size_t(row) * sample_bytes_;
        pipeline_.to_u8(dataset_.image_scaled(index, pipeline_.min_decode_side_u8(source_size_)), rng, source_size_, out);
      } else {  // U8_PLANNED: the image at S0 x S0 and its plan
        const int S0 = source_size_;
        Image image = dataset_.image_scaled(index, S0);
        if (image.height != S0 || image.width != S0) {
          if (pipeline_.preset() == Preset::None)
            fail(dataset_.sample_name(index), ": image is ", image.width, "x", image.height, " but the first was ", S0,
                 "x", S0, "; --augment none does not resize (use --augment seed, standard or paper)");
          image = center_crop(resize_shorter(image, S0), S0, S0);
        }
        std::memcpy(static_cast<uint8_t*>(slot.images) + size_t(row) * sample_bytes_, image.pixels.data(), sample_bytes_);
        slot.plans[size_t(row)] = pipeline_.plan(S0, S0, rng);
      }
      slot.labels[row] = dataset_.label(index);
      slot.indices[size_t(row)] = index;
      return;
    } catch (const CorruptSample& e) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.corrupt;
        auto it = std::lower_bound(stats_.corrupt_indices.begin(), stats_.corrupt_indices.end(), index);
        if (it == stats_.corrupt_indices.end() || *it != index) stats_.corrupt_indices.insert(it, index);
      }
      if (!options_.replace_corrupt) {
        warn(cat("skipping corrupt sample ", index, " (", e.what(), "); it is left out of the evaluation"));
        leave_out(slot, row, index, epoch, key);
        return;
      }
      if (tries + 1 >= order_.size()) fail("every sample of ", dataset_.describe(), " is corrupt");
      p = (p + 1) % order_.size();
      warn(cat("skipping corrupt sample ", index, " (", e.what(), "); using sample ", order_[p], " in its place"));
    }
  }
}

void Loader::leave_out(Slot& slot, int64_t row, size_t index, int64_t epoch, size_t key) {
  if (options_.format == BatchFormat::F32_NCHW) {
    std::fill_n(static_cast<float*>(slot.images) + size_t(row) * sample_floats_, sample_floats_, 0.f);
  } else {
    std::fill_n(static_cast<uint8_t*>(slot.images) + size_t(row) * sample_bytes_, sample_bytes_, uint8_t(0));
    if (options_.format == BatchFormat::U8_PLANNED) {  // a valid plan for the zero image, never counted
      SampleRng rng(options_.seed, uint64_t(epoch), key);
      slot.plans[size_t(row)] = pipeline_.plan(source_size_, source_size_, rng);
    }
  }
  slot.labels[row] = kSkippedSample;
  slot.indices[size_t(row)] = index;
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t B = options_.batch_size;
  const int64_t chunk = (B + chunks_per_batch_ - 1) / chunks_per_batch_;
  for (;;) {
    work_cv_.wait(lock, [&] {
      if (stopping_) return true;
      if (error_ || next_task_ >= num_batches_ * chunks_per_batch_) return false;
      return next_task_ / chunks_per_batch_ < released_ + options_.prefetch;  // its slot is free
    });
    if (stopping_) return;
    const int64_t task = next_task_++;
    const int64_t b = task / chunks_per_batch_;
    const int64_t begin = (task % chunks_per_batch_) * chunk;
    const int64_t end = std::min(begin + chunk, batch_length(b));
    if (begin >= end) continue;
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_;
    Slot& slot = *ring_[size_t(b % options_.prefetch)];
    ++active_workers_;
    lock.unlock();

    auto t0 = std::chrono::steady_clock::now();
    std::exception_ptr error;
    try {
      for (int64_t r = begin; r < end; ++r) load_sample(slot, r, size_t(b * B + r), epoch);
    } catch (...) {
      error = std::current_exception();
    }
    const double busy = seconds_since(t0);

    lock.lock();
    --active_workers_;
    stats_.busy_seconds += busy;
    if (error && !error_) error_ = error;
    if (generation == generation_) slot.done += end - begin;
    if (error || slot.done >= batch_length(b) || active_workers_ == 0) done_cv_.notify_all();
  }
}

}  // namespace alexnet
