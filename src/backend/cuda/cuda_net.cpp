// The CUDA Net: executes a NetSpec on one GPU as a loop over the layer table: one op per layer
// (ops/<layer>.{h,cu,cpp}, interface in ops/op.h), made and allocated once. What crosses layers is
// decided here: which ReLU is fused into the bias kernel of the Conv2d/Linear before it, the net's
// input (its channels padded for the tensor cores), the buffers handed from each op to the next, the
// logits and the loss, the batch sizes planned, the parameter buffers and the SGD update over them.
// See docs/cuda-backend.md for the design.
//
// Storage (N = the batch of the current call, up to max_batch):
//   params_, grads_, momentum_  fp32 [params().total] each, laid out by the ParamTable
//   mirror_                     bf16 [params().total] (BF16 only): the fully connected weights' compute
//                               copy, written by the fused SGD kernel and by set_params
//   input_                      compute dtype NHWC [N, H, W, Cin] (Cin padded for the tensor cores)
//   ops_[i]->out / ->dout       layer i's output and its gradient: NHWC [N, H, W, C] or [N, F]
//   each op's own buffers       see ops/<layer>.h (Conv2d: the compute-dtype weight copy, ...)
#include "backend/cuda/cuda_net.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <type_traits>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/augment.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/ops/adaptive_avgpool2d.h"
#include "backend/cuda/ops/conv2d.h"
#include "backend/cuda/ops/dropout.h"
#include "backend/cuda/ops/flatten.h"
#include "backend/cuda/ops/linear.h"
#include "backend/cuda/ops/lrn.h"
#include "backend/cuda/ops/maxpool2d.h"
#include "backend/cuda/ops/op.h"
#include "backend/cuda/ops/relu.h"
#include "backend/cuda/switches.h"
#include "tensor/bf16.h"

namespace alexnet {

namespace {

using cuda::DeviceMemory;
using cuda::Elem;

constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;

bool is_conv(const LayerOp& op) { return std::holds_alternative<Conv2d>(op); }
bool is_weighted(const LayerOp& op) { return std::holds_alternative<Conv2d>(op) || std::holds_alternative<Linear>(op); }

class CudaNet final : public Net {
 public:
  CudaNet(const NetSpec& spec, const BuildOptions& options) : Net(spec, options) {
    switches_ = cuda::read_cuda_switches();  // a bad value is an error, with or without a device
    int devices = 0;
    const cudaError_t e = cudaGetDeviceCount(&devices);
    if (e != cudaSuccess || devices == 0)
      fail("no CUDA device is visible (", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices", ")");
    CUDA_CHECK(cudaSetDevice(options.device % devices));  // before any stream, handle or allocation
    elem_ = options.precision == Precision::BF16 ? Elem::BF16 : Elem::F32;
    esize_ = cuda::elem_size(elem_);

    cudaStream_t stream = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    stream_.reset(stream);
    forward_begin_ = cuda::make_event();
    forward_end_ = cuda::make_event();
    backward_begin_ = cuda::make_event();
    backward_end_ = cuda::make_event();
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

    ctx_.stream = stream_.get();
    ctx_.cudnn = cudnn_.get();
    ctx_.cublas = cublas_.get();
    ctx_.precision = options.precision;
    ctx_.elem = elem_;
    ctx_.esize = esize_;
    ctx_.blas_compute = blas_compute_;
    ctx_.params = params_.as<float>();
    ctx_.grads = grads_.as<float>();
    ctx_.mirror = mirror_.as<uint16_t>();
    ctx_.seed = options.seed;
    ctx_.vector = switches_.vector;

    // Each layer's offsets in the parameter buffer.
    std::vector<size_t> weight_at(L, 0), bias_at(L, 0);
    for (const ParamInfo& p : table_.entries) (p.shape.size() > 1 ? weight_at : bias_at)[size_t(p.layer)] = p.offset;
    // The ops, first to last, each given the previous op's buffers (the net's input for the first).
    size_t scratch = 1;
    for (size_t i = 0; i < L; ++i) {
      const LayerOp& op = spec_.layers[i].op;
      ops_.push_back(make_op(i, weight_at[i], bias_at[i]));
      if (i == 0)
        ops_[0]->allocate(input_.get(), dinput_.get());
      else
        ops_[i]->allocate(ops_[i - 1]->out.get(), ops_[i - 1]->dout.get());
      if (is_weighted(op)) {
        const ActShape& out = shapes_[i];
        scratch = std::max(scratch, cuda::column_sums_scratch(int64_t(B) * out.h * out.w, out.c));
      }
    }
    // A ReLU right after a Conv2d/Linear: the bias kernel of that layer writes the ReLU's output too.
    for (size_t i = 0; i + 1 < L; ++i)
      if (relu_fused(i + 1)) static_cast<cuda::WeightedOp&>(*ops_[i]).set_relu_output(ops_[i + 1]->out.get());
    column_scratch_ = DeviceMemory(scratch * sizeof(float));
    conv_workspace_ = DeviceMemory(cuda::kConvWorkspaceBytes);
    ctx_.column_scratch = column_scratch_.as<float>();
    ctx_.conv_workspace = conv_workspace_.get();
    ctx_.conv_workspace_bytes = conv_workspace_.bytes();
    // Plan every op for the full batch now (convolutions choose their algorithms); other batch sizes
    // on first use.
    for (const auto& op : ops_) op->plan(B);
    planned_.insert(B);
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
  DeviceGrads device_grads() override { return {grads_.as<float>(), stream_.get()}; }
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
    begin_forward(n, mode, step);
    cudaStream_t s = stream_.get();
    const int C = spec_.in_channels, H = spec_.input_size;
    // Pageable source: the copy returns once the caller's buffer has been read.
    CUDA_CHECK(cudaMemcpyAsync(staging_.get(), input, size_t(n) * C * H * H * sizeof(float), cudaMemcpyHostToDevice, s));
    cuda::input_to_nhwc(input_.get(), elem_, staging_.as<float>(), n, C, in_c_, H, H, s);
    run_forward(n);
  }

