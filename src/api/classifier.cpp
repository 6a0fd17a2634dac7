#include <algorithm>
#include <cmath>

#include "api/alexnet.h"
#include "data/image_codec.h"

namespace alexnet {

Classifier Classifier::load(const std::string& checkpoint, const std::string& device, const std::string& precision,
                            int max_batch) {
  if (device != "cpu" && device != "cuda") fail("unknown device '", device, "' (expected cpu or cuda)");
  Classifier c(load_checkpoint_net(checkpoint, device == "cuda" ? BackendKind::CUDA : BackendKind::OneDNN,
                                   parse_precision(precision), max_batch));
  c.max_batch_ = max_batch;
  return c;
}

std::vector<Prediction> Classifier::classify(const std::string& image_path, int top) {
  return classify(read_image_file(image_path), top);
}

std::vector<Prediction> Classifier::classify(const Image& image, int top) {
  const Pipeline pipeline(net_.transform, false);
  const int S = input_size(), C = num_classes();
  std::vector<float> x(size_t(3) * S * S);
  SampleRng rng(0, 0, 0);  // evaluation transforms draw nothing
  pipeline.to_float(image, rng, x.data());
  std::vector<float> z = logits(x.data(), 1);
  const float m = *std::max_element(z.begin(), z.end());
  float sum = 0;
  for (float& v : z) sum += (v = std::exp(v - m));
  std::vector<int> order(static_cast<size_t>(C));
  for (int k = 0; k < C; ++k) order[size_t(k)] = k;
  top = std::clamp(top, 1, C);
  std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int a, int b) { return z[size_t(a)] > z[size_t(b)]; });
  std::vector<Prediction> out;
  for (int k = 0; k < top; ++k) {
    const int cls = order[size_t(k)];
    out.push_back({cls, size_t(cls) < classes().size() ? classes()[size_t(cls)] : std::to_string(cls), z[size_t(cls)] / sum});
  }
  return out;
}

std::vector<float> Classifier::logits(const float* images, int n) {
  const int C = num_classes(), S = input_size();
  std::vector<float> out(size_t(n) * C);
  for (int at = 0; at < n; at += max_batch_) {
    const int k = std::min(max_batch_, n - at);
    net_.net->forward(images + size_t(at) * 3 * S * S, k, Mode::Eval);
    net_.net->get_logits(out.data() + size_t(at) * C);
  }
  return out;
}

}  // namespace alexnet
