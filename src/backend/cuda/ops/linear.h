// Linear on CUDA: cublasGemmEx (column-major) on the row-major [N, F] tensors, the bias (+ a fused
// ReLU) by our kernel, the bias gradient by column sums. The weights are used as they are stored: the
// fp32 master, or in bf16 its copy in the net's bf16 mirror of the parameters; the weight gradient
// goes straight into the fp32 gradient buffer (fp32 output of the product).
#pragma once

#include <cstddef>
#include <memory>

#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

// weight_at, bias_at: the layer's offsets in the parameter buffer (floats).
std::unique_ptr<Op> make_linear_op(const Context& ctx, const OpShape& shape, const Linear& op, size_t weight_at,
                                   size_t bias_at);

}  // namespace alexnet::cuda
