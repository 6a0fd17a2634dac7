// The oneDNN backend against the reference backend (the oracle): every activation, the loss, every
// activation gradient, the input gradient, the parameter gradients and the parameters after SGD
// steps, per layer kind on small shapes and on the full-size seed model, in fp32 and bf16.
// Tensors are compared by relative norm ||a - b|| / ||b||; a failure prints the worst element.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <variant>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "backend/net.h"
#include "core/rng.h"
#include "tensor/bf16.h"
#include "test_util.h"

namespace alexnet {
namespace {

void expect_close(const char* what, int index, std::span<const float> got, std::span<const float> want, double tol) {
  ASSERT_EQ(got.size(), want.size()) << what << " " << index;
  double diff = 0, norm = 0, worst = -1;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    diff += d * d;
    norm += double(want[i]) * double(want[i]);
    if (std::abs(d) > worst) worst = std::abs(d), at = i;
  }
  const double rel = std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
  EXPECT_LE(rel, tol) << what << " " << index << ": relative error " << rel << "; worst element " << at << ": got "
                      << got[at] << ", want " << want[at];
}

void expect_close(const char* what, int index, const Tensor& got, const Tensor& want, double tol) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what << " " << index;
  expect_close(what, index, got.span<float>(), want.span<float>(), tol);
}

struct Case {
  Precision precision = Precision::F32;
  int max_batch = 4;
  int n = 0;  // batch of the forward passes; 0 = max_batch
  int steps = 2;
  float label_smoothing = 0.f;
  SgdOptions sgd{0.9f, 5e-4f, 0.f, false};
  float lr = 0.05f;
  uint64_t seed = 7;
  // Gradient tolerance when it must differ from the forward's: bf16 whole networks, where ReLU and
  // max-pool decisions flip for values closer than bf16's resolution (see compare_with_reference).
  // Negative: gradients are not compared.
  double grad_tol = 0;
  bool eval = true;  // finish with an evaluation-mode forward on the updated parameters
};

