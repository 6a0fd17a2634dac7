// Evaluation of a network on a dataset: loss, top-1, top-5, per-class accuracy and the confusion
// matrix, with the preset's deterministic evaluation transform or the paper's 10 crops.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/net.h"
#include "data/dataset.h"
#include "data/transforms.h"
#include "dist/communicator.h"

namespace alexnet {

struct EvalOptions {
  TransformConfig transform;  // its evaluation counterpart is used
  int batch_size = 64;        // must not exceed the net's max_batch (10-crop: images per batch * 10)
  int threads = 2;            // loader threads
  bool ten_crop = false;      // average the softmax over 4 corners + centre and their mirrors
  bool flip = false;          // average the softmax over each image and its mirror image (2x the work)
  bool resize_float_images = false;  // float tensor images of another size: resize (else an error)
  // Batches of uint8 images and their plans (BatchFormat::U8_PLANNED), transformed by the net
  // (Net::forward_planned: on the GPU for CUDA). Not with ten_crop.
  bool planned = false;
  std::function<void(int64_t done, int64_t total)> progress;
};

struct EvalResult {
  int64_t n = 0;                                    // samples scored
  int64_t skipped = 0;                              // samples left out because they could not be read
  std::vector<size_t> skipped_indices;              // their dataset indices (this process's; at most 20)
  double loss = 0, top1 = 0, top5 = 0;              // fractions
  std::vector<int64_t> class_total, class_correct;  // per class
  std::vector<std::vector<int64_t>> confusion;      // [true][predicted]
  std::string json(const std::vector<std::string>& classes) const;
  // "" when nothing was skipped, else "; 2 unreadable images left out (sample 5, sample 17)".
  std::string skipped_note() const;
};

EvalResult evaluate(Net& net, const Dataset& data, const EvalOptions& options);

// Sums per-process evaluation results (counts, loss, confusion) into the result over the whole set
// (each process evaluated its dist/ evaluation_shard). Every process must call it.
EvalResult combine_evaluations(Communicator& comm, const EvalResult& mine);

}  // namespace alexnet
