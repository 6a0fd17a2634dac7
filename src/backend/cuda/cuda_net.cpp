// The CUDA Net: executes a NetSpec layer by layer on one GPU, following the reference backend's
// structure (ref_net.cpp). See docs/cuda-backend.md for the design.
//
// Storage (N = the batch of the current call, up to max_batch):
//   params_, grads_, momentum_  fp32 [params().total] each, laid out by the ParamTable
//   mirror_                     bf16 [params().total] (BF16 only): the fully connected weights' compute
//                               copy, written by the fused SGD kernel and by set_params
//   input_                      compute dtype NHWC [N, H, W, Cin] (Cin padded for the tensor cores)
//   layers_[i].act / .dact      layer i's output and its gradient: NHWC [N, H, W, C] or [N, F]
//   layers_[i].weight / .dweight  Conv2d: compute-dtype [K, R, S, C/G] copy of the weights and its gradient
#include "backend/cuda/cuda_net.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <type_traits>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/adaptive_avgpool2d.h"
#include "backend/cuda/ops/dropout.h"
#include "backend/cuda/ops/flatten.h"
#include "backend/cuda/ops/lrn.h"
#include "backend/cuda/ops/maxpool2d.h"
#include "backend/cuda/ops/relu.h"
#include "nn/dropout.h"
#include "nn/geometry.h"
#include "tensor/bf16.h"

