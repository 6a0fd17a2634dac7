// The CUDA backend's whole networks against the reference backend (the oracle): small versions of the
// four variants, a smaller batch than built, the full-size seed model's forward, and its errors, in
// fp32 (strict, no TF32), TF32 and bf16. Each layer kind alone, on every backend: tests/layers/. The
// comparison (every activation, the logits, the loss, every gradient, the SGD update, the momentum) is
// tests/layers/layer_check.h.
//
// Tolerances: fp32 1e-4, TF32 5e-3, bf16 2e-2 for activations, logits and the loss. Gradients of TF32
// and bf16 networks get a wider bound (Case::grad_tol): where a value lies within rounding of a ReLU's
// kink or of a max-pool window's runner-up, the two backends route that element's gradient differently,
// and each such flip moves a whole element of the gradient.
//
// Without a visible GPU every test is skipped, except the one that checks the error make_net gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "backend/net.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "dist/device_allreduce.h"
#include "dist/split_net.h"
#include "model/net_spec.h"
#include "tensor/bf16.h"
#include "layers/layer_check.h"
#include "test_util.h"

#if defined(ALEXNET_HAVE_CUDA)
#include <cuda_runtime.h>

#include "backend/cuda/augment.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/conv2d.h"
#include "backend/cuda/switches.h"
#include "data/transforms.h"
#include "plan_test_util.h"
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

using test::Case;
using test::compare_with_reference;

// The CUDA tests' case: their own seed, and gradients compared through max-pools at the widened
// bounds below (layer_check.h explains the bf16 rule they do not use).
Case cuda_case(Precision p) {
  Case c;
  c.precision = p;
  c.seed = 11;
  c.bf16_grads_above_last_pool = false;
  return c;
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

NetSpec variant_spec(const std::string& v) {
  NetOptions o;
  o.num_classes = 10;
  o.width = 0.125;
  o.hidden = 64;
  o.input_size = v == "cifar" ? 32 : 67;
  return make_net_spec(v, o);
}

// What crosses layers on CUDA: a second algorithm choice for a smaller batch. Each layer kind alone, on
// every backend: tests/layers/.
class CudaNetworks : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaNetworks, SmallerBatchThanBuilt) {
  REQUIRE_GPU();
  Case c = cuda_case(GetParam());
  if (c.precision == Precision::TF32) c.grad_tol = 1e-2;
  if (c.precision == Precision::BF16) c.grad_tol = 5e-2;
  c.max_batch = 5;
  c.n = 3;
  compare_with_reference(BackendKind::CUDA, pool_conv_spec(), c);
}

std::string precision_case(const ::testing::TestParamInfo<Precision>& info) { return precision_name(info.param); }

INSTANTIATE_TEST_SUITE_P(AllPrecisions, CudaNetworks,
                         ::testing::Values(Precision::F32, Precision::TF32, Precision::BF16), precision_case);

struct VariantCase {
  std::string variant;
  Precision precision;
};

class CudaVariants : public ::testing::TestWithParam<VariantCase> {};

TEST_P(CudaVariants, MatchesReference) {
  REQUIRE_GPU();
  const VariantCase& v = GetParam();
  Case c = cuda_case(v.precision);
  // Whole networks put max-pools and ReLUs behind approximate convolutions: see the top of the file.
  if (v.precision == Precision::TF32) c.grad_tol = 3e-2;
  if (v.precision == Precision::BF16) c.grad_tol = 2e-1;
  compare_with_reference(BackendKind::CUDA, variant_spec(v.variant), c);
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
  BuildOptions b;
  b.max_batch = 2;
  b.seed = 3;
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
  BuildOptions four;
  four.max_batch = 4;
  auto gpu = make_net(BackendKind::CUDA, spec, four);
  std::vector<float> input(size_t(5) * 3 * 15 * 15, 0.f);
  EXPECT_THROW(gpu->forward(input.data(), 5, Mode::Train), Error);
  EXPECT_THROW(gpu->input_grad(), Error);
  gpu->forward(input.data(), 4, Mode::Train);
  const int64_t bad[4] = {0, 1, 5, 2};
  EXPECT_THROW(gpu->backward(bad), Error);
  std::vector<float> wrong(3);
  EXPECT_THROW(gpu->set_params(wrong), Error);
}

