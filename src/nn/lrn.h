// LocalResponseNorm across channels, PyTorch's nn.LocalResponseNorm(size, alpha, beta, k):
//   s_c = k + alpha/size * sum_{j = c - size/2}^{c + (size-1)/2} x_j^2   (channels outside [0, C) count 0)
//   y_c = x_c * s_c^-beta
// Forward keeps s (the "scale") for backward.
#pragma once

#include <cmath>
#include <cstddef>

namespace alexnet {

struct LrnParams {
  int size;
  double alpha, beta, k;
};

// in, out, scale: [N, C, H, W]
template <class T>
void lrn_forward(T* out, T* scale, const T* in, int N, int C, int HW, const LrnParams& lp) {
  const int before = lp.size / 2, after = (lp.size - 1) / 2;
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const size_t base = size_t(n) * C * HW;
      for (int i = 0; i < HW; ++i) {
        T sum = 0;
        for (int j = c - before; j <= c + after; ++j)
          if (j >= 0 && j < C) sum += in[base + size_t(j) * HW + i] * in[base + size_t(j) * HW + i];
        const T s = T(lp.k) + T(lp.alpha / lp.size) * sum;
        scale[base + size_t(c) * HW + i] = s;
        out[base + size_t(c) * HW + i] = in[base + size_t(c) * HW + i] * T(std::pow(s, -T(lp.beta)));
      }
    }
}

// dx_i = dy_i * s_i^-beta - 2*alpha*beta/size * x_i * sum_{c : i in window(c)} dy_c * x_c * s_c^(-beta-1)
template <class T>
void lrn_backward(T* din, const T* dout, const T* in, const T* scale, int N, int C, int HW, const LrnParams& lp) {
  const int before = lp.size / 2, after = (lp.size - 1) / 2;
  const T coef = T(2 * lp.alpha * lp.beta / lp.size);
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int i_c = 0; i_c < C; ++i_c) {
      const size_t base = size_t(n) * C * HW;
      for (int i = 0; i < HW; ++i) {
        // channel i_c lies in the window of channels c with c - before <= i_c <= c + after
        T acc = 0;
        for (int c = i_c - after; c <= i_c + before; ++c) {
          if (c < 0 || c >= C) continue;
          const size_t at = base + size_t(c) * HW + i;
          acc += dout[at] * in[at] * T(std::pow(scale[at], -T(lp.beta) - T(1)));
        }
        const size_t at = base + size_t(i_c) * HW + i;
        din[at] = dout[at] * T(std::pow(scale[at], -T(lp.beta))) - coef * in[at] * acc;
      }
    }
}

}  // namespace alexnet