namespace alexnet {

namespace {

using cuda::DeviceMemory;
using cuda::Elem;

// The convolution workspace shared by all layers; algorithms needing more are not considered.
constexpr size_t kConvWorkspaceBytes = size_t(512) << 20;
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;

// One convolution at one batch size: its descriptors and the algorithms chosen for them.
struct ConvCall {
  cuda::TensorDesc x, y;
  cuda::ConvDesc fwd_desc, data_desc, filter_desc;  // one per direction: each keeps its algorithm's math type
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t data{};
  cudnnConvolutionBwdFilterAlgo_t filter{};
};

struct LayerState {
  DeviceMemory act, dact;  // output and its gradient, [max_batch, ...] in the compute dtype
  DeviceMemory argmax;     // MaxPool2d: int32 [max_batch, P, Q, C]
  DeviceMemory scale;      // LocalResponseNorm: fp32 [max_batch, H, W, C]
  bool has_params = false;
  size_t weight_at = 0, bias_at = 0;  // offsets in the parameter buffer (floats)
  bool relu_fused = false;            // Conv2d/Linear followed by ReLU: the bias kernel writes the ReLU output too
  bool dropout_on = false;            // Dropout: a mask was applied in the last forward
  uint64_t dropout_key = 0;
  // Conv2d
  int cg_stored = 0;  // input channels per group as stored (padded for the first layer)
  DeviceMemory weight, dweight;
  cuda::FilterDesc filter;
  std::map<int, ConvCall> calls;  // by batch size
};

bool is_conv(const LayerOp& op) { return std::holds_alternative<Conv2d>(op); }

class CudaNet final : public Net {
 public:
  CudaNet(const NetSpec& spec, const BuildOptions& options) : Net(spec, options) {
    int devices = 0;
    const cudaError_t e = cudaGetDeviceCount(&devices);
    if (e != cudaSuccess || devices == 0)
      fail("no CUDA device is visible (", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices", ")");
    elem_ = options.precision == Precision::BF16 ? Elem::BF16 : Elem::F32;
    esize_ = cuda::elem_size(elem_);

    cudaStream_t stream = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    stream_.reset(stream);
    cudnnHandle_t dnn = nullptr;
    CUDNN_CHECK(cudnnCreate(&dnn));
    cudnn_.reset(dnn);
    CUDNN_CHECK(cudnnSetStream(cudnn_.get(), stream_.get()));
    cublasHandle_t blas = nullptr;
    CUBLAS_CHECK(cublasCreate(&blas));
    cublas_.reset(blas);
    CUBLAS_CHECK(cublasSetStream(cublas_.get(), stream_.get()));
    blas_workspace_ = DeviceMemory(kCublasWorkspaceBytes);
    CUBLAS_CHECK(cublasSetWorkspace(cublas_.get(), blas_workspace_.get(), blas_workspace_.bytes()));
    switch (options.precision) {
      case Precision::F32:  // no TF32 anywhere: fp32 products, as torch with allow_tf32 = False
        CUBLAS_CHECK(cublasSetMathMode(cublas_.get(), CUBLAS_PEDANTIC_MATH));
        blas_compute_ = CUBLAS_COMPUTE_32F_PEDANTIC;
        break;
      case Precision::TF32:
        CUBLAS_CHECK(cublasSetMathMode(cublas_.get(), CUBLAS_TF32_TENSOR_OP_MATH));
        blas_compute_ = CUBLAS_COMPUTE_32F_FAST_TF32;
        break;
      case Precision::BF16:
        CUBLAS_CHECK(cublasSetMathMode(cublas_.get(), CUBLAS_DEFAULT_MATH));
        blas_compute_ = CUBLAS_COMPUTE_32F;
        break;
    }

    const size_t P = table_.total;
    params_ = DeviceMemory(P * sizeof(float));
    grads_ = DeviceMemory(P * sizeof(float));
    momentum_ = DeviceMemory(P * sizeof(float));
    if (elem_ == Elem::BF16) mirror_ = DeviceMemory(P * sizeof(uint16_t));

    const int B = options.max_batch;
    const size_t L = spec_.layers.size();
    // The first convolution's 3 input channels are padded (with zeros) to what the tensor cores take.
    in_c_ = spec_.in_channels;
    if (is_conv(spec_.layers[0].op) && std::get<Conv2d>(spec_.layers[0].op).groups == 1) {
      if (elem_ == Elem::BF16) in_c_ = (in_c_ + 7) / 8 * 8;
      if (options.precision == Precision::TF32) in_c_ = (in_c_ + 3) / 4 * 4;
    }
    const size_t in_elems = size_t(B) * spec_.input_size * spec_.input_size;
    staging_ = DeviceMemory(in_elems * spec_.in_channels * sizeof(float));
    input_ = DeviceMemory(in_elems * in_c_ * esize_);
    dinput_ = DeviceMemory(in_elems * in_c_ * esize_);
    labels_ = DeviceMemory(size_t(B) * sizeof(int64_t));
    row_loss_ = DeviceMemory(size_t(B) * sizeof(float));
    loss_ = DeviceMemory(sizeof(float));
    host_loss_ = std::make_unique<cuda::PinnedMemory>(sizeof(float));

    layers_.resize(L);
    size_t scratch = 1;
    for (const ParamInfo& p : table_.entries) {
      LayerState& s = layers_[size_t(p.layer)];
      s.has_params = true;
      (p.shape.size() > 1 ? s.weight_at : s.bias_at) = p.offset;
    }
    for (size_t i = 0; i < L; ++i) {
      LayerState& s = layers_[i];
      const ActShape& out = shapes_[i];
      const ActShape in = in_shape(i);
      const size_t count = size_t(B) * size_t(out.numel());
      s.act = DeviceMemory(count * esize_);
      s.dact = DeviceMemory(count * esize_);
      const LayerOp& op = spec_.layers[i].op;
      if (std::holds_alternative<MaxPool2d>(op)) s.argmax = DeviceMemory(count * sizeof(int32_t));
      if (std::holds_alternative<LocalResponseNorm>(op)) s.scale = DeviceMemory(count * sizeof(float));
      if (std::holds_alternative<Conv2d>(op) || std::holds_alternative<Linear>(op)) {
        s.relu_fused = i + 1 < L && std::holds_alternative<ReLU>(spec_.layers[i + 1].op);
        scratch = std::max(scratch, cuda::column_sums_scratch(int64_t(B) * out.h * out.w, out.c));
      }
      if (const auto* conv = std::get_if<Conv2d>(&op)) {
        s.cg_stored = conv->groups == 1 ? stored_channels(i) : in.c / conv->groups;
        const size_t wn = size_t(conv->out_channels) * conv->kernel * conv->kernel * s.cg_stored;
        s.weight = DeviceMemory(wn * esize_);
        s.dweight = DeviceMemory(wn * esize_);
        s.filter = cuda::make_filter_desc();
        CUDNN_CHECK(cudnnSetFilter4dDescriptor(s.filter.get(), cudnn_type(), CUDNN_TENSOR_NHWC, conv->out_channels,
                                               s.cg_stored, conv->kernel, conv->kernel));
      }
    }
    column_scratch_ = DeviceMemory(scratch * sizeof(float));
    conv_workspace_ = DeviceMemory(kConvWorkspaceBytes);
    // Choose every convolution's algorithms for the full batch now; other batch sizes on first use.
    for (size_t i = 0; i < L; ++i)
      if (is_conv(spec_.layers[i].op)) conv_call(int(i), B);
    CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
  }

