#include "backend/cpu/ops/weighted.h"

namespace alexnet::onednn {

WeightedOp::WeightedOp(const Context& ctx, const OpShape& shape, WeightCopies& copies, const ParamInfo* weight,
                       const ParamInfo* bias, bool fuse_relu)
    : Op(ctx, shape), copies_(copies), weight_(weight), bias_info_(bias), fuse_relu_(fuse_relu) {
  ALEXNET_ASSERT(weight_, "a Conv2d/Linear op without a weight");
}

dnnl::primitive_attr WeightedOp::post_ops() const {
  dnnl::primitive_attr attr;
  if (fuse_relu_) {
    dnnl::post_ops ops;
    ALEXNET_DNNL(ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f));
    ALEXNET_DNNL(attr.set_post_ops(ops));
  }
  return attr;
}

memory::desc WeightedOp::bias_md() const {
  return bias_info_ ? plain_md({int64_t(bias_info_->numel)}, Dt::f32) : memory::desc();
}

void WeightedOp::set_param_views(const memory::desc& diff_wei_md, const memory::dims& wei_dims) {
  if (bias_info_) {
    bias_ = ctx_.view(bias_md(), ctx_.params + bias_info_->offset);
    diff_bias_ = ctx_.view(bias_md(), ctx_.grads + bias_info_->offset);
  }
  diff_wei_master_ = ctx_.view(plain_md(wei_dims, Dt::f32), ctx_.grads + weight_->offset);
  diff_wei_ = diff_wei_md == diff_wei_master_.get_desc() ? diff_wei_master_ : ctx_.fresh(diff_wei_md);
}

void WeightedOp::allocate(const memory& in, const memory& din) {
  in_ = in;
  din_ = din;
  if (!fuse_relu_) out = ctx_.fresh(out_md_);
  dout = ctx_.fresh(out_md_);
  if (src_md_ != in_md_) {
    src_ = ctx_.fresh(src_md_);
    dsrc_ = ctx_.fresh(src_md_);
  }
}

std::unordered_map<int, memory> WeightedOp::forward_args(const memory& dst) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, source()}, {DNNL_ARG_WEIGHTS, weights(wei_md_)}, {DNNL_ARG_DST, dst}};
  if (bias_) args[DNNL_ARG_BIAS] = bias_;
  return args;
}

void WeightedOp::forward() {
  stage_source();
  ctx_.exec(fwd_, forward_args(destination()));
}

void WeightedOp::backward_params() {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, source()}, {DNNL_ARG_DIFF_DST, dout}, {DNNL_ARG_DIFF_WEIGHTS, diff_wei_}};
  if (diff_bias_) args[DNNL_ARG_DIFF_BIAS] = diff_bias_;
  ctx_.exec(bwd_weights_, args);
  ctx_.reorder(diff_wei_, diff_wei_master_);
}

void WeightedOp::backward_data() {
  const memory& dsrc = src_ ? dsrc_ : din_;
  ctx_.exec(bwd_data_, {{DNNL_ARG_DIFF_DST, dout},
                        {DNNL_ARG_WEIGHTS, copies_.get(ctx_, ctx_.params + weight_->offset, bwd_wei_md_)},
                        {DNNL_ARG_DIFF_SRC, dsrc}});
  if (src_) ctx_.reorder(dsrc, din_);
}

memory WeightedOp::output_without_relu() {
  if (!inspect_) inspect_ = make_inference_forward(bias_ ? bias_.get_desc() : memory::desc());
  memory result = ctx_.fresh(out_md_);
  ctx_.exec(inspect_, forward_args(result));
  return result;
}

}  // namespace alexnet::onednn