// Runs `c.steps` training steps on both backends from the same parameters and compares everything.
void compare_with_reference(const NetSpec& spec, const Case& c) {
  const bool bf16 = c.precision == Precision::BF16;
  const double tol = bf16 ? 2e-2 : 1e-4;
  const double gtol = c.grad_tol ? c.grad_tol : tol;
  const bool check_grads = gtol > 0;
  const int n = c.n ? c.n : c.max_batch;
  BuildOptions ro{c.max_batch, Precision::F32, c.seed, c.label_smoothing};
  BuildOptions oo = ro;
  oo.precision = c.precision;
  // bf16 through a max-pool: where two window entries are closer than bf16's resolution, the bf16
  // forward may pick the other one as the maximum, and that output's whole gradient moves (about a
  // quarter of the gradient's norm in these nets). Below the last max-pool, gradients are then not
  // comparable element by element with an fp32 reference, so for bf16 networks they are compared
  // from the last max-pool up; the layers below are covered one by one by the single-layer tests.
  // Above it the same happens, more rarely, at ReLUs after fc6/fc7 (outputs within rounding of 0),
  // hence Case::grad_tol.
  size_t grad_from = 0;
  if (bf16)
    for (size_t i = 0; i < spec.layers.size(); ++i)
      if (i > 0 && std::holds_alternative<MaxPool2d>(spec.layers[i].op)) grad_from = i;
  auto ref = make_net(BackendKind::Reference, spec, ro);
  auto dnn = make_net(BackendKind::OneDNN, spec, oo);
  ASSERT_EQ(dnn->backend(), BackendKind::OneDNN);

  // bf16: start both from bf16-representable values, so only the compute's rounding differs.
  auto representable = [&](std::vector<float>& v) {
    if (bf16)
      for (float& x : v) x = round_to_bf16(x);
  };
  std::vector<float> params(ref->params().total);
  init_params(spec, ref->params(), params, c.seed);
  representable(params);
  ref->set_params(params);
  dnn->set_params(params);

  Rng rng(c.seed + 1);
  const int64_t in_numel = int64_t(n) * spec.in_channels * spec.input_size * spec.input_size;
  const size_t L = spec.layers.size();
  for (int step = 0; step < c.steps; ++step) {
    std::vector<float> input(static_cast<size_t>(in_numel));
    for (float& x : input) x = float(rng.normal());
    representable(input);
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t& y : labels) y = int64_t(rng.below(uint64_t(spec.num_classes)));

    ref->forward(input.data(), n, Mode::Train, uint64_t(step));
    dnn->forward(input.data(), n, Mode::Train, uint64_t(step));
    for (size_t i = 0; i < L; ++i) expect_close("activation", int(i), dnn->activation(int(i)), ref->activation(int(i)), tol);
    std::vector<float> lr_(size_t(n) * spec.num_classes), ld(lr_.size());
    ref->get_logits(lr_.data());
    dnn->get_logits(ld.data());
    expect_close("logits", step, ld, lr_, tol);

    const float loss_ref = ref->backward(labels.data());
    const float loss_dnn = dnn->backward(labels.data());
    EXPECT_NEAR(loss_dnn, loss_ref, (bf16 ? 1e-2 : 1e-5) * std::max(1.f, std::abs(loss_ref))) << "loss, step " << step;
    for (size_t i = grad_from; check_grads && i < L; ++i)
      expect_close("activation_grad", int(i), dnn->activation_grad(int(i)), ref->activation_grad(int(i)), gtol);
    if (check_grads && grad_from == 0) expect_close("input_grad", step, dnn->input_grad(), ref->input_grad(), gtol);

    std::vector<float> gr(params.size()), gd(params.size());
    ref->get_grads(gr);
    dnn->get_grads(gd);
    for (const ParamInfo& p : ref->params().entries)
      if (check_grads && (size_t(p.layer) > grad_from || grad_from == 0))
        expect_close(p.name.c_str(), step, std::span<const float>(gd).subspan(p.offset, p.numel),
                   std::span<const float>(gr).subspan(p.offset, p.numel), gtol);

    ref->sgd_step(c.sgd, c.lr);
    dnn->sgd_step(c.sgd, c.lr);
    std::vector<float> pr(params.size()), pd(params.size()), mr(params.size()), md(params.size());
    ref->get_params(pr);
    dnn->get_params(pd);
    ref->get_momentum(mr);
    dnn->get_momentum(md);
    expect_close("params after sgd", step, pd, pr, bf16 ? 1e-3 : 1e-6);
    if (check_grads && grad_from == 0) expect_close("momentum after sgd", step, md, mr, gtol);
    if (::testing::Test::HasFailure()) return;
  }
  if (!c.eval) return;
  // Evaluation mode (dropout off) on the updated parameters.
  std::vector<float> input(static_cast<size_t>(in_numel));
  for (float& x : input) x = float(rng.normal());
  representable(input);
  ref->forward(input.data(), n, Mode::Eval);
  dnn->forward(input.data(), n, Mode::Eval);
  expect_close("eval logits", 0, dnn->activation(int(L - 1)), ref->activation(int(L - 1)), tol);
}

// A one-off network: the last layer's output is the logits (num_classes = its size per sample).
NetSpec tiny(int in_channels, int size, std::vector<Layer> layers) {
  NetSpec spec{"test", in_channels, size, 1, InitScheme::PyTorchDefault, std::move(layers)};
  spec.num_classes = int(activation_shapes(spec).back().numel());
  return spec;
}

class OneDnnLayers : public ::testing::TestWithParam<Precision> {
 protected:
  void SetUp() override { ALEXNET_SKIP_UNLESS_SUPPORTED(BackendKind::OneDNN, GetParam()); }
  Case make_case() const {
    Case c;
    c.precision = GetParam();
    return c;
  }
};

TEST_P(OneDnnLayers, Conv) {
  compare_with_reference(tiny(3, 9, {{"c", Conv2d{3, 8, 3, 1, 1}}}), make_case());
}

TEST_P(OneDnnLayers, ConvStridedGroupedThenConv) {
  compare_with_reference(tiny(4, 13, {{"c1", Conv2d{4, 8, 5, 2, 2, 2}}, {"c2", Conv2d{8, 6, 3, 1, 0}}}), make_case());
}

