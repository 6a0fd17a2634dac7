// The oneDNN backend's Winograd F(2x2, 3x3), F(4x4, 3x3) and F(2x2, 5x5) convolutions (src/backend/cpu/ops/conv2d_winograd.h): forward and
// backward-data against the reference convolution computed in double, at odd sizes, with chunks of
// images, and inside whole networks against the reference backend with Winograd switched on (it is
// on by default only on AVX2 CPUs; the tests here force it, so every CPU runs them).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/cpu/ops/conv2d_winograd.h"
#include "core/rng.h"
#include "layers/layer_check.h"
#include "nn/conv2d.h"

namespace alexnet {
namespace {

using onednn::Winograd;

// NCHW <-> nChw8c ([N][C/8][H][W][8]).
std::vector<float> to_blocked(const std::vector<double>& x, int N, int C, int H, int W) {
  std::vector<float> b(x.size());
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
          b[((((size_t(n) * (C / 8) + c / 8) * H + h) * W + w) * 8) + c % 8] =
              float(x[((size_t(n) * C + c) * H + h) * W + w]);
  return b;
}
std::vector<double> from_blocked(const std::vector<float>& b, int N, int C, int H, int W) {
  std::vector<double> x(b.size());
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
          x[((size_t(n) * C + c) * H + h) * W + w] = b[((((size_t(n) * (C / 8) + c / 8) * H + h) * W + w) * 8) + c % 8];
  return x;
}
std::vector<double> random(size_t n, Rng& rng) {
  std::vector<double> v(n);
  for (double& x : v) x = double(float(rng.normal()));  // fp32-representable: only the arithmetic differs
  return v;
}
// max |a - b| / max |b|
double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

struct Shape {
  int N, C, K, H, W, R, M;  // M x M output tiles
};

class WinogradConv : public ::testing::TestWithParam<Shape> {};

// Forward (with and without bias + ReLU), backward-data and the weight and bias gradients in fp32
// against double, in chunks of 2 images (the last one shorter), and the direct fp32 convolution's
// error beside it for scale.
TEST_P(WinogradConv, MatchesTheConvolutionInDouble) {
  const auto [N, C, K, H, W, R, M] = GetParam();
  // F(2, 5) and F(4, 3) evaluate at ±2 (their matrices hold 4, 8 or 16 and fractions down to 1/24;
  // F(2, 3)'s entries are 0, ±1 and 1/2): their rounding error is 3-10x the direct convolution's
  // (measured 0.4-6.2e-6 here for F(2, 5)), the bound 5x that. F(2, 3): measured at most 3.3e-7,
  // the bound about 10x that.
  const double bound = R == 3 && M == 2 ? 3e-6 : 3e-5;
  Rng rng(3);
  const std::vector<double> x = random(size_t(N) * C * H * W, rng), w = random(size_t(K) * C * R * R, rng),
                            b = random(size_t(K), rng), dy = random(size_t(N) * K * H * W, rng);
  const ConvGeom g = conv_geom(C, H, W, K, R, 1, (R - 1) / 2, 1);
  std::vector<double> y_ref(size_t(N) * K * H * W), dx_ref(x.size()), dw(w.size()), db(b.size());
  conv2d_forward(y_ref.data(), x.data(), w.data(), b.data(), N, g);
  conv2d_backward(dx_ref.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), N, g);

  // The direct convolution in fp32, for scale.
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf(b.begin(), b.end()), yf(y_ref.size());
  conv2d_forward(yf.data(), xf.data(), wf.data(), bf.data(), N, g);
  const double direct = relative_error(std::vector<double>(yf.begin(), yf.end()), y_ref);

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const int64_t A = M + R - 1;
  const int64_t per_image = A * A * ((H + M - 1) / M) * ((W + M - 1) / M) * (C + K) * 4;
  Winograd wino(engine, N, C, K, H, W, R, M, 2 * per_image);
  ASSERT_EQ(wino.images_per_chunk(), std::min(N, 2));
  const std::vector<float> xb = to_blocked(x, N, C, H, W);
  std::vector<float> yb(y_ref.size());
  wino.forward(stream, xb.data(), wf.data(), 1, bf.data(), false, yb.data(), N);
  const double fwd = relative_error(from_blocked(yb, N, K, H, W), y_ref);
  EXPECT_LE(fwd, bound);

  wino.forward(stream, xb.data(), wf.data(), 1, bf.data(), true, yb.data(), N);
  std::vector<double> relu_ref = y_ref;
  for (double& v : relu_ref) v = std::max(v, 0.0);
  EXPECT_LE(relative_error(from_blocked(yb, N, K, H, W), relu_ref), bound);

