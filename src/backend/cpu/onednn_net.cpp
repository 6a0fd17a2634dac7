// The oneDNN CPU backend. See docs/cpu-backend.md for the design and the measured speed.
//
// Per batch size a Plan holds every primitive and activation buffer, created once. Activations stay
// in the formats oneDNN prefers (blocked, bf16 under Precision::BF16) from layer to layer; reorders
// happen only at the net input, at Flatten, around the plain-loop layers (dropout, uneven adaptive
// pooling, even-sized LRN) and when the user asks for a tensor. A ReLU that follows a convolution or
// linear layer runs as that layer's post-op; its backward is eltwise_relu_use_dst_for_bwd on the
// fused output.
//
// Parameters: one fp32 master buffer laid out by the ParamTable (plain OIHW / [out, in]). Each
// layer's compute copy of its weights (the format the primitive wants, bf16 under BF16) is refreshed
// lazily, once per parameter version (set_params and sgd_step bump it). Weight gradients are
// computed in fp32 (also under BF16) and land in the fp32 gradient buffer, directly when the
// primitive's preferred format is plain, through one reorder otherwise.
#include "backend/cpu/onednn_net.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "backend/cpu/dnnl_check.h"
#include "nn/adaptive_avgpool2d.h"
#include "nn/cross_entropy.h"
#include "nn/dropout.h"
#include "nn/lrn.h"
#include "train/sgd.h"

