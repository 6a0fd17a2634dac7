// LocalResponseNorm on oneDNN: lrn_across_channels for odd sizes; the reference loop (nn/lrn.h) on
// fp32 NCHW copies for even sizes, where oneDNN's centred window differs from PyTorch's.
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_lrn_op(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op);

}  // namespace alexnet::onednn
