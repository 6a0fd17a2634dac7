#include <algorithm>
#include <cmath>
#include <numeric>

#include "api/alexnet.h"
#include "backend/capabilities.h"
#include "data/image_codec.h"

namespace alexnet {

Classifier Classifier::load(const std::string& checkpoint, const std::string& device, const std::string& precision,
                            int max_batch) {
  const ComputeChoice compute = choose_compute(device, "", precision);  // "auto" decided from this machine
  Classifier c(load_checkpoint_net(checkpoint, compute.backend, compute.precision, max_batch));
  c.max_batch_ = max_batch;
  return c;
}

Classifier::Classifier(CheckpointNet net)
    : net_(std::move(net)), pipeline_(std::make_shared<const Pipeline>(net_.transform, false)) {}

ClassMatch Classifier::match_classes(const std::vector<std::string>& data_classes, bool by_position) const {
  return alexnet::match_classes(classes(), data_classes, by_position, "the checkpoint");
}

std::vector<Prediction> Classifier::classify(const std::string& image_path, int top) {
  return classify(read_image_file(image_path, pipeline_->min_decode_side()), top);
}

std::vector<Prediction> Classifier::classify(const Image& image, int top) {
  std::vector<float> x(size_t(3) * input_size() * input_size());
  preprocess(image, x.data());
  return top_classes(logits(x.data(), 1).data(), top);
}

void Classifier::preprocess(const Image& image, float* out) const {
  SampleRng rng(0, 0, 0);  // evaluation transforms draw nothing
  pipeline_->to_float(image, rng, out);
}

std::vector<Prediction> Classifier::top_classes(const float* logits, int top) const {
  const int C = num_classes();
  const float m = *std::max_element(logits, logits + C);
  std::vector<float> p(size_t(C), 0.f);
  float sum = 0;
  for (int k = 0; k < C; ++k) sum += (p[size_t(k)] = std::exp(logits[k] - m));
  std::vector<int> order(static_cast<size_t>(C));
  std::iota(order.begin(), order.end(), 0);
  top = std::clamp(top, 1, C);
  std::partial_sort(order.begin(), order.begin() + top, order.end(),
                    [&](int a, int b) { return p[size_t(a)] > p[size_t(b)] || (p[size_t(a)] == p[size_t(b)] && a < b); });
  std::vector<Prediction> out;
  for (int k = 0; k < top; ++k) {
    const int cls = order[size_t(k)];
    const std::vector<std::string>& words = net_.model.class_descriptions;
    out.push_back({cls, size_t(cls) < classes().size() ? classes()[size_t(cls)] : std::to_string(cls),
                   size_t(cls) < words.size() ? words[size_t(cls)] : "", p[size_t(cls)] / sum});
  }
  return out;
}

std::vector<float> Classifier::logits(const float* images, int n) {
  if (n < 0) fail("Classifier::logits: negative number of images (", n, ")");
  const int C = num_classes(), S = input_size();
  std::vector<float> out(size_t(n) * C);
  const std::lock_guard<std::mutex> lock(*forward_);
  for (int at = 0; at < n; at += max_batch_) {
    const int k = std::min(max_batch_, n - at);
    net_.net->forward(images + size_t(at) * 3 * S * S, k, Mode::Eval);
    net_.net->get_logits(out.data() + size_t(at) * C);
  }
  return out;
}

// Preprocesses up to max_batch pictures (preprocess_one(i, out) for picture i) into one buffer,
// runs them through the network, and so on to the end.
template <class Source>
std::vector<std::vector<Prediction>> Classifier::classify_each(size_t n, int top, const Source& preprocess_one) {
  const size_t image = size_t(3) * input_size() * input_size();
  const size_t C = size_t(num_classes());
  std::vector<std::vector<Prediction>> out;
  out.reserve(n);
  std::vector<float> x(std::min(n, size_t(max_batch_)) * image);
  for (size_t at = 0; at < n; at += size_t(max_batch_)) {
    const size_t k = std::min(size_t(max_batch_), n - at);
    for (size_t i = 0; i < k; ++i) preprocess_one(at + i, x.data() + i * image);
    const std::vector<float> z = logits(x.data(), int(k));
    for (size_t i = 0; i < k; ++i) out.push_back(top_classes(z.data() + i * C, top));
  }
  return out;
}

std::vector<std::vector<Prediction>> Classifier::classify_batch(const std::vector<std::string>& image_paths, int top) {
  return classify_each(image_paths.size(), top,
                       [&](size_t i, float* dst) { preprocess(read_image_file(image_paths[i], pipeline_->min_decode_side()), dst); });
}

std::vector<std::vector<Prediction>> Classifier::classify_batch(const std::vector<Image>& images, int top) {
  return classify_each(images.size(), top, [&](size_t i, float* dst) { preprocess(images[i], dst); });
}

std::vector<std::vector<Prediction>> Classifier::classify_batch(const float* images, int n, int top) {
  if (n < 0) fail("Classifier::classify_batch: negative number of images (", n, ")");
  const size_t C = size_t(num_classes());
  const std::vector<float> z = logits(images, n);
  std::vector<std::vector<Prediction>> out;
  for (int i = 0; i < n; ++i) out.push_back(top_classes(z.data() + size_t(i) * C, top));
  return out;
}

}  // namespace alexnet
