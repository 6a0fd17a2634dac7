// The per-element arithmetic of the CUDA backend's own kernels, in one header that compiles for the
// host and for CUDA kernels (ALEXNET_HD is __host__ __device__ there; core/rng.h). Each kernel
// (kernels.cu, ops/*.cu) maps its thread to an element, loads, calls the function here and stores;
// tests/cuda_kernel_math_test.cpp runs the same functions on the CPU over the inputs of the reference
// (src/nn) and compares, so the arithmetic is checked before any GPU runs it (as sample_pixel in
// image/sample_plan.h is for the batch transform).
//
// Values are read through accessors: small callables the kernel passes in, e.g. `x(j)`, the j-th
// channel of one pixel as fp32 (on the GPU a load of an fp32 or bf16 buffer at the layout's stride).
// Layouts as kernels.h: activations NHWC, [N, H, W, C]; arithmetic in fp32.
#pragma once

#include <math.h>  // powf, expf: the C names, the same on the host and in device code

#include <cstdint>

#include "core/rng.h"  // ALEXNET_HD

namespace alexnet::cuda {

ALEXNET_HD constexpr int max_int(int a, int b) { return a > b ? a : b; }
ALEXNET_HD constexpr int min_int(int a, int b) { return a < b ? a : b; }

// ---- layouts ----------------------------------------------------------------------------------------

// NHWC index i of [N, H, W, Cpad] -> the NCHW index of the same element in [N, C, H, W], or -1 for a
// padding channel (c >= C).
ALEXNET_HD inline int64_t nhwc_to_nchw_index(int64_t i, int C, int Cpad, int H, int W) {
  const int c = int(i % Cpad);
  if (c >= C) return -1;
  const int64_t pix = i / Cpad;  // (n*H + h)*W + w
  const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
  return (n * C + c) * int64_t(H) * W + hw;
}

// NCHW index i of [N, C, H, W] -> the NHWC index of the same element in [N, H, W, Cpad].
ALEXNET_HD inline int64_t nchw_to_nhwc_index(int64_t i, int C, int Cpad, int H, int W) {
  const int64_t hw = i % (int64_t(H) * W);
  const int64_t nc = i / (int64_t(H) * W);
  const int c = int(nc % C);
  const int64_t n = nc / C;
  return (n * H * W + hw) * Cpad + c;
}

// Convolution weights: index i of the compute copy [K, R, S, Cpad] -> the index in the fp32 master
// [K, Cg, R, S], or -1 for a padding channel.
ALEXNET_HD inline int64_t krsc_to_kcrs_index(int64_t i, int Cg, int Cpad, int R, int S) {
  const int c = int(i % Cpad);
  if (c >= Cg) return -1;
  int64_t rest = i / Cpad;
  const int s = int(rest % S);
  rest /= S;
  const int r = int(rest % R);
  const int64_t k = rest / R;
  return ((k * Cg + c) * R + r) * S + s;
}

// Index i of the master [K, Cg, R, S] -> the index in the compute copy [K, R, S, Cpad].
ALEXNET_HD inline int64_t kcrs_to_krsc_index(int64_t i, int Cg, int Cpad, int R, int S) {
  const int s = int(i % S);
  int64_t rest = i / S;
  const int r = int(rest % R);
  rest /= R;
  const int c = int(rest % Cg);
  const int64_t k = rest / Cg;
  return ((k * R + r) * S + s) * Cpad + c;
}

// ---- bias, ReLU, dropout ------------------------------------------------------------------------------

ALEXNET_HD inline float bias_value(float y, float bias) { return y + bias; }
ALEXNET_HD inline float relu_value(float v) { return v > 0.f ? v : 0.f; }
// The gradient through a ReLU from its output y: PyTorch's threshold_backward (0 at y == 0).
ALEXNET_HD inline float relu_grad(float dy, float y) { return y > 0.f ? dy : 0.f; }
// Inverted dropout: kept elements are scaled by 1/(1-p); p = 1 drops everything.
ALEXNET_HD inline float dropout_scale(float p) { return p < 1.f ? 1.f / (1.f - p) : 0.f; }
ALEXNET_HD inline float dropout_value(float v, bool keep, float scale) { return keep ? v * scale : 0.f; }

// ---- softmax cross-entropy (per element of a row; the row's max and log-sum-exp come first) -------------

// The smoothed target of class c for label y: (1-eps)*[c == y] + eps/C.
ALEXNET_HD inline float xent_target(int c, int64_t y, float eps, int C) {
  return (c == y ? 1.f - eps : 0.f) + eps / float(C);
}
// This class's share of the row's loss: -q * log softmax(z)_c.
ALEXNET_HD inline float xent_loss_term(float z, float log_sum, float q) { return -q * (z - log_sum); }
// d loss / d z_c of the batch mean over N rows.
ALEXNET_HD inline float xent_grad(float z, float log_sum, float q, int N) { return (expf(z - log_sum) - q) / float(N); }

// ---- SGD ---------------------------------------------------------------------------------------------------

// torch.optim.SGD (nn/sgd.h), one parameter.
struct SgdArgs {
  float lr, momentum, weight_decay, dampening;
  bool nesterov, first_step;
};
// Updates p and its momentum buffer `buf` with gradient g; returns the new p.
ALEXNET_HD inline float sgd_one(float& p, float g, float& buf, const SgdArgs& a) {
  const float d = g + a.weight_decay * p;
  float b;
  if (a.momentum == 0.f) {
    b = d;
  } else {
    b = a.first_step ? d : a.momentum * buf + (1.f - a.dampening) * d;
    buf = b;
  }
  const float step = (a.momentum != 0.f && a.nesterov) ? d + a.momentum * b : b;
  p -= a.lr * step;
  return p;
}

// ---- max-pool -----------------------------------------------------------------------------------------------

struct PoolWindow {
  int kernel, stride, pad;
};

// Output (p, q) of one plane H x W read through x(h, w): the maximum and its index h*W + w (the first
// maximum in row-major window order; a NaN wins). Padding counts as -infinity.
template <class X>
ALEXNET_HD void maxpool_cell(X x, int H, int W, PoolWindow g, int p, int q, float& best, int32_t& where) {
  best = -INFINITY;
  where = -1;
  for (int r = 0; r < g.kernel; ++r) {
    const int h = p * g.stride - g.pad + r;
    if (h < 0 || h >= H) continue;
    for (int s = 0; s < g.kernel; ++s) {
      const int w = q * g.stride - g.pad + s;
      if (w < 0 || w >= W) continue;
      const float v = x(h, w);
      if (where < 0 || v > best || v != v) {
        best = v;
        where = h * W + w;
      }
    }
  }
}

// The gradient of input (h, w) of one plane: the sum of dy(p, q) over the outputs P x Q whose window
// holds it and whose argmax(p, q) it is (a gather: the same sum as the reference's scatter, in the
// same order of outputs).
template <class Argmax, class Dy>
ALEXNET_HD float maxpool_input_grad(Argmax argmax, Dy dy, int H, int W, int P, int Q, PoolWindow g, int h, int w) {
  (void)H;
  // Outputs whose window holds (h, w): p*stride - pad <= h <= p*stride - pad + kernel - 1.
  const int p0 = max_int(0, (h + g.pad - g.kernel + g.stride) / g.stride), p1 = min_int(P - 1, (h + g.pad) / g.stride);
  const int q0 = max_int(0, (w + g.pad - g.kernel + g.stride) / g.stride), q1 = min_int(Q - 1, (w + g.pad) / g.stride);
  const int32_t me = h * W + w;
  float acc = 0.f;
  for (int p = p0; p <= p1; ++p)
    for (int q = q0; q <= q1; ++q)
      if (argmax(p, q) == me) acc += dy(p, q);
  return acc;
}

// ---- adaptive average pool ----------------------------------------------------------------------------------

// Output cell i of `out` along an axis of `in` covers [adaptive_begin, adaptive_end) (PyTorch's rule).
ALEXNET_HD inline int adaptive_begin(int i, int in, int out) { return (i * in) / out; }
ALEXNET_HD inline int adaptive_end(int i, int in, int out) { return ((i + 1) * in + out - 1) / out; }

template <class X>
ALEXNET_HD float avgpool_cell(X x, int H, int W, int P, int Q, int p, int q) {
  const int h0 = adaptive_begin(p, H, P), h1 = adaptive_end(p, H, P);
  const int w0 = adaptive_begin(q, W, Q), w1 = adaptive_end(q, W, Q);
  float sum = 0.f;
  for (int h = h0; h < h1; ++h)
    for (int w = w0; w < w1; ++w) sum += x(h, w);
  return sum / float((h1 - h0) * (w1 - w0));
}

// The gradient of input (h, w): dy of every cell whose window holds it, over that window's size.
template <class Dy>
ALEXNET_HD float avgpool_input_grad(Dy dy, int H, int W, int P, int Q, int h, int w) {
  float acc = 0.f;
  for (int p = 0; p < P; ++p) {
    const int h0 = adaptive_begin(p, H, P), h1 = adaptive_end(p, H, P);
    if (h < h0 || h >= h1) continue;
    for (int q = 0; q < Q; ++q) {
      const int w0 = adaptive_begin(q, W, Q), w1 = adaptive_end(q, W, Q);
      if (w < w0 || w >= w1) continue;
      acc += dy(p, q) / float((h1 - h0) * (w1 - w0));
    }
  }
  return acc;
}

// ---- local response norm (nn/lrn.h) --------------------------------------------------------------------------

struct LrnArgs {
  int size;
  float alpha, beta, k;
};

// s_c = k + alpha/size * sum of x_j^2 over the window of channel c (channels outside [0, C) count 0);
// x(j) reads channel j of this pixel.
template <class X>
ALEXNET_HD float lrn_scale(X x, int C, LrnArgs a, int c) {
  const int before = a.size / 2, after = (a.size - 1) / 2;
  float sum = 0.f;
  for (int j = max_int(0, c - before); j <= min_int(C - 1, c + after); ++j) {
    const float v = x(j);
    sum += v * v;
  }
  return a.k + a.alpha / float(a.size) * sum;
}

// y_c = x_c * s_c^-beta
ALEXNET_HD inline float lrn_output(float x, float s, LrnArgs a) { return x * powf(s, -a.beta); }

// dx_i = dy_i * s_i^-beta - 2*alpha*beta/size * x_i * sum over the channels c whose window holds i of
// dy_c * x_c * s_c^(-beta-1); dy(j), x(j), s(j) read channel j of this pixel.
template <class Dy, class X, class Sc>
ALEXNET_HD float lrn_input_grad(Dy dy, X x, Sc s, int C, LrnArgs a, int i) {
  const int before = a.size / 2, after = (a.size - 1) / 2;
  const float coef = 2.f * a.alpha * a.beta / float(a.size);
  float acc = 0.f;
  for (int c = max_int(0, i - after); c <= min_int(C - 1, i + before); ++c) acc += dy(c) * x(c) * powf(s(c), -a.beta - 1.f);
  return dy(i) * powf(s(i), -a.beta) - coef * x(i) * acc;
}

}  // namespace alexnet::cuda