// Data parallelism on GPUs: NCCL's average over one process leaves the gradients as they are, on
// the device, queued on the net's stream (the one-GPU form of the multi-GPU path).
TEST(CudaNccl, OneProcessAverageKeepsTheGradients) {
  REQUIRE_GPU();
  if (!nccl_compiled_in()) GTEST_SKIP() << "this build has no NCCL (cmake/cuda.cmake did not find nccl.h and libnccl)";
  BuildOptions b;
  b.max_batch = 4;
  auto net = make_net(BackendKind::CUDA, pool_conv_spec(), b);
  std::vector<float> params(net->params().total), before(params.size()), after(params.size());
  init_params(net->spec(), net->params(), params, 3);
  net->set_params(params);
  Rng rng(4);
  std::vector<float> x(size_t(4) * 3 * net->spec().input_size * net->spec().input_size);
  for (float& v : x) v = float(rng.normal());
  const int64_t labels[4] = {0, 1, 2, 1};
  net->forward(x.data(), 4, Mode::Train);
  net->backward(labels);
  net->get_grads(before);
  auto single = make_single_process_communicator();
  auto nccl = make_nccl_allreduce(*single);
  const Net::DeviceGrads g = net->device_grads();
  ASSERT_NE(g.data, nullptr);
  nccl->average(g.data, params.size(), g.stream);
  net->get_grads(after);
  EXPECT_EQ(before, after) << nccl->transport();
  EXPECT_NE(nccl->transport().find("NCCL"), std::string::npos);
}

// The model split (dist/split_net.h) on CUDA: one column is the whole network cut into stages,
// each a CudaNet, through backward_from and input_grad. fp32: every stage's own algorithm search, so
// not bit for bit.
TEST(CudaSplit, OneColumnTrainsAsTheWholeNetwork) {
  REQUIRE_GPU();
  NetOptions o;
  o.num_classes = 10;
  o.width = 0.25;
  o.hidden = 64;
  o.input_size = 67;
  const NetSpec spec = make_net_spec("paper", o);
  BuildOptions b;
  b.max_batch = 4;
  b.seed = 11;
  auto single = make_single_process_communicator();
  auto split = make_split_net(BackendKind::CUDA, spec, b, *single);
  auto whole = make_net(BackendKind::CUDA, spec, b);
  std::vector<float> params(whole->params().total), a(params.size()), w(params.size());
  init_params(spec, whole->params(), params, 2);
  split->set_params(params);
  whole->set_params(params);
  Rng rng(6);
  std::vector<float> x(size_t(4) * 3 * 67 * 67), la(40), lw(40);
  const int64_t labels[4] = {1, 3, 5, 7};
  const SgdOptions sgd{0.9f, 5e-4f, 0.f, false};
  for (int step = 0; step < 3; ++step) {
    for (float& v : x) v = float(rng.normal());
    split->forward(x.data(), 4, Mode::Train, uint64_t(step));
    whole->forward(x.data(), 4, Mode::Train, uint64_t(step));
    split->get_logits(la.data());
    whole->get_logits(lw.data());
    EXPECT_TRUE(spans_close("logits", la, lw, 1e-5)) << "step " << step;
    split->backward(labels);
    whole->backward(labels);
    split->sgd_step(sgd, 0.05f);
    whole->sgd_step(sgd, 0.05f);
  }
  split->get_params(a);
  whole->get_params(w);
  EXPECT_TRUE(spans_close("weights after 3 steps", a, w, 1e-4));
}

