// Linear on every backend against the reference backend: after Flatten, fed a 4-D map directly (read
// as [N, C*H*W] in NCHW order, blocked on oneDNN), with the following ReLU fused, as a net's first
// layer, at a smaller batch than built, and the classifier at AlexNet's real sizes. On oneDNN the
// layers run as matmuls (docs/cpu-backend.md); ALEXNET_ONEDNN_LINEAR=inner_product keeps the
// inner-product path tested too.
#include <algorithm>
#include <cstdlib>

#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class LinearLayer : public LayerTest {};

// conv (32 channels: a blocked output on oneDNN) -> ReLU -> max-pool -> Linear (fused ReLU) -> Linear.
NetSpec blocked_input_net() {
  return tiny(3, 8,
              {{"c", Conv2d{3, 32, 3, 1, 1}},
               {"r", ReLU{}},
               {"p", MaxPool2d{3, 2}},
               {"l1", Linear{32 * 3 * 3, 16}},
               {"r1", ReLU{}},
               {"l2", Linear{16, 5}}});
}

TEST_P(LinearLayer, AfterFlatten) { check(tiny(3, 5, {{"f", Flatten{}}, {"l", Linear{75, 7}}})); }

TEST_P(LinearLayer, OnFeatureMapsWithoutFlatten) {
  check(tiny(3, 6, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"l", Linear{16 * 36, 12}}}));
}

TEST_P(LinearLayer, FusedReluOnBlockedFeatureMaps) { check(blocked_input_net()); }

TEST_P(LinearLayer, FirstLayerOnImagesWithFusedRelu) {
  check(tiny(3, 5, {{"l1", Linear{75, 9}}, {"r1", ReLU{}}, {"l2", Linear{9, 4}}}));
}

TEST_P(LinearLayer, SmallerBatchThanBuilt) {
  Case c = make_case();
  c.max_batch = 5;
  c.n = 3;
  check(tiny(2, 4, {{"f", Flatten{}}, {"l1", Linear{32, 24}}, {"r1", ReLU{}}, {"l2", Linear{24, 6}}}), c);
}

// The classifier of seed/paper/torchvision: 256x6x6 -> 4096 -> 4096 -> 10, ReLUs fused, batch 3.
// bf16: fc7's inputs are fc6's outputs rounded to bf16, which moves a few of fc7's outputs across
// relu7's kink; their whole gradient rows move (3.7% of the gradients' norm, the same with matmul and
// with inner_product), so gradients get OneDnnFullWidth's bf16 bound.
TEST_P(LinearLayer, AlexNetClassifierSizes) {
  Case c = make_case();
  c.max_batch = 3;
  c.steps = 1;
  if (c.precision == Precision::BF16) c.grad_tol = std::max(c.grad_tol, 5e-2);
  check(tiny(256, 6,
             {{"flatten", Flatten{}},
              {"fc6", Linear{9216, 4096}},
              {"relu6", ReLU{}},
              {"fc7", Linear{4096, 4096}},
              {"relu7", ReLU{}},
              {"fc8", Linear{4096, 10}}}),
        c);
}

// The same cases on oneDNN's inner-product primitive, which the backend keeps as its fallback.
TEST_P(LinearLayer, InnerProductPath) {
  ::setenv("ALEXNET_ONEDNN_LINEAR", "inner_product", 1);
  check(blocked_input_net());
  check(tiny(3, 5, {{"l1", Linear{75, 9}}, {"r1", ReLU{}}, {"l2", Linear{9, 4}}}));
  ::unsetenv("ALEXNET_ONEDNN_LINEAR");
}

ALEXNET_LAYER_TEST_SUITE(LinearLayer);

}  // namespace
}  // namespace alexnet::test
