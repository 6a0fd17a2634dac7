// The CUDA backend against the reference backend (the oracle): every activation, the logits, the loss,
// every activation gradient, the input gradient, the parameter gradients and the parameters after SGD
// steps, on small networks that use every layer kind and on small versions of the four variants, in
// fp32 (strict, no TF32), TF32 and bf16. Tensors are compared by relative norm ||a - b|| / ||b||
// (tests/test_util.h); a failure prints the worst element.
//
// Tolerances: fp32 1e-4, TF32 5e-3, bf16 2e-2 for activations, logits and the loss. Gradients of TF32
// and bf16 networks get a wider bound (Case::grad_tol): where a value lies within rounding of a ReLU's
// kink or of a max-pool window's runner-up, the two backends route that element's gradient differently,
// and each such flip moves a whole element of the gradient.
//
// Without a visible GPU every test is skipped, except the one that checks the error make_net gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "backend/net.h"
#include "core/rng.h"
#include "tensor/bf16.h"
#include "test_util.h"

#if defined(ALEXNET_HAVE_CUDA)
#include <cuda_runtime.h>
#endif

namespace alexnet {
namespace {

using test::spans_close;
using test::tensors_close;

#if defined(ALEXNET_HAVE_CUDA)

// Empty when a device is visible, else why not.
std::string no_gpu_reason() {
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess) return cat("cudaGetDeviceCount: ", cudaGetErrorString(e));
  if (devices == 0) return "cudaGetDeviceCount: 0 devices";
  return "";
}

#define REQUIRE_GPU()                                                                                  \
  do {                                                                                                 \
    const std::string why = no_gpu_reason();                                                           \
    if (!why.empty()) GTEST_SKIP() << "no CUDA device visible (" << why << "); run scripts/gpu_check.sh on a GPU machine"; \
  } while (0)

double tolerance(Precision p) {
  switch (p) {
    case Precision::F32: return 1e-4;
    case Precision::TF32: return 5e-3;
    case Precision::BF16: return 2e-2;
  }
  return 0;
}

struct Case {
  Precision precision = Precision::F32;
  int max_batch = 4;
  int n = 0;  // batch of the passes; 0 = max_batch (a smaller one exercises the per-batch algorithm choice)
  int steps = 2;
  float label_smoothing = 0.f;
  SgdOptions sgd{0.9f, 5e-4f, 0.f, false};
  float lr = 0.05f;
  uint64_t seed = 11;
  double grad_tol = 0;  // 0: the precision's tolerance
};

// `c.steps` training steps on both backends from the same parameters and inputs, comparing everything.
void compare_with_reference(const NetSpec& spec, const Case& c) {
  const double tol = tolerance(c.precision);
  const double gtol = c.grad_tol > 0 ? c.grad_tol : tol;
  const bool bf16 = c.precision == Precision::BF16;
  const int n = c.n ? c.n : c.max_batch;
  const BuildOptions ro{c.max_batch, Precision::F32, c.seed, c.label_smoothing};
  BuildOptions co = ro;
  co.precision = c.precision;
  auto ref = make_net(BackendKind::Reference, spec, ro);
  auto gpu = make_net(BackendKind::CUDA, spec, co);
  ASSERT_EQ(gpu->backend(), BackendKind::CUDA);

  // bf16: inputs and parameters representable in bf16, so that only the computation rounds.
  auto representable = [&](std::vector<float>& v) {
    if (bf16)
      for (float& x : v) x = round_to_bf16(x);
  };
  std::vector<float> params(ref->params().total);
  init_params(spec, ref->params(), params, c.seed);
  representable(params);
  ref->set_params(params);
  gpu->set_params(params);
  std::vector<float> back(params.size());
  gpu->get_params(back);
  ASSERT_TRUE(spans_close("set_params/get_params", back, params, 0.0));

  Rng rng(c.seed + 1);
  const size_t in_numel = size_t(n) * spec.in_channels * spec.input_size * spec.input_size;
  const size_t L = spec.layers.size();
  for (int step = 0; step < c.steps; ++step) {
    SCOPED_TRACE(cat("step ", step));
    std::vector<float> input(in_numel);
    for (float& x : input) x = float(rng.normal());
    representable(input);
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t& y : labels) y = int64_t(rng.below(uint64_t(spec.num_classes)));

    ref->forward(input.data(), n, Mode::Train, uint64_t(step));
    gpu->forward(input.data(), n, Mode::Train, uint64_t(step));
    for (size_t i = 0; i < L; ++i)
      EXPECT_TRUE(tensors_close("activation " + spec.layers[i].name, gpu->activation(int(i)), ref->activation(int(i)), tol));
    std::vector<float> want(size_t(n) * spec.num_classes), got(want.size());
    ref->get_logits(want.data());
    gpu->get_logits(got.data());
    EXPECT_TRUE(spans_close("logits", got, want, tol));

    const float loss_ref = ref->backward(labels.data());
    const float loss_gpu = gpu->backward(labels.data());
    EXPECT_TRUE(spans_close("loss", {&loss_gpu, 1}, {&loss_ref, 1}, tol));
    for (size_t i = 0; i < L; ++i)
      EXPECT_TRUE(tensors_close("activation_grad " + spec.layers[i].name, gpu->activation_grad(int(i)),
                                ref->activation_grad(int(i)), gtol));
    EXPECT_TRUE(tensors_close("input_grad", gpu->input_grad(), ref->input_grad(), gtol));

    std::vector<float> gr(params.size()), gg(params.size());
    ref->get_grads(gr);
    gpu->get_grads(gg);
    for (const ParamInfo& p : ref->params().entries)
      EXPECT_TRUE(spans_close("grad " + p.name, {gg.data() + p.offset, p.numel}, {gr.data() + p.offset, p.numel}, gtol,
                              p.shape));

    std::vector<float> before_ref(params.size()), before_gpu(params.size());
    ref->get_params(before_ref);
    gpu->get_params(before_gpu);
    ref->sgd_step(c.sgd, c.lr);
    gpu->sgd_step(c.sgd, c.lr);
    std::vector<float> pr(params.size()), pg(params.size());
    ref->get_params(pr);
    gpu->get_params(pg);
    // The update itself (parameters move by ~lr * grad: only the update shows an optimiser's error).
    for (const ParamInfo& p : ref->params().entries) {
      std::vector<float> ur(p.numel), ug(p.numel);
      for (size_t j = 0; j < p.numel; ++j) {
        ur[j] = pr[p.offset + j] - before_ref[p.offset + j];
        ug[j] = pg[p.offset + j] - before_gpu[p.offset + j];
      }
      EXPECT_TRUE(spans_close("update " + p.name, ug, ur, std::max(gtol, 1e-3), p.shape));
    }
    std::vector<float> mr(params.size()), mg(params.size());
    ref->get_momentum(mr);
    gpu->get_momentum(mg);
    EXPECT_TRUE(spans_close("momentum", mg, mr, gtol));
  }

