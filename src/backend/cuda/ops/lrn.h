// LocalResponseNorm on CUDA: its op (make_lrn_op, the interface of ops/op.h) and the host functions that launch
// its kernels on a stream, all in ops/lrn.cu. Layouts and element types as kernels.h says: NHWC maps
// or [N, F] features, fp32 or bf16, fp32 arithmetic; backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

// LRN across the C channels of each of `pixels` = N*H*W positions; scale (fp32) is kept for backward.
void lrn_forward(void* y, float* scale, const void* x, Elem e, int64_t pixels, int C, int size, float alpha, float beta,
                 float k, cudaStream_t s);
void lrn_backward(void* dx, const void* dy, const void* x, const float* scale, Elem e, int64_t pixels, int C, int size,
                  float alpha, float beta, cudaStream_t s);

// The LocalResponseNorm op: keeps the fp32 scale ([max_batch, H, W, C]) for backward.
std::unique_ptr<Op> make_lrn_op(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op);

}  // namespace alexnet::cuda
