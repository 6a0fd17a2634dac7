// The oneDNN CPU backend. See docs/cpu-backend.md for the design and the measured speed.
//
// The net is a loop over the layer table: one op per layer (ops/<layer>.cpp, interface in ops/op.h),
// made and planned once per batch size. What crosses layers is decided here: which ReLU runs as the
// post-op of the Conv2d/Linear before it (its backward is eltwise_relu_use_dst_for_bwd on the fused
// output), the net's input format (the first Conv2d/Linear picks it), the buffers handed from each
// op to the next, the logits, and the weight copies kept across batch sizes. Activations stay in the
// formats oneDNN prefers (blocked, bf16 under Precision::BF16) from op to op; an op reorders only
// what it cannot take as it is given.
//
// Parameters: one fp32 master buffer laid out by the ParamTable (plain OIHW / [out, in]). Each
// layer's compute copy of its weights (the format the primitive wants, bf16 under BF16) is refreshed
// lazily, once per parameter version (set_params and sgd_step bump it). Weight gradients are
// computed in fp32 (also under BF16) and land in the fp32 gradient buffer, directly when the
// primitive's preferred format is plain, through one reorder otherwise.
#include "backend/cpu/onednn_net.h"

#include <cstring>
#include <map>
#include <type_traits>

#include "backend/cpu/ops/adaptive_avgpool2d.h"
#include "backend/cpu/ops/conv2d.h"
#include "backend/cpu/ops/dropout.h"
#include "backend/cpu/ops/flatten.h"
#include "backend/cpu/ops/linear.h"
#include "backend/cpu/ops/lrn.h"
#include "backend/cpu/ops/maxpool2d.h"
#include "backend/cpu/ops/relu.h"
#include "nn/cross_entropy.h"
#include "nn/sgd.h"

namespace alexnet {

namespace {

using namespace onednn;

// Every op of one batch size, and the net's own buffers at that size.
struct Plan {
  int n = 0;
  memory::desc input_md;
  memory input, dinput;                    // the net's input and its gradient, in input_md
  std::vector<std::unique_ptr<Op>> ops;    // one per layer
  memory logits_f32, dlogits_f32;          // [n, classes], views of the last op's buffers when fp32 plain
};

bool is_weighted(const LayerOp& op) { return std::holds_alternative<Conv2d>(op) || std::holds_alternative<Linear>(op); }

class OneDnnNet final : public Net {
 public:
  OneDnnNet(const NetSpec& spec, const BuildOptions& options) : Net(spec, options) {
    if (options.precision == Precision::TF32) fail("the oneDNN backend computes in fp32 or bf16 (tf32 is CUDA only)");
    ctx_.engine = ALEXNET_DNNL(dnnl::engine(dnnl::engine::kind::cpu, 0));
    ctx_.stream = ALEXNET_DNNL(dnnl::stream(ctx_.engine));
    ctx_.dt = options.precision == Precision::BF16 ? Dt::bf16 : Dt::f32;
    ctx_.seed = options.seed;
    params_ = Tensor(DType::F32, {int64_t(table_.total)});
    grads_ = Tensor(DType::F32, {int64_t(table_.total)});
    momentum_ = Tensor(DType::F32, {int64_t(table_.total)});
    ctx_.params = params_.data<float>();
    ctx_.grads = grads_.data<float>();
    const size_t L = spec_.layers.size();
    if (L == 0) fail("the network '", spec_.variant, "' has no layers");
    layers_.resize(L);
    for (size_t i = 0; i < L; ++i) {
      const Layer& layer = spec_.layers[i];
      LayerParams& lp = layers_[i];
      if (is_weighted(layer.op)) {
        lp.weight = table_.find(layer.name + ".weight");
        lp.bias = table_.find(layer.name + ".bias");
        ALEXNET_ASSERT(lp.weight, layer.name + ": no weight in the parameter table");
      }
      // A ReLU right after a Conv2d/Linear runs as that layer's post-op.
      if (std::holds_alternative<ReLU>(layer.op) && i > 0 && is_weighted(spec_.layers[i - 1].op)) {
        layers_[i - 1].fuse_relu = true;
        lp.relu_fused = true;
      }
    }
    plan(options_.max_batch);
  }

