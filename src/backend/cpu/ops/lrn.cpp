#include "backend/cpu/ops/lrn.h"

#include "nn/lrn.h"

namespace alexnet::onednn {

namespace {

// oneDNN's across-channel LRN divides alpha by the size, as PyTorch does, and for odd sizes uses the
// same centred window, (size-1)/2 channels on each side.
class LrnOp final : public Op {
 public:
  LrnOp(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op) : Op(ctx, shape), op_(op) {}

  bool picks_input_format() const override { return true; }
  memory::desc plan(const memory::desc& in) override {
    // First in a net (an empty format): the first format whose kernels are not oneDNN's reference
    // ones; on plain NCHW, LRN runs the reference kernels, many times slower than on a blocked one.
    if (in.is_zero()) {
      for (const Tag tag : {Tag::nChw16c, Tag::nChw8c, Tag::nhwc, Tag::nchw}) {
        in_md_ = ALEXNET_DNNL(memory::desc(shape_.in_dims(), ctx_.dt, tag));
        if (!is_reference_impl(forward_pd(in_md_).impl_info_str())) break;
      }
    } else {
      in_md_ = in;
    }
    const auto fpd = forward_pd(in_md_);
    out_md_ = fpd.dst_desc();
    fwd_ = ALEXNET_DNNL(dnnl::lrn_forward(fpd));
    workspace_ = ctx_.fresh(fpd.workspace_desc());
    auto bd = ALEXNET_DNNL(dnnl::lrn_backward::desc(algorithm::lrn_across_channels, in_md_, out_md_, op_.size, op_.alpha,
                                                    op_.beta, op_.k));
    auto bpd = ALEXNET_DNNL(dnnl::lrn_backward::primitive_desc(bd, ctx_.engine, fpd));
    bwd_ = ALEXNET_DNNL(dnnl::lrn_backward(bpd));
    return out_md_;
  }

  void allocate(const memory& in, const memory& din) override {
    keep_input_fresh_output(in, din);
  }

  void forward() override {
    ctx_.exec(fwd_, {{DNNL_ARG_SRC, in_}, {DNNL_ARG_DST, out}, {DNNL_ARG_WORKSPACE, workspace_}});
  }

  void backward_data() override {
    ctx_.exec(bwd_, {{DNNL_ARG_SRC, in_}, {DNNL_ARG_DIFF_DST, dout}, {DNNL_ARG_WORKSPACE, workspace_},
                     {DNNL_ARG_DIFF_SRC, din_}});
  }

 private:
  dnnl::lrn_forward::primitive_desc forward_pd(const memory::desc& in) const {
    auto fd = ALEXNET_DNNL(dnnl::lrn_forward::desc(prop_kind::forward_training, algorithm::lrn_across_channels, in,
                                                   op_.size, op_.alpha, op_.beta, op_.k));
    return ALEXNET_DNNL(dnnl::lrn_forward::primitive_desc(fd, ctx_.engine));
  }

  LocalResponseNorm op_;
  dnnl::primitive fwd_, bwd_;
  memory workspace_;
};

// Even sizes: PyTorch's window is size/2 channels before and (size-1)/2 after, which oneDNN cannot
// express. The reference loop, keeping its scale for backward.
class LrnLoopOp final : public PlainLoopOp {
 public:
  LrnLoopOp(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op)
      : PlainLoopOp(ctx, shape), params_{op.size, op.alpha, op.beta, op.k},
        scale_(size_t(shape.n) * size_t(shape.in.numel()), 0.f) {}

 private:
  void loop_forward(const float* x, float* y) override {
    lrn_forward(y, scale_.data(), x, shape_.n, shape_.in.c, shape_.in.h * shape_.in.w, params_);
  }
  void loop_backward(const float* x, const float* dy, float* dx) override {
    lrn_backward(dx, dy, x, scale_.data(), shape_.n, shape_.in.c, shape_.in.h * shape_.in.w, params_);
  }
  LrnParams params_;
  std::vector<float> scale_;  // [N, C, H, W]
};

}  // namespace

std::unique_ptr<Op> make_lrn_op(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op) {
  if (op.size % 2) return std::make_unique<LrnOp>(ctx, shape, op);
  return std::make_unique<LrnLoopOp>(ctx, shape, op);
}

}  // namespace alexnet::onednn
