// LocalResponseNorm on every backend against the reference backend, and every backend (the reference
// included) against PyTorch at odd and even sizes. Even sizes matter: PyTorch's window is size/2
// channels before and (size-1)/2 after, which the oneDNN backend cannot ask its primitive for (it
// runs the reference loop there), so only the PyTorch comparison can catch a wrong window.
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class LrnLayer : public LayerTest {};

TEST_P(LrnLayer, OddSizeAfterFusedConvRelu) {
  check(tiny(3, 7, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"r", ReLU{}}, {"n", LocalResponseNorm{5, 1e-2f, 0.75f, 2.f}}}));
}

TEST_P(LrnLayer, EvenSizeAfterConv) {
  check(tiny(3, 7, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"n", LocalResponseNorm{4, 1e-1f, 0.75f, 1.f}}}));
}

// Grouped convolution, LRN, dropout on a map (its mask index is the NCHW position), adaptive average
// pooling with overlapping windows, dropout on features and the classifier's Linear-ReLU, with label
// smoothing, dampening and Nesterov: the CUDA backend's mixed layer test, on every backend.
TEST_P(LrnLayer, InAMixedNet) {
  NetSpec spec = tiny(4, 9,
                      {{"c", Conv2d{4, 8, 3, 1, 1, 2}},
                       {"n", LocalResponseNorm{5, 1e-2f, 0.75f, 2.f}},
                       {"d", Dropout{0.3f}},
                       {"a", AdaptiveAvgPool2d{4, 4}},
                       {"f", Flatten{}},
                       {"d2", Dropout{0.5f}},
                       {"l1", Linear{8 * 16, 12}},
                       {"r", ReLU{}},
                       {"l2", Linear{12, 7}}});
  Case c = make_case();
  c.label_smoothing = 0.1f;
  c.sgd = {0.9f, 1e-3f, 0.1f, true};
  check(spec, c);
}

const std::vector<std::pair<std::string, LocalResponseNorm>>& golden_cases() {
  static const std::vector<std::pair<std::string, LocalResponseNorm>> cases{
      {"lrn_size4", {4, 0.1f, 0.75f, 1.f}}, {"lrn_size2", {2, 0.3f, 0.75f, 2.f}}, {"lrn_size3", {3, 0.2f, 0.6f, 1.f}}};
  return cases;
}

TEST_P(LrnLayer, MatchesPyTorchAtOddAndEvenSizes) {
  for (const auto& [name, op] : golden_cases()) compare_with_pytorch_layer(backend(), precision(), name, op);
}

TEST(LrnReference, MatchesPyTorchAtOddAndEvenSizes) {
  for (const auto& [name, op] : golden_cases()) compare_with_pytorch_layer(BackendKind::Reference, Precision::F32, name, op);
}

ALEXNET_LAYER_TEST_SUITE(LrnLayer);

}  // namespace
}  // namespace alexnet::test