  // The bytes and the plans go up (a CIFAR image is 3 kB), the transform kernel writes the net's input.
  void forward_planned(const uint8_t* images, int H, int W, const SamplePlan* plans, int n, Mode mode,
                       uint64_t step) override {
    check_planned(H, W, plans, n);
    const size_t image_bytes = size_t(H) * size_t(W) * 3;
    // Allocated on the first call (and again for a larger source size), for max_batch samples.
    if (planned_src_.bytes() < size_t(options_.max_batch) * image_bytes)
      planned_src_ = DeviceMemory(size_t(options_.max_batch) * image_bytes);
    if (!planned_plans_.get()) planned_plans_ = DeviceMemory(sizeof(SamplePlan) * size_t(options_.max_batch));
    begin_forward(n, mode, step);
    cudaStream_t s = stream_.get();
    CUDA_CHECK(cudaMemcpyAsync(planned_src_.get(), images, size_t(n) * image_bytes, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(planned_plans_.get(), plans, sizeof(SamplePlan) * size_t(n), cudaMemcpyHostToDevice, s));
    cuda::augment_batch(input_.get(), elem_, in_c_, planned_src_.as<uint8_t>(), H, W, planned_plans_.as<SamplePlan>(),
                        n, spec_.input_size, s);
    run_forward(n);
  }

  void get_logits(float* host) const override {
    if (ctx_.n == 0) fail("no logits yet: run forward first");
    const Tensor t = to_host(ops_.back()->out, shapes_.back(), shapes_.back().c);
    std::memcpy(host, t.data<float>(), t.nbytes());
  }

  float backward(const int64_t* labels) override {
    if (ctx_.mode != Mode::Train || ctx_.n == 0) fail("backward() needs a forward pass in training mode first");
    const int n = ctx_.n;
    const int C = spec_.num_classes;
    for (int i = 0; i < n; ++i)
      if (labels[i] < 0 || labels[i] >= C) fail("label ", labels[i], " out of range [0, ", C, ")");
    cudaStream_t s = stream_.get();
    CUDA_CHECK(cudaMemcpyAsync(labels_.get(), labels, size_t(n) * sizeof(int64_t), cudaMemcpyHostToDevice, s));
    const cuda::Op& last = *ops_.back();
    cuda::softmax_cross_entropy(last.dout.get(), row_loss_.as<float>(), last.out.get(), labels_.as<int64_t>(), elem_, n,
                                C, options_.label_smoothing, s);
    cuda::mean_loss(loss_.as<float>(), row_loss_.as<float>(), n, s);
    CUDA_CHECK(cudaMemcpyAsync(host_loss_->as<float>(), loss_.get(), sizeof(float), cudaMemcpyDeviceToHost, s));
    backprop();
    return *host_loss_->as<float>();
  }

  void backward_from(const float* dout) override {
    if (ctx_.mode != Mode::Train || ctx_.n == 0) fail("backward_from() needs a forward pass in training mode first");
    const int n = ctx_.n;
    const ActShape& o = shapes_.back();
    const size_t floats = size_t(n) * size_t(o.numel());
    if (dout_staging_.bytes() < floats * sizeof(float)) dout_staging_ = DeviceMemory(floats * sizeof(float));
    cudaStream_t s = stream_.get();
    CUDA_CHECK(cudaMemcpyAsync(dout_staging_.get(), dout, floats * sizeof(float), cudaMemcpyHostToDevice, s));
    cuda::input_to_nhwc(ops_.back()->dout.get(), elem_, dout_staging_.as<float>(), n, o.c, o.c, o.h, o.w, s);
    backprop();
  }

  void sgd_step(const SgdOptions& sgd, float lr) override {
    if (!grads_ready_) fail("sgd_step() needs gradients: run forward and backward first");
    const cuda::SgdArgs a{lr, sgd.momentum, sgd.weight_decay, sgd.dampening, sgd.nesterov, !momentum_ready_};
    cuda::sgd_update(params_.as<float>(), grads_.as<float>(), momentum_.as<float>(), mirror_.get(), table_.total, a,
                     switches_.vector, stream_.get());
    momentum_ready_ = true;
    weights_dirty_ = true;
  }

  // ---- inspection
  Tensor activation(int layer) const override {
    if (ctx_.n == 0) fail("no activation recorded yet: run forward first");
    const ActShape& s = shapes_.at(size_t(layer));
    return to_host(ops_.at(size_t(layer))->out, s, s.c);
  }
  Tensor activation_grad(int layer) const override {
    if (!backward_done_) fail("no activation gradient recorded yet: run forward and backward first");
    const ActShape& s = shapes_.at(size_t(layer));
    return to_host(ops_.at(size_t(layer))->dout, s, s.c);
  }
  Tensor input_grad() const override {
    if (!backward_done_) fail("no input gradient recorded yet: run forward and backward first");
    // The first convolution's input gradient is not needed for training: computed here, on request.
    if (is_conv(spec_.layers[0].op) && !input_grad_done_) {
      ops_[0]->backward_data();
      // The backward pass's device time (device_times) then includes it (and the host's launch gap).
      CUDA_CHECK(cudaEventRecord(backward_end_.get(), stream_.get()));
      input_grad_done_ = true;
    }
    return to_host(dinput_, in_shape(0), in_c_);
  }

 private:
  // Every op's backward, last to first, from the last op's dout; waits for the stream.
  void backprop() {
    // The first convolution's input gradient is not needed for training: input_grad() computes it.
    const bool skip_first_data = is_conv(spec_.layers[0].op);
    CUDA_CHECK(cudaEventRecord(backward_begin_.get(), stream_.get()));
    for (size_t i = ops_.size(); i-- > 0;) {
      ops_[i]->backward_params();
      if (i > 0 || !skip_first_data) ops_[i]->backward_data();
    }
    CUDA_CHECK(cudaEventRecord(backward_end_.get(), stream_.get()));
    backward_timed_ = true;
    backward_done_ = grads_ready_ = true;
    sync();
  }

  // ---- shapes and storage
  ActShape in_shape(size_t i) const {
    return i ? shapes_[i - 1] : ActShape{spec_.in_channels, spec_.input_size, spec_.input_size};
  }
  int stored_channels(size_t i) const { return i ? shapes_[i - 1].c : in_c_; }
  // A ReLU right after a Conv2d/Linear runs in that layer's bias kernel (unless ALEXNET_CUDA_FUSED=0).
  bool relu_fused(size_t i) const {
    return switches_.fused && i > 0 && std::holds_alternative<ReLU>(spec_.layers[i].op) && is_weighted(spec_.layers[i - 1].op);
  }
  void sync() const { CUDA_CHECK(cudaStreamSynchronize(stream_.get())); }
  void synchronize() const override { sync(); }
  PassTimes device_times() const override {
    PassTimes t;
    float ms = 0;
    if (forward_timed_) {
      CUDA_CHECK(cudaEventElapsedTime(&ms, forward_begin_.get(), forward_end_.get()));
      t.forward_ms = ms;
    }
    if (backward_timed_) {
      CUDA_CHECK(cudaEventElapsedTime(&ms, backward_begin_.get(), backward_end_.get()));
      t.backward_ms = ms;
    }
    return t;
  }

  // Layer i's op: the layer table's entry, dispatched to its file in ops/.
  std::unique_ptr<cuda::Op> make_op(size_t i, size_t weight_at, size_t bias_at) const {
    const Layer& layer = spec_.layers[i];
    const cuda::OpShape shape{int(i), layer.name, options_.max_batch, in_shape(i), shapes_[i], stored_channels(i),
                                      dropout_layer(int(i))};
    return std::visit(
        [&](const auto& op) -> std::unique_ptr<cuda::Op> {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            return cuda::make_conv2d_op(ctx_, shape, op, weight_at, bias_at);
          } else if constexpr (std::is_same_v<T, Linear>) {
            return cuda::make_linear_op(ctx_, shape, op, weight_at, bias_at);
          } else if constexpr (std::is_same_v<T, ReLU>) {
            return cuda::make_relu_op(ctx_, shape, relu_fused(i));
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            return cuda::make_maxpool2d_op(ctx_, shape, op);
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            return cuda::make_lrn_op(ctx_, shape, op);
          } else if constexpr (std::is_same_v<T, Dropout>) {
            return cuda::make_dropout_op(ctx_, shape, op);
          } else if constexpr (std::is_same_v<T, Flatten>) {
            return cuda::make_flatten_op(ctx_, shape);
          } else {
            static_assert(std::is_same_v<T, AdaptiveAvgPool2d>, "a layer kind without a CUDA op");
            return cuda::make_adaptive_avgpool2d_op(ctx_, shape, op);
          }
        },
        layer.op);
  }

