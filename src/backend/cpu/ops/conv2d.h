// Conv2d on oneDNN: convolution_forward / _backward_data / _backward_weights (direct), formats chosen
// by oneDNN (format_tag::any), NHWC when that choice would leave a backward pass to oneDNN's
// reference kernels. The shared half (weights, bias, fused ReLU, the passes) is weighted.h.
#pragma once

#include "backend/cpu/ops/weighted.h"

namespace alexnet::onednn {

std::unique_ptr<WeightedOp> make_conv2d_op(const Context& ctx, const OpShape& shape, const Conv2d& op,
                                            WeightCopies& copies, const ParamInfo* weight, const ParamInfo* bias,
                                            bool fuse_relu);

}  // namespace alexnet::onednn
