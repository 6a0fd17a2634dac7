// Winograd F(2x2, 3x3) for the 3x3, stride-1, padding-1 convolutions (conv3-conv5), fp32, on
// activations blocked by 8 channels (oneDNN's nChw8c: [N][C/8][H][W][8]).
//
// Each 2x2 output tile is computed from a 4x4 input tile with 16 products instead of 36: the input
// tiles and the weights are transformed (V = Bᵀ d B, U = G g Gᵀ), the 16 transformed positions are
// 16 independent matrix products M[ξ] = V[ξ] (tiles x C) · U[ξ] (C x K), run as one batched oneDNN
// matmul, and the output tiles are transformed back (Y = Aᵀ M A), with the bias and ReLU. The
// backward pass to the input is the same computation on the output gradient with the weights flipped
// and transposed (dX = dY ⋆ rot180(W)ᵀ). The images go through in chunks small enough for the
// transformed tiles to stay in the last-level cache.
//
// The arithmetic is 2.25x smaller than the direct convolution's; the rounding differs (the
// transforms add and halve): measured errors are in docs/cpu-backend.md.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/dnnl_check.h"

namespace alexnet::onednn {

// The pieces, exposed for tests. `tiles_h`/`tiles_w` = ceil(H/2), ceil(W/2); tile p of a chunk of
// images is (image * tiles_h + ty) * tiles_w + tx; `v` is [16][P][C] for P = images * tiles.
void winograd_input_transform(const float* x, int images, int C, int H, int W, float* v);
// u [16][C][K] from OIHW weights w [K][C][3][3]; `flip`: of rot180(w) transposed, u [16][K][C].
void winograd_weight_transform(const float* w, int K, int C, bool flip, float* u);
// y [images][K/8][H][W][8] from m [16][P][K], plus bias (may be null), then ReLU if `relu`.
void winograd_output_transform(const float* m, int images, int K, int H, int W, const float* bias, bool relu,
                               float* y);

// t [16][P][K] from the output gradient dy [images][K/8][H][W][8]: A dy Aᵀ of every 2x2 tile.
void winograd_output_grad_transform(const float* dy, int images, int K, int H, int W, float* t);
// The weight gradient dw [K][C][3][3] (OIHW, overwritten) from du [16][C][K]: Gᵀ du G.
void winograd_weight_grad_transform(const float* du, int K, int C, float* dw);

class Winograd3x3 {
 public:
  // A convolution C -> K channels (multiples of 8) at H x W, for batches of up to `n` images, taken
  // in chunks whose transformed tiles fit in `chunk_bytes`.
  Winograd3x3(const dnnl::engine& engine, int n, int C, int K, int H, int W, int64_t chunk_bytes = int64_t(8) << 20);
  int images_per_chunk() const { return chunk_; }
  // Whether Winograd serves this convolution here: fp32, 3x3, stride 1, padding 1, one group,
  // channels in multiples of 8. ALEXNET_WINOGRAD=0 turns it off, =1 on for every such layer;
  // otherwise it serves where it was measured faster than oneDNN's direct kernels (AVX2).
  static bool serves(int C, int K, int kernel, int stride, int padding, int groups, bool fp32, bool avx512);

  // y = conv(x, w) + b, then ReLU when `relu`; x [n][C/8][H][W][8], y [n][K/8][H][W][8], w OIHW.
  // `version` identifies w: its transform is redone only when it changes.
  void forward(dnnl::stream& stream, const float* x, const float* w, uint64_t version, const float* bias, bool relu,
               float* y, int n);
  // dx = d loss / dx from dy (the gradient of the convolution's output, before any ReLU).
  void backward_data(dnnl::stream& stream, const float* dy, const float* w, uint64_t version, float* dx, int n);
  // dw (OIHW) and db (may be null), overwritten, from the input x and the output gradient dy: the
  // adjoint of forward, dU[ξ] = Σ over tiles of V[ξ]ᵀ · (A dy Aᵀ)[ξ], dw = Gᵀ dU G.
  void backward_weights(dnnl::stream& stream, const float* x, const float* dy, float* dw, float* db, int n);

 private:
  void run(dnnl::stream& stream, const float* in, int in_c, const std::vector<float>& u, int out_c, const float* bias,
           bool relu, float* out, int n, bool backward);
  dnnl::matmul& matmul(int images, bool backward);
  dnnl::matmul& weight_matmul(int images, bool accumulate);

  dnnl::engine engine_;
  int C_, K_, H_, W_, tiles_, chunk_;  // chunk_: images per pass
  std::vector<float> u_, u_flip_;      // [16][C][K] and [16][K][C]
  uint64_t u_version_ = ~uint64_t(0), u_flip_version_ = ~uint64_t(0);
  std::vector<float> v_, m_;           // transformed inputs and products of one chunk
  std::vector<float> du_;              // [16][C][K]: the weight gradient before its transform
  struct Prim {
    int images;
    int kind;  // 0 forward, 1 backward-data, 2 weight gradient, 3 weight gradient accumulated
    dnnl::matmul prim;
  };
  std::vector<Prim> prims_;
};

}  // namespace alexnet::onednn