  // What every forward does before its input is written: the step's context, fresh weight copies.
  void begin_forward(int n, Mode mode, uint64_t step) {
    if (n < 1 || n > options_.max_batch) fail("batch of ", n, " samples; this network was built for 1..", options_.max_batch);
    ctx_.n = n;
    ctx_.mode = mode;
    ctx_.step = step;
    backward_done_ = false;
    input_grad_done_ = false;
    if (weights_dirty_) {
      for (const auto& op : ops_) op->refresh_weights();
      weights_dirty_ = false;
    }
  }

  // The layers, once the input is written. A new batch size plans each op right before its first
  // forward at that size (a convolution's algorithm search runs on its own buffers, which hold nothing
  // needed then).
  void run_forward(int n) {
    const bool fresh = !planned_.count(n);
    CUDA_CHECK(cudaEventRecord(forward_begin_.get(), stream_.get()));
    for (const auto& op : ops_) {
      if (fresh) op->plan(n);
      op->forward();
    }
    CUDA_CHECK(cudaEventRecord(forward_end_.get(), stream_.get()));
    forward_timed_ = true;
    if (fresh) planned_.insert(n);
  }

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
    const size_t hw = size_t(s.h) * s.w, count = size_t(ctx_.n) * hw * stored_c;
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
    if (s.flat) return Tensor::from(values, {ctx_.n, s.c});
    Tensor t(DType::F32, {ctx_.n, s.c, s.h, s.w});  // NHWC -> NCHW, dropping padding channels
    float* out = t.data<float>();
    for (size_t n = 0; n < size_t(ctx_.n); ++n)
      for (size_t c = 0; c < size_t(s.c); ++c)
        for (size_t p = 0; p < hw; ++p) out[(n * s.c + c) * hw + p] = values[(n * hw + p) * stored_c + c];
    return t;
  }

