// Dropout on oneDNN's buffers (no primitive): a loop over the plain layout in the compute type (fp32
// or bf16), a blocked input reordered to plain first. The mask is dropout_keep(dropout_key(seed, step,
// layer), flat NCHW / [N, F] index, p), the reference backend's; backward recomputes it.
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_dropout_op(const Context& ctx, const OpShape& shape, const Dropout& op);

}  // namespace alexnet::onednn