  BackendKind backend() const override { return BackendKind::CUDA; }

  // ---- parameters
  void set_params(std::span<const float> host) override {
    upload(params_, host);
    if (elem_ == Elem::BF16) cuda::to_bf16(mirror_.get(), params_.as<float>(), table_.total, stream_.get());
    weights_dirty_ = true;
    sync();
  }
  void get_params(std::span<float> host) const override { download(params_, host); }
  void get_grads(std::span<float> host) const override { download(grads_, host); }
  void set_grads(std::span<const float> host) override {
    upload(grads_, host);
    grads_ready_ = true;
    sync();
  }
  void set_momentum(std::span<const float> host) override {
    upload(momentum_, host);
    momentum_ready_ = true;
    sync();
  }
  void get_momentum(std::span<float> host) const override { download(momentum_, host); }

  // ---- one step
  void forward(const float* input, int n, Mode mode, uint64_t step) override {
    if (n < 1 || n > options_.max_batch) fail("batch of ", n, " samples; this network was built for 1..", options_.max_batch);
    n_ = n;
    mode_ = mode;
    backward_done_ = false;
    input_grad_done_ = false;
    cudaStream_t s = stream_.get();
    if (weights_dirty_) refresh_conv_weights();
    const int C = spec_.in_channels, H = spec_.input_size;
    // Pageable source: the copy returns once the caller's buffer has been read.
    CUDA_CHECK(cudaMemcpyAsync(staging_.get(), input, size_t(n) * C * H * H * sizeof(float), cudaMemcpyHostToDevice, s));
    cuda::input_to_nhwc(input_.get(), elem_, staging_.as<float>(), n, C, in_c_, H, H, s);
    for (size_t i = 0; i < spec_.layers.size(); ++i) forward_layer(int(i), step);
  }

  void get_logits(float* host) const override {
    if (n_ == 0) fail("no logits yet: run forward first");
    const Tensor t = to_host(layers_.back().act, shapes_.back(), shapes_.back().c);
    std::memcpy(host, t.data<float>(), t.nbytes());
  }

  float backward(const int64_t* labels) override {
    if (mode_ != Mode::Train || n_ == 0) fail("backward() needs a forward pass in training mode first");
    const int C = spec_.num_classes;
    for (int i = 0; i < n_; ++i)
      if (labels[i] < 0 || labels[i] >= C) fail("label ", labels[i], " out of range [0, ", C, ")");
    cudaStream_t s = stream_.get();
    CUDA_CHECK(cudaMemcpyAsync(labels_.get(), labels, size_t(n_) * sizeof(int64_t), cudaMemcpyHostToDevice, s));
    const size_t L = spec_.layers.size();
    cuda::softmax_cross_entropy(layers_[L - 1].dact.get(), row_loss_.as<float>(), layers_[L - 1].act.get(),
                                labels_.as<int64_t>(), elem_, n_, C, options_.label_smoothing, s);
    cuda::mean_loss(loss_.as<float>(), row_loss_.as<float>(), n_, s);
    CUDA_CHECK(cudaMemcpyAsync(host_loss_->as<float>(), loss_.get(), sizeof(float), cudaMemcpyDeviceToHost, s));
    for (size_t i = L; i-- > 0;) backward_layer(int(i));
    backward_done_ = grads_ready_ = true;
    sync();
    return *host_loss_->as<float>();
  }

