// AdaptiveAvgPool2d on every backend against the reference backend in its three cases: the identity,
// divisible sizes (oneDNN: average pooling), uneven windows (oneDNN: the reference loop). The reference
// math against PyTorch is tests/golden_test.cpp's GoldenAdaptiveAvgPool.
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class AdaptiveAvgPool2dLayer : public LayerTest {
 protected:
  void check_to(int out) {
    check(tiny(3, 6, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"a", AdaptiveAvgPool2d{out, out}}, {"f", Flatten{}}}));
  }
};

TEST_P(AdaptiveAvgPool2dLayer, Identity) { check_to(6); }
TEST_P(AdaptiveAvgPool2dLayer, Divisible) { check_to(3); }
TEST_P(AdaptiveAvgPool2dLayer, Uneven) { check_to(4); }

ALEXNET_LAYER_TEST_SUITE(AdaptiveAvgPool2dLayer);

}  // namespace
}  // namespace alexnet::test
