// The C++ API for programs that embed alexnet (installed with `cmake --install`, found with
// `find_package(alexnet)`, linked as `alexnet::alexnet`):
//
//   alexnet::Classifier clf = alexnet::Classifier::load("runs/c10/best.safetensors");
//   for (const alexnet::Prediction& p : clf.classify("cat.jpg")) std::cout << p.name << " " << p.probability << "\n";
//
//   alexnet::TrainConfig config;          // the same fields as `alexnet train`'s flags
//   config.model = "cifar"; config.data = "cifar-10-binary.tar.gz"; config.epochs = 3;
//   alexnet::TrainResult r = alexnet::run_training(config);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/checkpoint_net.h"
#include "data/dataset.h"
#include "train/run.h"

namespace alexnet {

struct Prediction {
  int index = 0;            // class index
  std::string name;         // class name (the index as text when the checkpoint has no names)
  float probability = 0;    // softmax probability
};

class Classifier {
 public:
  // Loads a checkpoint written by `alexnet train` (its metadata gives model, classes, preprocessing).
  // device: "cpu" or "cuda"; precision: "fp32" or "bf16" (and "tf32" on cuda).
  static Classifier load(const std::string& checkpoint, const std::string& device = "cpu",
                         const std::string& precision = "fp32", int max_batch = 64);

  // The `top` most likely classes of a picture (JPEG or PNG file, or decoded RGB), best first.
  std::vector<Prediction> classify(const std::string& image_path, int top = 5);
  std::vector<Prediction> classify(const Image& image, int top = 5);
  // Logits [n, classes] of n preprocessed images [n, 3, S, S] (normalised as the checkpoint says).
  std::vector<float> logits(const float* images, int n);

  const std::vector<std::string>& classes() const { return net_.model.classes; }
  int num_classes() const { return net_.model.options.num_classes; }
  int input_size() const { return net_.transform.input_size; }
  const ModelInfo& model() const { return net_.model; }

 private:
  explicit Classifier(CheckpointNet net) : net_(std::move(net)) {}
  CheckpointNet net_;
  int max_batch_ = 64;
};

}  // namespace alexnet
