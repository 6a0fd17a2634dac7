// Loader throughput: how many images per second the loader turns out (decode + transform + batch),
// with a consumer that does nothing else. Wired into `alexnet bench --data PATH --loader-only`.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"

namespace alexnet {

struct LoaderBenchOptions {
  int input_size = 224;         // S
  std::string preset = "seed";  // transform preset (training form)
  int threads = 2;
  int batch_size = 64;
  // Stop after `seconds` of timed loading when > 0, else after `batches` timed batches.
  double seconds = 0;
  int64_t batches = 50;
  int64_t warmup_batches = 4;   // consumed before the clock starts
  int prefetch = 0;             // ring depth; 0: threads + 1
  BatchFormat format = BatchFormat::F32_NCHW;
  bool small_images = true;     // CIFAR-like (pad-4 crop) versus ImageNet-like (random-resized crop)
  uint64_t seed = 0;
};

struct LoaderBenchResult {
  double img_s = 0;             // images per second over the timed part
  int64_t images = 0;
  double seconds = 0;
  double wait_seconds = 0;      // of which the consumer waited for a batch
  double busy_seconds = 0;      // summed worker time spent decoding + transforming
  int64_t corrupt = 0;
  std::string transform;        // Pipeline::describe()
  LoaderBenchOptions options;

  // Images per second per busy worker: images / busy_seconds.
  double img_s_per_thread() const { return busy_seconds > 0 ? double(images) / busy_seconds : 0; }
  // One JSON object on one line: {"loader_img_s": ..., "images": ..., ...}.
  std::string json() const;
};

// Runs the loader over `dataset` (as many epochs as needed) and times it after the warm-up.
// Throws alexnet::Error for bad options (an unknown preset, say) and whatever the dataset throws.
LoaderBenchResult run_loader_bench(const Dataset& dataset, const LoaderBenchOptions& options);

}  // namespace alexnet
