// Conv2d (cross-correlation, as PyTorch), with stride, zero padding and groups.
#pragma once

#include "nn/geometry.h"

namespace alexnet {

// in [N, C, H, W], w [K, C/G, R, S], b [K] -> out [N, K, P, Q]
template <class T>
void conv2d_forward(T* out, const T* in, const T* w, const T* b, int N, const ConvGeom& g) {
  const int Cg = g.C / g.groups, Kg = g.K / g.groups;
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < g.K; ++k) {
      const int c0 = (k / Kg) * Cg;  // first input channel of k's group
      T* o = out + (size_t(n) * g.K + k) * g.P * g.Q;
      for (int p = 0; p < g.P; ++p)
        for (int q = 0; q < g.Q; ++q) {
          T acc = b ? b[k] : T(0);
          for (int c = 0; c < Cg; ++c)
            for (int r = 0; r < g.R; ++r) {
              const int h = p * g.stride - g.pad + r;
              if (h < 0 || h >= g.H) continue;
              for (int s = 0; s < g.S; ++s) {
                const int x = q * g.stride - g.pad + s;
                if (x < 0 || x >= g.W) continue;
                acc += in[((size_t(n) * g.C + c0 + c) * g.H + h) * g.W + x] *
                       w[((size_t(k) * Cg + c) * g.R + r) * g.S + s];
              }
            }
          o[p * g.Q + q] = acc;
        }
    }
}

// dout [N, K, P, Q] -> din [N, C, H, W] (written; may be null), dw [K, C/G, R, S] (+=), db [K] (+=, may be null)
template <class T>
void conv2d_backward(T* din, T* dw, T* db, const T* dout, const T* in, const T* w, int N, const ConvGeom& g) {
  const int Cg = g.C / g.groups, Kg = g.K / g.groups;
  if (db) {
    for (int k = 0; k < g.K; ++k) {
      T acc = 0;
      for (int n = 0; n < N; ++n)
        for (int i = 0; i < g.P * g.Q; ++i) acc += dout[(size_t(n) * g.K + k) * g.P * g.Q + i];
      db[k] += acc;
    }
  }
  // Weight gradient: one (k, c) filter plane per iteration, so threads never write the same element.
#pragma omp parallel for collapse(2)
  for (int k = 0; k < g.K; ++k)
    for (int c = 0; c < Cg; ++c) {
      const int cin = (k / Kg) * Cg + c;
      for (int r = 0; r < g.R; ++r)
        for (int s = 0; s < g.S; ++s) {
          T acc = 0;
          for (int n = 0; n < N; ++n)
            for (int p = 0; p < g.P; ++p) {
              const int h = p * g.stride - g.pad + r;
              if (h < 0 || h >= g.H) continue;
              for (int q = 0; q < g.Q; ++q) {
                const int x = q * g.stride - g.pad + s;
                if (x < 0 || x >= g.W) continue;
                acc += dout[((size_t(n) * g.K + k) * g.P + p) * g.Q + q] * in[((size_t(n) * g.C + cin) * g.H + h) * g.W + x];
              }
            }
          dw[((size_t(k) * Cg + c) * g.R + r) * g.S + s] += acc;
        }
    }
  if (!din) return;
  // Input gradient: gather form (each input element sums the outputs it fed), so it is a pure write.
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int cin = 0; cin < g.C; ++cin) {
      const int grp = cin / Cg, c = cin % Cg;
      for (int h = 0; h < g.H; ++h)
        for (int x = 0; x < g.W; ++x) {
          T acc = 0;
          for (int r = 0; r < g.R; ++r) {
            const int ph = h + g.pad - r;
            if (ph < 0 || ph % g.stride) continue;
            const int p = ph / g.stride;
            if (p >= g.P) continue;
            for (int s = 0; s < g.S; ++s) {
              const int qw = x + g.pad - s;
              if (qw < 0 || qw % g.stride) continue;
              const int q = qw / g.stride;
              if (q >= g.Q) continue;
              for (int kk = 0; kk < Kg; ++kk) {
                const int k = grp * Kg + kk;
                acc += dout[((size_t(n) * g.K + k) * g.P + p) * g.Q + q] * w[((size_t(k) * Cg + c) * g.R + r) * g.S + s];
              }
            }
          }
          din[((size_t(n) * g.C + cin) * g.H + h) * g.W + x] = acc;
        }
    }
}

}  // namespace alexnet