TEST_P(OneDnnLayers, ConvReluFused) {
  compare_with_reference(tiny(3, 10, {{"c1", Conv2d{3, 16, 3, 1, 1}}, {"r1", ReLU{}}, {"c2", Conv2d{16, 4, 3, 2, 1}}}),
                         make_case());
}

TEST_P(OneDnnLayers, ReluAlone) {
  compare_with_reference(tiny(3, 6, {{"r", ReLU{}}, {"c", Conv2d{3, 4, 3, 1, 1}}}), make_case());
}

TEST_P(OneDnnLayers, MaxPool) {
  compare_with_reference(
      tiny(3, 15, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"r", ReLU{}}, {"p", MaxPool2d{3, 2}}, {"q", MaxPool2d{2, 2, 1}}}),
      make_case());
}

TEST_P(OneDnnLayers, MaxPoolFirst) {
  compare_with_reference(tiny(2, 9, {{"p", MaxPool2d{3, 2, 1}}}), make_case());
}

TEST_P(OneDnnLayers, LrnOddSize) {
  compare_with_reference(tiny(3, 7, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"r", ReLU{}}, {"n", LocalResponseNorm{5, 1e-2f, 0.75f, 2.f}}}),
                         make_case());
}

TEST_P(OneDnnLayers, LrnEvenSize) {
  compare_with_reference(tiny(3, 7, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"n", LocalResponseNorm{4, 1e-1f, 0.75f, 1.f}}}),
                         make_case());
}

TEST_P(OneDnnLayers, DropoutLinear) {
  compare_with_reference(tiny(4, 5,
                              {{"f", Flatten{}},
                               {"d1", Dropout{0.5f}},
                               {"l1", Linear{100, 64}},
                               {"r", ReLU{}},
                               {"d2", Dropout{0.3f}},
                               {"l2", Linear{64, 10}}}),
                         make_case());
}

TEST_P(OneDnnLayers, DropoutOnFeatureMaps) {
  compare_with_reference(tiny(3, 8, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"d", Dropout{0.5f}}, {"c2", Conv2d{16, 4, 3, 1, 1}}}),
                         make_case());
}

TEST_P(OneDnnLayers, LinearOnFeatureMapsWithoutFlatten) {
  compare_with_reference(tiny(3, 6, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"l", Linear{16 * 36, 12}}}), make_case());
}

TEST_P(OneDnnLayers, AdaptiveAvgPool) {
  for (int out : {6, 3, 4}) {  // identity, divisible, uneven
    SCOPED_TRACE(out);
    compare_with_reference(tiny(3, 6, {{"c", Conv2d{3, 16, 3, 1, 1}}, {"a", AdaptiveAvgPool2d{out, out}}, {"f", Flatten{}}}),
                           make_case());
  }
}

TEST_P(OneDnnLayers, LabelSmoothingNesterovDampening) {
  Case c = make_case();
  c.label_smoothing = 0.1f;
  c.sgd = {0.8f, 1e-3f, 0.1f, true};
  c.steps = 3;
  compare_with_reference(tiny(3, 5, {{"f", Flatten{}}, {"l", Linear{75, 7}}}), c);
}

TEST_P(OneDnnLayers, SmallerBatchThanBuilt) {
  Case c = make_case();
  c.max_batch = 5;
  c.n = 3;
  compare_with_reference(tiny(3, 9, {{"c", Conv2d{3, 8, 3, 2, 1}}, {"r", ReLU{}}, {"p", MaxPool2d{2, 2}}, {"f", Flatten{}}}), c);
}

TEST_P(OneDnnLayers, SmallVariants) {
  for (const char* variant : {"seed", "paper", "torchvision", "cifar"}) {
    SCOPED_TRACE(variant);
    NetOptions o;
    o.num_classes = 10;
    o.width = 0.125;
    o.hidden = 32;
    if (std::string(variant) != "cifar") o.input_size = 67;
    Case c = make_case();
    // So few elements that one flipped bf16 max-pool or ReLU decision moves much of a gradient:
    // bf16 is checked on the forward pass and the updated parameters here; gradients at full size.
    if (c.precision == Precision::BF16) c.grad_tol = -1;
    compare_with_reference(make_net_spec(variant, o), c);
  }
}

