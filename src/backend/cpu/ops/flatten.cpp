#include "backend/cpu/ops/flatten.h"

namespace alexnet::onednn {

namespace {

class FlattenOp final : public Op {
 public:
  using Op::Op;

  memory::desc plan(const memory::desc& in) override {
    in_md_ = in;
    out_md_ = plain_md({shape_.n, shape_.out.c}, ctx_.dt);
    return out_md_;
  }

  void allocate(const memory& in, const memory& din) override {
    in_ = in;
    din_ = din;
    const memory::desc plain4 = plain_md(in_md_.dims(), ctx_.dt);
    if (in_md_ == plain4) {  // a view: same bytes, 2-D shape
      out = ctx_.view(out_md_, in.get_data_handle());
      dout = ctx_.view(out_md_, din.get_data_handle());
    } else {
      out = ctx_.fresh(out_md_);
      dout = ctx_.fresh(out_md_);
      out_4d_ = ctx_.view(plain4, out.get_data_handle());
      dout_4d_ = ctx_.view(plain4, dout.get_data_handle());
    }
  }

  void forward() override {
    if (out_4d_) ctx_.reorder(in_, out_4d_);
  }
  void backward_data() override {
    if (dout_4d_) ctx_.reorder(dout_4d_, din_);
  }

 private:
  memory out_4d_, dout_4d_;  // plain 4-D views of the output and its gradient, when the input is blocked
};

}  // namespace

std::unique_ptr<Op> make_flatten_op(const Context& ctx, const OpShape& shape) {
  if (shape.in.flat) return std::make_unique<IdentityOp>(ctx, shape);
  return std::make_unique<FlattenOp>(ctx, shape);
}

}  // namespace alexnet::onednn
