// What Conv2d and Linear share on oneDNN: weights from the master buffer (WeightCopies), bias and
// gradient views into the master buffers, a source reorder when the primitive wants another format
// than it is given, the ReLU post-op when the net fuses the following ReLU, and the three passes.
// conv2d.cpp and linear.cpp only create the primitives (plan) and say how to rebuild the forward
// without the ReLU (for activation() of a fused layer).
#pragma once

#include "backend/cpu/ops/op.h"

namespace alexnet::onednn {

class WeightedOp : public Op {
 public:
  // `weight` (required) and `bias` (may be null) are the layer's entries of the parameter table.
  // `fuse_relu`: the next layer is a ReLU that runs as this layer's eltwise post-op.
  WeightedOp(const Context& ctx, const OpShape& shape, WeightCopies& copies, const ParamInfo* weight,
             const ParamInfo* bias, bool fuse_relu);

  bool picks_input_format() const override { return true; }
  void allocate(const memory& in, const memory& din) override;
  void forward() override;
  void backward_params() override;
  void backward_data() override;

  bool relu_fused() const { return fuse_relu_; }
  // The fused ReLU's output buffer, which forward() writes (this op's own `out` stays empty).
  void set_relu_output(const memory& relu_out) { relu_out_ = relu_out; }
  // This layer's output before the fused ReLU, computed again from the saved input and the weights
  // of the last forward (the net checks that they have not changed since).
  memory output_without_relu();

 protected:
  virtual dnnl::primitive make_inference_forward(const memory::desc& bias_md) const = 0;
  dnnl::primitive_attr post_ops() const;  // the ReLU when fused, else nothing
  memory::desc bias_md() const;           // fp32 [out], or empty without a bias
  // After plan(): the bias and gradient views, and a weight-gradient buffer when the backward-weights
  // primitive's format is not the plain master format `wei_dims`.
  void set_param_views(const memory::desc& diff_wei_md, const memory::dims& wei_dims);
  const memory& source() const { return src_ ? src_ : in_; }
  void stage_source() { if (src_) ctx_.reorder(in_, src_); }  // the input in src_md_, for forward
  const memory& destination() const { return fuse_relu_ ? relu_out_ : out; }  // what forward writes
  const memory& dsource() const { return src_ ? dsrc_ : din_; }  // the input's gradient in src_md_
  void dsource_to_input_grad() { if (src_) ctx_.reorder(dsrc_, din_); }
  // The forward's arguments with destination `dst` (forward() and output_without_relu()). By default
  // the source, the weights in wei_md_ and the bias; an op whose primitive reads them otherwise
  // (views of other shapes) says so here.
  virtual std::unordered_map<int, memory> forward_args(const memory& dst);
  memory weights(const memory::desc& md) { return copies_.get(ctx_, ctx_.params + weight_->offset, md); }
  const float* master_weights() const { return ctx_.params + weight_->offset; }  // fp32, plain
  const memory& bias() const { return bias_; }
  const memory& diff_bias() const { return diff_bias_; }
  const memory& diff_weights_master() const { return diff_wei_master_; }
  bool has_bias() const { return bias_info_ != nullptr; }

  memory::desc src_md_, wei_md_, bwd_wei_md_;  // src_md_: the format fwd reads (may differ from the input's)
  dnnl::primitive fwd_, bwd_data_, bwd_weights_;

 private:
  WeightCopies& copies_;
  const ParamInfo* weight_;
  const ParamInfo* bias_info_;
  bool fuse_relu_;
  memory src_, dsrc_;                   // the input (and its gradient) in src_md_, when that differs
  memory bias_, diff_bias_;             // views into the master and gradient buffers
  memory diff_wei_, diff_wei_master_;   // the weight gradient in the primitive's format; view into grads
  memory relu_out_;                     // fused: the ReLU's output
  dnnl::primitive inspect_;             // fused: the forward without the ReLU (made on first use)
};

}  // namespace alexnet::onednn