  const std::vector<float> dyb = to_blocked(dy, N, K, H, W);
  std::vector<float> dxb(x.size(), 1e30f);  // every element must be written
  wino.backward_data(stream, dyb.data(), wf.data(), 1, dxb.data(), N);
  const double bwd = relative_error(from_blocked(dxb, N, C, H, W), dx_ref);
  EXPECT_LE(bwd, bound);
  std::vector<float> dwf(w.size(), 1e30f), dbf(b.size(), 1e30f);
  wino.backward_weights(stream, xb.data(), dyb.data(), dwf.data(), dbf.data(), N);
  const double wgrad = relative_error(std::vector<double>(dwf.begin(), dwf.end()), dw);
  EXPECT_LE(wgrad, bound);
  EXPECT_LE(relative_error(std::vector<double>(dbf.begin(), dbf.end()), db), 1e-6);
  std::printf("F(%d, %d), %dx%dx%dx%d -> %d: Winograd forward %.2e, backward-data %.2e, weight gradient %.2e; direct fp32 "
              "forward %.2e\n", M, R, N, C, H, W, K, fwd, bwd, wgrad, direct);

  // New weights under the same version are not seen (the transform is cached); a new version is.
  std::vector<float> w2 = wf;
  for (float& v : w2) v = -v;
  std::vector<float> y2(yb.size());
  wino.forward(stream, xb.data(), w2.data(), 1, nullptr, false, y2.data(), N);
  std::vector<double> y_nobias = from_blocked(y2, N, K, H, W);
  wino.forward(stream, xb.data(), w2.data(), 2, nullptr, false, y2.data(), N);
  std::vector<double> y_neg = from_blocked(y2, N, K, H, W);
  for (size_t i = 0; i < y_neg.size(); ++i) y_neg[i] = -y_neg[i];
  EXPECT_LE(relative_error(y_neg, y_nobias), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradConv,
                         ::testing::Values(Shape{5, 16, 24, 7, 5, 3, 2}, Shape{3, 8, 8, 13, 13, 3, 2}, Shape{2, 24, 16, 1, 2, 3, 2},
                                           Shape{1, 32, 8, 6, 4, 3, 2}, Shape{5, 16, 24, 7, 5, 3, 4}, Shape{3, 8, 8, 13, 13, 3, 4},
                                           Shape{2, 24, 16, 1, 2, 3, 4}, Shape{1, 32, 8, 6, 4, 3, 4}, Shape{2, 64, 32, 7, 7, 3, 4},
                                           Shape{5, 16, 24, 7, 5, 5, 2}, Shape{3, 8, 16, 15, 15, 5, 2},
                                           Shape{2, 24, 8, 2, 1, 5, 2}, Shape{1, 96, 32, 27, 27, 5, 2}));

// Whole networks on the oneDNN backend with Winograd forced on, against the reference backend:
// the 3x3 and 5x5 layers go through it, the rest through oneDNN, in the formats of the net (the
// tolerance is layer_check.h's fp32 one).
class WinogradNet : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("ALEXNET_WINOGRAD", "1", 1); }
  void TearDown() override { ::unsetenv("ALEXNET_WINOGRAD"); }
};

TEST_F(WinogradNet, ThreeByThreeAndFiveByFiveLayersMatchTheReference) {
  test::Case c;
  c.steps = 3;
  c.max_batch = 5;
  c.n = 3;  // a second plan for the smaller batch
  test::compare_with_reference(BackendKind::OneDNN,
                               test::tiny(8, 11, {{"c1", Conv2d{8, 16, 5, 1, 2}},
                                                  {"r1", ReLU{}},
                                                  {"c2", Conv2d{16, 24, 3, 1, 1}},
                                                  {"p", MaxPool2d{3, 2}},
                                                  {"c3", Conv2d{24, 16, 3, 1, 1}},
                                                  {"r3", ReLU{}},
                                                  {"f", Flatten{}},
                                                  {"l", Linear{16 * 5 * 5, 6}}}),
                               c);
}

TEST_F(WinogradNet, CifarModelMatchesTheReference) {
  NetOptions o;
  o.num_classes = 10;
  o.width = 0.25;
  o.hidden = 32;
  test::Case c;
  test::compare_with_reference(BackendKind::OneDNN, make_net_spec("cifar", o), c);
}

}  // namespace
}  // namespace alexnet
