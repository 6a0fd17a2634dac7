#include "backend/cpu/ops/conv2d.h"

#include "backend/cpu/ops/conv2d_winograd.h"

namespace alexnet::onednn {

namespace {

class Conv2dOp final : public WeightedOp {
 public:
  Conv2dOp(const Context& ctx, const OpShape& shape, const Conv2d& op, WeightCopies& copies, const ParamInfo* weight,
           const ParamInfo* bias, bool fuse_relu)
      : WeightedOp(ctx, shape, copies, weight, bias, fuse_relu), op_(op) {}
  memory::desc plan(const memory::desc& in) override;
  void forward() override;
  void backward_params() override;
  void backward_data() override;

 private:
  dnnl::primitive make_inference_forward(const memory::desc& bias_md) const override;
  Conv2d op_;
  memory::dims strides_, pad_l_, pad_r_;
  std::unique_ptr<Winograd> winograd_;  // 3x3 and 5x5 layers where Winograd serves (conv2d_winograd.h)
};

memory::desc Conv2dOp::plan(const memory::desc& in) {
  const int n = shape_.n;
  const ActShape& is = shape_.in;
  const ActShape& os = shape_.out;
  const int G = op_.groups, K = op_.out_channels, C = op_.in_channels, R = op_.kernel;
  const memory::dims src_d{n, C, is.h, is.w}, dst_d{n, K, os.h, os.w};
  const memory::dims wei_d = G > 1 ? memory::dims{G, K / G, C / G, R, R} : memory::dims{K, C, R, R};
  strides_ = {op_.stride, op_.stride};
  pad_l_ = {op_.padding, op_.padding};
  // Right padding so that the output size is PyTorch's floor-mode size.
  pad_r_ = {(os.h - 1) * op_.stride + R - is.h - op_.padding, (os.w - 1) * op_.stride + R - is.w - op_.padding};
  const memory::desc bias = bias_md();
  const dnnl::primitive_attr attr = post_ops();
  // Activations in the formats oneDNN prefers; but when that choice leaves the backward passes to
  // oneDNN's reference kernels (channel counts like 12 that its blocked kernels do not take), fix the
  // activations to NHWC instead, which its optimised kernels accept for any count.
  dnnl::convolution_forward::primitive_desc fpd;
  dnnl::convolution_backward_data::primitive_desc bdpd;
  dnnl::convolution_backward_weights::primitive_desc bwpd;
  // Winograd for the 3x3 and 5x5 layers where it serves: activations in the nChw8c it reads and
  // writes. It computes all three passes; oneDNN's direct primitives below still fix the formats and
  // serve output_without_relu().
  const bool avx512 = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
  const bool winograd = Winograd::serves(C, K, R, op_.stride, op_.padding, G, ctx_.dt == Dt::f32, avx512) &&
                        is.h == os.h && is.w == os.w;
  const std::vector<Tag> formats = winograd ? std::vector<Tag>{Tag::nChw8c} : std::vector<Tag>{Tag::any, Tag::nhwc};
  for (const Tag act : formats) {
    const memory::desc src_md = ALEXNET_DNNL(memory::desc(src_d, ctx_.dt, act));
    const memory::desc dst_md = ALEXNET_DNNL(memory::desc(dst_d, ctx_.dt, act));
    auto fd = ALEXNET_DNNL(dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                           src_md, any_md(wei_d, ctx_.dt), bias, dst_md, strides_,
                                                           pad_l_, pad_r_));
    fpd = ALEXNET_DNNL(dnnl::convolution_forward::primitive_desc(fd, attr, ctx_.engine));
    auto bdd = ALEXNET_DNNL(dnnl::convolution_backward_data::desc(algorithm::convolution_direct, fpd.src_desc(),
                                                                  any_md(wei_d, ctx_.dt), fpd.dst_desc(), strides_,
                                                                  pad_l_, pad_r_));
    bdpd = ALEXNET_DNNL(dnnl::convolution_backward_data::primitive_desc(bdd, ctx_.engine, fpd));
    auto bwd = ALEXNET_DNNL(dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, fpd.src_desc(),
                                                                     any_md(wei_d, Dt::f32), bias, fpd.dst_desc(),
                                                                     strides_, pad_l_, pad_r_));
    bwpd = ALEXNET_DNNL(dnnl::convolution_backward_weights::primitive_desc(bwd, ctx_.engine, fpd));
    if (!is_reference_impl(bdpd.impl_info_str()) && !is_reference_impl(bwpd.impl_info_str())) break;
  }
  src_md_ = fpd.src_desc();
  wei_md_ = fpd.weights_desc();
  out_md_ = fpd.dst_desc();
  fwd_ = ALEXNET_DNNL(dnnl::convolution_forward(fpd));
  bwd_wei_md_ = bdpd.weights_desc();
  bwd_data_ = ALEXNET_DNNL(dnnl::convolution_backward_data(bdpd));
  bwd_weights_ = ALEXNET_DNNL(dnnl::convolution_backward_weights(bwpd));
  set_param_views(bwpd.diff_weights_desc(), wei_d);
  in_md_ = in.is_zero() ? src_md_ : in;  // the first layer picks the net's input format
  if (winograd) winograd_ = std::make_unique<Winograd>(ctx_.engine, n, C, K, os.h, os.w, R, Winograd::tile_for(R));
  return out_md_;
}

void Conv2dOp::forward() {
  if (!winograd_) return WeightedOp::forward();
  stage_source();
  ctx_.wait();
  winograd_->forward(ctx_.stream, static_cast<const float*>(source().get_data_handle()), master_weights(), ctx_.version,
                     has_bias() ? static_cast<const float*>(bias().get_data_handle()) : nullptr, relu_fused(),
                     static_cast<float*>(destination().get_data_handle()), shape_.n);
}

void Conv2dOp::backward_params() {
  if (!winograd_) return WeightedOp::backward_params();
  ctx_.wait();
  winograd_->backward_weights(ctx_.stream, static_cast<const float*>(source().get_data_handle()),
                              static_cast<const float*>(dout.get_data_handle()),
                              static_cast<float*>(diff_weights_master().get_data_handle()),
                              has_bias() ? static_cast<float*>(diff_bias().get_data_handle()) : nullptr, shape_.n);
}

void Conv2dOp::backward_data() {
  if (!winograd_) return WeightedOp::backward_data();
  ctx_.wait();
  winograd_->backward_data(ctx_.stream, static_cast<const float*>(dout.get_data_handle()), master_weights(),
                           ctx_.version, static_cast<float*>(dsource().get_data_handle()), shape_.n);
  dsource_to_input_grad();
}

dnnl::primitive Conv2dOp::make_inference_forward(const memory::desc& bias_md) const {
  auto d = ALEXNET_DNNL(dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                                        src_md_, wei_md_, bias_md, out_md_, strides_, pad_l_, pad_r_));
  return ALEXNET_DNNL(dnnl::convolution_forward(dnnl::convolution_forward::primitive_desc(d, ctx_.engine)));
}

}  // namespace

std::unique_ptr<WeightedOp> make_conv2d_op(const Context& ctx, const OpShape& shape, const Conv2d& op,
                                            WeightCopies& copies, const ParamInfo* weight, const ParamInfo* bias,
                                            bool fuse_relu) {
  return std::make_unique<Conv2dOp>(ctx, shape, op, copies, weight, bias, fuse_relu);
}

}  // namespace alexnet::onednn
