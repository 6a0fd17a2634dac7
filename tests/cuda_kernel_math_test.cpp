// The CUDA kernels' per-element arithmetic (backend/cuda/kernel_math.h) on the CPU, against the
// reference (src/nn) over the same inputs: layouts, bias/ReLU, dropout, softmax cross-entropy, SGD,
// max-pool, adaptive average pool and LRN, forward and backward. Each test lays its input out as the
// kernel sees it (NHWC), applies the function to every element as the kernel's threads do, and
// compares with the reference's NCHW result. Runs in every build: the header is plain C++ here and
// __host__ __device__ in the kernels, so a wrong formula fails here before any GPU runs it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/cuda/kernel_math.h"
#include "core/rng.h"
#include "nn/adaptive_avgpool2d.h"
#include "nn/cross_entropy.h"
#include "nn/dropout.h"
#include "nn/geometry.h"
#include "nn/lrn.h"
#include "nn/maxpool2d.h"
#include "nn/relu.h"
#include "nn/sgd.h"
#include "test_util.h"

namespace alexnet {
namespace {

using test::spans_close;

std::vector<float> normal(size_t n, uint64_t seed, float scale = 1.f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = scale * float(rng.normal());
  return v;
}

// NCHW [N, C, H, W] <-> NHWC [N, H, W, C] (N follows from the size), by the kernels' own index functions.
std::vector<float> to_nhwc(const std::vector<float>& nchw, int C, int H, int W) {
  std::vector<float> out(nchw.size());
  for (int64_t i = 0; i < int64_t(out.size()); ++i) out[size_t(i)] = nchw[size_t(cuda::nhwc_to_nchw_index(i, C, C, H, W))];
  return out;
}
std::vector<float> to_nchw(const std::vector<float>& nhwc, int C, int H, int W) {
  std::vector<float> out(nhwc.size());
  for (int64_t i = 0; i < int64_t(out.size()); ++i) out[size_t(i)] = nhwc[size_t(cuda::nchw_to_nhwc_index(i, C, C, H, W))];
  return out;
}

TEST(CudaKernelMath, LayoutsAgreeWithPlainLoops) {
  const int N = 2, C = 3, Cpad = 8, H = 4, W = 5;
  for (int n = 0; n < N; ++n)
    for (int h = 0; h < H; ++h)
      for (int w = 0; w < W; ++w)
        for (int c = 0; c < Cpad; ++c) {
          const int64_t nhwc = ((int64_t(n) * H + h) * W + w) * Cpad + c;
          const int64_t nchw = ((int64_t(n) * C + c) * H + h) * W + w;
          ASSERT_EQ(cuda::nhwc_to_nchw_index(nhwc, C, Cpad, H, W), c < C ? nchw : -1) << n << h << w << c;
          if (c < C) {
            ASSERT_EQ(cuda::nchw_to_nhwc_index(nchw, C, Cpad, H, W), nhwc);
          }
        }
  const int K = 4, Cg = 3, R = 2, S = 3;
  for (int k = 0; k < K; ++k)
    for (int r = 0; r < R; ++r)
      for (int s = 0; s < S; ++s)
        for (int c = 0; c < Cpad; ++c) {
          const int64_t krsc = ((int64_t(k) * R + r) * S + s) * Cpad + c;
          const int64_t kcrs = ((int64_t(k) * Cg + c) * R + r) * S + s;
          ASSERT_EQ(cuda::krsc_to_kcrs_index(krsc, Cg, Cpad, R, S), c < Cg ? kcrs : -1);
          if (c < Cg) {
            ASSERT_EQ(cuda::kcrs_to_krsc_index(kcrs, Cg, Cpad, R, S), krsc);
          }
        }
}

TEST(CudaKernelMath, BiasReluAndDropoutMatchTheReference) {
  const int N = 3, C = 5, H = 4, W = 3;
  const size_t n = size_t(N) * C * H * W;
  std::vector<float> x = normal(n, 1), dy = normal(n, 2), bias = normal(C, 3);
  x[0] = 0.f;  // the gradient at 0 is 0
  // bias + ReLU on NHWC (the bias per channel, innermost), back to NCHW
  std::vector<float> nhwc = to_nhwc(x, C, H, W), y(n), dx(n);
  for (size_t i = 0; i < n; ++i) y[i] = cuda::relu_value(cuda::bias_value(nhwc[i], bias[i % C]));
  std::vector<float> biased = x;
  for (size_t i = 0; i < n; ++i) biased[i] += bias[(i / (H * W)) % C];
  std::vector<float> want(n), want_dx(n);
  relu_forward(want.data(), biased.data(), n);
  EXPECT_TRUE(spans_close("bias+relu", to_nchw(y, C, H, W), want, 0));
  const std::vector<float> dy_nhwc = to_nhwc(dy, C, H, W);
  for (size_t i = 0; i < n; ++i) dx[i] = cuda::relu_grad(dy_nhwc[i], y[i]);
  relu_backward(want_dx.data(), dy.data(), want.data(), n);
  EXPECT_TRUE(spans_close("relu backward", to_nchw(dx, C, H, W), want_dx, 0));
  // dropout: the mask index is the element's NCHW position, whatever the layout
  for (float p : {0.f, 0.3f, 0.5f, 1.f}) {
    const uint64_t key = dropout_key(7, 3, 2);
    std::vector<float> out(n);
    for (int64_t i = 0; i < int64_t(n); ++i) {
      const int64_t at = cuda::nhwc_to_nchw_index(i, C, C, H, W);
      out[size_t(i)] = cuda::dropout_value(nhwc[size_t(i)], dropout_keep(key, uint64_t(at), p), cuda::dropout_scale(p));
    }
    dropout_forward(want.data(), static_cast<float*>(nullptr), x.data(), n, p, key);
    EXPECT_TRUE(spans_close(cat("dropout p=", p), to_nchw(out, C, H, W), want, 0));
  }
}

TEST(CudaKernelMath, SoftmaxCrossEntropyMatchesTheReference) {
  const int N = 5, C = 7;
  const std::vector<float> z = normal(size_t(N) * C, 4, 3.f);
  const int64_t labels[N] = {0, 6, 3, 3, 1};
  for (float eps : {0.f, 0.1f}) {
    std::vector<float> grad(z.size()), want(z.size());
    float loss = 0;
    for (int n = 0; n < N; ++n) {  // the kernel's row: max, log-sum-exp, then each class
      const float* row = z.data() + size_t(n) * C;
      float zmax = -INFINITY, sum = 0;
      for (int c = 0; c < C; ++c) zmax = std::fmax(zmax, row[c]);
      for (int c = 0; c < C; ++c) sum += std::exp(row[c] - zmax);
      const float log_sum = std::log(sum) + zmax;
      for (int c = 0; c < C; ++c) {
        const float q = cuda::xent_target(c, labels[n], eps, C);
        loss += cuda::xent_loss_term(row[c], log_sum, q);
        grad[size_t(n) * C + size_t(c)] = cuda::xent_grad(row[c], log_sum, q, N);
      }
    }
    loss /= float(N);
    const float want_loss = softmax_cross_entropy(want.data(), z.data(), labels, N, C, eps);
    EXPECT_TRUE(spans_close(cat("loss eps=", eps), {&loss, 1}, {&want_loss, 1}, 1e-6));
    EXPECT_TRUE(spans_close(cat("dlogits eps=", eps), grad, want, 1e-6));
  }
}

TEST(CudaKernelMath, SgdMatchesTheReference) {
  const size_t n = 257;
  const std::vector<float> g1 = normal(n, 5), g2 = normal(n, 6), p0 = normal(n, 7);
  for (const SgdOptions o : {SgdOptions{0.9f, 5e-4f, 0.f, false}, SgdOptions{0.9f, 1e-3f, 0.f, true},
                             SgdOptions{0.8f, 0.f, 0.3f, false}, SgdOptions{0.f, 5e-4f, 0.f, false}}) {
    std::vector<float> p = p0, buf(n, 0.f), want = p0, want_buf(n, 0.f);
    for (int step = 0; step < 2; ++step) {
      const std::vector<float>& g = step ? g2 : g1;
      const cuda::SgdArgs a{0.05f, o.momentum, o.weight_decay, o.dampening, o.nesterov, step == 0};
      for (size_t i = 0; i < n; ++i) cuda::sgd_one(p[i], g[i], buf[i], a);
      sgd_update(want, g, want_buf, step == 0, o, 0.05f);
    }
    const std::string what = cat("momentum ", o.momentum, " nesterov ", o.nesterov, " dampening ", o.dampening);
    EXPECT_TRUE(spans_close(what + " params", p, want, 1e-7));
    if (o.momentum != 0.f) {
      EXPECT_TRUE(spans_close(what + " momentum", buf, want_buf, 1e-7));
    }
  }
}

TEST(CudaKernelMath, MaxPoolMatchesTheReference) {
  const int N = 2, C = 3, H = 9, W = 8;
  // Few distinct values, so that windows hold ties (the first maximum wins), and one NaN (it wins).
  std::vector<float> x = normal(size_t(N) * C * H * W, 8);
  for (float& v : x) v = std::round(v * 2.f) / 2.f;
  x[17] = std::numeric_limits<float>::quiet_NaN();
  for (auto [k, s, pad] : {std::array{3, 2, 0}, std::array{3, 2, 1}, std::array{2, 2, 0}}) {
    SCOPED_TRACE(cat("kernel ", k, " stride ", s, " pad ", pad));
    const PoolGeom g = pool_geom(C, H, W, k, s, pad);
    const size_t out_n = size_t(N) * C * g.P * g.Q;
    std::vector<float> want(out_n), y(out_n);
    std::vector<int32_t> want_arg(out_n), arg(out_n);
    maxpool2d_forward(want.data(), want_arg.data(), x.data(), N, g);
    const std::vector<float> xh = to_nhwc(x, C, H, W);
    const cuda::PoolWindow win{k, s, pad};
    // the kernel's output element (n, p, q, c), NHWC
    for (int n = 0; n < N; ++n)
      for (int p = 0; p < g.P; ++p)
        for (int q = 0; q < g.Q; ++q)
          for (int c = 0; c < C; ++c) {
            auto at = [&](int h, int w) { return xh[((size_t(n) * H + size_t(h)) * W + size_t(w)) * C + size_t(c)]; };
            const size_t o = ((size_t(n) * g.P + size_t(p)) * g.Q + size_t(q)) * C + size_t(c);
            cuda::maxpool_cell(at, H, W, win, p, q, y[o], arg[o]);
          }
    const std::vector<float> y_nchw = to_nchw(y, C, g.P, g.Q);
    for (size_t i = 0; i < out_n; ++i) {
      const size_t o = size_t(cuda::nchw_to_nhwc_index(int64_t(i), C, C, g.P, g.Q));
      ASSERT_EQ(arg[o], want_arg[i]) << "output " << i;
      ASSERT_TRUE(y_nchw[i] == want[i] || (std::isnan(y_nchw[i]) && std::isnan(want[i]))) << "output " << i;
    }
    // backward: each input gathers the outputs whose argmax it is
    const std::vector<float> dy = normal(out_n, 9), dyh = to_nhwc(dy, C, g.P, g.Q);
    std::vector<float> want_dx(x.size()), dx(x.size());
    maxpool2d_backward(want_dx.data(), dy.data(), want_arg.data(), N, g);
    for (int n = 0; n < N; ++n)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
          for (int c = 0; c < C; ++c) {
            auto out_at = [&](int p, int q) { return ((size_t(n) * g.P + size_t(p)) * g.Q + size_t(q)) * C + size_t(c); };
            auto am = [&](int p, int q) { return arg[out_at(p, q)]; };
            auto d = [&](int p, int q) { return dyh[out_at(p, q)]; };
            dx[((size_t(n) * H + size_t(h)) * W + size_t(w)) * C + size_t(c)] =
                cuda::maxpool_input_grad(am, d, H, W, g.P, g.Q, win, h, w);
          }
    EXPECT_TRUE(spans_close("max-pool input gradient", to_nchw(dx, C, H, W), want_dx, 1e-7));
  }
}

TEST(CudaKernelMath, AdaptiveAvgPoolMatchesTheReference) {
  const int N = 2, C = 3, H = 7, W = 6;
  const std::vector<float> x = normal(size_t(N) * C * H * W, 10), xh = to_nhwc(x, C, H, W);
  for (auto [P, Q] : {std::array{3, 3}, std::array{4, 5}, std::array{7, 6}}) {
    SCOPED_TRACE(cat(P, "x", Q));
    const size_t out_n = size_t(N) * C * P * Q;
    std::vector<float> want(out_n), y(out_n);
    adaptive_avgpool2d_forward(want.data(), x.data(), N, C, H, W, P, Q);
    for (int n = 0; n < N; ++n)
      for (int p = 0; p < P; ++p)
        for (int q = 0; q < Q; ++q)
          for (int c = 0; c < C; ++c) {
            auto at = [&](int h, int w) { return xh[((size_t(n) * H + size_t(h)) * W + size_t(w)) * C + size_t(c)]; };
            y[((size_t(n) * P + size_t(p)) * Q + size_t(q)) * C + size_t(c)] = cuda::avgpool_cell(at, H, W, P, Q, p, q);
          }
    EXPECT_TRUE(spans_close("avg-pool output", to_nchw(y, C, P, Q), want, 1e-6));
    const std::vector<float> dy = normal(out_n, 11), dyh = to_nhwc(dy, C, P, Q);
    std::vector<float> want_dx(x.size()), dx(x.size());
    adaptive_avgpool2d_backward(want_dx.data(), dy.data(), N, C, H, W, P, Q);
    for (int n = 0; n < N; ++n)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
          for (int c = 0; c < C; ++c) {
            auto d = [&](int p, int q) { return dyh[((size_t(n) * P + size_t(p)) * Q + size_t(q)) * C + size_t(c)]; };
            dx[((size_t(n) * H + size_t(h)) * W + size_t(w)) * C + size_t(c)] = cuda::avgpool_input_grad(d, H, W, P, Q, h, w);
          }
    EXPECT_TRUE(spans_close("avg-pool input gradient", to_nchw(dx, C, H, W), want_dx, 1e-6));
  }
}

TEST(CudaKernelMath, LrnMatchesTheReference) {
  const int N = 2, C = 7, H = 3, W = 4, HW = H * W;
  const std::vector<float> x = normal(size_t(N) * C * HW, 12, 2.f), dy = normal(x.size(), 13);
  const std::vector<float> xh = to_nhwc(x, C, H, W), dyh = to_nhwc(dy, C, H, W);
  for (const LrnParams lp : {LrnParams{5, 1e-4, 0.75, 2.0}, LrnParams{4, 0.5, 0.75, 1.0}, LrnParams{3, 1.0, 1.5, 1.0}}) {
    SCOPED_TRACE(cat("size ", lp.size, " alpha ", lp.alpha, " beta ", lp.beta, " k ", lp.k));
    const cuda::LrnArgs a{lp.size, float(lp.alpha), float(lp.beta), float(lp.k)};
    std::vector<float> want(x.size()), want_scale(x.size()), want_dx(x.size());
    lrn_forward(want.data(), want_scale.data(), x.data(), N, C, HW, lp);
    lrn_backward(want_dx.data(), dy.data(), x.data(), want_scale.data(), N, C, HW, lp);
    std::vector<float> y(x.size()), scale(x.size()), dx(x.size());
    for (size_t pix = 0; pix < size_t(N) * HW; ++pix) {  // the kernel's element (pixel, c)
      const size_t base = pix * C;
      auto xa = [&](int j) { return xh[base + size_t(j)]; };
      for (int c = 0; c < C; ++c) {
        scale[base + size_t(c)] = cuda::lrn_scale(xa, C, a, c);
        y[base + size_t(c)] = cuda::lrn_output(xh[base + size_t(c)], scale[base + size_t(c)], a);
      }
    }
    for (size_t pix = 0; pix < size_t(N) * HW; ++pix) {
      const size_t base = pix * C;
      auto xa = [&](int j) { return xh[base + size_t(j)]; };
      auto da = [&](int j) { return dyh[base + size_t(j)]; };
      auto sa = [&](int j) { return scale[base + size_t(j)]; };
      for (int i = 0; i < C; ++i) dx[base + size_t(i)] = cuda::lrn_input_grad(da, xa, sa, C, a, i);
    }
    EXPECT_TRUE(spans_close("lrn scale", to_nchw(scale, C, H, W), want_scale, 1e-6));
    EXPECT_TRUE(spans_close("lrn output", to_nchw(y, C, H, W), want, 1e-6));
    EXPECT_TRUE(spans_close("lrn input gradient", to_nchw(dx, C, H, W), want_dx, 1e-5));
  }
}

}  // namespace
}  // namespace alexnet
