#include "backend/cpu/ops/dropout.h"

#include <cstring>

#include "nn/dropout.h"
#include "tensor/bf16.h"

namespace alexnet::onednn {

namespace {

class DropoutOp final : public Op {
 public:
  DropoutOp(const Context& ctx, const OpShape& shape, const Dropout& op) : Op(ctx, shape), p_(op.p) {}

  memory::desc plan(const memory::desc& in) override {
    in_md_ = in;
    out_md_ = plain_md(shape_.out_dims(), ctx_.dt);
    return out_md_;
  }

  void allocate(const memory& in, const memory& din) override {
    keep_input_fresh_output(in, din);
    if (in_md_ != out_md_) {  // a blocked input: the loop runs on a plain copy
      src_ = ctx_.fresh(out_md_);
      dsrc_ = ctx_.fresh(out_md_);
    }
  }

  void forward() override {
    if (src_) ctx_.reorder(in_, src_);
    ctx_.wait();
    apply(src_ ? src_ : in_, out, ctx_.mode == Mode::Train);
  }

  void backward_data() override {
    ctx_.wait();
    apply(dout, src_ ? dsrc_ : din_, true);
    if (src_) ctx_.reorder(dsrc_, din_);
  }

 private:
  // y = x * mask / (1-p) on the plain layout; `train` false: y = x. The forward (x = input) and the
  // backward (x = output gradient) alike.
  void apply(const memory& x, const memory& y, bool train) const {
    const int64_t count = int64_t(shape_.n) * shape_.in.numel();
    if (!train || p_ <= 0.f) {
      std::memcpy(y.get_data_handle(), x.get_data_handle(), x.get_desc().get_size());
      return;
    }
    const uint64_t key = dropout_key(ctx_.seed, ctx_.step, shape_.dropout_layer);
    const float drop = p_;
    const float scale = drop < 1.f ? 1.f / (1.f - drop) : 0.f;
    if (ctx_.dt == Dt::f32) {
      const float* xs = static_cast<const float*>(x.get_data_handle());
      float* ys = static_cast<float*>(y.get_data_handle());
#pragma omp parallel for schedule(static)
      for (int64_t j = 0; j < count; ++j) ys[j] = xs[j] * (dropout_keep(key, uint64_t(j), drop) ? scale : 0.f);
    } else {
      const bf16* xs = static_cast<const bf16*>(x.get_data_handle());
      bf16* ys = static_cast<bf16*>(y.get_data_handle());
#pragma omp parallel for schedule(static)
      for (int64_t j = 0; j < count; ++j)
        ys[j] = float_to_bf16(bf16_to_float(xs[j]) * (dropout_keep(key, uint64_t(j), drop) ? scale : 0.f));
    }
  }

  float p_;
  memory src_, dsrc_;  // plain copies of a blocked input and of its gradient
};

}  // namespace

std::unique_ptr<Op> make_dropout_op(const Context& ctx, const OpShape& shape, const Dropout& op) {
  return std::make_unique<DropoutOp>(ctx, shape, op);
}

}  // namespace alexnet::onednn