  void sgd_step(const SgdOptions& sgd, float lr) override {
    if (!grads_ready_) fail("sgd_step() needs gradients: run forward and backward first");
    const cuda::SgdArgs a{lr, sgd.momentum, sgd.weight_decay, sgd.dampening, sgd.nesterov, !momentum_ready_};
    cuda::sgd_update(params_.as<float>(), grads_.as<float>(), momentum_.as<float>(), mirror_.get(), table_.total, a,
                     stream_.get());
    momentum_ready_ = true;
    weights_dirty_ = true;
  }

  // ---- inspection
  Tensor activation(int layer) const override {
    if (n_ == 0) fail("no activation recorded yet: run forward first");
    const ActShape& s = shapes_.at(size_t(layer));
    return to_host(layers_[size_t(layer)].act, s, s.c);
  }
  Tensor activation_grad(int layer) const override {
    if (!backward_done_) fail("no activation gradient recorded yet: run forward and backward first");
    const ActShape& s = shapes_.at(size_t(layer));
    return to_host(layers_[size_t(layer)].dact, s, s.c);
  }
  Tensor input_grad() const override {
    if (!backward_done_) fail("no input gradient recorded yet: run forward and backward first");
    // The first convolution's input gradient is not needed for training: computed here, on request.
    if (is_conv(spec_.layers[0].op) && !input_grad_done_) {
      auto* self = const_cast<CudaNet*>(this);
      self->conv_backward_data(0, dinput_.get());
      self->input_grad_done_ = true;
    }
    return to_host(dinput_, in_shape(0), in_c_);
  }

 private:
  // ---- shapes and storage
  ActShape in_shape(size_t i) const {
    return i ? shapes_[i - 1] : ActShape{spec_.in_channels, spec_.input_size, spec_.input_size};
  }
  int stored_channels(size_t i) const { return i ? shapes_[i - 1].c : in_c_; }
  const void* layer_input(size_t i) const { return i ? layers_[i - 1].act.get() : input_.get(); }
  void* layer_input_grad(size_t i) { return i ? layers_[i - 1].dact.get() : dinput_.get(); }
  cudnnDataType_t cudnn_type() const { return elem_ == Elem::BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }
  cudaDataType_t blas_type() const { return elem_ == Elem::BF16 ? CUDA_R_16BF : CUDA_R_32F; }
  const float* param(size_t offset) const { return params_.as<float>() + offset; }
  float* grad(size_t offset) { return grads_.as<float>() + offset; }
  // A fully connected layer's weights in the compute dtype.
  const void* linear_weight(const LayerState& s) const {
    if (elem_ == Elem::BF16) return mirror_.as<uint16_t>() + s.weight_at;
    return param(s.weight_at);
  }
  void sync() const { CUDA_CHECK(cudaStreamSynchronize(stream_.get())); }