  // Evaluation mode: dropout is the identity.
  std::vector<float> input(in_numel);
  for (float& x : input) x = float(rng.normal());
  representable(input);
  ref->forward(input.data(), n, Mode::Eval);
  gpu->forward(input.data(), n, Mode::Eval);
  std::vector<float> want(size_t(n) * spec.num_classes), got(want.size());
  ref->get_logits(want.data());
  gpu->get_logits(got.data());
  EXPECT_TRUE(spans_close("eval logits", got, want, tol));
}

NetSpec small_spec(std::string name, int in_channels, int size, int classes, std::vector<Layer> layers) {
  NetSpec s;
  s.variant = std::move(name);
  s.in_channels = in_channels;
  s.input_size = size;
  s.num_classes = classes;
  s.layers = std::move(layers);
  return s;
}

// Pooling straight on the input (exact in every precision, so the argmax routing agrees), a strided
// padded convolution with a fused ReLU, flatten of an NHWC map, and a linear layer.
NetSpec pool_conv_spec() {
  return small_spec("pool_conv", 3, 15, 5,
                    {{"p", MaxPool2d{3, 2, 1}}, {"c", Conv2d{3, 8, 3, 2, 1, 1}}, {"r", ReLU{}}, {"f", Flatten{}},
                     {"l", Linear{8 * 4 * 4, 5}}});
}