// 12 input channels (cifar at width 0.25): oneDNN's blocked kernels leave the backward passes to its
// reference code, so the backend moves those convolutions' activations to NHWC. Same numbers.
TEST_P(OneDnnLayers, ChannelCountsOutsideTheBlockedKernels) {
  Case c = make_case();
  if (c.precision == Precision::BF16) c.grad_tol = -1;
  compare_with_reference(tiny(12, 15, {{"c", Conv2d{12, 32, 5, 1, 2}}, {"r", ReLU{}}, {"p", MaxPool2d{3, 2}}, {"f", Flatten{}}}), c);
}

INSTANTIATE_TEST_SUITE_P(Precisions, OneDnnLayers, ::testing::Values(Precision::F32, Precision::BF16),
                         [](const auto& info) { return std::string(precision_name(info.param)); });

// Full width, block by block: every layer of every variant at its real channel counts and sizes
// (batch 2), forward and backward, against the reference backend. oneDNN picks its kernels by ISA,
// channel count, layout and batch, so a kernel that deviates on one CPU (the AVX2 LRN backward on
// conv2's 256-channel output, blocked by 8) shows only at these shapes, in these layouts, on that CPU:
// this suite runs on whatever CPU runs the tests, and CI runs it again with ONEDNN_MAX_CPU_ISA=AVX2.
// A block is a Conv2d or Linear and the layers up to the next one (ReLU, LRN, pooling, dropout,
// flatten), so each layer sees its input in the layout it has in the whole network.
struct FullWidthCase {
  std::string variant;
  Precision precision;
};

class OneDnnFullWidth : public ::testing::TestWithParam<FullWidthCase> {
 protected:
  void SetUp() override { ALEXNET_SKIP_UNLESS_SUPPORTED(BackendKind::OneDNN, GetParam().precision); }
};

