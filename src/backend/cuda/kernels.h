// Our own CUDA kernels that are no layer's own, as host functions that launch them on a stream
// (kernels.cu): layout conversions, bias (+ReLU), the loss, bias-gradient sums, weight layouts, SGD.
// Each layer's kernels are in ops/<layer>.{h,cu}; neither convolutions (cuDNN) nor matrix products
// (cuBLAS) are here.
//
// Layouts: activations of convolutional layers are NHWC ([N, H, W, C], channels innermost), those of
// fully connected layers [N, F]. Elements are fp32 or bf16 (Elem); arithmetic is fp32 throughout, and
// parameters, their gradients and the SGD momentum are always fp32.
// Backward kernels WRITE the input gradient (never accumulate), as every layer in this project.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "backend/cuda/kernel_math.h"

namespace alexnet::cuda {

enum class Elem : uint8_t { F32, BF16 };
inline size_t elem_size(Elem e) { return e == Elem::F32 ? 4 : 2; }

// in fp32 NCHW [N, C, H, W] -> out NHWC [N, H, W, Cpad] (channels C..Cpad-1 zero).
void input_to_nhwc(void* out, Elem e, const float* in, int N, int C, int Cpad, int H, int W, cudaStream_t s);
// in NHWC [N, H, W, Cpad] -> out fp32 NCHW [N, C, H, W] (drops the padding channels).
void nhwc_to_nchw_f32(float* out, const void* in, Elem e, int N, int C, int Cpad, int H, int W, cudaStream_t s);

// y [M, K] += bias [K] (fp32); when relu_out is set, relu_out = max(y, 0) as well. `vector`: bf16 pairs
// per thread where K is even (else, and in fp32, one element per thread).
void bias_add(void* y, void* relu_out, Elem e, const float* bias, int64_t M, int K, bool vector, cudaStream_t s);

// Softmax cross-entropy with label smoothing eps. logits [N, C] -> dlogits [N, C] (written, already / N),
// row_loss [N] (fp32); then loss[0] = mean(row_loss).
void softmax_cross_entropy(void* dlogits, float* row_loss, const void* logits, const int64_t* labels, Elem e, int N,
                           int C, float eps, cudaStream_t s);
void mean_loss(float* loss, const float* row_loss, int N, cudaStream_t s);

// out [K] (fp32, written) = column sums of in [M, K]: bias gradients of NHWC convolutions and of linear
// layers. `partial` is scratch of at least column_sums_scratch(M, K) floats (two passes, deterministic).
size_t column_sums_scratch(int64_t M, int K);
// The first pass's grid: grid_x blocks of 32 columns, grid_y block rows (at most CUDA's 65,535) that
// share out `chunks` chunks of 256 rows.
inline constexpr int64_t kMaxGridY = 65535;
struct ColumnSumsLaunch {
  unsigned grid_x, grid_y;
  int64_t chunks;
};
ColumnSumsLaunch column_sums_launch(int64_t M, int K);
void column_sums(float* out, const void* in, Elem e, int64_t M, int K, float* partial, cudaStream_t s);

// Convolution weights: fp32 master [K, Cg, R, S] <-> compute copy [K, R, S, Cpad] (Cpad >= Cg; the padding
// channels get zeros, and their gradients are dropped).
void conv_weight_to_krsc(void* out, Elem e, const float* w, int K, int Cg, int Cpad, int R, int S, cudaStream_t s);
void conv_grad_to_kcrs(float* out, const void* dw, Elem e, int K, int Cg, int Cpad, int R, int S, cudaStream_t s);

// out (bf16) = in (fp32), n elements.
void to_bf16(void* out, const float* in, size_t n, cudaStream_t s);

// torch.optim.SGD over the whole buffer in one pass (see nn/sgd.h; SgdArgs and the per-parameter
// arithmetic in kernel_math.h); when mirror is set, it also receives the new parameters in bf16 (the
// bf16 compute copy of the fully connected weights).
// `vector`: four parameters per thread (else one).
void sgd_update(float* params, const float* grads, float* momentum, void* mirror, size_t n, const SgdArgs& a,
                bool vector, cudaStream_t s);

}  // namespace alexnet::cuda
