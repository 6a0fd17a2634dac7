#include "backend/cpu/ops/linear.h"

namespace alexnet::onednn {

namespace {

class LinearOp final : public WeightedOp {
 public:
  LinearOp(const Context& ctx, const OpShape& shape, const Linear& op, WeightCopies& copies, const ParamInfo* weight,
           const ParamInfo* bias, bool fuse_relu)
      : WeightedOp(ctx, shape, copies, weight, bias, fuse_relu), op_(op) {}
  memory::desc plan(const memory::desc& in) override;

 private:
  dnnl::primitive make_inference_forward(const memory::desc& bias_md) const override;
  Linear op_;
};

memory::desc LinearOp::plan(const memory::desc& in) {
  const memory::dims src_d = in.is_zero() ? shape_.in_dims() : in.dims();
  memory::dims wei_d = src_d;
  wei_d[0] = op_.out_features;
  const memory::dims dst_d{shape_.n, op_.out_features};
  const memory::desc bias = bias_md();
  auto fd = ALEXNET_DNNL(dnnl::inner_product_forward::desc(prop_kind::forward_training, any_md(src_d, ctx_.dt),
                                                           any_md(wei_d, ctx_.dt), bias, any_md(dst_d, ctx_.dt)));
  auto fpd = ALEXNET_DNNL(dnnl::inner_product_forward::primitive_desc(fd, post_ops(), ctx_.engine));
  src_md_ = fpd.src_desc();
  wei_md_ = fpd.weights_desc();
  out_md_ = fpd.dst_desc();
  fwd_ = ALEXNET_DNNL(dnnl::inner_product_forward(fpd));
  auto bdd = ALEXNET_DNNL(dnnl::inner_product_backward_data::desc(src_md_, any_md(wei_d, ctx_.dt), out_md_));
  auto bdpd = ALEXNET_DNNL(dnnl::inner_product_backward_data::primitive_desc(bdd, ctx_.engine, fpd));
  bwd_wei_md_ = bdpd.weights_desc();
  bwd_data_ = ALEXNET_DNNL(dnnl::inner_product_backward_data(bdpd));
  // The weight gradient straight into the plain fp32 gradient buffer: oneDNN's gemm-based
  // implementation is as fast as the blocked one here and saves a reorder of the largest tensor
  // (fc6: 151 MB). Blocked when only a reference implementation would take the plain format.
  dnnl::inner_product_backward_weights::primitive_desc bwpd;
  for (const memory::desc& dw : {plain_md(wei_d, Dt::f32), any_md(wei_d, Dt::f32)}) {
    auto bwd = ALEXNET_DNNL(dnnl::inner_product_backward_weights::desc(src_md_, dw, bias, out_md_));
    bwpd = ALEXNET_DNNL(dnnl::inner_product_backward_weights::primitive_desc(bwd, ctx_.engine, fpd, true));
    if (bwpd && !is_reference_impl(bwpd.impl_info_str())) break;
  }
  if (!bwpd) fail(shape_.name, ": oneDNN has no inner product backward-weights for this shape");
  bwd_weights_ = ALEXNET_DNNL(dnnl::inner_product_backward_weights(bwpd));
  set_param_views(bwpd.diff_weights_desc(), wei_d);
  in_md_ = in.is_zero() ? src_md_ : in;  // the first layer picks the net's input format
  return out_md_;
}

dnnl::primitive LinearOp::make_inference_forward(const memory::desc& bias_md) const {
  auto d = ALEXNET_DNNL(dnnl::inner_product_forward::desc(prop_kind::forward_inference, src_md_, wei_md_, bias_md,
                                                          out_md_));
  return ALEXNET_DNNL(dnnl::inner_product_forward(dnnl::inner_product_forward::primitive_desc(d, ctx_.engine)));
}

}  // namespace

std::unique_ptr<WeightedOp> make_linear_op(const Context& ctx, const OpShape& shape, const Linear& op,
                                            WeightCopies& copies, const ParamInfo* weight, const ParamInfo* bias,
                                            bool fuse_relu) {
  return std::make_unique<LinearOp>(ctx, shape, op, copies, weight, bias, fuse_relu);
}

}  // namespace alexnet::onednn
