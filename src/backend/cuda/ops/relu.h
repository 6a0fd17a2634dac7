// ReLU on CUDA: host functions that launch its kernels on a stream (ops/relu.cu). Layouts and
// element types as kernels.h says: NHWC maps or [N, F] features, fp32 or bf16, fp32 arithmetic;
// backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"

namespace alexnet::cuda {

void relu_forward(void* y, const void* x, Elem e, int64_t count, cudaStream_t s);
// dx = y > 0 ? dy : 0 (y: the forward output)
void relu_backward(void* dx, const void* dy, const void* y, Elem e, int64_t count, cudaStream_t s);

}  // namespace alexnet::cuda
