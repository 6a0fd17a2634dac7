// Builds a network from a checkpoint written by `alexnet train` (its metadata names the model, the
// classes and the preprocessing), for eval and predict.
#pragma once

#include <memory>
#include <string>

#include "backend/net.h"
#include "data/transforms.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace alexnet {

struct CheckpointNet {
  ModelInfo model;
  std::unique_ptr<Net> net;
  TransformConfig transform;       // the evaluation preprocessing stored in the checkpoint
  std::map<std::string, std::string> metadata;
  TrainConfig config;              // the training run's settings (the defaults when the file has none)
};

// The evaluation preprocessing a checkpoint's metadata describes (preset, input size, normalisation).
TransformConfig eval_transform(const ModelInfo& model);

CheckpointNet load_checkpoint_net(const std::string& path, BackendKind backend, Precision precision, int max_batch);

}  // namespace alexnet
