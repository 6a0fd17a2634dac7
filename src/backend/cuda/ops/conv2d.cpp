#include "backend/cuda/ops/conv2d.h"

#include <map>
#include <utility>

namespace alexnet::cuda {

bool conv_math_allowed(Precision precision, cudnnMathType_t m) {
  if (precision != Precision::F32) return true;
  return m != CUDNN_TENSOR_OP_MATH && m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

namespace {

// One convolution at one batch size: its descriptors and the algorithms chosen for them.
struct ConvCall {
  TensorDesc x, y;
  ConvDesc fwd_desc, data_desc, filter_desc;  // one per direction: each keeps its algorithm's math type
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t data{};
  cudnnConvolutionBwdFilterAlgo_t filter{};
};

class Conv2dOp final : public WeightedOp {
 public:
  Conv2dOp(const Context& ctx, const OpShape& shape, const Conv2d& op, size_t weight_at, size_t bias_at)
      : WeightedOp(ctx, shape, weight_at, bias_at),
        op_(op),
        cg_stored_(op.groups == 1 ? shape.in_c_stored : shape.in.c / op.groups) {}

  void allocate(const void* in, void* din) override {
    Op::allocate(in, din);
    const size_t wn = size_t(op_.out_channels) * op_.kernel * op_.kernel * cg_stored_;
    weight_ = DeviceMemory(wn * ctx_.esize);
    dweight_ = DeviceMemory(wn * ctx_.esize);
    filter_ = make_filter_desc();
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(filter_.get(), ctx_.cudnn_type(), CUDNN_TENSOR_NHWC, op_.out_channels,
                                           cg_stored_, op_.kernel, op_.kernel));
  }

  void plan(int n) override { call(n); }

  void refresh_weights() override {
    conv_weight_to_krsc(weight_.get(), ctx_.elem, ctx_.params + weight_at_, op_.out_channels,
                        op_.in_channels / op_.groups, cg_stored_, op_.kernel, op_.kernel, ctx_.stream);
  }

  void forward() override {
    const int n = ctx_.n;
    const ActShape& o = shape_.out;
    ConvCall& c = call(n);
    const float one = 1.f, zero = 0.f;
    CUDNN_CHECK(cudnnConvolutionForward(ctx_.cudnn, &one, c.x.get(), in_, filter_.get(), weight_.get(),
                                        c.fwd_desc.get(), c.fwd, ctx_.conv_workspace, ctx_.conv_workspace_bytes,
                                        &zero, c.y.get(), out.get()));
    bias_add(out.get(), relu_out_, ctx_.elem, bias(), int64_t(n) * o.h * o.w, o.c, ctx_.vector, ctx_.stream);
  }

  void backward_params() override {
    const int n = ctx_.n;
    const ActShape& o = shape_.out;
    ConvCall& c = call(n);
    column_sums(bias_grad(), dout.get(), ctx_.elem, int64_t(n) * o.h * o.w, o.c, ctx_.column_scratch, ctx_.stream);
    const float one = 1.f, zero = 0.f;
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx_.cudnn, &one, c.x.get(), in_, c.y.get(), dout.get(),
                                               c.filter_desc.get(), c.filter, ctx_.conv_workspace,
                                               ctx_.conv_workspace_bytes, &zero, filter_.get(), dweight_.get()));
    conv_grad_to_kcrs(weight_grad(), dweight_.get(), ctx_.elem, op_.out_channels, op_.in_channels / op_.groups,
                      cg_stored_, op_.kernel, op_.kernel, ctx_.stream);
  }

  void backward_data() override {
    ConvCall& c = call(ctx_.n);
    const float one = 1.f, zero = 0.f;
    CUDNN_CHECK(cudnnConvolutionBackwardData(ctx_.cudnn, &one, filter_.get(), weight_.get(), c.y.get(), dout.get(),
                                             c.data_desc.get(), c.data, ctx_.conv_workspace,
                                             ctx_.conv_workspace_bytes, &zero, c.x.get(), din_));
  }

 private:
  cudnnMathType_t requested_math() const {
    // CUDNN_DEFAULT_MATH lets cuDNN use TF32 on Ampere and later: strict fp32 must ask for FMA kernels.
    return ctx_.precision == Precision::F32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
  }
  bool math_allowed(cudnnMathType_t m) const { return conv_math_allowed(ctx_.precision, m); }
  void set_math(cudnnConvolutionDescriptor_t d, cudnnMathType_t chosen) const {
    if (ctx_.precision != Precision::F32) CUDNN_CHECK(cudnnSetConvolutionMathType(d, chosen));
  }

