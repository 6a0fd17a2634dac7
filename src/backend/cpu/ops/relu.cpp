#include "backend/cpu/ops/relu.h"

namespace alexnet::onednn {

namespace {

class ReluOp final : public Op {
 public:
  ReluOp(const Context& ctx, const OpShape& shape, bool fused) : Op(ctx, shape), fused_(fused) {}

  memory::desc plan(const memory::desc& in) override {
    in_md_ = out_md_ = in;
    auto fd = ALEXNET_DNNL(dnnl::eltwise_forward::desc(prop_kind::forward_training,
                                                       algorithm::eltwise_relu_use_dst_for_bwd, in, 0.f, 0.f));
    auto fpd = ALEXNET_DNNL(dnnl::eltwise_forward::primitive_desc(fd, ctx_.engine));
    if (!fused_) fwd_ = ALEXNET_DNNL(dnnl::eltwise_forward(fpd));
    auto bd = ALEXNET_DNNL(dnnl::eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, in, in, 0.f, 0.f));
    auto bpd = ALEXNET_DNNL(dnnl::eltwise_backward::primitive_desc(bd, ctx_.engine, fpd));
    bwd_ = ALEXNET_DNNL(dnnl::eltwise_backward(bpd));
    return out_md_;
  }

  // The input of a fused ReLU is empty (the layer before keeps no output of its own); unused here.
  void allocate(const memory& in, const memory& din) override {
    keep_input_fresh_output(in, din);
  }

  void forward() override {
    if (!fused_) ctx_.exec(fwd_, {{DNNL_ARG_SRC, in_}, {DNNL_ARG_DST, out}});
  }

  void backward_data() override {
    ctx_.exec(bwd_, {{DNNL_ARG_DST, out}, {DNNL_ARG_DIFF_DST, dout}, {DNNL_ARG_DIFF_SRC, din_}});
  }

 private:
  bool fused_;
  dnnl::primitive fwd_, bwd_;
};

}  // namespace

std::unique_ptr<Op> make_relu_op(const Context& ctx, const OpShape& shape, bool fused) {
  return std::make_unique<ReluOp>(ctx, shape, fused);
}

}  // namespace alexnet::onednn
