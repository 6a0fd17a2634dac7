// MaxPool2d (floor mode, padding acts as -inf). Forward keeps, per output, the index of the winning
// input element within its (n, c) plane; ties go to the first in row-major window order, as PyTorch.
#pragma once

#include <cstdint>
#include <limits>

#include "nn/geometry.h"

namespace alexnet {

// in [N, C, H, W] -> out [N, C, P, Q], argmax [N, C, P, Q] (index h*W + w within the plane)
template <class T>
void maxpool2d_forward(T* out, int32_t* argmax, const T* in, int N, const PoolGeom& g) {
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < g.C; ++c) {
      const T* plane = in + (size_t(n) * g.C + c) * g.H * g.W;
      const size_t o = (size_t(n) * g.C + c) * g.P * g.Q;
      for (int p = 0; p < g.P; ++p)
        for (int q = 0; q < g.Q; ++q) {
          T best = -std::numeric_limits<T>::infinity();
          int32_t where = -1;
          for (int r = 0; r < g.kernel; ++r) {
            const int h = p * g.stride - g.pad + r;
            if (h < 0 || h >= g.H) continue;
            for (int s = 0; s < g.kernel; ++s) {
              const int x = q * g.stride - g.pad + s;
              if (x < 0 || x >= g.W) continue;
              const T v = plane[h * g.W + x];
              if (where < 0 || v > best || v != v) {
                best = v;
                where = h * g.W + x;
              }
            }
          }
          out[o + p * g.Q + q] = best;
          if (argmax) argmax[o + p * g.Q + q] = where;
        }
    }
}

// din (written) [N, C, H, W]: each output's gradient goes to its argmax; overlapping windows add.
template <class T>
void maxpool2d_backward(T* din, const T* dout, const int32_t* argmax, int N, const PoolGeom& g) {
#pragma omp parallel for collapse(2)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < g.C; ++c) {
      T* plane = din + (size_t(n) * g.C + c) * g.H * g.W;
      const size_t o = (size_t(n) * g.C + c) * g.P * g.Q;
      for (int i = 0; i < g.H * g.W; ++i) plane[i] = T(0);
      for (int i = 0; i < g.P * g.Q; ++i) plane[argmax[o + i]] += dout[o + i];
    }
}

}  // namespace alexnet