  cuda::CudaSwitches switches_;  // the fast paths in use (switches.h)
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
  DeviceMemory dout_staging_;                        // fp32 NCHW: backward_from's uploaded output gradient
  DeviceMemory input_, dinput_;                      // compute dtype NHWC [max_batch, H, W, in_c_]
  DeviceMemory planned_src_, planned_plans_;         // forward_planned: uint8 NHWC source images, their plans
  DeviceMemory labels_, row_loss_, loss_;            // int64 [max_batch], fp32 [max_batch], fp32 [1]
  DeviceMemory column_scratch_;                      // partial bias-gradient sums
  std::unique_ptr<cuda::PinnedMemory> host_loss_;
  // Around the layers' work of the last forward and backward (device_times); recorded at least once.
  cuda::Event forward_begin_, forward_end_, backward_begin_, backward_end_;
  bool forward_timed_ = false, backward_timed_ = false;
  cuda::Context ctx_;                                // what the ops read: handles, buffers, the current step
  std::vector<std::unique_ptr<cuda::Op>> ops_;       // one per layer
  std::set<int> planned_;                            // the batch sizes every op has been planned for
  bool momentum_ready_ = false, weights_dirty_ = true, grads_ready_ = false;
  bool backward_done_ = false;
  mutable bool input_grad_done_ = false;
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
  int blas[3] = {0, 0, 0};
  cublasGetProperty(MAJOR_VERSION, &blas[0]);
  cublasGetProperty(MINOR_VERSION, &blas[1]);
  cublasGetProperty(PATCH_LEVEL, &blas[2]);
  out.push_back(cat("CUDA runtime ", runtime / 1000, ".", (runtime % 1000) / 10, ", driver supports ", driver / 1000, ".",
                    (driver % 1000) / 10, ", cuDNN ", cudnn / 10000, ".", (cudnn % 10000) / 100, ".", cudnn % 100,
                    ", cuBLAS ", blas[0], ".", blas[1], ".", blas[2]));
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
