// Linear on oneDNN: inner_product_forward / _backward_data / _backward_weights, formats chosen by
// oneDNN, the weight gradient straight into the plain fp32 gradient buffer where a non-reference
// implementation takes it. A 4-D input (no Flatten before) is read as [N, C*H*W] in NCHW order. The
// shared half (weights, bias, fused ReLU, the passes) is weighted.h.
#pragma once

#include "backend/cpu/ops/weighted.h"

namespace alexnet::onednn {

std::unique_ptr<WeightedOp> make_linear_op(const Context& ctx, const OpShape& shape, const Linear& op,
                                            WeightCopies& copies, const ParamInfo* weight, const ParamInfo* bias,
                                            bool fuse_relu);

}  // namespace alexnet::onednn