  BackendKind backend() const override { return BackendKind::OneDNN; }

  void set_params(std::span<const float> host) override {
    copy_in(params_, host);
    ++ctx_.version;
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
    ctx_.mode = mode;
    ctx_.step = step;
    backward_done_ = false;
    input_grad_ready_ = false;
    forward_version_ = ctx_.version;
    const ActShape& s = input_shape(0);
    memory user(plain_md({n, s.c, s.h, s.w}, Dt::f32), ctx_.engine, const_cast<float*>(input));  // read only
    ctx_.reorder(user, p.input);
    for (const auto& op : p.ops) op->forward();
    ctx_.wait();
  }

  void get_logits(float* host) const override {
    const Plan& p = current();
    ctx_.reorder(p.ops.back()->out, p.logits_f32);
    ctx_.wait();
    std::memcpy(host, p.logits_f32.get_data_handle(), size_t(p.n) * spec_.num_classes * sizeof(float));
  }

  float backward(const int64_t* labels) override {
    if (!cur_ || ctx_.mode != Mode::Train) fail("backward() needs a forward pass in training mode first");
    Plan& p = *cur_;
    const int C = spec_.num_classes;
    for (int i = 0; i < p.n; ++i)
      if (labels[i] < 0 || labels[i] >= C) fail("label ", labels[i], " out of range [0, ", C, ")");
    ctx_.reorder(p.ops.back()->out, p.logits_f32);
    ctx_.wait();
    const float loss = softmax_cross_entropy(static_cast<float*>(p.dlogits_f32.get_data_handle()),
                                             static_cast<const float*>(p.logits_f32.get_data_handle()), labels, p.n,
                                             C, options_.label_smoothing);
    ctx_.reorder(p.dlogits_f32, p.ops.back()->dout);
    backprop(p);
    return loss;
  }

  void backward_from(const float* dout) override {
    if (!cur_ || ctx_.mode != Mode::Train) fail("backward_from() needs a forward pass in training mode first");
    Plan& p = *cur_;
    const Op& last = *p.ops.back();
    memory user(plain_md(last.out_md().dims(), Dt::f32), ctx_.engine, const_cast<float*>(dout));  // read only
    ctx_.reorder(user, last.dout);
    backprop(p);
  }

 private:
  // Every op's backward, last to first, from the last op's dout.
  void backprop(Plan& p) {
    for (size_t i = p.ops.size(); i-- > 0;) {
      p.ops[i]->backward_params();
      if (i > 0) p.ops[i]->backward_data();  // the first layer's only on request (input_grad)
      if (announces_gradients()) {  // the gradients of layer i, complete, for data parallelism
        ctx_.wait();
        gradients_ready(int(i));
      }
    }
    ctx_.wait();
    backward_done_ = true;
  }

 public:
  void sgd_step(const SgdOptions& sgd, float lr) override {
    sgd_update(params_.span<float>(), grads_.span<float>(), momentum_.span<float>(), !momentum_ready_, sgd, lr);
    momentum_ready_ = true;
    ++ctx_.version;
  }

  Tensor activation(int layer) const override {
    const Plan& p = current();
    check_layer(layer);
    const Op& op = *p.ops[size_t(layer)];
    if (op.out) return to_host(op.out, shapes_[size_t(layer)]);
    // A Conv2d/Linear whose ReLU is fused keeps no output of its own: computed again.
    if (ctx_.version != forward_version_)
      fail("activation(", layer, ") (", spec_.layers[size_t(layer)].name,
           ", its ReLU fused) must be read before sgd_step() or set_params() on the oneDNN backend");
    auto& weighted = static_cast<WeightedOp&>(*p.ops[size_t(layer)]);
    return to_host(weighted.output_without_relu(), shapes_[size_t(layer)]);
  }