// Grouped convolution, LRN, dropout on an NHWC map (its mask index is the NCHW position), adaptive
// average pooling with overlapping windows, dropout on features, and the classifier's Linear-ReLU.
NetSpec grouped_lrn_spec() {
  return small_spec("grouped_lrn", 4, 9, 7,
                    {{"c", Conv2d{4, 8, 3, 1, 1, 2}},
                     {"n", LocalResponseNorm{5, 1e-2f, 0.75f, 2.f}},
                     {"d", Dropout{0.3f}},
                     {"a", AdaptiveAvgPool2d{4, 4}},
                     {"f", Flatten{}},
                     {"d2", Dropout{0.5f}},
                     {"l1", Linear{8 * 16, 12}},
                     {"r", ReLU{}},
                     {"l2", Linear{12, 7}}});
}

// An 11x11 stride-4 first convolution on 3 channels (padded to the tensor cores' width inside the backend).
NetSpec first_conv_spec() {
  return small_spec("first_conv", 3, 27, 6,
                    {{"c", Conv2d{3, 16, 11, 4, 2, 1}}, {"r", ReLU{}}, {"f", Flatten{}}, {"l", Linear{16 * 6 * 6, 6}}});
}

NetSpec variant_spec(const std::string& v) {
  NetOptions o;
  o.num_classes = 10;
  o.width = 0.125;
  o.hidden = 64;
  o.input_size = v == "cifar" ? 32 : 67;
  return make_net_spec(v, o);
}

class CudaLayers : public ::testing::TestWithParam<Precision> {};

// Single layers: a convolution's TF32/bf16 rounding can still move a value across the following
// ReLU's kink, rarely in nets this small.
Case layer_case(Precision p) {
  Case c{p};
  if (p == Precision::TF32) c.grad_tol = 1e-2;
  if (p == Precision::BF16) c.grad_tol = 5e-2;
  return c;
}

TEST_P(CudaLayers, PoolConv) {
  REQUIRE_GPU();
  compare_with_reference(pool_conv_spec(), layer_case(GetParam()));
}

TEST_P(CudaLayers, GroupedConvLrnDropoutAvgPool) {
  REQUIRE_GPU();
  Case c = layer_case(GetParam());
  c.label_smoothing = 0.1f;
  c.sgd = {0.9f, 1e-3f, 0.1f, true};  // dampening and Nesterov
  compare_with_reference(grouped_lrn_spec(), c);
}

TEST_P(CudaLayers, FirstConvolution) {
  REQUIRE_GPU();
  compare_with_reference(first_conv_spec(), layer_case(GetParam()));
}

TEST_P(CudaLayers, SmallerBatchThanBuilt) {
  REQUIRE_GPU();
  Case c = layer_case(GetParam());
  c.max_batch = 5;
  c.n = 3;
  compare_with_reference(pool_conv_spec(), c);
}

std::string precision_case(const ::testing::TestParamInfo<Precision>& info) { return precision_name(info.param); }

INSTANTIATE_TEST_SUITE_P(AllPrecisions, CudaLayers,
                         ::testing::Values(Precision::F32, Precision::TF32, Precision::BF16), precision_case);

struct VariantCase {
  std::string variant;
  Precision precision;
};

class CudaVariants : public ::testing::TestWithParam<VariantCase> {};