TEST_P(OneDnnFullWidth, EveryLayerForwardAndBackward) {
  NetOptions o;
  o.num_classes = 10;
  const NetSpec spec = make_net_spec(GetParam().variant, o);
  const std::vector<ActShape> shapes = activation_shapes(spec);
  auto has_params = [](const LayerOp& op) { return std::holds_alternative<Conv2d>(op) || std::holds_alternative<Linear>(op); };
  int blocks = 0;
  for (size_t first = 0, next = 0; first < spec.layers.size(); first = next) {
    next = first + 1;
    while (next < spec.layers.size() && !has_params(spec.layers[next].op)) ++next;
    const std::vector<Layer> layers(spec.layers.begin() + int64_t(first), spec.layers.begin() + int64_t(next));
    const ActShape in = first == 0 ? ActShape{spec.in_channels, spec.input_size, spec.input_size} : shapes[first - 1];
    SCOPED_TRACE(cat("layers ", spec.layers[first].name, " .. ", spec.layers[next - 1].name, " on ",
                     in.flat ? cat(in.c) : cat(in.c, "x", in.h, "x", in.w)));
    // A flat input becomes [n, features, 1, 1]: the layers read it the same way.
    const NetSpec one = tiny(in.c, in.flat ? 1 : in.h, layers);
    Case c;
    c.precision = GetParam().precision;
    c.max_batch = 2;
    c.steps = 1;
    c.eval = false;
    c.lr = 0.01f;  // the article's rate: the parameters after one step are compared at 1e-3 in bf16
    // bf16: a max-pool window whose entries tie after rounding routes its gradient elsewhere.
    if (c.precision == Precision::BF16) c.grad_tol = 5e-2;
    compare_with_reference(one, c);
    ++blocks;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GE(blocks, 8);
}

std::vector<FullWidthCase> full_width_cases() {
  std::vector<FullWidthCase> out;
  for (const char* v : {"seed", "paper", "torchvision", "cifar"})
    for (Precision p : {Precision::F32, Precision::BF16}) out.push_back({v, p});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, OneDnnFullWidth, ::testing::ValuesIn(full_width_cases()),
                         [](const auto& info) { return info.param.variant + "_" + precision_name(info.param.precision); });

// Full size: the seed model (conv1..conv5, fc6..fc8 at 224x224), one sample, two steps.
class OneDnnFullSize : public ::testing::TestWithParam<Precision> {
 protected:
  void SetUp() override { ALEXNET_SKIP_UNLESS_SUPPORTED(BackendKind::OneDNN, GetParam()); }
};

TEST_P(OneDnnFullSize, SeedModel) {
  NetOptions o;
  o.num_classes = 10;
  Case c;
  c.precision = GetParam();
  c.max_batch = 1;
  c.steps = 1;
  if (c.precision == Precision::BF16) c.grad_tol = 0.15;  // measured 0.05-0.09 above the last max-pool
  c.eval = false;
  compare_with_reference(make_net_spec("seed", o), c);
}

// At batch 64 oneDNN may pick other formats and kernels than at batch 1 or 16: the seed model's
// logits at batch 64 against single samples, its gradients against four batches of 16.
TEST_P(OneDnnFullSize, SeedBatch64MatchesSmallerBatches) {
  const bool bf16 = GetParam() == Precision::BF16;
  NetOptions o;
  o.num_classes = 10;
  o.dropout = 0.f;
  const NetSpec spec = make_net_spec("seed", o);
  const int n = 64;
  auto net = make_net(BackendKind::OneDNN, spec, {n, GetParam(), 1});
  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, 1);
  net->set_params(params);
  Rng rng(5);
  const size_t per = size_t(3) * 224 * 224;
  std::vector<float> input(n * per);
  for (float& x : input) x = float(rng.normal());
  std::vector<int64_t> labels(n, 3);
  net->forward(input.data(), n, Mode::Train);
  std::vector<float> logits(size_t(n) * 10);
  net->get_logits(logits.data());
  net->backward(labels.data());
  std::vector<float> grads(params.size());
  net->get_grads(grads);
  // The mean-loss gradient of the batch is the mean of its quarters' mean-loss gradients.
  std::vector<float> mean(params.size()), one(params.size()), row(10);
  for (int i : {0, 17, 63}) {
    net->forward(input.data() + size_t(i) * per, 1, Mode::Train);
    net->get_logits(row.data());
    expect_close("logits row", i, row, std::span<const float>(logits).subspan(size_t(i) * 10, 10), bf16 ? 2e-2 : 1e-5);
  }
  for (int i = 0; i < n; i += 16) {
    net->forward(input.data() + size_t(i) * per, 16, Mode::Train);
    net->backward(&labels[size_t(i)]);
    net->get_grads(one);
    for (size_t j = 0; j < one.size(); ++j) mean[j] += one[j] / 4;
  }
  for (const ParamInfo& p : net->params().entries)
    expect_close(p.name.c_str(), 0, std::span<const float>(grads).subspan(p.offset, p.numel),
                 std::span<const float>(mean).subspan(p.offset, p.numel), bf16 ? 2e-2 : 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Precisions, OneDnnFullSize, ::testing::Values(Precision::F32, Precision::BF16),
                         [](const auto& info) { return std::string(precision_name(info.param)); });

TEST(OneDnnNet, RejectsTf32AndBadInput) {
  const NetSpec spec = tiny(3, 5, {{"f", Flatten{}}, {"l", Linear{75, 7}}});
  EXPECT_THROW(make_net(BackendKind::OneDNN, spec, {4, Precision::TF32}), Error);
  auto net = make_net(BackendKind::OneDNN, spec, {4, Precision::F32});
  std::vector<float> x(5 * 75);
  EXPECT_THROW(net->forward(x.data(), 5, Mode::Train), Error);
  EXPECT_THROW(net->backward(nullptr), Error);
  net->forward(x.data(), 2, Mode::Eval);
  const int64_t labels[2] = {0, 1};
  EXPECT_THROW(net->backward(labels), Error);  // needs a training forward
  net->forward(x.data(), 2, Mode::Train);
  const int64_t bad[2] = {0, 7};
  EXPECT_THROW(net->backward(bad), Error);
  std::vector<float> wrong(3);
  EXPECT_THROW(net->set_params(wrong), Error);
  // The input gradient is computed on demand from the last forward's weights: not after an update.
  const int64_t good[2] = {0, 1};
  net->backward(good);
  net->sgd_step({}, 0.1f);
  EXPECT_THROW(net->input_grad(), Error);
}

// What oneDNN's convolution and inner-product primitives alone take for one training step of `spec`
// at batch n ('any' formats, each pass timed on its own, best of 3): the arithmetic floor the whole
// step is measured against, in the same run, since this machine's speed drifts.
double arithmetic_step_seconds(const NetSpec& spec, int n, Precision precision) {
  using namespace dnnl;
  using Dt = memory::data_type;
  const Dt dt = precision == Precision::BF16 ? Dt::bf16 : Dt::f32;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  auto any = [](const memory::dims& d, Dt t) { return memory::desc(d, t, memory::format_tag::any); };
  auto best_of_3 = [&](auto pd, std::unordered_map<int, memory> args) {
    primitive p(pd);
    double best = 1e30;
    for (int r = 0; r < 4; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      p.execute(s, args);
      s.wait();
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r > 0) best = std::min(best, t);
    }
    return best;
  };
  auto mem = [&](const memory::desc& d) { return memory(d, eng); };
  const std::vector<ActShape> shapes = activation_shapes(spec);
  double total = 0;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const ActShape in = i ? shapes[i - 1] : ActShape{spec.in_channels, spec.input_size, spec.input_size};
    const ActShape out = shapes[i];
    if (const auto* c = std::get_if<Conv2d>(&spec.layers[i].op)) {
      const memory::dims src{n, in.c, in.h, in.w}, wei{c->out_channels, in.c, c->kernel, c->kernel},
          dst{n, out.c, out.h, out.w}, st{c->stride, c->stride}, pl{c->padding, c->padding},
          pr{(out.h - 1) * c->stride + c->kernel - in.h - c->padding, (out.w - 1) * c->stride + c->kernel - in.w - c->padding};
      const memory::desc bias({out.c}, Dt::f32, memory::format_tag::a);
      convolution_forward::primitive_desc f(
          {prop_kind::forward_training, algorithm::convolution_direct, any(src, dt), any(wei, dt), bias, any(dst, dt), st, pl, pr}, eng);
      total += best_of_3(f, {{DNNL_ARG_SRC, mem(f.src_desc())}, {DNNL_ARG_WEIGHTS, mem(f.weights_desc())},
                             {DNNL_ARG_BIAS, mem(bias)}, {DNNL_ARG_DST, mem(f.dst_desc())}});
      if (i > 0) {
        convolution_backward_data::primitive_desc d(
            {algorithm::convolution_direct, any(src, dt), any(wei, dt), any(dst, dt), st, pl, pr}, eng, f);
        total += best_of_3(d, {{DNNL_ARG_DIFF_SRC, mem(d.diff_src_desc())}, {DNNL_ARG_WEIGHTS, mem(d.weights_desc())},
                               {DNNL_ARG_DIFF_DST, mem(d.diff_dst_desc())}});
      }
      convolution_backward_weights::primitive_desc w(
          {algorithm::convolution_direct, any(src, dt), any(wei, Dt::f32), bias, any(dst, dt), st, pl, pr}, eng, f);
      total += best_of_3(w, {{DNNL_ARG_SRC, mem(w.src_desc())}, {DNNL_ARG_DIFF_WEIGHTS, mem(w.diff_weights_desc())},
                             {DNNL_ARG_DIFF_BIAS, mem(bias)}, {DNNL_ARG_DIFF_DST, mem(w.diff_dst_desc())}});
    } else if (const auto* l = std::get_if<Linear>(&spec.layers[i].op)) {
      const memory::dims src{n, l->in_features}, wei{l->out_features, l->in_features}, dst{n, l->out_features};
      const memory::desc bias({l->out_features}, Dt::f32, memory::format_tag::a);
      inner_product_forward::primitive_desc f({prop_kind::forward_training, any(src, dt), any(wei, dt), bias, any(dst, dt)}, eng);
      total += best_of_3(f, {{DNNL_ARG_SRC, mem(f.src_desc())}, {DNNL_ARG_WEIGHTS, mem(f.weights_desc())},
                             {DNNL_ARG_BIAS, mem(bias)}, {DNNL_ARG_DST, mem(f.dst_desc())}});
      inner_product_backward_data::primitive_desc d({any(src, dt), any(wei, dt), any(dst, dt)}, eng, f);
      total += best_of_3(d, {{DNNL_ARG_DIFF_SRC, mem(d.diff_src_desc())}, {DNNL_ARG_WEIGHTS, mem(d.weights_desc())},
                             {DNNL_ARG_DIFF_DST, mem(d.diff_dst_desc())}});
      inner_product_backward_weights::primitive_desc w({any(src, dt), any(wei, Dt::f32), bias, any(dst, dt)}, eng, f);
      total += best_of_3(w, {{DNNL_ARG_SRC, mem(w.src_desc())}, {DNNL_ARG_DIFF_WEIGHTS, mem(w.diff_weights_desc())},
                             {DNNL_ARG_DIFF_BIAS, mem(bias)}, {DNNL_ARG_DIFF_DST, mem(w.diff_dst_desc())}});
    }
  }
  return total;
}