  Tensor activation_grad(int layer) const override {
    const Plan& p = current();
    check_layer(layer);
    if (!backward_done_) fail("no gradients yet: run backward() first");
    return to_host(p.ops[size_t(layer)]->dout, shapes_[size_t(layer)]);
  }

  Tensor input_grad() const override { return to_host(computed_input_grad(), input_shape(0)); }
  void get_input_grad(float* host) const override {
    const memory& d = computed_input_grad();
    memory user(plain_md(d.get_desc().dims(), Dt::f32), ctx_.engine, host);
    ctx_.reorder(d, user);
    ctx_.wait();
  }

 private:
  // What a layer keeps across batch sizes.
  struct LayerParams {
    const ParamInfo* weight = nullptr;  // Conv2d/Linear
    const ParamInfo* bias = nullptr;
    bool fuse_relu = false;   // Conv2d/Linear: the following ReLU runs as this layer's post-op
    bool relu_fused = false;  // ReLU: its forward runs inside the layer before
    WeightCopies copies;      // Conv2d/Linear: the compute copies of the weights
  };

  ActShape input_shape(int layer) const {
    return layer > 0 ? shapes_[size_t(layer - 1)] : ActShape{spec_.in_channels, spec_.input_size, spec_.input_size};
  }

  // The net's input gradient, computed on the first request after backward.
  const memory& computed_input_grad() const {
    const Plan& p = current();
    if (!backward_done_) fail("no gradients yet: run backward() first");
    if (!input_grad_ready_) {
      // The first layer's data gradient is only computed when asked for (training never needs it),
      // from the weights of the last forward pass.
      if (ctx_.version != forward_version_)
        fail("input_grad() must be read before sgd_step() or set_params() on the oneDNN backend");
      p.ops[0]->backward_data();
      ctx_.wait();
      input_grad_ready_ = true;
    }
    return p.dinput;
  }

  const Plan& current() const {
    if (!cur_) fail("no forward pass yet");
    return *cur_;
  }
  void check_layer(int layer) const {
    if (layer < 0 || size_t(layer) >= spec_.layers.size())
      fail("layer ", layer, " out of range [0, ", spec_.layers.size(), ")");
  }

  Tensor to_host(const memory& m, const ActShape& s) const {
    const int n = current().n;
    Tensor t(DType::F32, s.flat ? Shape{n, s.c} : Shape{n, s.c, s.h, s.w});
    memory host(plain_md(m.get_desc().dims(), Dt::f32), ctx_.engine, t.data<float>());
    ctx_.reorder(m, host);
    ctx_.wait();
    return t;
  }

  // Layer i's op at batch n: the layer table's entry, dispatched to its file in ops/.
  std::unique_ptr<Op> make_op(int i, int n) {
    const Layer& layer = spec_.layers[size_t(i)];
    LayerParams& lp = layers_[size_t(i)];
    const OpShape shape{i, layer.name, n, input_shape(i), shapes_[size_t(i)], dropout_layer(i)};
    return std::visit(
        [&](const auto& op) -> std::unique_ptr<Op> {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            return make_conv2d_op(ctx_, shape, op, lp.copies, lp.weight, lp.bias, lp.fuse_relu);
          } else if constexpr (std::is_same_v<T, Linear>) {
            return make_linear_op(ctx_, shape, op, lp.copies, lp.weight, lp.bias, lp.fuse_relu);
          } else if constexpr (std::is_same_v<T, ReLU>) {
            return make_relu_op(ctx_, shape, lp.relu_fused);
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            return make_maxpool2d_op(ctx_, shape, op);
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            return make_lrn_op(ctx_, shape, op);
          } else if constexpr (std::is_same_v<T, Dropout>) {
            return make_dropout_op(ctx_, shape, op);
          } else if constexpr (std::is_same_v<T, Flatten>) {
            return make_flatten_op(ctx_, shape);
          } else {
            static_assert(std::is_same_v<T, AdaptiveAvgPool2d>, "a layer kind without a oneDNN op");
            return make_adaptive_avgpool2d_op(ctx_, shape, op);
          }
        },
        layer.op);
  }