  ConvDesc make_conv() const {
    ConvDesc d = make_conv_desc();
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.get(), op_.padding, op_.padding, op_.stride, op_.stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.get(), op_.groups));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d.get(), requested_math()));
    return d;
  }

  // Picks the fastest result that succeeded, fits the workspace and respects the precision's math.
  template <class Perf>
  const Perf* pick(const Perf* results, int count, const char* what) const {
    for (int j = 0; j < count; ++j)
      if (results[j].status == CUDNN_STATUS_SUCCESS && results[j].memory <= ctx_.conv_workspace_bytes &&
          math_allowed(results[j].mathType))
        return &results[j];
    fail("cuDNN offers no ", what, " algorithm for ", shape_.name, " in ", precision_name(ctx_.precision), " within ",
         ctx_.conv_workspace_bytes >> 20, " MiB of workspace");
  }

  // The descriptors and algorithms at batch size n; measured (cudnnFind*Ex) on first use.
  // The search runs the candidate kernels on this layer's own buffers, so it happens before they hold
  // anything needed: at construction, or at the start of this layer's forward.
  ConvCall& call(int n) {
    if (auto it = calls_.find(n); it != calls_.end()) return it->second;
    const ActShape &in = shape_.in, &o = shape_.out;
    ConvCall c;
    c.x = make_tensor_desc();
    c.y = make_tensor_desc();
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(c.x.get(), CUDNN_TENSOR_NHWC, ctx_.cudnn_type(), n, shape_.in_c_stored,
                                           in.h, in.w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(c.y.get(), CUDNN_TENSOR_NHWC, ctx_.cudnn_type(), n, o.c, o.h, o.w));
    c.fwd_desc = make_conv();
    c.data_desc = make_conv();
    c.filter_desc = make_conv();
    int on = 0, oc = 0, oh = 0, ow = 0;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(c.fwd_desc.get(), c.x.get(), filter_.get(), &on, &oc, &oh, &ow));
    ALEXNET_ASSERT(on == n && oc == o.c && oh == o.h && ow == o.w, "cuDNN's output shape differs from the table's");

    constexpr int kMax = 16;
    int found = 0;
    void* ws = ctx_.conv_workspace;
    const size_t wsb = ctx_.conv_workspace_bytes;
    const void* x = in_;
    {
      cudnnConvolutionFwdAlgoPerf_t r[kMax];
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(ctx_.cudnn, c.x.get(), x, filter_.get(), weight_.get(),
                                                         c.fwd_desc.get(), c.y.get(), out.get(), kMax, &found, r, ws,
                                                         wsb));
      const auto* best = pick(r, found, "forward");
      c.fwd = best->algo;
      set_math(c.fwd_desc.get(), best->mathType);
    }
    {
      cudnnConvolutionBwdDataAlgoPerf_t r[kMax];
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(ctx_.cudnn, filter_.get(), weight_.get(), c.y.get(),
                                                              dout.get(), c.data_desc.get(), c.x.get(), din_, kMax,
                                                              &found, r, ws, wsb));
      const auto* best = pick(r, found, "backward-data");
      c.data = best->algo;
      set_math(c.data_desc.get(), best->mathType);
    }
    {
      cudnnConvolutionBwdFilterAlgoPerf_t r[kMax];
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(ctx_.cudnn, c.x.get(), x, c.y.get(), dout.get(),
                                                                c.filter_desc.get(), filter_.get(), dweight_.get(),
                                                                kMax, &found, r, ws, wsb));
      const auto* best = pick(r, found, "backward-filter");
      c.filter = best->algo;
      set_math(c.filter_desc.get(), best->mathType);
    }
    return calls_.emplace(n, std::move(c)).first->second;
  }

  Conv2d op_;
  int cg_stored_;                 // input channels per group as stored (padded for the net's first layer)
  DeviceMemory weight_, dweight_;  // compute-dtype [K, R, S, cg_stored_] copy of the weights and its gradient
  FilterDesc filter_;
  std::map<int, ConvCall> calls_;  // by batch size
};

}  // namespace

std::unique_ptr<Op> make_conv2d_op(const Context& ctx, const OpShape& shape, const Conv2d& op, size_t weight_at,
                                   size_t bias_at) {
  return std::make_unique<Conv2dOp>(ctx, shape, op, weight_at, bias_at);
}

}  // namespace alexnet::cuda