// The batch transform kernel (backend/cuda/augment.cu) against the CPU pipeline: every preset in
// training and evaluation, an oblong batch enlarged and one shrunk, fp32 and bf16, conv1's padded
// channels. The kernel's arithmetic is sample_pixel's, proven on the CPU by tests/sample_plan_test.cpp;
// this proves the launch: indexing, layout, the element type and the padding.
TEST(CudaAugment, KernelEqualsTheCpuPipeline) {
  REQUIRE_GPU();
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  for (auto [H, W, S] : {std::array{40, 52, 64}, std::array{90, 61, 24}}) {
    const int N = 5;
    for (const char* preset : {"none", "seed", "standard", "paper"})
      for (bool train : {false, true})
        for (bool small : {true, false}) {
          TransformConfig config;
          config.preset = preset;
          config.input_size = S;
          config.small_images = small;
          config.pca = test::some_pca();
          const Pipeline pipeline(config, train);
          if (pipeline.preset() == Preset::None) continue;  // needs S x S images
          // The CPU pipeline's NCHW batch (`want`) and the uint8 images with their plans.
          const test::PlannedBatch planned = test::planned_batch(pipeline, N, H, W, 100, 5);
          const std::vector<SamplePlan>& plans = planned.plans;
          const std::vector<uint8_t>& batch = planned.images;
          const std::vector<float>& want = planned.floats;
          check_sample_plans(plans.data(), N, H, W, S, true);
          for (cuda::Elem e : {cuda::Elem::F32, cuda::Elem::BF16})
            for (int Cpad : {3, 4, 8}) {
              SCOPED_TRACE(testing::Message() << preset << (train ? " train" : " eval") << (small ? " small " : " large ")
                                              << H << "x" << W << " -> " << S << (e == cuda::Elem::F32 ? " fp32" : " bf16")
                                              << " Cpad " << Cpad);
              const size_t out_elems = size_t(N) * size_t(S) * size_t(S) * size_t(Cpad);
              cuda::DeviceMemory src(batch.size()), dplans(sizeof(SamplePlan) * plans.size()),
                  out(out_elems * cuda::elem_size(e));
              // On the kernel's own stream: a non-blocking stream does not wait for the legacy stream,
              // and a pageable cudaMemcpy may return before its copy has reached the device.
              ASSERT_EQ(cudaMemcpyAsync(src.get(), batch.data(), batch.size(), cudaMemcpyHostToDevice, stream),
                        cudaSuccess);
              ASSERT_EQ(cudaMemcpyAsync(dplans.get(), plans.data(), dplans.bytes(), cudaMemcpyHostToDevice, stream),
                        cudaSuccess);
              cuda::augment_batch(out.get(), e, Cpad, src.as<uint8_t>(), H, W, dplans.as<SamplePlan>(), N, S, stream);
              ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
              std::vector<float> got(out_elems);
              if (e == cuda::Elem::F32) {
                ASSERT_EQ(cudaMemcpyAsync(got.data(), out.get(), out_elems * 4, cudaMemcpyDeviceToHost, stream),
                          cudaSuccess);
                ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
              } else {
                std::vector<bf16> raw(out_elems);
                ASSERT_EQ(cudaMemcpyAsync(raw.data(), out.get(), out_elems * 2, cudaMemcpyDeviceToHost, stream),
                          cudaSuccess);
                ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
                for (size_t i = 0; i < out_elems; ++i) got[i] = bf16_to_float(raw[i]);
              }
              double worst = 0;
              for (int n = 0; n < N; ++n)
                for (int c = 0; c < Cpad; ++c)
                  for (int i = 0; i < S * S; ++i) {
                    const float g = got[(size_t(n) * size_t(S) * size_t(S) + size_t(i)) * size_t(Cpad) + size_t(c)];
                    if (c >= 3) {
                      ASSERT_EQ(g, 0.f) << "padding channel " << c;
                      continue;
                    }
                    const float w = want[(size_t(n) * 3 + size_t(c)) * size_t(S) * size_t(S) + size_t(i)];
                    // fp32: rounding; bf16: the bf16 rounding of the value (8 bits of mantissa).
                    const double tol = e == cuda::Elem::F32 ? 1e-5 : std::abs(w) * 0x1p-8 + 1e-5;
                    worst = std::max(worst, std::abs(double(g) - w));
                    ASSERT_LE(std::abs(double(g) - w), tol) << "sample " << n << " channel " << c << " pixel " << i;
                  }
            }
        }
  }
  cudaStreamDestroy(stream);
}

