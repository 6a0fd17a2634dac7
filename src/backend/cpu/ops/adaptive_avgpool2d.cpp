#include "backend/cpu/ops/adaptive_avgpool2d.h"

#include "nn/adaptive_avgpool2d.h"

namespace alexnet::onednn {

namespace {

class AdaptiveAvgPoolLoopOp final : public PlainLoopOp {
 public:
  using PlainLoopOp::PlainLoopOp;

 private:
  void loop_forward(const float* x, float* y) override {
    const ActShape& i = shape_.in;
    adaptive_avgpool2d_forward(y, x, shape_.n, i.c, i.h, i.w, shape_.out.h, shape_.out.w);
  }
  void loop_backward(const float*, const float* dy, float* dx) override {
    const ActShape& i = shape_.in;
    adaptive_avgpool2d_backward(dx, dy, shape_.n, i.c, i.h, i.w, shape_.out.h, shape_.out.w);
  }
};

}  // namespace

std::unique_ptr<Op> make_adaptive_avgpool2d_op(const Context& ctx, const OpShape& shape, const AdaptiveAvgPool2d& op) {
  const ActShape& in = shape.in;
  if (op.out_h == in.h && op.out_w == in.w) return std::make_unique<IdentityOp>(ctx, shape);
  if (in.h % op.out_h == 0 && in.w % op.out_w == 0) {
    const int kh = in.h / op.out_h, kw = in.w / op.out_w;
    return std::make_unique<PoolingOp>(ctx, shape,
                                       PoolingOp::Window{algorithm::pooling_avg_exclude_padding, kh, kw, kh, kw, 0});
  }
  return std::make_unique<AdaptiveAvgPoolLoopOp>(ctx, shape);
}

}  // namespace alexnet::onednn