TEST_P(CudaVariants, MatchesReference) {
  REQUIRE_GPU();
  const VariantCase& v = GetParam();
  Case c{v.precision};
  // Whole networks put max-pools and ReLUs behind approximate convolutions: see the top of the file.
  if (v.precision == Precision::TF32) c.grad_tol = 3e-2;
  if (v.precision == Precision::BF16) c.grad_tol = 2e-1;
  compare_with_reference(variant_spec(v.variant), c);
}

std::vector<VariantCase> variant_cases() {
  std::vector<VariantCase> out;
  for (const char* v : {"seed", "paper", "torchvision", "cifar"})
    for (Precision p : {Precision::F32, Precision::TF32, Precision::BF16}) out.push_back({v, p});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, CudaVariants, ::testing::ValuesIn(variant_cases()),
                         [](const ::testing::TestParamInfo<VariantCase>& info) {
                           return info.param.variant + "_" + precision_name(info.param.precision);
                         });

// The full-size seed model at a small batch: builds (algorithm search over the real shapes) and agrees
// with the reference on the forward pass and the loss.
TEST(CudaNet, FullSizeSeedForward) {
  REQUIRE_GPU();
  NetOptions o;
  o.num_classes = 10;
  const NetSpec spec = make_net_spec("seed", o);
  const BuildOptions b{2, Precision::F32, 3, 0.f};
  auto ref = make_net(BackendKind::Reference, spec, b);
  auto gpu = make_net(BackendKind::CUDA, spec, b);
  std::vector<float> params(ref->params().total);
  init_params(spec, ref->params(), params, 5);
  ref->set_params(params);
  gpu->set_params(params);
  Rng rng(9);
  std::vector<float> input(size_t(2) * 3 * 224 * 224);
  for (float& x : input) x = float(rng.normal());
  const int64_t labels[2] = {1, 7};
  ref->forward(input.data(), 2, Mode::Train, 0);
  gpu->forward(input.data(), 2, Mode::Train, 0);
  std::vector<float> want(20), got(20);
  ref->get_logits(want.data());
  gpu->get_logits(got.data());
  EXPECT_TRUE(spans_close("logits", got, want, 1e-4));
  const float lr = ref->backward(labels), lg = gpu->backward(labels);
  EXPECT_TRUE(spans_close("loss", {&lg, 1}, {&lr, 1}, 1e-4));
}

TEST(CudaNet, ErrorsAreClear) {
  REQUIRE_GPU();
  const NetSpec spec = pool_conv_spec();
  auto gpu = make_net(BackendKind::CUDA, spec, {4, Precision::F32, 0, 0.f});
  std::vector<float> input(size_t(5) * 3 * 15 * 15, 0.f);
  EXPECT_THROW(gpu->forward(input.data(), 5, Mode::Train), Error);
  EXPECT_THROW(gpu->input_grad(), Error);
  gpu->forward(input.data(), 4, Mode::Train);
  const int64_t bad[4] = {0, 1, 5, 2};
  EXPECT_THROW(gpu->backward(bad), Error);
  std::vector<float> wrong(3);
  EXPECT_THROW(gpu->set_params(wrong), Error);
}

// Runs everywhere: without a device, make_net says so (and does not crash).
TEST(CudaNet, NoDeviceIsAnError) {
  if (no_gpu_reason().empty()) GTEST_SKIP() << "a CUDA device is visible";
  try {
    make_net(BackendKind::CUDA, pool_conv_spec(), {4, Precision::F32, 0, 0.f});
    FAIL() << "make_net(CUDA) without a device did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

#else

TEST(CudaNet, NotBuilt) {
  GTEST_SKIP() << "this build has no CUDA backend (configure with -DALEXNET_CUDA=ON or AUTO where nvcc and cuDNN are installed)";
}

#endif

}  // namespace
}  // namespace alexnet