  void upload(DeviceMemory& dst, std::span<const float> src) {
    if (src.size() != table_.total) fail("parameter buffer of ", src.size(), " floats, expected ", table_.total);
    CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.data(), src.size_bytes(), cudaMemcpyHostToDevice, stream_.get()));
  }
  void download(const DeviceMemory& src, std::span<float> dst) const {
    if (dst.size() != table_.total) fail("parameter buffer of ", dst.size(), " floats, expected ", table_.total);
    CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.get(), dst.size_bytes(), cudaMemcpyDeviceToHost, stream_.get()));
    sync();
  }

  // A host fp32 NCHW (or [n, F]) copy of a device tensor of the last batch stored with `stored_c` channels.
  Tensor to_host(const DeviceMemory& dev, const ActShape& s, int stored_c) const {
    const size_t hw = size_t(s.h) * s.w, count = size_t(n_) * hw * stored_c;
    std::vector<std::byte> raw(count * esize_);
    CUDA_CHECK(cudaMemcpyAsync(raw.data(), dev.get(), raw.size(), cudaMemcpyDeviceToHost, stream_.get()));
    sync();
    std::vector<float> values(count);
    if (elem_ == Elem::F32) {
      std::memcpy(values.data(), raw.data(), raw.size());
    } else {
      for (size_t j = 0; j < count; ++j) {
        bf16 b;
        std::memcpy(&b.bits, raw.data() + 2 * j, 2);
        values[j] = bf16_to_float(b);
      }
    }
    if (s.flat) return Tensor::from(values, {n_, s.c});
    Tensor t(DType::F32, {n_, s.c, s.h, s.w});  // NHWC -> NCHW, dropping padding channels
    float* out = t.data<float>();
    for (size_t n = 0; n < size_t(n_); ++n)
      for (size_t c = 0; c < size_t(s.c); ++c)
        for (size_t p = 0; p < hw; ++p) out[(n * s.c + c) * hw + p] = values[(n * hw + p) * stored_c + c];
    return t;
  }

  // ---- convolutions
  void refresh_conv_weights() {
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto* conv = std::get_if<Conv2d>(&spec_.layers[i].op);
      if (!conv) continue;
      const LayerState& s = layers_[i];
      cuda::conv_weight_to_krsc(s.weight.get(), elem_, param(s.weight_at), conv->out_channels,
                                conv->in_channels / conv->groups, s.cg_stored, conv->kernel, conv->kernel,
                                stream_.get());
    }
    weights_dirty_ = false;
  }

  cudnnMathType_t requested_math() const {
    // CUDNN_DEFAULT_MATH lets cuDNN use TF32 on Ampere and later: strict fp32 must ask for FMA kernels.
    return options_.precision == Precision::F32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
  }
  bool math_allowed(cudnnMathType_t m) const {
    if (options_.precision != Precision::F32) return true;
    return m == CUDNN_FMA_MATH;
  }
  void set_math(cudnnConvolutionDescriptor_t d, cudnnMathType_t chosen) const {
    if (options_.precision != Precision::F32) CUDNN_CHECK(cudnnSetConvolutionMathType(d, chosen));
  }

  cuda::ConvDesc make_conv(const Conv2d& op) const {
    cuda::ConvDesc d = cuda::make_conv_desc();
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.get(), op.padding, op.padding, op.stride, op.stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.get(), op.groups));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d.get(), requested_math()));
    return d;
  }

  // Picks the fastest result that succeeded, fits the workspace and respects the precision's math.
  template <class Perf>
  const Perf* pick(const Perf* results, int count, const char* what, int layer) const {
    for (int j = 0; j < count; ++j)
      if (results[j].status == CUDNN_STATUS_SUCCESS && results[j].memory <= conv_workspace_.bytes() &&
          math_allowed(results[j].mathType))
        return &results[j];
    fail("cuDNN offers no ", what, " algorithm for ", spec_.layers[size_t(layer)].name, " in ",
         precision_name(options_.precision), " within ", conv_workspace_.bytes() >> 20, " MiB of workspace");
  }

  // The descriptors and algorithms of convolution `i` at batch size n; measured (cudnnFind*Ex) on first use.
  // The search runs the candidate kernels on this layer's own buffers, so it happens before they hold
  // anything needed: at construction, or at the start of this layer's forward.
  ConvCall& conv_call(int i, int n) {
    LayerState& s = layers_[size_t(i)];
    if (auto it = s.calls.find(n); it != s.calls.end()) return it->second;
    const Conv2d& op = std::get<Conv2d>(spec_.layers[size_t(i)].op);
    const ActShape in = in_shape(size_t(i)), out = shapes_[size_t(i)];
    ConvCall c;
    c.x = cuda::make_tensor_desc();
    c.y = cuda::make_tensor_desc();
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(c.x.get(), CUDNN_TENSOR_NHWC, cudnn_type(), n, stored_channels(size_t(i)),
                                           in.h, in.w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(c.y.get(), CUDNN_TENSOR_NHWC, cudnn_type(), n, out.c, out.h, out.w));
    c.fwd_desc = make_conv(op);
    c.data_desc = make_conv(op);
    c.filter_desc = make_conv(op);
    int on = 0, oc = 0, oh = 0, ow = 0;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(c.fwd_desc.get(), c.x.get(), s.filter.get(), &on, &oc, &oh, &ow));
    ALEXNET_ASSERT(on == n && oc == out.c && oh == out.h && ow == out.w, "cuDNN's output shape differs from the table's");

    constexpr int kMax = 16;
    int found = 0;
    void* ws = conv_workspace_.get();
    const size_t wsb = conv_workspace_.bytes();
    const void* x = layer_input(size_t(i));
    {
      cudnnConvolutionFwdAlgoPerf_t r[kMax];
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(cudnn_.get(), c.x.get(), x, s.filter.get(), s.weight.get(),
                                                         c.fwd_desc.get(), c.y.get(), s.act.get(), kMax, &found, r, ws,
                                                         wsb));
      const auto* best = pick(r, found, "forward", i);
      c.fwd = best->algo;
      set_math(c.fwd_desc.get(), best->mathType);
    }
    {
      cudnnConvolutionBwdDataAlgoPerf_t r[kMax];
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn_.get(), s.filter.get(), s.weight.get(), c.y.get(),
                                                              s.dact.get(), c.data_desc.get(), c.x.get(),
                                                              layer_input_grad(size_t(i)), kMax, &found, r, ws, wsb));
      const auto* best = pick(r, found, "backward-data", i);
      c.data = best->algo;
      set_math(c.data_desc.get(), best->mathType);
    }
    {
      cudnnConvolutionBwdFilterAlgoPerf_t r[kMax];
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn_.get(), c.x.get(), x, c.y.get(), s.dact.get(),
                                                                c.filter_desc.get(), s.filter.get(), s.dweight.get(),
                                                                kMax, &found, r, ws, wsb));
      const auto* best = pick(r, found, "backward-filter", i);
      c.filter = best->algo;
      set_math(c.filter_desc.get(), best->mathType);
    }
    return s.calls.emplace(n, std::move(c)).first->second;
  }

  void conv_backward_data(int i, void* dx) {
    LayerState& s = layers_[size_t(i)];
    ConvCall& c = conv_call(i, n_);
    const float one = 1.f, zero = 0.f;
    CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_.get(), &one, s.filter.get(), s.weight.get(), c.y.get(),
                                             s.dact.get(), c.data_desc.get(), c.data, conv_workspace_.get(),
                                             conv_workspace_.bytes(), &zero, c.x.get(), dx));
  }

  // ---- fully connected layers: column-major cuBLAS on row-major tensors
  void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void* A, int lda, const void* B,
            int ldb, void* C, cudaDataType_t c_type, int ldc) {
    const float one = 1.f, zero = 0.f;
    CUBLAS_CHECK(cublasGemmEx(cublas_.get(), ta, tb, m, n, k, &one, A, blas_type(), lda, B, blas_type(), ldb, &zero, C,
                              c_type, ldc, blas_compute_, CUBLAS_GEMM_DEFAULT));
  }

  // ---- layers
  void forward_layer(int i, uint64_t step) {
    LayerState& s = layers_[size_t(i)];
    const ActShape in = in_shape(size_t(i)), out = shapes_[size_t(i)];
    const int n = n_;
    const void* x = layer_input(size_t(i));
    void* y = s.act.get();
    cudaStream_t st = stream_.get();
    const int64_t in_count = int64_t(n) * in.numel();
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            ConvCall& c = conv_call(i, n);
            const float one = 1.f, zero = 0.f;
            CUDNN_CHECK(cudnnConvolutionForward(cudnn_.get(), &one, c.x.get(), x, s.filter.get(), s.weight.get(),
                                                c.fwd_desc.get(), c.fwd, conv_workspace_.get(), conv_workspace_.bytes(),
                                                &zero, c.y.get(), y));
            cuda::bias_add(y, s.relu_fused ? layers_[size_t(i) + 1].act.get() : nullptr, elem_, param(s.bias_at),
                           int64_t(n) * out.h * out.w, out.c, st);
          } else if constexpr (std::is_same_v<T, ReLU>) {
            if (!(i > 0 && layers_[size_t(i) - 1].relu_fused)) cuda::relu_forward(y, x, elem_, in_count, st);
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            cuda::maxpool_forward(y, s.argmax.as<int32_t>(), x, elem_, pool_shape(op, in, out), st);
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            cuda::lrn_forward(y, s.scale.as<float>(), x, elem_, int64_t(n) * in.h * in.w, in.c, op.size, op.alpha,
                              op.beta, op.k, st);
          } else if constexpr (std::is_same_v<T, Dropout>) {
            s.dropout_on = mode_ == Mode::Train && op.p > 0.f;
            if (s.dropout_on) {
              s.dropout_key = dropout_key(options_.seed, step, i);
              cuda::dropout_apply(y, x, elem_, n, in.c, in.h, in.w, op.p, s.dropout_key, st);
            } else {
              CUDA_CHECK(cudaMemcpyAsync(y, x, size_t(in_count) * esize_, cudaMemcpyDeviceToDevice, st));
            }
          } else if constexpr (std::is_same_v<T, Linear>) {
            gemm(CUBLAS_OP_T, CUBLAS_OP_N, op.out_features, n, op.in_features, linear_weight(s), op.in_features, x,
                 op.in_features, y, blas_type(), op.out_features);
            cuda::bias_add(y, s.relu_fused ? layers_[size_t(i) + 1].act.get() : nullptr, elem_, param(s.bias_at), n,
                           op.out_features, st);
          } else if constexpr (std::is_same_v<T, Flatten>) {
            if (in.flat || in.h * in.w == 1)
              CUDA_CHECK(cudaMemcpyAsync(y, x, size_t(in_count) * esize_, cudaMemcpyDeviceToDevice, st));
            else
              cuda::nhwc_to_flat(y, x, elem_, n, in.c, in.h, in.w, st);
          } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            cuda::adaptive_avgpool_forward(y, x, elem_, n, in.c, in.h, in.w, op.out_h, op.out_w, st);
          }
        },
        spec_.layers[size_t(i)].op);
  }

  // Writes d loss / d (layer i's input) and layer i's parameter gradients, from layers_[i].dact.
  void backward_layer(int i) {
    LayerState& s = layers_[size_t(i)];
    const ActShape in = in_shape(size_t(i)), out = shapes_[size_t(i)];
    const int n = n_;
    const void* x = layer_input(size_t(i));
    const void* dy = s.dact.get();
    void* dx = layer_input_grad(size_t(i));
    cudaStream_t st = stream_.get();
    const int64_t in_count = int64_t(n) * in.numel();
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            ConvCall& c = conv_call(i, n);
            cuda::column_sums(grad(s.bias_at), dy, elem_, int64_t(n) * out.h * out.w, out.c, column_scratch_.as<float>(),
                              st);
            const float one = 1.f, zero = 0.f;
            CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn_.get(), &one, c.x.get(), x, c.y.get(), dy,
                                                       c.filter_desc.get(), c.filter, conv_workspace_.get(),
                                                       conv_workspace_.bytes(), &zero, s.filter.get(), s.dweight.get()));
            cuda::conv_grad_to_kcrs(grad(s.weight_at), s.dweight.get(), elem_, op.out_channels,
                                    op.in_channels / op.groups, s.cg_stored, op.kernel, op.kernel, st);
            if (i > 0) conv_backward_data(i, dx);
          } else if constexpr (std::is_same_v<T, ReLU>) {
            cuda::relu_backward(dx, dy, s.act.get(), elem_, in_count, st);
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            cuda::maxpool_backward(dx, dy, s.argmax.as<int32_t>(), elem_, pool_shape(op, in, out), st);
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            cuda::lrn_backward(dx, dy, x, s.scale.as<float>(), elem_, int64_t(n) * in.h * in.w, in.c, op.size, op.alpha,
                               op.beta, st);
          } else if constexpr (std::is_same_v<T, Dropout>) {
            if (s.dropout_on)
              cuda::dropout_apply(dx, dy, elem_, n, in.c, in.h, in.w, op.p, s.dropout_key, st);
            else
              CUDA_CHECK(cudaMemcpyAsync(dx, dy, size_t(in_count) * esize_, cudaMemcpyDeviceToDevice, st));
          } else if constexpr (std::is_same_v<T, Linear>) {
            const int Fi = op.in_features, Fo = op.out_features;
            cuda::column_sums(grad(s.bias_at), dy, elem_, n, Fo, column_scratch_.as<float>(), st);
            // dW [Fo, Fi] = dy^T x, straight into the fp32 gradient buffer
            gemm(CUBLAS_OP_N, CUBLAS_OP_T, Fi, Fo, n, x, Fi, dy, Fo, grad(s.weight_at), CUDA_R_32F, Fi);
            // dx [n, Fi] = dy W
            gemm(CUBLAS_OP_N, CUBLAS_OP_N, Fi, n, Fo, linear_weight(s), Fi, dy, Fo, dx, blas_type(), Fi);
          } else if constexpr (std::is_same_v<T, Flatten>) {
            if (in.flat || in.h * in.w == 1)
              CUDA_CHECK(cudaMemcpyAsync(dx, dy, size_t(in_count) * esize_, cudaMemcpyDeviceToDevice, st));
            else
              cuda::flat_to_nhwc(dx, dy, elem_, n, in.c, in.h, in.w, st);
          } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            cuda::adaptive_avgpool_backward(dx, dy, elem_, n, in.c, in.h, in.w, op.out_h, op.out_w, st);
          }
        },
        spec_.layers[size_t(i)].op);
  }

  cuda::PoolShape pool_shape(const MaxPool2d& op, const ActShape& in, const ActShape& out) const {
    return {n_, in.c, in.h, in.w, out.h, out.w, op.kernel, op.stride, op.padding};
  }

  Elem elem_ = Elem::F32;
  size_t esize_ = 4;
  cublasComputeType_t blas_compute_ = CUBLAS_COMPUTE_32F_PEDANTIC;
  cuda::Stream stream_;
  cuda::CudnnHandle cudnn_;
  cuda::CublasHandle cublas_;
  DeviceMemory blas_workspace_, conv_workspace_;
  DeviceMemory params_, grads_, momentum_, mirror_;  // see the top of the file
  int in_c_ = 3;                                     // input channels as stored (padded)
  DeviceMemory staging_;                             // fp32 NCHW [max_batch, C, H, W]: the uploaded input
  DeviceMemory input_, dinput_;                      // compute dtype NHWC [max_batch, H, W, in_c_]
  DeviceMemory labels_, row_loss_, loss_;            // int64 [max_batch], fp32 [max_batch], fp32 [1]
  DeviceMemory column_scratch_;                      // partial bias-gradient sums
  std::unique_ptr<cuda::PinnedMemory> host_loss_;
  std::vector<LayerState> layers_;
  int n_ = 0;
  Mode mode_ = Mode::Eval;
  bool momentum_ready_ = false, weights_dirty_ = true, grads_ready_ = false;
  bool backward_done_ = false, input_grad_done_ = false;
};

}  // namespace

