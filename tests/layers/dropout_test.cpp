// Dropout on every backend against the reference backend: the masks are the same function of (seed,
// step, layer, NCHW index) everywhere, so the outputs agree element by element; on features and on maps.
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class DropoutLayer : public LayerTest {};

TEST_P(DropoutLayer, OnFeatures) {
  check(tiny(4, 5,
             {{"f", Flatten{}},
              {"d1", Dropout{0.5f}},
              {"l1", Linear{100, 64}},
              {"r", ReLU{}},
              {"d2", Dropout{0.3f}},
              {"l2", Linear{64, 10}}}));
}

TEST_P(DropoutLayer, OnFeatureMaps) {
  check(tiny(3, 8, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"d", Dropout{0.5f}}, {"c2", Conv2d{16, 4, 3, 1, 1}}}));
}

ALEXNET_LAYER_TEST_SUITE(DropoutLayer);

}  // namespace
}  // namespace alexnet::test