  // ---------------------------------------------------------------- the plan for batch n
  Plan& plan(int n) {
    auto it = plans_.find(n);
    if (it != plans_.end()) return *it->second;
    auto p = std::make_unique<Plan>();
    p->n = n;
    const size_t L = spec_.layers.size();
    for (size_t i = 0; i < L; ++i) p->ops.push_back(make_op(int(i), n));
    // Formats, first to last. A Conv2d/Linear/LRN first picks the net's input format.
    const bool first_picks = p->ops[0]->picks_input_format();
    if (first_picks) {
      p->ops[0]->plan(memory::desc());
      p->input_md = p->ops[0]->input_md();
    } else {
      const ActShape& s0 = input_shape(0);
      p->input_md = plain_md({n, s0.c, s0.h, s0.w}, ctx_.dt);
    }
    p->input = ctx_.fresh(p->input_md);
    p->dinput = ctx_.fresh(p->input_md);
    for (size_t i = first_picks ? 1 : 0; i < L; ++i) p->ops[i]->plan(i ? p->ops[i - 1]->out_md() : p->input_md);
    // Buffers, first to last: each op's input is the previous op's output.
    for (size_t i = 0; i < L; ++i) {
      if (i == 0)
        p->ops[0]->allocate(p->input, p->dinput);
      else
        p->ops[i]->allocate(p->ops[i - 1]->out, p->ops[i - 1]->dout);
    }
    for (size_t i = 0; i + 1 < L; ++i)
      if (layers_[i].fuse_relu) static_cast<WeightedOp&>(*p->ops[i]).set_relu_output(p->ops[i + 1]->out);
    const Op& last = *p->ops.back();
    if (shapes_.back().numel() != spec_.num_classes)
      fail("the last layer of '", spec_.variant, "' produces ", shapes_.back().numel(), " values per sample, not ",
           spec_.num_classes, " logits");
    const memory::desc logits_md = plain_md(last.out_md().dims(), Dt::f32);
    if (last.out_md() == logits_md) {
      p->logits_f32 = last.out;
      p->dlogits_f32 = last.dout;
    } else {
      p->logits_f32 = ctx_.fresh(logits_md);
      p->dlogits_f32 = ctx_.fresh(logits_md);
    }
    Plan& ref = *p;
    plans_[n] = std::move(p);
    return ref;
  }

  static void copy_in(Tensor& dst, std::span<const float> src) {
    if (src.size() != size_t(dst.numel())) fail("parameter buffer of ", src.size(), " floats, expected ", dst.numel());
    if (!src.empty()) std::memcpy(dst.data<float>(), src.data(), src.size() * sizeof(float));  // none: a net without parameters
  }
  static void copy_out(const Tensor& src, std::span<float> dst) {
    if (dst.size() != size_t(src.numel())) fail("parameter buffer of ", dst.size(), " floats, expected ", src.numel());
    if (!dst.empty()) std::memcpy(dst.data(), src.data<float>(), dst.size() * sizeof(float));
  }

  Context ctx_;                       // engine, stream, compute type, buffers and step state for the ops
  Tensor params_, grads_, momentum_;  // fp32 [params().total] each: master weights, gradients, momentum
  bool momentum_ready_ = false;
  uint64_t forward_version_ = 0;      // ctx_.version at the last forward
  std::vector<LayerParams> layers_;   // per layer; never resized after construction (ops refer into it)
  std::map<int, std::unique_ptr<Plan>> plans_;  // by batch size
  Plan* cur_ = nullptr;                         // the plan of the last forward
  bool backward_done_ = false;
  mutable bool input_grad_ready_ = false;
};

}  // namespace

std::unique_ptr<Net> make_onednn_net(const NetSpec& spec, const BuildOptions& options) {
  return std::make_unique<OneDnnNet>(spec, options);
}

}  // namespace alexnet
