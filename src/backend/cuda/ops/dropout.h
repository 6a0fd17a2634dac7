// Dropout on CUDA: its op (make_dropout_op, the interface of ops/op.h) and the host functions that launch
// its kernels on a stream, all in ops/dropout.cu. Layouts and element types as kernels.h says: NHWC maps
// or [N, F] features, fp32 or bf16, fp32 arithmetic; backward kernels WRITE the input gradient.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

// out = in * mask, mask = dropout_keep(key, index, p) ? 1/(1-p) : 0, where index is the element's position
// in the NCHW (or [N, F]) order, so that the masks equal the reference backend's. Forward and backward alike.
// For [N, F] tensors pass H = W = 1, C = F.
void dropout_apply(void* out, const void* in, Elem e, int N, int C, int H, int W, float p, uint64_t key, cudaStream_t s);

// The Dropout op: a mask in training mode with p > 0, a copy otherwise; backward recomputes the mask.
std::unique_ptr<Op> make_dropout_op(const Context& ctx, const OpShape& shape, const Dropout& op);

}  // namespace alexnet::cuda
