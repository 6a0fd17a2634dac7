// MaxPool2d on every backend against the reference backend, and against PyTorch with padding (which
// no variant uses).
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class MaxPool2dLayer : public LayerTest {};

TEST_P(MaxPool2dLayer, OverlappingThenPaddedAfterConvRelu) {
  check(tiny(3, 15, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"r", ReLU{}}, {"p", MaxPool2d{3, 2}}, {"q", MaxPool2d{2, 2, 1}}}));
}

TEST_P(MaxPool2dLayer, OnTheInput) { check(tiny(2, 9, {{"p", MaxPool2d{3, 2, 1}}})); }

// Pooling straight on the input (exact in every precision, so the argmax routing agrees), then a
// strided padded convolution with a fused ReLU, flatten of a map and a linear layer.
TEST_P(MaxPool2dLayer, OnTheInputThenConv) {
  check(tiny(3, 15, {{"p", MaxPool2d{3, 2, 1}}, {"c", Conv2d{3, 8, 3, 2, 1, 1}}, {"r", ReLU{}}, {"f", Flatten{}},
                     {"l", Linear{8 * 4 * 4, 5}}}));
}

const std::vector<std::pair<std::string, MaxPool2d>>& golden_cases() {
  static const std::vector<std::pair<std::string, MaxPool2d>> cases{{"maxpool_k3s2p1", {3, 2, 1}},
                                                                    {"maxpool_k2s2p1", {2, 2, 1}}};
  return cases;
}

TEST_P(MaxPool2dLayer, MatchesPyTorchWithPadding) {
  for (const auto& [name, op] : golden_cases()) compare_with_pytorch_layer(backend(), precision(), name, op);
}

TEST(MaxPool2dReference, MatchesPyTorchWithPadding) {
  for (const auto& [name, op] : golden_cases()) compare_with_pytorch_layer(BackendKind::Reference, Precision::F32, name, op);
}

ALEXNET_LAYER_TEST_SUITE(MaxPool2dLayer);

}  // namespace
}  // namespace alexnet::test
