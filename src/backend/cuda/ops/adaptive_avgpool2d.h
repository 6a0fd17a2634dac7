// AdaptiveAvgPool2d on CUDA: its op (make_adaptive_avgpool2d_op, the interface of ops/op.h) and the host functions that launch
// its kernels on a stream, all in ops/adaptive_avgpool2d.cu. Layouts and element types as kernels.h says: NHWC maps
// or [N, F] features, fp32 or bf16, fp32 arithmetic; backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

// AdaptiveAvgPool2d, NHWC.
void adaptive_avgpool_forward(void* y, const void* x, Elem e, int N, int C, int H, int W, int P, int Q, cudaStream_t s);
void adaptive_avgpool_backward(void* dx, const void* dy, Elem e, int N, int C, int H, int W, int P, int Q, cudaStream_t s);

// The AdaptiveAvgPool2d op.
std::unique_ptr<Op> make_adaptive_avgpool2d_op(const Context& ctx, const OpShape& shape, const AdaptiveAvgPool2d& op);

}  // namespace alexnet::cuda
