#include "backend/cpu/ops/maxpool2d.h"

namespace alexnet::onednn {

std::unique_ptr<Op> make_maxpool2d_op(const Context& ctx, const OpShape& shape, const MaxPool2d& op) {
  return std::make_unique<PoolingOp>(
      ctx, shape, PoolingOp::Window{algorithm::pooling_max, op.kernel, op.kernel, op.stride, op.stride, op.padding});
}

}  // namespace alexnet::onednn