// Net::forward_planned on the GPU (uint8 bytes and plans uploaded, the kernel writes the net's input,
// conv1's channels padded) against forward() on the CPU pipeline's batch, fp32 and bf16.
TEST(CudaAugment, ForwardPlannedEqualsForward) {
  REQUIRE_GPU();
  TransformConfig config;
  config.preset = "standard";
  config.input_size = 67;
  const Pipeline pipeline(config, true);
  const test::PlannedBatch batch = test::planned_batch(pipeline, 6, 32, 32, 3, 9);
  for (Precision p : {Precision::F32, Precision::BF16}) {
    SCOPED_TRACE(precision_name(p));
    const test::BothLogits l = test::logits_both_ways(BackendKind::CUDA, "seed", p, batch, 32, 32, 67);
    ASSERT_EQ(l.planned.size(), l.forward.size()) << "plans for another source size were not refused";
    // bf16: both round the same input to bf16, up to a last-bit difference where the fp32 values differ.
    EXPECT_TRUE(spans_close("logits", l.planned, l.forward, p == Precision::F32 ? 1e-4 : 2e-2));
  }
}

// The fast paths against the plain path (switches.h): each switch set to 0 alone, and all of them,
// the network trained one step both ways from the same parameters and batch; the logits, the loss,
// the gradients and the updated parameters agree. Then the plain path against the reference backend.
// When a fast path is wrong, this names it.
struct OneStep {
  std::vector<float> logits, grads, params;
  float loss = 0;
};

OneStep train_one_step(const NetSpec& spec, Precision p, const std::vector<std::pair<const char*, const char*>>& env) {
  for (const auto& [name, value] : env) setenv(name, value, 1);
  BuildOptions b;
  b.max_batch = 4;
  b.precision = p;
  b.seed = 7;
  std::unique_ptr<Net> net;
  try {
    net = make_net(BackendKind::CUDA, spec, b);
  } catch (...) {
    for (const auto& [name, value] : env) unsetenv(name);
    throw;
  }
  for (const auto& [name, value] : env) unsetenv(name);
  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, 4);
  net->set_params(params);
  Rng rng(8);
  std::vector<float> x(size_t(4) * spec.in_channels * spec.input_size * spec.input_size);
  for (float& v : x) v = float(rng.normal());
  const int64_t labels[4] = {0, 3, 1, 2};
  OneStep r;
  net->forward(x.data(), 4, Mode::Train, 0);
  r.logits.resize(size_t(4) * spec.num_classes);
  net->get_logits(r.logits.data());
  r.loss = net->backward(labels);
  r.grads.resize(params.size());
  net->get_grads(r.grads);
  net->sgd_step(SgdOptions{0.9f, 5e-4f, 0.f, false}, 0.1f);
  r.params.resize(params.size());
  net->get_params(r.params);
  return r;
}

class CudaFastPaths : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaFastPaths, EachAgainstThePlainPath) {
  REQUIRE_GPU();
  const Precision p = GetParam();
  const NetSpec spec = variant_spec("seed");
  // Two nets may pick different convolution algorithms (each measures its own): not bit for bit.
  const double tol = p == Precision::F32 ? 1e-4 : p == Precision::TF32 ? 5e-3 : 2e-2;
  const OneStep fast = train_one_step(spec, p, {});
  const std::vector<std::vector<std::pair<const char*, const char*>>> plain = {
      {{"ALEXNET_CUDA_FUSED", "0"}},
      {{"ALEXNET_CUDA_VECTOR", "0"}},
      {{"ALEXNET_CUDA_FUSED", "0"}, {"ALEXNET_CUDA_VECTOR", "0"}}};
  for (const auto& env : plain) {
    std::string what;
    for (const auto& [name, value] : env) what += cat(name, "=", value, " ");
    SCOPED_TRACE(what);
    const OneStep slow = train_one_step(spec, p, env);
    EXPECT_TRUE(spans_close("logits", fast.logits, slow.logits, tol));
    EXPECT_TRUE(spans_close("loss", {&fast.loss, 1}, {&slow.loss, 1}, tol));
    EXPECT_TRUE(spans_close("gradients", fast.grads, slow.grads, p == Precision::F32 ? 1e-4 : 5e-2));
    EXPECT_TRUE(spans_close("parameters after SGD", fast.params, slow.params, tol));
  }
}

TEST_P(CudaFastPaths, PlainPathMatchesReference) {
  REQUIRE_GPU();
  Case c = cuda_case(GetParam());
  if (c.precision == Precision::TF32) c.grad_tol = 3e-2;
  if (c.precision == Precision::BF16) c.grad_tol = 2e-1;
  setenv("ALEXNET_CUDA_FUSED", "0", 1);
  setenv("ALEXNET_CUDA_VECTOR", "0", 1);
  compare_with_reference(BackendKind::CUDA, variant_spec("seed"), c);
  unsetenv("ALEXNET_CUDA_FUSED");
  unsetenv("ALEXNET_CUDA_VECTOR");
}

