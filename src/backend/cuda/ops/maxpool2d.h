// MaxPool2d on CUDA: its op (make_maxpool2d_op, the interface of ops/op.h) and the host functions that launch
// its kernels on a stream, all in ops/maxpool2d.cu. Layouts and element types as kernels.h says: NHWC maps
// or [N, F] features, fp32 or bf16, fp32 arithmetic; backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

struct PoolShape {
  int N, C, H, W;  // input
  int P, Q;        // output
  int kernel, stride, pad;
};
// argmax [N, P, Q, C]: index h*W + w of the winning input within its plane (first maximum, NaN wins).
void maxpool_forward(void* y, int32_t* argmax, const void* x, Elem e, const PoolShape& p, cudaStream_t s);
// dx [N, H, W, C] (written): gathers, for each input, the outputs whose argmax it is.
void maxpool_backward(void* dx, const void* dy, const int32_t* argmax, Elem e, const PoolShape& p, cudaStream_t s);

// The MaxPool2d op: keeps the argmax (int32 [max_batch, P, Q, C]) for backward.
std::unique_ptr<Op> make_maxpool2d_op(const Context& ctx, const OpShape& shape, const MaxPool2d& op);

}  // namespace alexnet::cuda
