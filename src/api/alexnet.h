// The C++ API for programs that embed alexnet (installed with `cmake --install`, found with
// `find_package(alexnet)`, linked as `alexnet::alexnet`):
//
//   alexnet::Classifier clf = alexnet::Classifier::load("runs/c10/best.safetensors");
//   for (const alexnet::Prediction& p : clf.classify("cat.jpg")) std::cout << p.name << " " << p.probability << "\n";
//   auto batch = clf.classify_batch(std::vector<std::string>{"cat.jpg", "ship.png"}, 3);  // top-3 of each
//
//   alexnet::ClassMatch m = clf.match_classes(dataset->classes());  // its names against the checkpoint's
//
//   alexnet::TrainConfig config;          // the same fields as `alexnet train`'s flags
//   config.model = "cifar"; config.data = "cifar-10-binary.tar.gz"; config.epochs = 3;
//   alexnet::TrainResult r = alexnet::run_training(config);
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/checkpoint_net.h"
#include "api/class_match.h"
#include "data/dataset.h"
#include "train/run.h"

namespace alexnet {

struct Prediction {
  int index = 0;            // class index
  std::string name;         // class name (the index as text when the checkpoint has no names)
  std::string description;  // its human-readable name where the checkpoint has one (ImageNet's), else empty
  float probability = 0;    // softmax probability
};

// A checkpoint, loaded once, that classifies pictures with the checkpoint's own preprocessing (its
// evaluation transform, input size and normalisation).
//
// Thread safety: concurrent calls on one Classifier are safe. Decoding and preprocessing run in the
// calling threads at the same time; the forward passes take turns (one network, one set of buffers,
// a mutex around them). For forward passes in parallel, load one Classifier per thread.
class Classifier {
 public:
  // Loads a checkpoint written by `alexnet train` (its metadata gives model, classes, preprocessing).
  // device: "auto" (cuda when built with it and a GPU is visible, else cpu), "cpu" or "cuda";
  // precision: "auto" (bf16 on a GPU or a CPU with native bf16, else fp32), "fp32", "bf16" or "tf32" (cuda).
  static Classifier load(const std::string& checkpoint, const std::string& device = "auto",
                         const std::string& precision = "auto", int max_batch = 64);

  // The `top` most likely classes of a picture (JPEG or PNG file, or decoded RGB), best first.
  std::vector<Prediction> classify(const std::string& image_path, int top = 5);
  std::vector<Prediction> classify(const Image& image, int top = 5);
  // Logits [n, classes] of n preprocessed images [n, 3, S, S] (normalised as the checkpoint says).
  std::vector<float> logits(const float* images, int n);

  // Batches: the `top` most likely classes of each picture, in the order given; the network runs on
  // up to max_batch pictures at a time. Files: JPEG or PNG; an unreadable one throws alexnet::Error
  // naming it. Images: decoded RGB of any size. Tensor: n images [n, 3, S, S] already preprocessed.
  std::vector<std::vector<Prediction>> classify_batch(const std::vector<std::string>& image_paths, int top = 5);
  std::vector<std::vector<Prediction>> classify_batch(const std::vector<Image>& images, int top = 5);
  std::vector<std::vector<Prediction>> classify_batch(const float* images, int n, int top = 5);

  // The checkpoint's evaluation preprocessing of one picture: out [3, S, S], S = input_size().
  void preprocess(const Image& image, float* out) const;
  // Softmax over one row of logits [classes] and its `top` classes, best first.
  std::vector<Prediction> top_classes(const float* logits, int top) const;

  // How the classes of labelled data meet this checkpoint's: by name (mapped when in another order),
  // by position when the data has no names or `by_position`; other names throw alexnet::Error.
  // `relabel(data, match, classes())` gives the data with the checkpoint's labels.
  ClassMatch match_classes(const std::vector<std::string>& data_classes, bool by_position = false) const;

  const std::vector<std::string>& classes() const { return net_.model.classes; }
  int num_classes() const { return net_.model.options.num_classes; }
  int input_size() const { return net_.transform.input_size; }
  const ModelInfo& model() const { return net_.model; }

 private:
  explicit Classifier(CheckpointNet net);
  template <class Source>
  std::vector<std::vector<Prediction>> classify_each(size_t n, int top, const Source& preprocess_one);

  CheckpointNet net_;
  int max_batch_ = 64;
  std::shared_ptr<const Pipeline> pipeline_;              // const: shared by concurrent calls
  std::unique_ptr<std::mutex> forward_ = std::make_unique<std::mutex>();  // guards net_.net
};

}  // namespace alexnet
