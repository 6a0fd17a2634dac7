#include "data/loader_bench.h"

#include <chrono>
#include <nlohmann/json.hpp>

namespace alexnet {

std::string LoaderBenchResult::json() const {
  nlohmann::json j;
  j["loader_img_s"] = img_s;
  j["loader_img_s_per_thread"] = img_s_per_thread();
  j["images"] = images;
  j["seconds"] = seconds;
  j["consumer_wait_s"] = wait_seconds;
  j["worker_busy_s"] = busy_seconds;
  j["corrupt"] = corrupt;
  j["preset"] = options.preset;
  j["format"] = options.format == BatchFormat::F32_NCHW ? "f32_nchw"
                : options.format == BatchFormat::U8_NHWC ? "u8_nhwc"
                                                         : "u8_planned";
  j["input_size"] = options.input_size;
  j["batch_size"] = options.batch_size;
  j["threads"] = options.threads;
  j["transform"] = transform;
  return j.dump();
}

LoaderBenchResult run_loader_bench(const Dataset& dataset, const LoaderBenchOptions& options) {
  if (options.seconds <= 0 && options.batches <= 0) fail("loader bench needs seconds > 0 or batches > 0");
  if (options.warmup_batches < 0) fail("loader bench warm-up batches must be >= 0, got ", options.warmup_batches);
  LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.threads = options.threads;
  lo.prefetch = options.prefetch > 0 ? options.prefetch : options.threads + 1;
  lo.seed = options.seed;
  lo.format = options.format;
  lo.transform.preset = options.preset;
  lo.transform.input_size = options.input_size;
  lo.transform.small_images = options.small_images;
  Loader loader(dataset, lo);
  if (loader.batches_per_epoch() == 0 && int64_t(loader.samples_per_epoch()) < options.batch_size)
    fail("loader bench: the dataset (", dataset.size(), " samples) is smaller than one batch of ", options.batch_size);

  using Clock = std::chrono::steady_clock;
  int64_t epoch = 0;
  loader.start_epoch(epoch);
  auto next_batch = [&]() -> const Batch* {
    const Batch* b = loader.next();
    if (!b) {
      loader.start_epoch(++epoch);
      b = loader.next();
    }
    return b;
  };
  for (int64_t i = 0; i < options.warmup_batches; ++i) next_batch();

  const LoaderStats before = loader.stats();
  const auto start = Clock::now();
  LoaderBenchResult r;
  int64_t batches = 0;
  for (;;) {
    const Batch* b = next_batch();
    r.images += b->size;
    ++batches;
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (options.seconds > 0 ? elapsed >= options.seconds : batches >= options.batches) {
      r.seconds = elapsed;
      break;
    }
  }
  const LoaderStats after = loader.stats();
  r.img_s = r.seconds > 0 ? double(r.images) / r.seconds : 0;
  r.wait_seconds = after.wait_seconds - before.wait_seconds;
  r.busy_seconds = after.busy_seconds - before.busy_seconds;
  r.corrupt = after.corrupt;
  r.transform = loader.pipeline().describe();
  r.options = options;
  return r;
}

}  // namespace alexnet
