#include "backend/ref_net.h"

#include <algorithm>
#include <cstring>

#include "nn/adaptive_avgpool2d.h"
#include "nn/conv2d.h"
#include "nn/cross_entropy.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/lrn.h"
#include "nn/maxpool2d.h"
#include "nn/relu.h"
#include "nn/sgd.h"

namespace alexnet {

namespace {

class ReferenceNet final : public Net {
 public:
  ReferenceNet(const NetSpec& spec, const BuildOptions& options) : Net(spec, options) {
    if (options.precision != Precision::F32)
      fail("the reference backend computes in fp32 only (asked for ", precision_name(options.precision), ")");
    params_.assign(table_.total, 0.f);
    grads_.assign(table_.total, 0.f);
    momentum_.assign(table_.total, 0.f);
    const size_t L = spec_.layers.size();
    acts_.resize(L);
    dacts_.resize(L);
    argmax_.resize(L);
    saved_.resize(L);
    // Where each layer's parameters start in the buffer (weight, then bias).
    weight_at_.assign(L, 0);
    for (const ParamInfo& p : table_.entries)
      if (p.shape.size() > 1) weight_at_[size_t(p.layer)] = p.offset;
  }

  BackendKind backend() const override { return BackendKind::Reference; }

  void set_params(std::span<const float> host) override { copy_in(params_, host); }
  void get_params(std::span<float> host) const override { copy_out(params_, host); }
  void get_grads(std::span<float> host) const override { copy_out(grads_, host); }
  void set_grads(std::span<const float> host) override { copy_in(grads_, host); }
  std::span<float> host_grads() override { return grads_; }
  void set_momentum(std::span<const float> host) override {
    copy_in(momentum_, host);
    momentum_ready_ = true;
  }
  void get_momentum(std::span<float> host) const override { copy_out(momentum_, host); }

  void forward(const float* input, int n, Mode mode, uint64_t step) override {
    if (n < 1 || n > options_.max_batch) fail("batch of ", n, " samples; this network was built for 1..", options_.max_batch);
    n_ = n;
    mode_ = mode;
    const ActShape in_shape{spec_.in_channels, spec_.input_size, spec_.input_size};
    input_.assign(input, input + size_t(n) * in_shape.numel());
    for (size_t i = 0; i < spec_.layers.size(); ++i) {
      const ActShape& is = i ? shapes_[i - 1] : in_shape;
      const float* x = i ? acts_[i - 1].data() : input_.data();
      acts_[i].assign(size_t(n) * shapes_[i].numel(), 0.f);
      forward_layer(int(i), x, is, acts_[i].data(), step);
    }
  }

  void get_logits(float* host) const override {
    std::memcpy(host, acts_.back().data(), acts_.back().size() * sizeof(float));
  }

  float backward(const int64_t* labels) override {
    if (mode_ != Mode::Train || n_ == 0) fail("backward() needs a forward pass in training mode first");
    const int C = spec_.num_classes;
    for (int i = 0; i < n_; ++i)
      if (labels[i] < 0 || labels[i] >= C) fail("label ", labels[i], " out of range [0, ", C, ")");
    const size_t L = spec_.layers.size();
    dacts_[L - 1].assign(acts_[L - 1].size(), 0.f);
    const float loss = softmax_cross_entropy(dacts_[L - 1].data(), acts_[L - 1].data(), labels, n_, C,
                                             options_.label_smoothing);
    backprop();
    return loss;
  }

  void backward_from(const float* dout) override {
    if (mode_ != Mode::Train || n_ == 0) fail("backward_from() needs a forward pass in training mode first");
    dacts_.back().assign(dout, dout + acts_.back().size());
    backprop();
  }

  // Every layer's backward, last to first, from dacts_.back().
  void backprop() {
    std::fill(grads_.begin(), grads_.end(), 0.f);
    const size_t L = spec_.layers.size();
    const ActShape in_shape{spec_.in_channels, spec_.input_size, spec_.input_size};
    for (size_t i = L; i-- > 0;) {
      std::vector<float>& din = i ? dacts_[i - 1] : dinput_;
      din.assign(size_t(n_) * (i ? shapes_[i - 1] : in_shape).numel(), 0.f);
      backward_layer(int(i), i ? acts_[i - 1].data() : input_.data(), i ? shapes_[i - 1] : in_shape, din.data());
      gradients_ready(int(i));
    }
  }

  void sgd_step(const SgdOptions& sgd, float lr) override {
    sgd_update(params_, grads_, momentum_, !momentum_ready_, sgd, lr);
    momentum_ready_ = true;
  }

  Tensor activation(int layer) const override { return as_tensor(acts_.at(size_t(layer)), shapes_[size_t(layer)]); }
  Tensor activation_grad(int layer) const override { return as_tensor(dacts_.at(size_t(layer)), shapes_[size_t(layer)]); }
  Tensor input_grad() const override {
    return as_tensor(dinput_, {spec_.in_channels, spec_.input_size, spec_.input_size});
  }

