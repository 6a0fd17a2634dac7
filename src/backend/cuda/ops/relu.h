// ReLU on CUDA: its op (make_relu_op, the interface of ops/op.h) and the host functions that launch
// its kernels on a stream, all in ops/relu.cu. Layouts and element types as kernels.h says: NHWC maps
// or [N, F] features, fp32 or bf16, fp32 arithmetic; backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

void relu_forward(void* y, const void* x, Elem e, int64_t count, cudaStream_t s);
// dx = y > 0 ? dy : 0 (y: the forward output)
void relu_backward(void* dx, const void* dy, const void* y, Elem e, int64_t count, cudaStream_t s);

// The ReLU op. When the net fuses it into the Conv2d/Linear before it, that layer's bias kernel writes
// this op's output and the forward here does nothing; the backward (from the output) is the same either way.
std::unique_ptr<Op> make_relu_op(const Context& ctx, const OpShape& shape, bool fused);

}  // namespace alexnet::cuda
