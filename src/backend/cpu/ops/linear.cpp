#include "backend/cpu/ops/linear.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "tensor/bf16.h"

namespace alexnet::onednn {

namespace {

// Which primitive a Linear runs on. ALEXNET_ONEDNN_LINEAR=matmul|inner_product forces one (for
// measuring them against each other); otherwise linear_prefers_matmul() decides.
enum class FcPrimitive { Auto, Matmul, InnerProduct };

FcPrimitive forced_primitive() {
  const char* v = std::getenv("ALEXNET_ONEDNN_LINEAR");
  if (!v || !*v) return FcPrimitive::Auto;
  if (!std::strcmp(v, "matmul")) return FcPrimitive::Matmul;
  if (!std::strcmp(v, "inner_product")) return FcPrimitive::InnerProduct;
  fail("ALEXNET_ONEDNN_LINEAR=", v, ": expected matmul or inner_product");
  return FcPrimitive::Auto;
}

// The measured rule (docs/cpu-backend.md, "Fully connected layers"): matmul everywhere it has an
// optimised implementation; oneDNN 2.6's inner product was not faster at any measured shape.
bool linear_prefers_matmul(int64_t /*n*/, int64_t /*in*/, int64_t /*out*/, Dt /*dt*/) { return true; }

// db[j] = sum over i of dy[i, j], dy plain [n, out] in fp32 or bf16; fp32 sums. Threads only where
// there is enough to share (a parallel region costs more than fc8's 640 additions).
template <typename T>
void column_sums(const T* dy, int64_t n, int64_t out, float* db) {
  constexpr int64_t kChunk = 64;
#pragma omp parallel for schedule(static) if (n * out >= (int64_t(1) << 16))
  for (int64_t j0 = 0; j0 < out; j0 += kChunk) {
    const int64_t m = std::min(kChunk, out - j0);
    float acc[kChunk] = {};
    for (int64_t i = 0; i < n; ++i) {
      const T* row = dy + i * out + j0;
      for (int64_t j = 0; j < m; ++j) {
        if constexpr (std::is_same_v<T, float>)
          acc[j] += row[j];
        else
          acc[j] += bf16_to_float(row[j]);
      }
    }
    for (int64_t j = 0; j < m; ++j) db[j0 + j] = acc[j];
  }
}

class LinearOp final : public WeightedOp {
 public:
  LinearOp(const Context& ctx, const OpShape& shape, const Linear& op, WeightCopies& copies, const ParamInfo* weight,
           const ParamInfo* bias, bool fuse_relu)
      : WeightedOp(ctx, shape, copies, weight, bias, fuse_relu), op_(op) {}
  memory::desc plan(const memory::desc& in) override;
  void allocate(const memory& in, const memory& din) override;
  void backward_params() override;
  void backward_data() override;

 private:
  dnnl::primitive make_inference_forward(const memory::desc& bias_md) const override;
  std::unordered_map<int, memory> forward_args(const memory& dst) override;
  void plan_inner_product(const memory::dims& src_d);
  bool plan_matmul(const memory::dims& src_d);  // false where only a reference implementation exists