 private:
  void forward_layer(int i, const float* x, const ActShape& is, float* y, uint64_t step) {
    const Layer& layer = spec_.layers[size_t(i)];
    const int n = n_;
    const size_t count = size_t(n) * is.numel();
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            const ConvGeom g = geom(op, is);
            const float* w = params_.data() + weight_at_[size_t(i)];
            conv2d_forward(y, x, w, w + size_t(op.out_channels) * (op.in_channels / op.groups) * op.kernel * op.kernel, n, g);
          } else if constexpr (std::is_same_v<T, ReLU>) {
            relu_forward(y, x, count);
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            argmax_[size_t(i)].assign(size_t(n) * shapes_[size_t(i)].numel(), 0);
            maxpool2d_forward(y, argmax_[size_t(i)].data(), x, n, pool_geom(is.c, is.h, is.w, op.kernel, op.stride, op.padding));
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            saved_[size_t(i)].assign(count, 0.f);
            lrn_forward(y, saved_[size_t(i)].data(), x, n, is.c, is.h * is.w, {op.size, op.alpha, op.beta, op.k});
          } else if constexpr (std::is_same_v<T, Dropout>) {
            if (mode_ == Mode::Train && op.p > 0.f) {
              saved_[size_t(i)].assign(count, 0.f);
              dropout_forward(y, saved_[size_t(i)].data(), x, count, op.p, dropout_key(options_.seed, step, dropout_layer(i)));
            } else {
              saved_[size_t(i)].clear();
              std::copy(x, x + count, y);
            }
          } else if constexpr (std::is_same_v<T, Linear>) {
            const float* w = params_.data() + weight_at_[size_t(i)];
            linear_forward(y, x, w, w + size_t(op.out_features) * op.in_features, n, op.in_features, op.out_features);
          } else if constexpr (std::is_same_v<T, Flatten>) {
            std::copy(x, x + count, y);
          } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            adaptive_avgpool2d_forward(y, x, n, is.c, is.h, is.w, op.out_h, op.out_w);
          }
        },
        layer.op);
  }

  // din: d loss / d (layer i's input), written. dacts_[i] holds d loss / d (layer i's output).
  void backward_layer(int i, const float* x, const ActShape& is, float* din) {
    const Layer& layer = spec_.layers[size_t(i)];
    const int n = n_;
    const size_t count = size_t(n) * is.numel();
    const float* dy = dacts_[size_t(i)].data();
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            const size_t wn = size_t(op.out_channels) * (op.in_channels / op.groups) * op.kernel * op.kernel;
            const float* w = params_.data() + weight_at_[size_t(i)];
            float* dw = grads_.data() + weight_at_[size_t(i)];
            conv2d_backward(din, dw, dw + wn, dy, x, w, n, geom(op, is));
          } else if constexpr (std::is_same_v<T, ReLU>) {
            relu_backward(din, dy, acts_[size_t(i)].data(), count);
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            maxpool2d_backward(din, dy, argmax_[size_t(i)].data(), n,
                               pool_geom(is.c, is.h, is.w, op.kernel, op.stride, op.padding));
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            lrn_backward(din, dy, x, saved_[size_t(i)].data(), n, is.c, is.h * is.w, {op.size, op.alpha, op.beta, op.k});
          } else if constexpr (std::is_same_v<T, Dropout>) {
            if (saved_[size_t(i)].empty())
              std::copy(dy, dy + count, din);
            else
              dropout_backward(din, dy, saved_[size_t(i)].data(), count);
          } else if constexpr (std::is_same_v<T, Linear>) {
            const size_t wn = size_t(op.out_features) * op.in_features;
            const float* w = params_.data() + weight_at_[size_t(i)];
            float* dw = grads_.data() + weight_at_[size_t(i)];
            linear_backward(din, dw, dw + wn, dy, x, w, n, op.in_features, op.out_features);
          } else if constexpr (std::is_same_v<T, Flatten>) {
            std::copy(dy, dy + count, din);
          } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            adaptive_avgpool2d_backward(din, dy, n, is.c, is.h, is.w, op.out_h, op.out_w);
          }
        },
        layer.op);
  }

  static ConvGeom geom(const Conv2d& op, const ActShape& is) {
    return conv_geom(is.c, is.h, is.w, op.out_channels, op.kernel, op.stride, op.padding, op.groups);
  }

  Tensor as_tensor(const std::vector<float>& v, const ActShape& s) const {
    if (v.empty()) fail("no activation recorded yet: run forward (and backward) first");
    return Tensor::from(v, s.flat ? Shape{n_, s.c} : Shape{n_, s.c, s.h, s.w});
  }

  void copy_in(std::vector<float>& dst, std::span<const float> src) {
    if (src.size() != dst.size()) fail("parameter buffer of ", src.size(), " floats, expected ", dst.size());
    std::copy(src.begin(), src.end(), dst.begin());
  }
  static void copy_out(const std::vector<float>& src, std::span<float> dst) {
    if (src.size() != dst.size()) fail("parameter buffer of ", dst.size(), " floats, expected ", src.size());
    std::copy(src.begin(), src.end(), dst.begin());
  }

  std::vector<float> params_, grads_, momentum_;  // [params().total] each
  bool momentum_ready_ = false;
  std::vector<size_t> weight_at_;                 // per layer: offset of its weight (bias follows)
  std::vector<float> input_, dinput_;             // [n, C, H, W]
  std::vector<std::vector<float>> acts_, dacts_;  // per layer: output and its gradient
  std::vector<std::vector<int32_t>> argmax_;      // max-pool layers: winning input index per output
  std::vector<std::vector<float>> saved_;         // LRN: scale; dropout: mask
  int n_ = 0;
  Mode mode_ = Mode::Eval;
};

}  // namespace

std::unique_ptr<Net> make_reference_net(const NetSpec& spec, const BuildOptions& options) {
  return std::make_unique<ReferenceNet>(spec, options);
}

}  // namespace alexnet
