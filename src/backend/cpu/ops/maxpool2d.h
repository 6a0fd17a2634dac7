// MaxPool2d on oneDNN: pooling_max with its workspace (the argmax) in the format it is given, right
// padding chosen so that the output size is PyTorch's floor-mode size (PoolingOp in op.h).
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_maxpool2d_op(const Context& ctx, const OpShape& shape, const MaxPool2d& op);

}  // namespace alexnet::onednn