INSTANTIATE_TEST_SUITE_P(AllPrecisions, CudaFastPaths,
                         ::testing::Values(Precision::F32, Precision::TF32, Precision::BF16), precision_case);

// Runs everywhere (host code only). Strict fp32 takes an algorithm cuDNN reports with the default
// math type (it may report FMA algorithms so) and refuses only the tensor-op types.
TEST(CudaConv, StrictFp32RefusesOnlyTensorOpMath) {
  EXPECT_TRUE(cuda::conv_math_allowed(Precision::F32, CUDNN_DEFAULT_MATH));
  EXPECT_TRUE(cuda::conv_math_allowed(Precision::F32, CUDNN_FMA_MATH));
  EXPECT_FALSE(cuda::conv_math_allowed(Precision::F32, CUDNN_TENSOR_OP_MATH));
  EXPECT_FALSE(cuda::conv_math_allowed(Precision::F32, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
  for (Precision p : {Precision::TF32, Precision::BF16})
    for (cudnnMathType_t m : {CUDNN_DEFAULT_MATH, CUDNN_TENSOR_OP_MATH, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, CUDNN_FMA_MATH})
      EXPECT_TRUE(cuda::conv_math_allowed(p, m)) << precision_name(p) << " math " << int(m);
}

// Runs everywhere. The bias-gradient column sums' grid stays within CUDA's 65,535 block rows at any
// batch (conv1 of the seed model: 55 x 55 positions per sample, so 10,000 samples are 118,165
// chunks of 256 rows), and its block rows still cover every chunk.
TEST(CudaKernels, ColumnSumsGridFitsAtAnyBatch) {
  for (int64_t n : {1, 2, 256, 5000, 6000, 10000, 100000}) {
    const int64_t M = n * 55 * 55;
    const cuda::ColumnSumsLaunch l = cuda::column_sums_launch(M, 64);
    EXPECT_LE(int64_t(l.grid_y), cuda::kMaxGridY) << "batch " << n;
    EXPECT_GE(l.grid_y, 1u);
    EXPECT_EQ(l.chunks, (M + 255) / 256) << "batch " << n;
    EXPECT_EQ(l.grid_x, 2u);
    EXPECT_EQ(cuda::column_sums_scratch(M, 64), size_t(l.chunks) * 64);
  }
}

// Runs everywhere. The switches: unset gives every fast path; 0 the plain one; another value is an
// error that names the variable.
TEST(CudaSwitches, ReadFromTheEnvironment) {
  const char* names[] = {"ALEXNET_CUDA_FUSED", "ALEXNET_CUDA_VECTOR", "ALEXNET_CUDA_SYNC"};
  for (const char* n : names) unsetenv(n);
  cuda::CudaSwitches s = cuda::read_cuda_switches();
  EXPECT_TRUE(s.fused);
  EXPECT_TRUE(s.vector);
  EXPECT_FALSE(s.sync);
  setenv("ALEXNET_CUDA_FUSED", "0", 1);
  setenv("ALEXNET_CUDA_VECTOR", "0", 1);
  setenv("ALEXNET_CUDA_SYNC", "1", 1);
  s = cuda::read_cuda_switches();
  EXPECT_FALSE(s.fused);
  EXPECT_FALSE(s.vector);
  EXPECT_TRUE(s.sync);
  setenv("ALEXNET_CUDA_FUSED", "off", 1);
  try {
    cuda::read_cuda_switches();
    ADD_FAILURE() << "ALEXNET_CUDA_FUSED=off was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ALEXNET_CUDA_FUSED must be 0 or 1"), std::string::npos) << e.what();
  }
  for (const char* n : names) unsetenv(n);
}

// Runs everywhere: without a device, make_net says so (and does not crash).
TEST(CudaNet, NoDeviceIsAnError) {
  if (no_gpu_reason().empty()) GTEST_SKIP() << "a CUDA device is visible";
  try {
    make_net(BackendKind::CUDA, pool_conv_spec(), BuildOptions{});
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
