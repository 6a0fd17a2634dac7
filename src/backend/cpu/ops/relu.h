// ReLU on oneDNN: eltwise_relu_use_dst_for_bwd in the format it is given. When the net fuses it into
// the Conv2d/Linear before it, that layer's post-op writes this op's output and the forward here
// does nothing; the backward (from the output) is the same either way.
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_relu_op(const Context& ctx, const OpShape& shape, bool fused);

}  // namespace alexnet::onednn
