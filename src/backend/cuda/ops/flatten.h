// Flatten on CUDA: its op (make_flatten_op, the interface of ops/op.h) and the host functions that launch
// its kernels on a stream, all in ops/flatten.cu. Layouts and element types as kernels.h says: NHWC maps
// or [N, F] features, fp32 or bf16, fp32 arithmetic; backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

// Flatten: NHWC [N, H, W, C] -> [N, C*H*W] in PyTorch's (c, h, w) order, and back.
void nhwc_to_flat(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s);
void flat_to_nhwc(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s);

// The Flatten op: a copy when the input is already [N, F] or 1x1 maps, the layout change otherwise.
std::unique_ptr<Op> make_flatten_op(const Context& ctx, const OpShape& shape);

}  // namespace alexnet::cuda