// Speed of the seed model at 224x224, batch 64, on the threads OpenMP allows (OMP_NUM_THREADS).
// Prints numbers; run with --gtest_also_run_disabled_tests --gtest_filter='*Benchmark*'.
TEST(OneDnnBenchmark, DISABLED_SeedBatch64) {
  NetOptions o;
  o.num_classes = 10;
  const NetSpec spec = make_net_spec("seed", o);
  const int n = 64;
  for (Precision precision : {Precision::F32, Precision::BF16}) {
    if (!unsupported_reason(BackendKind::OneDNN, precision).empty()) {
      std::printf("%s: %s\n", precision_name(precision), unsupported_reason(BackendKind::OneDNN, precision).c_str());
      continue;
    }
    auto net = make_net(BackendKind::OneDNN, spec, {n, precision, 1});
    std::vector<float> params(net->params().total);
    init_params(spec, net->params(), params, 1);
    net->set_params(params);
    Rng rng(3);
    std::vector<float> input(size_t(n) * 3 * 224 * 224);
    for (float& x : input) x = float(rng.normal());
    std::vector<int64_t> labels(n);
    for (int64_t& y : labels) y = int64_t(rng.below(10));
    using clock = std::chrono::steady_clock;
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const char* env = std::getenv("ALEXNET_BENCH_STEPS");  // timed steps (after 2 warm-up steps)
    const int steps = env ? std::max(1, std::atoi(env)) : 5;
    std::vector<double> train, fwd, bwd, sgd, infer;
    for (int it = 0; it < steps + 2; ++it) {
      const auto t0 = clock::now();
      net->forward(input.data(), n, Mode::Train, uint64_t(it));
      const auto t1 = clock::now();
      net->backward(labels.data());
      const auto t2 = clock::now();
      net->sgd_step({0.9f, 5e-4f}, 0.01f);
      const auto t3 = clock::now();
      if (it < 2) continue;  // warm-up
      train.push_back(std::chrono::duration<double>(t3 - t0).count());
      fwd.push_back(std::chrono::duration<double>(t1 - t0).count());
      bwd.push_back(std::chrono::duration<double>(t2 - t1).count());
      sgd.push_back(std::chrono::duration<double>(t3 - t2).count());
    }
    for (int it = 0; it < steps + 2; ++it) {
      const auto t0 = clock::now();
      net->forward(input.data(), n, Mode::Eval);
      if (it >= 2) infer.push_back(std::chrono::duration<double>(clock::now() - t0).count());
    }
    const double floor = arithmetic_step_seconds(spec, n, precision);
    std::printf("seed 224x224 batch %d, %s, %d threads: train %.1f img/s (step %.0f ms: forward %.0f, backward %.0f, sgd %.0f), "
                "inference %.1f img/s; oneDNN conv+fc arithmetic alone %.0f ms a step (%.1f img/s)\n",
                n, precision_name(precision), omp_get_max_threads(), n / median(train), 1e3 * median(train),
                1e3 * median(fwd), 1e3 * median(bwd), 1e3 * median(sgd), n / median(infer), 1e3 * floor, n / floor);
  }
}

}  // namespace
}  // namespace alexnet
