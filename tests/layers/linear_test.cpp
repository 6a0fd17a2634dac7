// Linear on every backend against the reference backend: after Flatten, and fed a 4-D map directly
// (read as [N, C*H*W] in NCHW order).
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class LinearLayer : public LayerTest {};

TEST_P(LinearLayer, AfterFlatten) { check(tiny(3, 5, {{"f", Flatten{}}, {"l", Linear{75, 7}}})); }

TEST_P(LinearLayer, OnFeatureMapsWithoutFlatten) {
  check(tiny(3, 6, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"l", Linear{16 * 36, 12}}}));
}

ALEXNET_LAYER_TEST_SUITE(LinearLayer);

}  // namespace
}  // namespace alexnet::test
