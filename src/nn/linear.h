// Linear: out = in @ w^T + b.
#pragma once

#include <cstddef>

namespace alexnet {

// in [N, Fi], w [Fo, Fi], b [Fo] -> out [N, Fo]
template <class T>
void linear_forward(T* out, const T* in, const T* w, const T* b, int N, int Fi, int Fo) {
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < Fo; ++o) {
      T acc = b ? b[o] : T(0);
      const T* x = in + size_t(n) * Fi;
      const T* wr = w + size_t(o) * Fi;
      for (int i = 0; i < Fi; ++i) acc += x[i] * wr[i];
      out[size_t(n) * Fo + o] = acc;
    }
}

// dout [N, Fo] -> din [N, Fi] (written; may be null), dw [Fo, Fi] (+=), db [Fo] (+=)
template <class T>
void linear_backward(T* din, T* dw, T* db, const T* dout, const T* in, const T* w, int N, int Fi, int Fo) {
#pragma omp parallel for
  for (int o = 0; o < Fo; ++o) {
    T bsum = 0;
    for (int n = 0; n < N; ++n) {
      const T d = dout[size_t(n) * Fo + o];
      bsum += d;
      for (int i = 0; i < Fi; ++i) dw[size_t(o) * Fi + i] += d * in[size_t(n) * Fi + i];
    }
    if (db) db[o] += bsum;
  }
  if (!din) return;
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Fi; ++i) {
      T acc = 0;
      for (int o = 0; o < Fo; ++o) acc += dout[size_t(n) * Fo + o] * w[size_t(o) * Fi + i];
      din[size_t(n) * Fi + i] = acc;
    }
}

}  // namespace alexnet