std::unique_ptr<Net> make_cuda_net(const NetSpec& spec, const BuildOptions& options) {
  return std::make_unique<CudaNet>(spec, options);
}

}  // namespace alexnet

namespace alexnet {

int cuda_visible_devices(std::string* why) {
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess) {
    if (why) *why = cudaGetErrorString(e);
    return 0;
  }
  if (devices == 0 && why) *why = "0 devices";
  return devices;
}

std::vector<std::string> cuda_device_summary() {
  std::vector<std::string> out;
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  const size_t cudnn = cudnnGetVersion();
  out.push_back(cat("CUDA runtime ", runtime / 1000, ".", (runtime % 1000) / 10, ", driver supports ", driver / 1000, ".",
                    (driver % 1000) / 10, ", cuDNN ", cudnn / 10000, ".", (cudnn % 10000) / 100, ".", cudnn % 100));
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    out.push_back(e != cudaSuccess ? cat("no GPU visible (", cudaGetErrorString(e), ")") : std::string("no GPU visible"));
    return out;
  }
  for (int d = 0; d < devices; ++d) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
    out.push_back(cat("GPU ", d, ": ", p.name, ", ", p.totalGlobalMem >> 20, " MiB, compute capability ", p.major, ".", p.minor));
  }
  return out;
}

}  // namespace alexnet
