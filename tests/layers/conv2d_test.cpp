// Conv2d on every backend against the reference backend, and against PyTorch with a stride, padding
// and groups together (the variants use each only separately).
#include "layers/layer_check.h"

namespace alexnet::test {
namespace {

class Conv2dLayer : public LayerTest {};

TEST_P(Conv2dLayer, Padded) { check(tiny(3, 9, {{"c", Conv2d{3, 8, 3, 1, 1}}})); }

TEST_P(Conv2dLayer, StridedGroupedThenUnpadded) {
  check(tiny(4, 13, {{"c1", Conv2d{4, 8, 5, 2, 2, 2}}, {"c2", Conv2d{8, 6, 3, 1, 0}}}));
}

// An 11x11 stride-4 first convolution on 3 channels (the CUDA backend pads them for its tensor cores).
// oneDNN bf16: after the first update the weights are no longer bf16-representable, and the rounded
// convolution output moves a few values across the ReLU's kink (gradients 0.06 off at step 1): one step.
TEST_P(Conv2dLayer, AlexNetFirstConvolution) {
  Case c = make_case();
  if (backend() == BackendKind::OneDNN && c.precision == Precision::BF16) c.steps = 1;
  check(tiny(3, 27, {{"c", Conv2d{3, 16, 11, 4, 2, 1}}, {"r", ReLU{}}, {"f", Flatten{}}, {"l", Linear{16 * 6 * 6, 6}}}),
        c);
}

// 12 input channels (cifar at width 0.25): oneDNN's blocked kernels leave the backward passes to its
// reference code, so the oneDNN backend moves those convolutions' activations to NHWC. Same numbers.
// bf16: a max-pool decision flipped by rounding moves a whole gradient element in a net this small,
// so the gradients below the pool (the convolution's) are held to the bf16 bound below a pool.
TEST_P(Conv2dLayer, ChannelCountsOutsideTheBlockedKernels) {
  check(tiny(12, 15, {{"c", Conv2d{12, 32, 5, 1, 2}}, {"r", ReLU{}}, {"p", MaxPool2d{3, 2}}, {"f", Flatten{}}}));
}

TEST_P(Conv2dLayer, MatchesPyTorchStridedPaddedGrouped) {
  compare_with_pytorch_layer(backend(), precision(), "conv_k3s2p1g2", Conv2d{4, 6, 3, 2, 1, 2});
}

TEST(Conv2dReference, MatchesPyTorchStridedPaddedGrouped) {
  compare_with_pytorch_layer(BackendKind::Reference, Precision::F32, "conv_k3s2p1g2", Conv2d{4, 6, 3, 2, 1, 2});
}

ALEXNET_LAYER_TEST_SUITE(Conv2dLayer);

}  // namespace
}  // namespace alexnet::test
