// The oneDNN backend's whole networks against the reference backend (the oracle), in fp32 and bf16:
// small variants, every block at full width, the full-size seed model, batch 64 against smaller
// batches, and the errors it gives; the speed benchmark. Each layer kind alone: tests/layers/. The
// comparison (every activation, the loss, every gradient, the SGD update) is tests/layers/layer_check.h.
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

#include "backend/capabilities.h"
#include "backend/net.h"
#include "core/rng.h"
#include "tensor/bf16.h"
#include "layers/layer_check.h"
#include "test_util.h"

namespace alexnet {
namespace {

using test::Case;
using test::compare_with_reference;
using test::spans_close;
using test::tiny;

// Whole networks and what crosses layers: the loss and optimiser options, a second plan for a smaller
// batch, the four variants at small width. Each layer kind alone: tests/layers/.
class OneDnnNetworks : public ::testing::TestWithParam<Precision> {
 protected:
  void SetUp() override { ALEXNET_SKIP_UNLESS_SUPPORTED(BackendKind::OneDNN, GetParam()); }
  Case make_case() const {
    Case c;
    c.precision = GetParam();
    return c;
  }
};

TEST_P(OneDnnNetworks, LabelSmoothingNesterovDampening) {
  Case c = make_case();
  c.label_smoothing = 0.1f;
  c.sgd = {0.8f, 1e-3f, 0.1f, true};
  c.steps = 3;
  compare_with_reference(BackendKind::OneDNN, tiny(3, 5, {{"f", Flatten{}}, {"l", Linear{75, 7}}}), c);
}

TEST_P(OneDnnNetworks, SmallerBatchThanBuilt) {
  Case c = make_case();
  c.max_batch = 5;
  c.n = 3;
  compare_with_reference(BackendKind::OneDNN,
                         tiny(3, 9, {{"c", Conv2d{3, 8, 3, 2, 1}}, {"r", ReLU{}}, {"p", MaxPool2d{2, 2}}, {"f", Flatten{}}}), c);
}

TEST_P(OneDnnNetworks, SmallVariants) {
  for (const char* variant : {"seed", "paper", "torchvision", "cifar"}) {
    SCOPED_TRACE(variant);
    NetOptions o;
    o.num_classes = 10;
    o.width = 0.125;
    o.hidden = 32;
    if (std::string(variant) != "cifar") o.input_size = 67;
    Case c = make_case();
    // So few elements that one flipped bf16 max-pool or ReLU decision moves much of a gradient below
    // the last max-pool (measured up to 0.84): in bf16 those are compared at full size and in the
    // layer tests. From the last pool up, measured at most 0.0046 (2026-12-08), the bound 10x that.
    if (c.precision == Precision::BF16) c.grad_tol = 0.05, c.bf16_below_pool_tol = -1;
    compare_with_reference(BackendKind::OneDNN, make_net_spec(variant, o), c);
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, OneDnnNetworks, ::testing::Values(Precision::F32, Precision::BF16),
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
    compare_with_reference(BackendKind::OneDNN, one, c);
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
  // Below it, measured 0.05-0.23 (2026-12-08): bf16 ties in the pools reroute whole gradient elements,
  // and the errors grow with depth. A loose bound, still far below a wrong or missing gradient (1 or more).
  if (c.precision == Precision::BF16) c.bf16_below_pool_tol = 0.5;
  c.eval = false;
  compare_with_reference(BackendKind::OneDNN, make_net_spec("seed", o), c);
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
  auto net = make_net(BackendKind::OneDNN, spec, test::build_options(n, GetParam(), 1));
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
    EXPECT_TRUE(spans_close(cat("logits row ", i), row, std::span<const float>(logits).subspan(size_t(i) * 10, 10),
                            bf16 ? 2e-2 : 1e-5));
  }
  for (int i = 0; i < n; i += 16) {
    net->forward(input.data() + size_t(i) * per, 16, Mode::Train);
    net->backward(&labels[size_t(i)]);
    net->get_grads(one);
    for (size_t j = 0; j < one.size(); ++j) mean[j] += one[j] / 4;
  }
  for (const ParamInfo& p : net->params().entries)
    EXPECT_TRUE(spans_close(p.name, std::span<const float>(grads).subspan(p.offset, p.numel),
                            std::span<const float>(mean).subspan(p.offset, p.numel), bf16 ? 2e-2 : 1e-4, p.shape));
}

INSTANTIATE_TEST_SUITE_P(Precisions, OneDnnFullSize, ::testing::Values(Precision::F32, Precision::BF16),
                         [](const auto& info) { return std::string(precision_name(info.param)); });

TEST(OneDnnNet, RejectsTf32AndBadInput) {
  const NetSpec spec = tiny(3, 5, {{"f", Flatten{}}, {"l", Linear{75, 7}}});
  EXPECT_THROW(make_net(BackendKind::OneDNN, spec, test::build_options(4, Precision::TF32)), Error);
  auto net = make_net(BackendKind::OneDNN, spec, test::build_options(4, Precision::F32));
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
    auto net = make_net(BackendKind::OneDNN, spec, test::build_options(n, precision, 1));
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

// `--precision auto` on a native-bf16 CPU times one convolution step in both precisions and takes
// bf16 only where it is faster (on this suite's machines: 1.5x faster on an AMD EPYC, 2x slower on
// an Intel Xeon without AMX). ctest sets ALEXNET_PRECISION_PROBE=0 for every other test.
// The choice follows the probe, and the note says which precision was taken and the two times the
// probe measured (the times themselves are whatever this machine gives, so not checked).
// The rule by hand-worked times: bf16 needs a 10% lead.
TEST(Capabilities, Bf16NeedsATenPercentLead) {
  EXPECT_TRUE(bf16_measured_faster(10.0, 8.9));
  EXPECT_FALSE(bf16_measured_faster(10.0, 9.0));   // exactly 0.9x: not enough
  EXPECT_FALSE(bf16_measured_faster(10.0, 9.5));   // faster, within the noise
  EXPECT_FALSE(bf16_measured_faster(10.0, 19.4));  // twice as slow (a Xeon without AMX, measured)
  EXPECT_TRUE(bf16_measured_faster(100.0, 45.0));
}

TEST(Capabilities, Bf16ProbeDecidesAuto) {
  ALEXNET_SKIP_UNLESS_SUPPORTED(BackendKind::OneDNN, Precision::BF16);
  ::unsetenv("ALEXNET_PRECISION_PROBE");
  const Bf16Probe& probe = bf16_probe();
  const ComputeChoice c = choose_compute("cpu", "", "auto");
  EXPECT_EQ(c.precision, probe.bf16_faster ? Precision::BF16 : Precision::F32) << c.precision_note;
  const std::string taken = c.precision == Precision::BF16 ? "precision: bf16 " : "precision: fp32 ";
  EXPECT_EQ(c.precision_note.rfind(taken, 0), 0u) << c.precision_note;
  EXPECT_NE(c.precision_note.find(cat(std::lround(probe.bf16_ms * 10) / 10.0, " ms in bf16 against ",
                                      std::lround(probe.fp32_ms * 10) / 10.0, " ms in fp32")),
            std::string::npos)
      << c.precision_note;
  std::printf("%s\n", c.precision_note.c_str());
  ::setenv("ALEXNET_PRECISION_PROBE", "0", 1);
  EXPECT_EQ(choose_compute("cpu", "", "auto").precision, Precision::BF16);
}

}  // namespace
}  // namespace alexnet
