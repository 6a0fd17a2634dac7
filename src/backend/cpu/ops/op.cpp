#include "backend/cpu/ops/op.h"

#include <string>

namespace alexnet::onednn {

namespace {

Tag plain_tag(size_t ndims) {
  switch (ndims) {
    case 1: return Tag::a;
    case 2: return Tag::ab;
    case 3: return Tag::abc;
    case 4: return Tag::abcd;
    case 5: return Tag::abcde;
  }
  ALEXNET_ASSERT(false, cat("no plain format for ", ndims, " dimensions"));
  return Tag::undef;
}

}  // namespace

memory::desc plain_md(const memory::dims& dims, Dt dt) { return ALEXNET_DNNL(memory::desc(dims, dt, plain_tag(dims.size()))); }
memory::desc any_md(const memory::dims& dims, Dt dt) { return ALEXNET_DNNL(memory::desc(dims, dt, Tag::any)); }
bool is_reference_impl(const char* impl_info) { return std::string(impl_info).rfind("ref", 0) == 0; }
bool is_jit_impl(const char* impl_info) { return std::string(impl_info).find("jit") != std::string::npos; }

void Context::reorder(const memory& src, const memory& dst) const {
  if (src.get_data_handle() == dst.get_data_handle() && src.get_desc() == dst.get_desc()) return;
  dnnl::reorder r = ALEXNET_DNNL(dnnl::reorder(src, dst));
  ALEXNET_DNNL(r.execute(stream, const_cast<memory&>(src), const_cast<memory&>(dst)));
}

memory::dims OpShape::in_dims() const {
  return in.flat ? memory::dims{n, in.c} : memory::dims{n, in.c, in.h, in.w};
}
memory::dims OpShape::out_dims() const {
  return out.flat ? memory::dims{n, out.c} : memory::dims{n, out.c, out.h, out.w};
}

memory WeightCopies::get(const Context& ctx, float* master_data, const memory::desc& md) {
  memory master = ctx.view(plain_md(md.dims(), Dt::f32), master_data);
  if (md == master.get_desc()) return master;
  Copy* copy = nullptr;
  for (Copy& c : copies_)
    if (c.mem.get_desc() == md) copy = &c;
  if (!copy) {
    copies_.push_back({ctx.fresh(md), ~uint64_t(0)});
    copy = &copies_.back();
  }
  if (copy->version != ctx.version) {
    ctx.reorder(master, copy->mem);
    copy->version = ctx.version;
  }
  return copy->mem;
}

memory::desc PlainLoopOp::plan(const memory::desc& in) {
  in_md_ = in;
  out_md_ = plain_md(shape_.out_dims(), ctx_.dt);
  return out_md_;
}

void PlainLoopOp::allocate(const memory& in, const memory& din) {
  in_ = in;
  din_ = din;
  const memory::desc in32 = plain_md(in_md_.dims(), Dt::f32), out32 = plain_md(out_md_.dims(), Dt::f32);
  out = ctx_.fresh(out_md_);
  dout = ctx_.fresh(out_md_);
  in_f32_ = in_md_ == in32 ? in : ctx_.fresh(in32);
  din_f32_ = in_md_ == in32 ? din : ctx_.fresh(in32);
  out_f32_ = out_md_ == out32 ? out : ctx_.fresh(out32);
  dout_f32_ = out_md_ == out32 ? dout : ctx_.fresh(out32);
}

void PlainLoopOp::forward() {
  ctx_.reorder(in_, in_f32_);
  ctx_.wait();
  loop_forward(static_cast<const float*>(in_f32_.get_data_handle()), static_cast<float*>(out_f32_.get_data_handle()));
  ctx_.reorder(out_f32_, out);
}

void PlainLoopOp::backward_data() {
  ctx_.reorder(dout, dout_f32_);
  ctx_.wait();
  loop_backward(static_cast<const float*>(in_f32_.get_data_handle()), static_cast<const float*>(dout_f32_.get_data_handle()),
                static_cast<float*>(din_f32_.get_data_handle()));
  ctx_.reorder(din_f32_, din_);
}

memory::desc IdentityOp::plan(const memory::desc& in) {
  in_md_ = out_md_ = in;
  return out_md_;
}

void IdentityOp::allocate(const memory& in, const memory& din) {
  in_ = out = in;
  din_ = dout = din;
}

memory::desc PoolingOp::plan(const memory::desc& in) {
  in_md_ = in;
  const ActShape& is = shape_.in;
  const ActShape& os = shape_.out;
  const Window& w = window_;
  // Right padding so that the output size is PyTorch's floor-mode size.
  const memory::dims strides{w.sh, w.sw}, kernel{w.kh, w.kw}, pl{w.pad, w.pad},
      pr{(os.h - 1) * w.sh + w.kh - is.h - w.pad, (os.w - 1) * w.sw + w.kw - is.w - w.pad};
  auto forward_pd = [&](const memory::desc& src) {
    auto fd = ALEXNET_DNNL(dnnl::pooling_forward::desc(prop_kind::forward_training, w.alg, src,
                                                       any_md(shape_.out_dims(), ctx_.dt), strides, kernel, pl, pr));
    return ALEXNET_DNNL(dnnl::pooling_forward::primitive_desc(fd, ctx_.engine));
  };
  // On plain NCHW oneDNN pools with a scalar C++ loop (`simple_nchw`: 230 ms for conv1's output at
  // batch 64 on AVX2, against 35 ms for its JIT kernel on a blocked copy); pooling a blocked copy
  // costs a reorder each way and gives the next convolution the blocked format it wants.
  auto fpd = forward_pd(in);
  src_md_ = in;
  if (!is_jit_impl(fpd.impl_info_str()) && !in.is_zero())
    for (const Tag tag : {Tag::nChw16c, Tag::nChw8c, Tag::nhwc}) {
      const memory::desc blocked = ALEXNET_DNNL(memory::desc(shape_.in_dims(), ctx_.dt, tag));
      auto candidate = forward_pd(blocked);
      if (!is_jit_impl(candidate.impl_info_str())) continue;
      fpd = candidate;
      src_md_ = blocked;
      break;
    }
  out_md_ = fpd.dst_desc();
  fwd_ = ALEXNET_DNNL(dnnl::pooling_forward(fpd));
  if (w.alg == algorithm::pooling_max) workspace_ = ctx_.fresh(fpd.workspace_desc());
  auto bd = ALEXNET_DNNL(dnnl::pooling_backward::desc(w.alg, src_md_, out_md_, strides, kernel, pl, pr));
  auto bpd = ALEXNET_DNNL(dnnl::pooling_backward::primitive_desc(bd, ctx_.engine, fpd));
  bwd_ = ALEXNET_DNNL(dnnl::pooling_backward(bpd));
  return out_md_;
}

void PoolingOp::allocate(const memory& in, const memory& din) {
  keep_input_fresh_output(in, din);
  src_ = src_md_ == in_md_ ? in : ctx_.fresh(src_md_);
  dsrc_ = src_md_ == in_md_ ? din : ctx_.fresh(src_md_);
}

void PoolingOp::forward() {
  ctx_.reorder(in_, src_);  // nothing when the pooling reads the input as it is
  if (workspace_)
    ctx_.exec(fwd_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, out}, {DNNL_ARG_WORKSPACE, workspace_}});
  else
    ctx_.exec(fwd_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, out}});
}

void PoolingOp::backward_data() {
  if (workspace_)
    ctx_.exec(bwd_, {{DNNL_ARG_DIFF_DST, dout}, {DNNL_ARG_WORKSPACE, workspace_}, {DNNL_ARG_DIFF_SRC, dsrc_}});
  else
    ctx_.exec(bwd_, {{DNNL_ARG_DIFF_DST, dout}, {DNNL_ARG_DIFF_SRC, dsrc_}});
  ctx_.reorder(dsrc_, din_);
}

}  // namespace alexnet::onednn
