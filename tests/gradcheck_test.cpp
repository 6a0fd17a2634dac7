// Gradient checks of every reference layer in double precision: the analytic backward against
// central differences of the scalar f = sum(G * forward(x, w)) for a random upstream gradient G.
// Kinks (ReLU at 0, max-pool ties) are kept out of reach of the step h by construction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include "core/rng.h"
#include "nn/adaptive_avgpool2d.h"
#include "nn/conv2d.h"
#include "nn/cross_entropy.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/lrn.h"
#include "nn/maxpool2d.h"
#include "nn/relu.h"

namespace alexnet {
namespace {

using Vec = std::vector<double>;

Vec random_vec(size_t n, Rng& rng, double scale = 1.0) {
  Vec v(n);
  for (double& x : v) x = scale * rng.normal();
  return v;
}

double dot(const Vec& a, const Vec& b) { return std::inner_product(a.begin(), a.end(), b.begin(), 0.0); }

// Compares analytic gradient `analytic` of f with respect to `x` against central differences,
// where f() reads `x` in place. Reports the worst element.
void expect_gradient(const char* what, Vec& x, const Vec& analytic, const std::function<double()>& f,
                     double tol = 1e-6) {
  ASSERT_EQ(x.size(), analytic.size());
  const double h = 1e-6;
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double fp = f();
    x[i] = keep - h;
    const double fm = f();
    x[i] = keep;
    const double numeric = (fp - fm) / (2 * h);
    const double err = std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric));
    if (err > worst) worst = err, worst_i = i;
  }
  EXPECT_LT(worst, tol) << what << ": worst element " << worst_i << " analytic " << analytic[worst_i];
}

struct ConvCase {
  int N, C, H, K, kernel, stride, pad, groups;
};

class ConvGrad : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGrad, MatchesCentralDifferences) {
  const ConvCase c = GetParam();
  const ConvGeom g = conv_geom(c.C, c.H, c.H, c.K, c.kernel, c.stride, c.pad, c.groups);
  Rng rng(1);
  Vec x = random_vec(size_t(c.N) * c.C * c.H * c.H, rng);
  Vec w = random_vec(size_t(c.K) * (c.C / c.groups) * c.kernel * c.kernel, rng, 0.3);
  Vec b = random_vec(size_t(c.K), rng);
  const Vec G = random_vec(size_t(c.N) * c.K * g.P * g.Q, rng);
  Vec y(G.size());
  auto f = [&] {
    conv2d_forward(y.data(), x.data(), w.data(), b.data(), c.N, g);
    return dot(G, y);
  };
  Vec dx(x.size()), dw(w.size(), 0.0), db(b.size(), 0.0);
  conv2d_backward(dx.data(), dw.data(), db.data(), G.data(), x.data(), w.data(), c.N, g);
  expect_gradient("conv input", x, dx, f);
  expect_gradient("conv weight", w, dw, f);
  expect_gradient("conv bias", b, db, f);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvGrad,
                         ::testing::Values(ConvCase{2, 3, 9, 4, 3, 1, 1, 1},     // plain 3x3, padding 1
                                           ConvCase{2, 3, 15, 4, 5, 4, 2, 1},    // AlexNet conv1's stride 4, padding 2
                                           ConvCase{1, 4, 7, 6, 3, 2, 0, 2},     // groups 2, stride 2
                                           ConvCase{2, 4, 6, 4, 5, 1, 2, 2}));   // the paper's conv2 shape, small

TEST(LinearGrad, MatchesCentralDifferences) {
  const int N = 3, Fi = 7, Fo = 5;
  Rng rng(2);
  Vec x = random_vec(size_t(N) * Fi, rng), w = random_vec(size_t(Fo) * Fi, rng), b = random_vec(Fo, rng);
  const Vec G = random_vec(size_t(N) * Fo, rng);
  Vec y(G.size());
  auto f = [&] {
    linear_forward(y.data(), x.data(), w.data(), b.data(), N, Fi, Fo);
    return dot(G, y);
  };
  Vec dx(x.size()), dw(w.size(), 0.0), db(b.size(), 0.0);
  linear_backward(dx.data(), dw.data(), db.data(), G.data(), x.data(), w.data(), N, Fi, Fo);
  expect_gradient("linear input", x, dx, f);
  expect_gradient("linear weight", w, dw, f);
  expect_gradient("linear bias", b, db, f);
}

TEST(ReluGrad, MatchesCentralDifferencesAwayFromZero) {
  Rng rng(3);
  Vec x = random_vec(64, rng);
  for (double& v : x) v = v >= 0 ? v + 0.01 : v - 0.01;  // the kink at 0 stays further than h away
  const Vec G = random_vec(64, rng);
  Vec y(64);
  auto f = [&] {
    relu_forward(y.data(), x.data(), y.size());
    return dot(G, y);
  };
  f();
  Vec dx(64);
  relu_backward(dx.data(), G.data(), y.data(), 64);
  expect_gradient("relu", x, dx, f);
}