  Linear op_;
  bool matmul_ = false;
  // matmul: x [N, in] plain, W [out, in] plain (the master layout; bf16: a converted copy), Wᵀ
  // {in, out} read from W's bytes (strides {1, in}), dyᵀ {out, N} from dy's bytes, bias {1, out}.
  memory::desc x_md_, w_md_, wt_md_, dyt_md_, bias2_md_;
  memory x_, dx_, dyt_, bias2_;  // 2-D views of the source, its gradient, dout and the bias
};

memory::desc LinearOp::plan(const memory::desc& in) {
  const memory::dims src_d = in.is_zero() ? shape_.in_dims() : in.dims();
  const FcPrimitive forced = forced_primitive();
  const int64_t features = shape_.in.numel();
  const bool want_matmul = forced == FcPrimitive::Matmul ||
                           (forced == FcPrimitive::Auto &&
                            linear_prefers_matmul(shape_.n, features, op_.out_features, ctx_.dt));
  matmul_ = want_matmul && plan_matmul(src_d);
  if (!matmul_) plan_inner_product(src_d);
  in_md_ = in.is_zero() ? src_md_ : in;  // the first layer picks the net's input format
  return out_md_;
}

bool LinearOp::plan_matmul(const memory::dims& src_d) {
  const int64_t n = shape_.n, in = shape_.in.numel(), out = op_.out_features;
  const Dt dt = ctx_.dt;
  // The source in plain NCHW (or [N, F]) order, read as [N, in]: a view of the input when it is
  // plain already, else the input reordered (WeightedOp keeps that buffer).
  src_md_ = plain_md(src_d, dt);
  x_md_ = plain_md({n, in}, dt);
  w_md_ = plain_md({out, in}, dt);
  wt_md_ = ALEXNET_DNNL(memory::desc({in, out}, dt, Tag::ba));
  dyt_md_ = ALEXNET_DNNL(memory::desc({out, n}, dt, Tag::ba));
  bias2_md_ = has_bias() ? plain_md({1, out}, Dt::f32) : memory::desc();
  out_md_ = plain_md({n, out}, dt);
  const memory::desc dw_md = plain_md({out, in}, Dt::f32);
  // y = x · Wᵀ + b (ReLU post-op); dx = dy · W; dW = dyᵀ · x, fp32 straight into the gradient buffer.
  auto fpd = ALEXNET_DNNL(dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md_, wt_md_, bias2_md_, out_md_), post_ops(),
                                                       ctx_.engine));
  auto dpd = ALEXNET_DNNL(dnnl::matmul::primitive_desc(dnnl::matmul::desc(out_md_, w_md_, x_md_), ctx_.engine));
  auto wpd = ALEXNET_DNNL(dnnl::matmul::primitive_desc(dnnl::matmul::desc(dyt_md_, x_md_, dw_md), ctx_.engine));
  for (const char* impl : {fpd.impl_info_str(), dpd.impl_info_str(), wpd.impl_info_str()})
    if (is_reference_impl(impl)) return false;
  fwd_ = ALEXNET_DNNL(dnnl::matmul(fpd));
  bwd_data_ = ALEXNET_DNNL(dnnl::matmul(dpd));
  bwd_weights_ = ALEXNET_DNNL(dnnl::matmul(wpd));
  wei_md_ = bwd_wei_md_ = w_md_;
  set_param_views(dw_md, {out, in});
  return true;
}

void LinearOp::plan_inner_product(const memory::dims& src_d) {
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
}

void LinearOp::allocate(const memory& in, const memory& din) {
  WeightedOp::allocate(in, din);
  if (!matmul_) return;
  x_ = ctx_.view(x_md_, source().get_data_handle());
  dx_ = ctx_.view(x_md_, dsource().get_data_handle());
  dyt_ = ctx_.view(dyt_md_, dout.get_data_handle());
  if (bias()) bias2_ = ctx_.view(bias2_md_, bias().get_data_handle());
}

std::unordered_map<int, memory> LinearOp::forward_args(const memory& dst) {
  if (!matmul_) return WeightedOp::forward_args(dst);
  const memory w = weights(w_md_);  // the master itself in fp32, the bf16 copy in bf16
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, ctx_.view(wt_md_, w.get_data_handle())},
                                       {DNNL_ARG_DST, dst}};
  if (bias2_) args[DNNL_ARG_BIAS] = bias2_;
  return args;
}

void LinearOp::backward_params() {
  if (!matmul_) return WeightedOp::backward_params();
  ctx_.exec(bwd_weights_, {{DNNL_ARG_SRC, dyt_}, {DNNL_ARG_WEIGHTS, x_}, {DNNL_ARG_DST, diff_weights_master()}});
  if (!diff_bias()) return;
  ctx_.wait();
  float* db = static_cast<float*>(diff_bias().get_data_handle());
  if (ctx_.dt == Dt::f32)
    column_sums(static_cast<const float*>(dout.get_data_handle()), shape_.n, op_.out_features, db);
  else
    column_sums(static_cast<const bf16*>(dout.get_data_handle()), shape_.n, op_.out_features, db);
}

void LinearOp::backward_data() {
  if (!matmul_) return WeightedOp::backward_data();
  ctx_.exec(bwd_data_, {{DNNL_ARG_SRC, dout}, {DNNL_ARG_WEIGHTS, weights(w_md_)}, {DNNL_ARG_DST, dx_}});
  dsource_to_input_grad();
}

dnnl::primitive LinearOp::make_inference_forward(const memory::desc& bias_md) const {
  if (matmul_)
    return ALEXNET_DNNL(dnnl::matmul(dnnl::matmul::primitive_desc(
        dnnl::matmul::desc(x_md_, wt_md_, bias_md.is_zero() ? memory::desc() : bias2_md_, out_md_), ctx_.engine)));
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
