// AdaptiveAvgPool2d: output cell (p, q) averages input rows [floor(p*H/P), ceil((p+1)*H/P)) and
// columns [floor(q*W/Q), ceil((q+1)*W/Q)), as PyTorch.
#pragma once

#include <cstddef>

namespace alexnet {

inline int adaptive_start(int i, int in, int out) { return (i * in) / out; }
inline int adaptive_end(int i, int in, int out) { return ((i + 1) * in + out - 1) / out; }

// in [N, C, H, W] -> out [N, C, P, Q]
template <class T>
void adaptive_avgpool2d_forward(T* out, const T* in, int N, int C, int H, int W, int P, int Q) {
  for (size_t nc = 0; nc < size_t(N) * C; ++nc)
    for (int p = 0; p < P; ++p)
      for (int q = 0; q < Q; ++q) {
        const int h0 = adaptive_start(p, H, P), h1 = adaptive_end(p, H, P);
        const int w0 = adaptive_start(q, W, Q), w1 = adaptive_end(q, W, Q);
        T sum = 0;
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) sum += in[nc * H * W + h * W + w];
        out[nc * P * Q + p * Q + q] = sum / T((h1 - h0) * (w1 - w0));
      }
}

// din (written) [N, C, H, W]
template <class T>
void adaptive_avgpool2d_backward(T* din, const T* dout, int N, int C, int H, int W, int P, int Q) {
  for (size_t i = 0; i < size_t(N) * C * H * W; ++i) din[i] = T(0);
  for (size_t nc = 0; nc < size_t(N) * C; ++nc)
    for (int p = 0; p < P; ++p)
      for (int q = 0; q < Q; ++q) {
        const int h0 = adaptive_start(p, H, P), h1 = adaptive_end(p, H, P);
        const int w0 = adaptive_start(q, W, Q), w1 = adaptive_end(q, W, Q);
        const T g = dout[nc * P * Q + p * Q + q] / T((h1 - h0) * (w1 - w0));
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) din[nc * H * W + h * W + w] += g;
      }
}

}  // namespace alexnet