namespace alexnet {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using Dt = memory::data_type;
using Tag = memory::format_tag;

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

memory::desc plain_md(const memory::dims& dims, Dt dt) { return ALEXNET_DNNL(memory::desc(dims, dt, plain_tag(dims.size()))); }
memory::desc any_md(const memory::dims& dims, Dt dt) { return ALEXNET_DNNL(memory::desc(dims, dt, Tag::any)); }

enum class Kind { Conv, Linear, Relu, MaxPool, AvgPool, Lrn, Dropout, Flatten, Identity, Fallback };

// What a layer is, independent of the batch size.
struct LayerInfo {
  Kind kind = Kind::Identity;
  bool fuse_relu = false;     // Conv/Linear: the following ReLU runs as this layer's post-op
  bool relu_fused = false;    // Relu: its forward ran inside the layer before
  const ParamInfo* weight = nullptr;
  const ParamInfo* bias = nullptr;
  // Compute copies of the weights, one per format a primitive asked for.
  struct Copy {
    memory mem;
    uint64_t version = ~uint64_t(0);
  };
  std::vector<Copy> copies;
};

// One layer's primitives and buffers for one batch size. `act` is the layer's output in `out_md`,
// `dact` its gradient in the same format.
struct LayerExec {
  memory::desc out_md;
  memory act, dact;  // act is empty for a Conv/Linear whose ReLU is fused (its output is the ReLU's)
  dnnl::primitive fwd, bwd_data, bwd_weights;  // Relu/pooling/LRN: fwd and bwd_data
  // Conv/Linear
  memory::desc src_md, wei_md, bwd_wei_md;  // src_md: the format fwd reads (may differ from the input's)
  memory src, dsrc;                          // the input (and its gradient) in src_md, when that differs
  memory bias, diff_bias;                    // views into the master and gradient buffers
  memory diff_wei;                           // the weight gradient in the primitive's format
  memory diff_wei_master;                    // view into the gradient buffer
  memory::dims strides, pad_l, pad_r;        // Conv geometry
  dnnl::primitive inspect;                   // fused layers: the same layer without the ReLU (lazy)
  // Pooling, LRN
  memory workspace;
  // Plain-loop layers: fp32 plain views or copies of input, output and their gradients
  memory in_f32, out_f32, din_f32, dout_f32;
  std::vector<float> lrn_scale;
  // Flatten: plain 4-D views of the output and its gradient, when the input is not plain
  memory out_4d, dout_4d;
};

struct Plan {
  int n = 0;
  memory::desc input_md;
  memory input, dinput;
  std::vector<LayerExec> layers;
  memory logits_f32, dlogits_f32;  // [n, classes], views of the last layer's buffers when fp32 plain
};

bool same(const memory::desc& a, const memory::desc& b) { return a == b; }

class OneDnnNet final : public Net {
 public:
  OneDnnNet(const NetSpec& spec, const BuildOptions& options)
      : Net(spec, options), engine_(ALEXNET_DNNL(dnnl::engine(dnnl::engine::kind::cpu, 0))),
        stream_(ALEXNET_DNNL(dnnl::stream(engine_))) {
    if (options.precision == Precision::TF32) fail("the oneDNN backend computes in fp32 or bf16 (tf32 is CUDA only)");
    dt_ = options.precision == Precision::BF16 ? Dt::bf16 : Dt::f32;
    params_ = Tensor(DType::F32, {int64_t(table_.total)});
    grads_ = Tensor(DType::F32, {int64_t(table_.total)});
    momentum_ = Tensor(DType::F32, {int64_t(table_.total)});
    const size_t L = spec_.layers.size();
    if (L == 0) fail("the network '", spec_.variant, "' has no layers");
    info_.resize(L);
    for (size_t i = 0; i < L; ++i) {
      const Layer& layer = spec_.layers[i];
      LayerInfo& li = info_[i];
      const ActShape& in = input_shape(int(i));
      std::visit(
          [&](const auto& op) {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, Conv2d>) li.kind = Kind::Conv;
            else if constexpr (std::is_same_v<T, Linear>) li.kind = Kind::Linear;
            else if constexpr (std::is_same_v<T, ReLU>) li.kind = Kind::Relu;
            else if constexpr (std::is_same_v<T, MaxPool2d>) li.kind = Kind::MaxPool;
            else if constexpr (std::is_same_v<T, LocalResponseNorm>) li.kind = op.size % 2 ? Kind::Lrn : Kind::Fallback;
            else if constexpr (std::is_same_v<T, Dropout>) li.kind = Kind::Dropout;
            else if constexpr (std::is_same_v<T, Flatten>) li.kind = in.flat ? Kind::Identity : Kind::Flatten;
            else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
              if (op.out_h == in.h && op.out_w == in.w) li.kind = Kind::Identity;
              else if (in.h % op.out_h == 0 && in.w % op.out_w == 0) li.kind = Kind::AvgPool;
              else li.kind = Kind::Fallback;
            }
          },
          layer.op);
      if (li.kind == Kind::Conv || li.kind == Kind::Linear) {
        li.weight = table_.find(layer.name + ".weight");
        li.bias = table_.find(layer.name + ".bias");
        ALEXNET_ASSERT(li.weight, layer.name + ": no weight in the parameter table");
      }
      if (li.kind == Kind::Relu && i > 0 && (info_[i - 1].kind == Kind::Conv || info_[i - 1].kind == Kind::Linear)) {
        info_[i - 1].fuse_relu = true;
        li.relu_fused = true;
      }
    }
    plan(options_.max_batch);
  }

  BackendKind backend() const override { return BackendKind::OneDNN; }

  void set_params(std::span<const float> host) override {
    copy_in(params_, host);
    ++version_;
  }
  void get_params(std::span<float> host) const override { copy_out(params_, host); }
  void get_grads(std::span<float> host) const override { copy_out(grads_, host); }
  void set_grads(std::span<const float> host) override { copy_in(grads_, host); }
  std::span<float> host_grads() override { return grads_.span<float>(); }
  void set_momentum(std::span<const float> host) override {
    copy_in(momentum_, host);
    momentum_ready_ = true;
  }
  void get_momentum(std::span<float> host) const override { copy_out(momentum_, host); }

  void forward(const float* input, int n, Mode mode, uint64_t step) override {
    if (n < 1 || n > options_.max_batch) fail("batch of ", n, " samples; this network was built for 1..", options_.max_batch);
    Plan& p = plan(n);
    cur_ = &p;
    mode_ = mode;
    step_ = step;
    backward_done_ = false;
    input_grad_ready_ = false;
    forward_version_ = version_;
    const ActShape& s = input_shape(0);
    memory user(plain_md({n, s.c, s.h, s.w}, Dt::f32), engine_, const_cast<float*>(input));  // read only
    reorder(user, p.input);
    for (size_t i = 0; i < p.layers.size(); ++i) forward_layer(p, int(i));
    ALEXNET_DNNL(stream_.wait());
  }

  void get_logits(float* host) const override {
    const Plan& p = current();
    reorder(p.layers.back().act, p.logits_f32);
    ALEXNET_DNNL(stream_.wait());
    std::memcpy(host, p.logits_f32.get_data_handle(), size_t(p.n) * spec_.num_classes * sizeof(float));
  }

  float backward(const int64_t* labels) override {
    if (!cur_ || mode_ != Mode::Train) fail("backward() needs a forward pass in training mode first");
    Plan& p = *cur_;
    const int C = spec_.num_classes;
    for (int i = 0; i < p.n; ++i)
      if (labels[i] < 0 || labels[i] >= C) fail("label ", labels[i], " out of range [0, ", C, ")");
    reorder(p.layers.back().act, p.logits_f32);
    ALEXNET_DNNL(stream_.wait());
    const float loss = softmax_cross_entropy(static_cast<float*>(p.dlogits_f32.get_data_handle()),
                                             static_cast<const float*>(p.logits_f32.get_data_handle()), labels, p.n,
                                             C, options_.label_smoothing);
    reorder(p.dlogits_f32, p.layers.back().dact);
    for (int i = int(p.layers.size()) - 1; i >= 0; --i) {
      backward_weights(p, i);
      if (i > 0) backward_data(p, i);
    }
    ALEXNET_DNNL(stream_.wait());
    backward_done_ = true;
    return loss;
  }

  void sgd_step(const SgdOptions& sgd, float lr) override {
    sgd_update(params_.span<float>(), grads_.span<float>(), momentum_.span<float>(), !momentum_ready_, sgd, lr);
    momentum_ready_ = true;
    ++version_;
  }

  Tensor activation(int layer) const override {
    const Plan& p = current();
    check_layer(layer);
    const LayerExec& e = p.layers[size_t(layer)];
    if (e.act) return to_host(e.act, shapes_[size_t(layer)]);
    // A fused Conv/Linear: its own output (before the ReLU) is not kept; compute it again.
    auto* self = const_cast<OneDnnNet*>(this);
    return self->pre_relu_output(*const_cast<Plan*>(&p), layer);
  }

  Tensor activation_grad(int layer) const override {
    const Plan& p = current();
    check_layer(layer);
    if (!backward_done_) fail("no gradients yet: run backward() first");
    return to_host(p.layers[size_t(layer)].dact, shapes_[size_t(layer)]);
  }

  Tensor input_grad() const override {
    const Plan& p = current();
    if (!backward_done_) fail("no gradients yet: run backward() first");
    if (!input_grad_ready_) {
      // The first layer's data gradient is only computed when asked for (training never needs it),
      // from the weights of the last forward pass.
      if (version_ != forward_version_)
        fail("input_grad() must be read before sgd_step() or set_params() on the oneDNN backend");
      auto* self = const_cast<OneDnnNet*>(this);
      self->backward_data(*const_cast<Plan*>(&p), 0);
      ALEXNET_DNNL(stream_.wait());
      self->input_grad_ready_ = true;
    }
    return to_host(p.dinput, input_shape(0));
  }

 private:
  ActShape input_shape(int layer) const {
    return layer > 0 ? shapes_[size_t(layer - 1)] : ActShape{spec_.in_channels, spec_.input_size, spec_.input_size};
  }

  memory::dims dims_of(const ActShape& s, int n) const {
    return s.flat ? memory::dims{n, s.c} : memory::dims{n, s.c, s.h, s.w};
  }

  const Plan& current() const {
    if (!cur_) fail("no forward pass yet");
    return *cur_;
  }
  void check_layer(int layer) const {
    if (layer < 0 || size_t(layer) >= spec_.layers.size())
      fail("layer ", layer, " out of range [0, ", spec_.layers.size(), ")");
  }

  float* param_ptr(const ParamInfo* pi) { return params_.data<float>() + pi->offset; }
  float* grad_ptr(const ParamInfo* pi) { return grads_.data<float>() + pi->offset; }

  void reorder(const memory& src, const memory& dst) const {
    if (src.get_data_handle() == dst.get_data_handle() && same(src.get_desc(), dst.get_desc())) return;
    dnnl::reorder r = ALEXNET_DNNL(dnnl::reorder(src, dst));
    ALEXNET_DNNL(r.execute(stream_, const_cast<memory&>(src), const_cast<memory&>(dst)));
  }

  Tensor to_host(const memory& m, const ActShape& s) const {
    const int n = current().n;
    Tensor t(DType::F32, s.flat ? Shape{n, s.c} : Shape{n, s.c, s.h, s.w});
    memory host(plain_md(m.get_desc().dims(), Dt::f32), engine_, t.data<float>());
    reorder(m, host);
    ALEXNET_DNNL(stream_.wait());
    return t;
  }

  // The layer's weights in format `md`, reordered from the master buffer when the parameters changed
  // since the last copy. A plain fp32 format is the master buffer itself.
  memory weights(int layer, const memory::desc& md) {
    LayerInfo& li = info_[size_t(layer)];
    memory master(plain_md(md.dims(), Dt::f32), engine_, param_ptr(li.weight));
    if (same(md, master.get_desc())) return master;
    LayerInfo::Copy* copy = nullptr;
    for (LayerInfo::Copy& c : li.copies)
      if (same(c.mem.get_desc(), md)) copy = &c;
    if (!copy) {
      li.copies.push_back({ALEXNET_DNNL(memory(md, engine_)), ~uint64_t(0)});
      copy = &li.copies.back();
    }
    if (copy->version != version_) {
      reorder(master, copy->mem);
      copy->version = version_;
    }
    return copy->mem;
  }

  // ---------------------------------------------------------------- building a plan for batch n
  Plan& plan(int n) {
    auto it = plans_.find(n);
    if (it != plans_.end()) return *it->second;
    auto p = std::make_unique<Plan>();
    p->n = n;
    const size_t L = spec_.layers.size();
    p->layers.resize(L);
    const ActShape& s0 = input_shape(0);
    p->input_md = plain_md({n, s0.c, s0.h, s0.w}, dt_);
    if (info_[0].kind == Kind::Conv || info_[0].kind == Kind::Linear) {
      build_layer(*p, 0, /*input_md_free=*/true);
    }
    p->input = ALEXNET_DNNL(memory(p->input_md, engine_));
    p->dinput = ALEXNET_DNNL(memory(p->input_md, engine_));
    for (size_t i = 0; i < L; ++i)
      if (!(i == 0 && (info_[0].kind == Kind::Conv || info_[0].kind == Kind::Linear))) build_layer(*p, int(i), false);
    for (size_t i = 0; i < L; ++i) allocate_layer(*p, int(i));
    LayerExec& last = p->layers.back();
    if (shapes_.back().numel() != spec_.num_classes)
      fail("the last layer of '", spec_.variant, "' produces ", shapes_.back().numel(), " values per sample, not ",
           spec_.num_classes, " logits");
    const memory::desc logits_md = plain_md(last.out_md.dims(), Dt::f32);
    if (same(last.out_md, logits_md)) {
      p->logits_f32 = last.act;
      p->dlogits_f32 = last.dact;
    } else {
      p->logits_f32 = ALEXNET_DNNL(memory(logits_md, engine_));
      p->dlogits_f32 = ALEXNET_DNNL(memory(logits_md, engine_));
    }
    Plan& ref = *p;
    plans_[n] = std::move(p);
    return ref;
  }

  const memory::desc& in_md(const Plan& p, int i) const { return i ? p.layers[size_t(i - 1)].out_md : p.input_md; }
  memory& in_mem(Plan& p, int i) { return i ? p.layers[size_t(i - 1)].act : p.input; }
  memory& din_mem(Plan& p, int i) { return i ? p.layers[size_t(i - 1)].dact : p.dinput; }

  // Creates layer i's primitives and decides its output format. `free_input`: layer 0 may choose the
  // net's input format.
  void build_layer(Plan& p, int i, bool free_input) {
    const Layer& layer = spec_.layers[size_t(i)];
    LayerInfo& li = info_[size_t(i)];
    LayerExec& e = p.layers[size_t(i)];
    const int n = p.n;
    const ActShape& is = input_shape(i);
    const ActShape& os = shapes_[size_t(i)];
    const memory::desc inmd = free_input ? memory::desc() : in_md(p, i);
    dnnl::primitive_attr attr;
    if (li.fuse_relu) {
      dnnl::post_ops ops;
      ALEXNET_DNNL(ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f));
      ALEXNET_DNNL(attr.set_post_ops(ops));
    }
    switch (li.kind) {
      case Kind::Conv: {
        const Conv2d& op = std::get<Conv2d>(layer.op);
        const int G = op.groups, K = op.out_channels, C = op.in_channels, R = op.kernel;
        const memory::dims src_d{n, C, is.h, is.w}, dst_d{n, K, os.h, os.w};
        const memory::dims wei_d = G > 1 ? memory::dims{G, K / G, C / G, R, R} : memory::dims{K, C, R, R};
        e.strides = {op.stride, op.stride};
        e.pad_l = {op.padding, op.padding};
        e.pad_r = {(os.h - 1) * op.stride + R - is.h - op.padding, (os.w - 1) * op.stride + R - is.w - op.padding};
        const memory::desc bias_md = li.bias ? plain_md({K}, Dt::f32) : memory::desc();
        // Activations in the formats oneDNN prefers; but when that choice leaves the backward passes to
        // oneDNN's reference kernels (channel counts like 12 that its blocked kernels do not take),
        // fix the activations to NHWC instead, which its optimised kernels accept for any count.
        dnnl::convolution_forward::primitive_desc fpd;
        dnnl::convolution_backward_data::primitive_desc bdpd;
        dnnl::convolution_backward_weights::primitive_desc bwpd;
        for (const Tag act : {Tag::any, Tag::nhwc}) {
          const memory::desc src_md = ALEXNET_DNNL(memory::desc(src_d, dt_, act));
          const memory::desc dst_md = ALEXNET_DNNL(memory::desc(dst_d, dt_, act));
          auto fd = ALEXNET_DNNL(dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                                 src_md, any_md(wei_d, dt_), bias_md, dst_md, e.strides,
                                                                 e.pad_l, e.pad_r));
          fpd = ALEXNET_DNNL(dnnl::convolution_forward::primitive_desc(fd, attr, engine_));
          auto bdd = ALEXNET_DNNL(dnnl::convolution_backward_data::desc(algorithm::convolution_direct, fpd.src_desc(),
                                                                        any_md(wei_d, dt_), fpd.dst_desc(), e.strides,
                                                                        e.pad_l, e.pad_r));
          bdpd = ALEXNET_DNNL(dnnl::convolution_backward_data::primitive_desc(bdd, engine_, fpd));
          auto bwd = ALEXNET_DNNL(dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, fpd.src_desc(),
                                                                           any_md(wei_d, Dt::f32), bias_md, fpd.dst_desc(),
                                                                           e.strides, e.pad_l, e.pad_r));
          bwpd = ALEXNET_DNNL(dnnl::convolution_backward_weights::primitive_desc(bwd, engine_, fpd));
          auto is_ref = [](const char* impl) { return std::string(impl).rfind("ref", 0) == 0; };
          if (!is_ref(bdpd.impl_info_str()) && !is_ref(bwpd.impl_info_str())) break;
        }
        e.src_md = fpd.src_desc();
        e.wei_md = fpd.weights_desc();
        e.out_md = fpd.dst_desc();
        e.fwd = ALEXNET_DNNL(dnnl::convolution_forward(fpd));
        e.bwd_wei_md = bdpd.weights_desc();
        e.bwd_data = ALEXNET_DNNL(dnnl::convolution_backward_data(bdpd));
        e.bwd_weights = ALEXNET_DNNL(dnnl::convolution_backward_weights(bwpd));
        param_views(e, li, bwpd.diff_weights_desc(), wei_d);
        break;
      }
      case Kind::Linear: {
        const Linear& op = std::get<Linear>(layer.op);
        const memory::dims src_d = free_input ? dims_of(is, n) : inmd.dims();
        memory::dims wei_d = src_d;
        wei_d[0] = op.out_features;
        const memory::dims dst_d{n, op.out_features};
        const memory::desc bias_md = li.bias ? plain_md({op.out_features}, Dt::f32) : memory::desc();
        auto fd = ALEXNET_DNNL(dnnl::inner_product_forward::desc(prop_kind::forward_training, any_md(src_d, dt_),
                                                                 any_md(wei_d, dt_), bias_md, any_md(dst_d, dt_)));
        auto fpd = ALEXNET_DNNL(dnnl::inner_product_forward::primitive_desc(fd, attr, engine_));
        e.src_md = fpd.src_desc();
        e.wei_md = fpd.weights_desc();
        e.out_md = fpd.dst_desc();
        e.fwd = ALEXNET_DNNL(dnnl::inner_product_forward(fpd));
        auto bdd = ALEXNET_DNNL(dnnl::inner_product_backward_data::desc(e.src_md, any_md(wei_d, dt_), e.out_md));
        auto bdpd = ALEXNET_DNNL(dnnl::inner_product_backward_data::primitive_desc(bdd, engine_, fpd));
        e.bwd_wei_md = bdpd.weights_desc();
        e.bwd_data = ALEXNET_DNNL(dnnl::inner_product_backward_data(bdpd));
        // The weight gradient straight into the plain fp32 gradient buffer: oneDNN's gemm-based
        // implementation is as fast as the blocked one here and saves a reorder of the largest tensor
        // (fc6: 151 MB). Blocked when only a reference implementation would take the plain format.
        dnnl::inner_product_backward_weights::primitive_desc bwpd;
        for (const memory::desc& dw : {plain_md(wei_d, Dt::f32), any_md(wei_d, Dt::f32)}) {
          auto bwd = ALEXNET_DNNL(dnnl::inner_product_backward_weights::desc(e.src_md, dw, bias_md, e.out_md));
          bwpd = ALEXNET_DNNL(dnnl::inner_product_backward_weights::primitive_desc(bwd, engine_, fpd, true));
          if (bwpd && std::string(bwpd.impl_info_str()).rfind("ref", 0) != 0) break;
        }
        if (!bwpd) fail(layer.name, ": oneDNN has no inner product backward-weights for this shape");
        e.bwd_weights = ALEXNET_DNNL(dnnl::inner_product_backward_weights(bwpd));
        param_views(e, li, bwpd.diff_weights_desc(), wei_d);
        break;
      }
      case Kind::Relu: {
        e.out_md = inmd;
        auto fd = ALEXNET_DNNL(dnnl::eltwise_forward::desc(prop_kind::forward_training,
                                                           algorithm::eltwise_relu_use_dst_for_bwd, inmd, 0.f, 0.f));
        auto fpd = ALEXNET_DNNL(dnnl::eltwise_forward::primitive_desc(fd, engine_));
        if (!li.relu_fused) e.fwd = ALEXNET_DNNL(dnnl::eltwise_forward(fpd));
        auto bd = ALEXNET_DNNL(dnnl::eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, inmd, inmd, 0.f, 0.f));
        auto bpd = ALEXNET_DNNL(dnnl::eltwise_backward::primitive_desc(bd, engine_, fpd));
        e.bwd_data = ALEXNET_DNNL(dnnl::eltwise_backward(bpd));
        break;
      }
      case Kind::MaxPool:
      case Kind::AvgPool: {
        int kh, kw, sh, sw, pad;
        algorithm alg;
        if (li.kind == Kind::MaxPool) {
          const MaxPool2d& op = std::get<MaxPool2d>(layer.op);
          kh = kw = op.kernel;
          sh = sw = op.stride;
          pad = op.padding;
          alg = algorithm::pooling_max;
        } else {
          kh = sh = is.h / os.h;
          kw = sw = is.w / os.w;
          pad = 0;
          alg = algorithm::pooling_avg_exclude_padding;
        }
        const memory::dims strides{sh, sw}, kernel{kh, kw}, pl{pad, pad},
            pr{(os.h - 1) * sh + kh - is.h - pad, (os.w - 1) * sw + kw - is.w - pad};
        auto fd = ALEXNET_DNNL(dnnl::pooling_forward::desc(prop_kind::forward_training, alg, inmd,
                                                           any_md({n, os.c, os.h, os.w}, dt_), strides, kernel, pl, pr));
        auto fpd = ALEXNET_DNNL(dnnl::pooling_forward::primitive_desc(fd, engine_));
        e.out_md = fpd.dst_desc();
        e.fwd = ALEXNET_DNNL(dnnl::pooling_forward(fpd));
        if (li.kind == Kind::MaxPool) e.workspace = ALEXNET_DNNL(memory(fpd.workspace_desc(), engine_));
        auto bd = ALEXNET_DNNL(dnnl::pooling_backward::desc(alg, inmd, e.out_md, strides, kernel, pl, pr));
        auto bpd = ALEXNET_DNNL(dnnl::pooling_backward::primitive_desc(bd, engine_, fpd));
        e.bwd_data = ALEXNET_DNNL(dnnl::pooling_backward(bpd));
        break;
      }
      case Kind::Lrn: {
        const LocalResponseNorm& op = std::get<LocalResponseNorm>(layer.op);
        // oneDNN's across-channel LRN divides alpha by the size, as PyTorch does, and for odd sizes
        // uses the same centred window.
        auto fd = ALEXNET_DNNL(dnnl::lrn_forward::desc(prop_kind::forward_training, algorithm::lrn_across_channels,
                                                       inmd, op.size, op.alpha, op.beta, op.k));
        auto fpd = ALEXNET_DNNL(dnnl::lrn_forward::primitive_desc(fd, engine_));
        e.out_md = fpd.dst_desc();
        e.fwd = ALEXNET_DNNL(dnnl::lrn_forward(fpd));
        e.workspace = ALEXNET_DNNL(memory(fpd.workspace_desc(), engine_));
        auto bd = ALEXNET_DNNL(dnnl::lrn_backward::desc(algorithm::lrn_across_channels, inmd, e.out_md, op.size,
                                                        op.alpha, op.beta, op.k));
        auto bpd = ALEXNET_DNNL(dnnl::lrn_backward::primitive_desc(bd, engine_, fpd));
        e.bwd_data = ALEXNET_DNNL(dnnl::lrn_backward(bpd));
        break;
      }
      case Kind::Flatten:
        e.out_md = plain_md({n, os.c}, dt_);
        break;
      case Kind::Identity:
        e.out_md = inmd;
        break;
      case Kind::Dropout:
      case Kind::Fallback:
        e.out_md = plain_md(dims_of(os, n), dt_);
        break;
    }
    if (free_input) p.input_md = e.src_md;
  }

  // The bias and gradient views into the master buffers, and a weight-gradient buffer when the
  // primitive's format is not the master's.
  void param_views(LayerExec& e, const LayerInfo& li, const memory::desc& diff_wei_md, const memory::dims& wei_d) {
    if (li.bias) {
      e.bias = ALEXNET_DNNL(memory(plain_md({int64_t(li.bias->numel)}, Dt::f32), engine_, param_ptr(li.bias)));
      e.diff_bias = ALEXNET_DNNL(memory(plain_md({int64_t(li.bias->numel)}, Dt::f32), engine_, grad_ptr(li.bias)));
    }
    e.diff_wei_master = ALEXNET_DNNL(memory(plain_md(wei_d, Dt::f32), engine_, grad_ptr(li.weight)));
    e.diff_wei = same(diff_wei_md, e.diff_wei_master.get_desc()) ? e.diff_wei_master
                                                                 : ALEXNET_DNNL(memory(diff_wei_md, engine_));
  }

  // Buffers, once every layer's format is known.
  void allocate_layer(Plan& p, int i) {
    LayerInfo& li = info_[size_t(i)];
    LayerExec& e = p.layers[size_t(i)];
    const memory::desc& inmd = in_md(p, i);
    memory& in = in_mem(p, i);
    memory& din = din_mem(p, i);
    auto fresh = [&](const memory::desc& md) { return ALEXNET_DNNL(memory(md, engine_)); };
    switch (li.kind) {
      case Kind::Identity:
        e.act = in;
        e.dact = din;
        return;
      case Kind::Flatten: {
        const memory::desc plain4 = plain_md(inmd.dims(), dt_);
        if (same(inmd, plain4)) {  // a view: same bytes, 2-D shape
          e.act = ALEXNET_DNNL(memory(e.out_md, engine_, in.get_data_handle()));
          e.dact = ALEXNET_DNNL(memory(e.out_md, engine_, din.get_data_handle()));
        } else {
          e.act = fresh(e.out_md);
          e.dact = fresh(e.out_md);
          e.out_4d = ALEXNET_DNNL(memory(plain4, engine_, e.act.get_data_handle()));
          e.dout_4d = ALEXNET_DNNL(memory(plain4, engine_, e.dact.get_data_handle()));
        }
        return;
      }
      case Kind::Fallback: {
        const memory::desc in32 = plain_md(inmd.dims(), Dt::f32), out32 = plain_md(e.out_md.dims(), Dt::f32);
        e.act = fresh(e.out_md);
        e.dact = fresh(e.out_md);
        e.in_f32 = same(inmd, in32) ? in : fresh(in32);
        e.din_f32 = same(inmd, in32) ? din : fresh(in32);
        e.out_f32 = same(e.out_md, out32) ? e.act : fresh(out32);
        e.dout_f32 = same(e.out_md, out32) ? e.dact : fresh(out32);
        if (std::holds_alternative<LocalResponseNorm>(spec_.layers[size_t(i)].op))
          e.lrn_scale.assign(size_t(p.n) * input_shape(i).numel(), 0.f);
        return;
      }
      case Kind::Dropout:  // works in place on the plain layout; a reordered copy when the input is blocked
        e.act = fresh(e.out_md);
        e.dact = fresh(e.out_md);
        if (!same(inmd, e.out_md)) {
          e.src = fresh(e.out_md);
          e.dsrc = fresh(e.out_md);
        }
        return;
      case Kind::Conv:
      case Kind::Linear:
        if (!li.fuse_relu) e.act = fresh(e.out_md);
        e.dact = fresh(e.out_md);
        if (i > 0 && !same(e.src_md, inmd)) {
          e.src = fresh(e.src_md);
          e.dsrc = fresh(e.src_md);
        }
        return;
      default:
        e.act = fresh(e.out_md);
        e.dact = fresh(e.out_md);
        return;
    }
  }

  // ---------------------------------------------------------------- execution
  void exec(dnnl::primitive& prim, const std::unordered_map<int, memory>& args) {
    ALEXNET_DNNL(prim.execute(stream_, args));
  }

  // Conv/Linear: the memory the primitive reads as its source (the input, reordered when needed).
  memory& conv_src(Plan& p, int i) {
    LayerExec& e = p.layers[size_t(i)];
    return e.src ? e.src : in_mem(p, i);
  }

  void forward_layer(Plan& p, int i) {
    LayerInfo& li = info_[size_t(i)];
    LayerExec& e = p.layers[size_t(i)];
    memory& in = in_mem(p, i);
    switch (li.kind) {
      case Kind::Conv:
      case Kind::Linear: {
        if (e.src) reorder(in, e.src);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, conv_src(p, i)},
                                             {DNNL_ARG_WEIGHTS, weights(i, e.wei_md)},
                                             {DNNL_ARG_DST, li.fuse_relu ? p.layers[size_t(i + 1)].act : e.act}};
        if (e.bias) args[DNNL_ARG_BIAS] = e.bias;
        exec(e.fwd, args);
        return;
      }
      case Kind::Relu:
        if (!li.relu_fused) exec(e.fwd, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, e.act}});
        return;
      case Kind::MaxPool:
      case Kind::Lrn:
        exec(e.fwd, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, e.act}, {DNNL_ARG_WORKSPACE, e.workspace}});
        return;
      case Kind::AvgPool:
        exec(e.fwd, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, e.act}});
        return;
      case Kind::Dropout:
        if (e.src) reorder(in, e.src);
        ALEXNET_DNNL(stream_.wait());
        dropout(p, i, e.src ? e.src : in, e.act, mode_ == Mode::Train);
        return;
      case Kind::Flatten:
        if (e.out_4d) reorder(in, e.out_4d);
        return;
      case Kind::Identity:
        return;
      case Kind::Fallback:
        reorder(in, e.in_f32);
        ALEXNET_DNNL(stream_.wait());
        fallback_forward(p, i);
        reorder(e.out_f32, e.act);
        return;
    }
  }

  void backward_weights(Plan& p, int i) {
    LayerInfo& li = info_[size_t(i)];
    if (li.kind != Kind::Conv && li.kind != Kind::Linear) return;
    LayerExec& e = p.layers[size_t(i)];
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, conv_src(p, i)}, {DNNL_ARG_DIFF_DST, e.dact}, {DNNL_ARG_DIFF_WEIGHTS, e.diff_wei}};
    if (e.diff_bias) args[DNNL_ARG_DIFF_BIAS] = e.diff_bias;
    exec(e.bwd_weights, args);
    reorder(e.diff_wei, e.diff_wei_master);
  }

  // Writes d loss / d (layer i's input).
  void backward_data(Plan& p, int i) {
    LayerInfo& li = info_[size_t(i)];
    LayerExec& e = p.layers[size_t(i)];
    memory& in = in_mem(p, i);
    memory& din = din_mem(p, i);
    switch (li.kind) {
      case Kind::Conv:
      case Kind::Linear: {
        memory& dsrc = e.src ? e.dsrc : din;
        exec(e.bwd_data, {{DNNL_ARG_DIFF_DST, e.dact}, {DNNL_ARG_WEIGHTS, weights(i, e.bwd_wei_md)}, {DNNL_ARG_DIFF_SRC, dsrc}});
        if (e.src) reorder(dsrc, din);
        return;
      }
      case Kind::Relu:
        exec(e.bwd_data, {{DNNL_ARG_DST, e.act}, {DNNL_ARG_DIFF_DST, e.dact}, {DNNL_ARG_DIFF_SRC, din}});
        return;
      case Kind::MaxPool:
        exec(e.bwd_data, {{DNNL_ARG_DIFF_DST, e.dact}, {DNNL_ARG_WORKSPACE, e.workspace}, {DNNL_ARG_DIFF_SRC, din}});
        return;
      case Kind::AvgPool:
        exec(e.bwd_data, {{DNNL_ARG_DIFF_DST, e.dact}, {DNNL_ARG_DIFF_SRC, din}});
        return;
      case Kind::Lrn:
        exec(e.bwd_data, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DIFF_DST, e.dact}, {DNNL_ARG_WORKSPACE, e.workspace},
                          {DNNL_ARG_DIFF_SRC, din}});
        return;
      case Kind::Dropout:
        ALEXNET_DNNL(stream_.wait());
        dropout(p, i, e.dact, e.src ? e.dsrc : din, true);
        if (e.src) reorder(e.dsrc, din);
        return;
      case Kind::Flatten:
        if (e.dout_4d) reorder(e.dout_4d, din);
        return;
      case Kind::Identity:
        return;
      case Kind::Fallback:
        reorder(e.dact, e.dout_f32);
        ALEXNET_DNNL(stream_.wait());
        fallback_backward(p, i);
        reorder(e.din_f32, din);
        return;
    }
  }

  // Dropout on the plain layout in the compute type: y = x * mask / (1-p), mask from the element's flat
  // NCHW / [N, F] index, so it equals the reference backend's. `train` false: y = x. Used for the
  // forward (x = input) and the backward (x = output gradient) alike.
  void dropout(const Plan& p, int i, const memory& x, memory& y, bool train) {
    const float drop = std::get<Dropout>(spec_.layers[size_t(i)].op).p;
    const int64_t count = int64_t(p.n) * input_shape(i).numel();
    if (!train || drop <= 0.f) {
      std::memcpy(y.get_data_handle(), x.get_data_handle(), x.get_desc().get_size());
      return;
    }
    const uint64_t key = dropout_key(options_.seed, step_, i);
    const float scale = drop < 1.f ? 1.f / (1.f - drop) : 0.f;
    if (dt_ == Dt::f32) {
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

  // Plain loops on fp32 NCHW copies: (the element index is the flat logical index,
  // so the mask equals the reference backend's), uneven adaptive pooling, even-sized LRN.
  void fallback_forward(Plan& p, int i) {
    LayerExec& e = p.layers[size_t(i)];
    const float* x = static_cast<const float*>(e.in_f32.get_data_handle());
    float* y = static_cast<float*>(e.out_f32.get_data_handle());
    const ActShape& is = input_shape(i);
    const int n = p.n;
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            adaptive_avgpool2d_forward(y, x, n, is.c, is.h, is.w, op.out_h, op.out_w);
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            lrn_forward(y, e.lrn_scale.data(), x, n, is.c, is.h * is.w, {op.size, op.alpha, op.beta, op.k});
          }
        },
        spec_.layers[size_t(i)].op);
  }

  void fallback_backward(Plan& p, int i) {
    LayerExec& e = p.layers[size_t(i)];
    const float* x = static_cast<const float*>(e.in_f32.get_data_handle());
    const float* dy = static_cast<const float*>(e.dout_f32.get_data_handle());
    float* dx = static_cast<float*>(e.din_f32.get_data_handle());
    const ActShape& is = input_shape(i);
    const int n = p.n;
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            adaptive_avgpool2d_backward(dx, dy, n, is.c, is.h, is.w, op.out_h, op.out_w);
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            lrn_backward(dx, dy, x, e.lrn_scale.data(), n, is.c, is.h * is.w, {op.size, op.alpha, op.beta, op.k});
          }
        },
        spec_.layers[size_t(i)].op);
  }

  // The output of a Conv/Linear whose ReLU is fused, computed again without the ReLU from the input
  // and the weights of the last forward pass.
  Tensor pre_relu_output(Plan& p, int i) {
    const Layer& layer = spec_.layers[size_t(i)];
    LayerInfo& li = info_[size_t(i)];
    LayerExec& e = p.layers[size_t(i)];
    const memory::desc bias_md = e.bias ? e.bias.get_desc() : memory::desc();
    if (!e.inspect) {
      if (li.kind == Kind::Conv) {
        auto d = ALEXNET_DNNL(dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                                              e.src_md, e.wei_md, bias_md, e.out_md, e.strides,
                                                              e.pad_l, e.pad_r));
        e.inspect = ALEXNET_DNNL(dnnl::convolution_forward(dnnl::convolution_forward::primitive_desc(d, engine_)));
      } else {
        auto d = ALEXNET_DNNL(dnnl::inner_product_forward::desc(prop_kind::forward_inference, e.src_md, e.wei_md,
                                                                bias_md, e.out_md));
        e.inspect = ALEXNET_DNNL(dnnl::inner_product_forward(dnnl::inner_product_forward::primitive_desc(d, engine_)));
      }
    }
    if (version_ != forward_version_)
      fail("activation(", i, ") (", layer.name, ", its ReLU fused) must be read before sgd_step() or set_params() "
           "on the oneDNN backend");
    memory wei = weights(i, e.wei_md);
    memory out = ALEXNET_DNNL(memory(e.out_md, engine_));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, conv_src(p, i)}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, out}};
    if (e.bias) args[DNNL_ARG_BIAS] = e.bias;
    exec(e.inspect, args);
    return to_host(out, shapes_[size_t(i)]);
  }

  static void copy_in(Tensor& dst, std::span<const float> src) {
    if (src.size() != size_t(dst.numel())) fail("parameter buffer of ", src.size(), " floats, expected ", dst.numel());
    std::memcpy(dst.data<float>(), src.data(), src.size() * sizeof(float));
  }
  static void copy_out(const Tensor& src, std::span<float> dst) {
    if (dst.size() != size_t(src.numel())) fail("parameter buffer of ", dst.size(), " floats, expected ", src.numel());
    std::memcpy(dst.data(), src.data<float>(), dst.size() * sizeof(float));
  }

  dnnl::engine engine_;
  mutable dnnl::stream stream_;
  Dt dt_ = Dt::f32;
  Tensor params_, grads_, momentum_;  // fp32 [params().total] each: master weights, gradients, momentum
  bool momentum_ready_ = false;
  uint64_t version_ = 0;              // bumped whenever the master weights change
  uint64_t forward_version_ = 0;      // version_ at the last forward
  std::vector<LayerInfo> info_;
  std::map<int, std::unique_ptr<Plan>> plans_;  // by batch size
  Plan* cur_ = nullptr;                         // the plan of the last forward
  Mode mode_ = Mode::Eval;
  uint64_t step_ = 0;
  bool backward_done_ = false;
  bool input_grad_ready_ = false;
};

}  // namespace

std::unique_ptr<Net> make_onednn_net(const NetSpec& spec, const BuildOptions& options) {
  return std::make_unique<OneDnnNet>(spec, options);
}

}  // namespace alexnet
