// Linear on oneDNN. Where oneDNN has an optimised matmul for the shape (every shape measured), the
// three passes are matmuls on the plain layouts: y[N,out] = x[N,in] · Wᵀ + b with the fused ReLU as
// a post-op, dx = dy · W, dW = dyᵀ · x straight into the fp32 gradient buffer (bf16 inputs, fp32
// result under BF16), db a column sum of dy. W is read in the master's [out, in] layout (Wᵀ as a
// strided view of it); under BF16 from one plain bf16 copy shared by forward and backward-data. A
// 4-D input is read as [N, C*H*W] in NCHW order, reordered to plain first when it is blocked.
// Otherwise (or with ALEXNET_ONEDNN_LINEAR=inner_product) oneDNN's inner_product primitives, formats
// chosen by oneDNN. The shared half (weights, bias, fused ReLU, the passes) is weighted.h.
#pragma once

#include "backend/cpu/ops/weighted.h"

namespace alexnet::onednn {

std::unique_ptr<WeightedOp> make_linear_op(const Context& ctx, const OpShape& shape, const Linear& op,
                                            WeightCopies& copies, const ParamInfo* weight, const ParamInfo* bias,
                                            bool fuse_relu);

}  // namespace alexnet::onednn
