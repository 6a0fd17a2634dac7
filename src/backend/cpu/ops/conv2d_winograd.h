// Winograd convolution F(m x m, r x r) for the r x r, stride-1, "same"-padded convolutions: F(4, 3)
// for the 3x3 layers (conv3-conv5; F(2, 3) with ALEXNET_WINOGRAD_TILE=2) and F(2, 5) for the 5x5
// conv2, fp32, on activations blocked by 8 channels (oneDNN's nChw8c: [N][C/8][H][W][8]).
//
// Each m x m output tile is computed from an a x a input tile (a = m + r - 1) with a² products instead
// of m²r²: the input tiles and the weights are transformed (V = Bᵀ d B, U = G g Gᵀ), the a² transformed
// positions are a² independent matrix products M[ξ] = V[ξ] (tiles x C) · U[ξ] (C x K), run as one
// batched oneDNN matmul, and the output tiles are transformed back (Y = Aᵀ M A), with the bias and
// ReLU. The backward pass to the input is the same computation on the output gradient with the
// weights rotated and transposed (dX = dY ⋆ rot180(W)ᵀ); the weight gradient is the adjoint of the
// forward. The images go through in chunks small enough for the transformed tiles to stay in the
// last-level cache.
//
// The matrices come from the Toom-Cook construction on the points 0, 1, -1 (and 2, -2 when a = 6) and
// infinity, computed in double: Aᵀ = E_mᵀ, G = E_r, Bᵀ = V⁻ᵀ, with E_n the a x n evaluation matrix
// and V = E_a. The arithmetic is 2.25x (F(2, 3)), 4x (F(4, 3)) and 2.8x (F(2, 5)) smaller than the
// direct convolution's; the rounding differs: measured errors are in docs/cpu-backend.md.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/dnnl_check.h"

namespace alexnet::onednn {

class Winograd {
 public:
  // A convolution C -> K channels (multiples of 8) with an r x r kernel at H x W, for batches of up
  // to `n` images, taken in chunks whose transformed tiles fit in `chunk_bytes`.
  // m x m output tiles: F(2, 3), F(4, 3) or F(2, 5).
  Winograd(const dnnl::engine& engine, int n, int C, int K, int H, int W, int r, int m,
           int64_t chunk_bytes = int64_t(8) << 20);
  int images_per_chunk() const { return chunk_; }
  // Whether Winograd serves this convolution here: fp32, 3x3 or 5x5, stride 1, padding (r-1)/2, one
  // group, channels in multiples of 8. ALEXNET_WINOGRAD=0 turns it off, =1 on for every such layer;
  // otherwise it serves where it was measured faster than oneDNN's direct kernels (below AVX-512).
  static bool serves(int C, int K, int kernel, int stride, int padding, int groups, bool fp32, bool avx512);
  // The output tile for an r x r kernel: 2 for r = 5; for r = 3, ALEXNET_WINOGRAD_TILE=2|4 if set,
  // else the default below.
  static int tile_for(int r);

  // y = conv(x, w) + b, then ReLU when `relu`; x [n][C/8][H][W][8], y [n][K/8][H][W][8], w OIHW.
  // `version` identifies w: its transform is redone only when it changes.
  void forward(dnnl::stream& stream, const float* x, const float* w, uint64_t version, const float* bias, bool relu,
               float* y, int n);
  // dx = d loss / dx from dy (the gradient of the convolution's output, before any ReLU).
  void backward_data(dnnl::stream& stream, const float* dy, const float* w, uint64_t version, float* dx, int n);
  // dw (OIHW) and db (may be null), overwritten, from the input x and the output gradient dy:
  // dU[ξ] = Σ over tiles of V[ξ]ᵀ · (A dy Aᵀ)[ξ], dw = Gᵀ dU G, db = Σ dy.
  void backward_weights(dnnl::stream& stream, const float* x, const float* dy, float* dw, float* db, int n);

 private:
  void run(dnnl::stream& stream, const float* in, int in_c, const std::vector<float>& u, int out_c, const float* bias,
           bool relu, float* out, int n, bool backward);
  dnnl::matmul& matmul(int images, int kind);

  dnnl::engine engine_;
  int r_, mt_, C_, K_, H_, W_, tiles_, chunk_;  // mt_: output tile side; chunk_: images per pass
  std::vector<float> u_, u_flip_;      // [a²][C][K] and [a²][K][C]
  uint64_t u_version_ = ~uint64_t(0), u_flip_version_ = ~uint64_t(0);
  std::vector<float> v_, m_;           // transformed inputs and products of one chunk
  std::vector<float> du_;              // [a²][C][K]: the weight gradient before its transform
  struct Prim {
    int images;
    int kind;  // 0 forward, 1 backward-data, 2 weight gradient, 3 weight gradient accumulated
    dnnl::matmul prim;
  };
  std::vector<Prim> prims_;
};

}  // namespace alexnet::onednn
