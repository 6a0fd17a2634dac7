// AdaptiveAvgPool2d on oneDNN: nothing when the output size is the input's (6x6 -> 6x6 in the seed
// model: the output shares the input's buffers); pooling_avg_exclude_padding with kernel = stride =
// in/out when the sizes divide; otherwise the reference loop (nn/adaptive_avgpool2d.h) on fp32 NCHW
// copies.
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_adaptive_avgpool2d_op(const Context& ctx, const OpShape& shape, const AdaptiveAvgPool2d& op);

}  // namespace alexnet::onednn
