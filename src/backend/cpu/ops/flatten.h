// Flatten on oneDNN: [N, C, H, W] -> plain [N, C*H*W] in NCHW order. A view of the input's buffers
// when the input is plain, one reorder each way when it is blocked, nothing for an input already flat.
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_flatten_op(const Context& ctx, const OpShape& shape);

}  // namespace alexnet::onednn
