// Our own CUDA kernels, as host functions that launch them on a stream (kernels.cu). Everything that is
// neither a convolution (cuDNN) nor a matrix product (cuBLAS).
//
// Layouts: activations of convolutional layers are NHWC ([N, H, W, C], channels innermost), those of
// fully connected layers [N, F]. Elements are fp32 or bf16 (Elem); arithmetic is fp32 throughout, and
// parameters, their gradients and the SGD momentum are always fp32.
// Backward kernels WRITE the input gradient (never accumulate), as every layer in this project.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

namespace alexnet::cuda {

enum class Elem : uint8_t { F32, BF16 };
inline size_t elem_size(Elem e) { return e == Elem::F32 ? 4 : 2; }

// in fp32 NCHW [N, C, H, W] -> out NHWC [N, H, W, Cpad] (channels C..Cpad-1 zero).
void input_to_nhwc(void* out, Elem e, const float* in, int N, int C, int Cpad, int H, int W, cudaStream_t s);
// in NHWC [N, H, W, Cpad] -> out fp32 NCHW [N, C, H, W] (drops the padding channels).
void nhwc_to_nchw_f32(float* out, const void* in, Elem e, int N, int C, int Cpad, int H, int W, cudaStream_t s);

// y [M, K] += bias [K] (fp32); when relu_out is set, relu_out = max(y, 0) as well.
void bias_add(void* y, void* relu_out, Elem e, const float* bias, int64_t M, int K, cudaStream_t s);

void relu_forward(void* y, const void* x, Elem e, int64_t count, cudaStream_t s);
// dx = y > 0 ? dy : 0 (y: the forward output)
void relu_backward(void* dx, const void* dy, const void* y, Elem e, int64_t count, cudaStream_t s);

struct PoolShape {
  int N, C, H, W;  // input
  int P, Q;        // output
  int kernel, stride, pad;
};
// argmax [N, P, Q, C]: index h*W + w of the winning input within its plane (first maximum, NaN wins).
void maxpool_forward(void* y, int32_t* argmax, const void* x, Elem e, const PoolShape& p, cudaStream_t s);
// dx [N, H, W, C] (written): gathers, for each input, the outputs whose argmax it is.
void maxpool_backward(void* dx, const void* dy, const int32_t* argmax, Elem e, const PoolShape& p, cudaStream_t s);

// LRN across the C channels of each of `pixels` = N*H*W positions; scale (fp32) is kept for backward.
void lrn_forward(void* y, float* scale, const void* x, Elem e, int64_t pixels, int C, int size, float alpha, float beta,
                 float k, cudaStream_t s);
void lrn_backward(void* dx, const void* dy, const void* x, const float* scale, Elem e, int64_t pixels, int C, int size,
                  float alpha, float beta, cudaStream_t s);

// out = in * mask, mask = dropout_keep(key, index, p) ? 1/(1-p) : 0, where index is the element's position
// in the NCHW (or [N, F]) order, so that the masks equal the reference backend's. Forward and backward alike.
// For [N, F] tensors pass H = W = 1, C = F.
void dropout_apply(void* out, const void* in, Elem e, int N, int C, int H, int W, float p, uint64_t key, cudaStream_t s);

// AdaptiveAvgPool2d, NHWC.
void adaptive_avgpool_forward(void* y, const void* x, Elem e, int N, int C, int H, int W, int P, int Q, cudaStream_t s);
void adaptive_avgpool_backward(void* dx, const void* dy, Elem e, int N, int C, int H, int W, int P, int Q, cudaStream_t s);

// Flatten: NHWC [N, H, W, C] -> [N, C*H*W] in PyTorch's (c, h, w) order, and back.
void nhwc_to_flat(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s);
void flat_to_nhwc(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s);

// Softmax cross-entropy with label smoothing eps. logits [N, C] -> dlogits [N, C] (written, already / N),
// row_loss [N] (fp32); then loss[0] = mean(row_loss).
void softmax_cross_entropy(void* dlogits, float* row_loss, const void* logits, const int64_t* labels, Elem e, int N,
                           int C, float eps, cudaStream_t s);
void mean_loss(float* loss, const float* row_loss, int N, cudaStream_t s);

// out [K] (fp32, written) = column sums of in [M, K]: bias gradients of NHWC convolutions and of linear
// layers. `partial` is scratch of at least column_sums_scratch(M, K) floats (two passes, deterministic).
size_t column_sums_scratch(int64_t M, int K);
void column_sums(float* out, const void* in, Elem e, int64_t M, int K, float* partial, cudaStream_t s);

// Convolution weights: fp32 master [K, Cg, R, S] <-> compute copy [K, R, S, Cpad] (Cpad >= Cg; the padding
// channels get zeros, and their gradients are dropped).
void conv_weight_to_krsc(void* out, Elem e, const float* w, int K, int Cg, int Cpad, int R, int S, cudaStream_t s);
void conv_grad_to_kcrs(float* out, const void* dw, Elem e, int K, int Cg, int Cpad, int R, int S, cudaStream_t s);

// out (bf16) = in (fp32), n elements.
void to_bf16(void* out, const float* in, size_t n, cudaStream_t s);

// torch.optim.SGD over the whole buffer in one pass (see train/sgd.h); when mirror is set, it also
// receives the new parameters in bf16 (the bf16 compute copy of the fully connected weights).
struct SgdArgs {
  float lr, momentum, weight_decay, dampening;
  bool nesterov, first_step;
};
void sgd_update(float* params, const float* grads, float* momentum, void* mirror, size_t n, const SgdArgs& a,
                cudaStream_t s);

}  // namespace alexnet::cuda