TEST(MaxPoolGrad, MatchesCentralDifferencesWithDistinctValues) {
  for (int pad : {0, 1}) {
    const int N = 2, C = 3, H = 9;
    const PoolGeom g = pool_geom(C, H, H, 3, 2, pad);  // overlapping windows, as AlexNet
    Rng rng(4);
    // Distinct values 0.01 apart in random order: no tie is within reach of the step h.
    Vec x(size_t(N) * C * H * H);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01 * double(i);
    for (size_t i = x.size() - 1; i > 0; --i) std::swap(x[i], x[rng.below(i + 1)]);
    const Vec G = random_vec(size_t(N) * C * g.P * g.Q, rng);
    Vec y(G.size());
    std::vector<int32_t> argmax(G.size());
    auto f = [&] {
      maxpool2d_forward(y.data(), argmax.data(), x.data(), N, g);
      return dot(G, y);
    };
    f();
    Vec dx(x.size());
    maxpool2d_backward(dx.data(), G.data(), argmax.data(), N, g);
    expect_gradient("maxpool", x, dx, f);
  }
}

TEST(MaxPool, TiesGoToTheFirstElementAsInPyTorch) {
  const PoolGeom g = pool_geom(1, 3, 3, 3, 2, 0);
  const double x[9] = {1, 5, 5, 0, 5, 0, 0, 0, 0};
  double y;
  int32_t arg;
  maxpool2d_forward(&y, &arg, x, 1, g);
  EXPECT_EQ(y, 5);
  EXPECT_EQ(arg, 1);
}

TEST(LrnGrad, MatchesCentralDifferences) {
  for (int size : {5, 4, 3}) {  // odd and even windows (PyTorch pads size/2 before, (size-1)/2 after)
    const int N = 2, C = 7, HW = 6;
    const LrnParams lp{size, 0.3, 0.75, 2.0};  // a large alpha so the normalisation matters
    Rng rng(5);
    Vec x = random_vec(size_t(N) * C * HW, rng, 2.0);
    const Vec G = random_vec(x.size(), rng);
    Vec y(x.size()), scale(x.size());
    auto f = [&] {
      lrn_forward(y.data(), scale.data(), x.data(), N, C, HW, lp);
      return dot(G, y);
    };
    f();
    Vec dx(x.size());
    lrn_backward(dx.data(), G.data(), x.data(), scale.data(), N, C, HW, lp);
    expect_gradient("lrn", x, dx, f);
  }
}

TEST(AdaptiveAvgPoolGrad, MatchesCentralDifferences) {
  const int N = 2, C = 2, H = 7, W = 5, P = 3, Q = 4;  // uneven, overlapping cells
  Rng rng(6);
  Vec x = random_vec(size_t(N) * C * H * W, rng);
  const Vec G = random_vec(size_t(N) * C * P * Q, rng);
  Vec y(G.size());
  auto f = [&] {
    adaptive_avgpool2d_forward(y.data(), x.data(), N, C, H, W, P, Q);
    return dot(G, y);
  };
  Vec dx(x.size());
  adaptive_avgpool2d_backward(dx.data(), G.data(), N, C, H, W, P, Q);
  expect_gradient("adaptive avgpool", x, dx, f);
}

TEST(DropoutGrad, MatchesCentralDifferencesForAFixedMask) {
  Rng rng(7);
  Vec x = random_vec(200, rng);
  const Vec G = random_vec(200, rng);
  Vec y(200), mask(200);
  const uint64_t key = dropout_key(42, 3, 1);
  auto f = [&] {
    dropout_forward(y.data(), mask.data(), x.data(), x.size(), 0.5f, key);
    return dot(G, y);
  };
  f();
  Vec dx(200);
  dropout_backward(dx.data(), G.data(), mask.data(), 200);
  expect_gradient("dropout", x, dx, f);
  const size_t kept = size_t(std::count_if(mask.begin(), mask.end(), [](double m) { return m > 0; }));
  EXPECT_GT(kept, 70u);  // about half of 200 kept
  EXPECT_LT(kept, 130u);
  for (double m : mask) EXPECT_TRUE(m == 0.0 || m == 2.0);
}

TEST(CrossEntropyGrad, MatchesCentralDifferencesWithAndWithoutSmoothing) {
  for (double eps : {0.0, 0.1}) {
    const int N = 4, C = 6;
    Rng rng(8);
    Vec z = random_vec(size_t(N) * C, rng, 3.0);
    const int64_t labels[N] = {0, 5, 2, 2};
    auto f = [&] { return softmax_cross_entropy<double>(nullptr, z.data(), labels, N, C, eps); };
    Vec dz(z.size());
    softmax_cross_entropy(dz.data(), z.data(), labels, N, C, eps);
    expect_gradient("cross entropy", z, dz, f);
  }
}

TEST(CrossEntropy, UniformLogitsGiveLogC) {
  const double z[10] = {};
  const int64_t label = 3;
  EXPECT_NEAR(softmax_cross_entropy<double>(nullptr, z, &label, 1, 10), std::log(10.0), 1e-12);
}

}  // namespace
}  // namespace alexnet
