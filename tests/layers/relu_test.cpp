// ReLU on every backend against the reference backend: standalone (on the net's input) and fused into
// the convolution or linear layer before it (the oneDNN post-op, the CUDA bias kernel).
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class ReluLayer : public LayerTest {};

TEST_P(ReluLayer, Alone) { check(tiny(3, 6, {{"r", ReLU{}}, {"c", Conv2d{3, 4, 3, 1, 1}}})); }

TEST_P(ReluLayer, FusedIntoConv) {
  check(tiny(3, 10, {{"c1", Conv2d{3, 16, 3, 1, 1}}, {"r1", ReLU{}}, {"c2", Conv2d{16, 4, 3, 2, 1}}}));
}

TEST_P(ReluLayer, FusedIntoLinear) {
  check(tiny(3, 4, {{"f", Flatten{}}, {"l1", Linear{48, 20}}, {"r", ReLU{}}, {"l2", Linear{20, 6}}}));
}

ALEXNET_LAYER_TEST_SUITE(ReluLayer);

}  // namespace
}  // namespace alexnet::test
