// Flatten on every backend against the reference backend: of a blocked map (a reorder on oneDNN),
// of a plain map (the net's input: a view), and of features already flat (nothing).
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class FlattenLayer : public LayerTest {};

TEST_P(FlattenLayer, OfConvolutionMaps) {
  check(tiny(3, 5, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"f", Flatten{}}, {"l", Linear{16 * 25, 6}}}));
}

TEST_P(FlattenLayer, OfTheInput) { check(tiny(2, 4, {{"f", Flatten{}}, {"l", Linear{32, 5}}})); }

TEST_P(FlattenLayer, OfFlatFeatures) {
  check(tiny(2, 4, {{"f", Flatten{}}, {"l", Linear{32, 8}}, {"f2", Flatten{}}, {"l2", Linear{8, 3}}}));
}

ALEXNET_LAYER_TEST_SUITE(FlattenLayer);

}  // namespace
}  // namespace alexnet::test
