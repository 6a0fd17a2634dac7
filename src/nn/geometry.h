// Output sizes of sliding-window layers, as PyTorch computes them (floor mode).
#pragma once

namespace alexnet {

inline int window_out_size(int in, int kernel, int stride, int padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

struct ConvGeom {
  int C, H, W;     // input channels and size
  int K, R, S;     // output channels, kernel size
  int stride, pad, groups;
  int P, Q;        // output size
};

inline ConvGeom conv_geom(int C, int H, int W, int K, int kernel, int stride, int pad, int groups) {
  return {C, H, W, K, kernel, kernel, stride, pad, groups,
          window_out_size(H, kernel, stride, pad), window_out_size(W, kernel, stride, pad)};
}

struct PoolGeom {
  int C, H, W;
  int kernel, stride, pad;
  int P, Q;
};

inline PoolGeom pool_geom(int C, int H, int W, int kernel, int stride, int pad) {
  return {C, H, W, kernel, stride, pad, window_out_size(H, kernel, stride, pad),
          window_out_size(W, kernel, stride, pad)};
}

}  // namespace alexnet
