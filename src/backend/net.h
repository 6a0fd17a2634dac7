// A network instantiated on a backend: the one interface every backend implements.
//
// The backend is chosen once, at construction (make_net). A Net owns its parameters (fp32 master
// weights, one contiguous buffer laid out by the ParamTable), the mirrored gradient buffer and the
// SGD momentum buffer, wherever the backend keeps them; every copy between the host and the backend
// is an explicit call below (set_params, get_params, get_grads, ...), never hidden.
//
// The gradient rule, once for all layers: backward() OVERWRITES the parameter gradients with the
// gradient of this batch's mean loss (no accumulation across calls) and the input gradient of every
// layer is written (=), never accumulated.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/net_spec.h"
#include "nn/sgd.h"  // SgdOptions
#include "tensor/tensor.h"

namespace alexnet {

struct SamplePlan;  // image/sample_plan.h

enum class Device { CPU, CUDA };
enum class Precision { F32, BF16, TF32 };  // TF32: CUDA only. BF16: bf16 compute, fp32 master weights.
enum class BackendKind { Reference, OneDNN, CUDA };

const char* precision_name(Precision p);  // "fp32", "bf16", "tf32"
Precision parse_precision(const std::string& s);  // throws alexnet::Error for anything else
const char* backend_name(BackendKind b);  // "reference", "onednn", "cuda"

enum class Mode { Train, Eval };

struct BuildOptions {
  int max_batch = 64;          // largest batch forward() will see
  Precision precision = Precision::F32;
  uint64_t seed = 0;           // dropout masks derive from (seed, step, layer, element)
  float label_smoothing = 0.f; // cross-entropy target smoothing, as torch.nn.CrossEntropyLoss
  int device = 0;              // CUDA: which visible GPU (modulo their number); one process per GPU passes its local rank
  // A net that is one part of a larger network (dist/split_net.h) draws the dropout masks of that
  // network: layer i's masks are keyed by layer_ids[i], its index there. Empty: each layer's own index.
  std::vector<int> layer_ids;
};

class Net {
 public:
  virtual ~Net() = default;

  const NetSpec& spec() const { return spec_; }
  const ParamTable& params() const { return table_; }
  const std::vector<ActShape>& shapes() const { return shapes_; }
  const BuildOptions& options() const { return options_; }
  virtual BackendKind backend() const = 0;

  // ---- parameters (host <-> backend copies; spans cover the whole buffer, params().total floats)
  virtual void set_params(std::span<const float> host) = 0;
  virtual void get_params(std::span<float> host) const = 0;
  virtual void get_grads(std::span<float> host) const = 0;
  // Replaces the gradients of the last backward() (sgd_step then uses these): data-parallel
  // training writes back the gradients averaged over all processes.
  virtual void set_grads(std::span<const float> host) = 0;
  // The backend's own gradient buffer when it is host memory (reference, oneDNN), to be combined
  // in place between backward() and sgd_step() with no copy; empty when the gradients live on a
  // device (CUDA), where get_grads/set_grads are the explicit copies.
  virtual std::span<float> host_grads() { return {}; }
  // The gradient buffer where it lives on a device (CUDA), and the stream the backend queues its
  // work on, for collectives that work on device memory in place (NCCL, dist/device_allreduce.h):
  // work queued on `stream` after backward() sees the gradients, and sgd_step() sees its result.
  // Empty (null) for the host backends.
  struct DeviceGrads {
    float* data = nullptr;  // params().total floats
    void* stream = nullptr; // cudaStream_t
  };
  virtual DeviceGrads device_grads() { return {}; }
  // Called during backward() each time one layer's parameter gradients are final in host_grads(),
  // with that layer's range of the buffer [begin, end) in floats, from the last layer to the first:
  // data-parallel training starts combining them while backward goes on (dist/gradient_allreduce.h).
  // A backend that does not call it (gradients on a device) has every range final after backward().
  using GradientsReady = std::function<void(size_t begin, size_t end)>;
  void on_gradients_ready(GradientsReady hook) { gradients_ready_ = std::move(hook); }
  virtual void set_momentum(std::span<const float> host) = 0;
  virtual void get_momentum(std::span<float> host) const = 0;

  // ---- one training or evaluation step
  // input: host fp32 NCHW [n, C, H, W], n <= max_batch. Train mode keeps what backward needs and
  // draws dropout masks for `step` (the global step counter; masks depend on seed, step, layer, index).
  virtual void forward(const float* input, int n, Mode mode, uint64_t step = 0) = 0;
  // forward() on images whose transform is still to be done: host uint8 NHWC [n, H, W, 3] (source
  // size, every sample the same) and each sample's plan (image/sample_plan.h, Pipeline::plan: crop,
  // flips, resize to the model's input, PCA colour, normalisation; no colour jitter). The CUDA backend
  // uploads the bytes and carries the plans out on the GPU (one kernel, backend/cuda/augment.h), so a
  // CIFAR batch for the seed model crosses the bus as 3 kB per image instead of 600 kB; the others do
  // it on the host with sample_pixel, then forward(). Throws alexnet::Error for plans that do not fit.
  virtual void forward_planned(const uint8_t* images, int H, int W, const SamplePlan* plans, int n, Mode mode,
                               uint64_t step = 0);
  // The last forward's logits, [n, num_classes], copied to the host.
  virtual void get_logits(float* host) const = 0;
  // Softmax cross-entropy of the last forward's logits (mean over the batch, labels in [0, classes))
  // and the backward pass through every layer. Returns the loss. Requires forward(..., Mode::Train).
  virtual float backward(const int64_t* labels) = 0;
  // The backward pass from the gradient of the last layer's output instead of a loss: `dout` is host
  // fp32 in the layout activation(last) returns ([n, C, H, W] or [n, F]). For a net that is one part
  // of a larger network (dist/split_net.h); input_grad() then gives the gradient to pass on. Requires
  // forward(..., Mode::Train). A backend without it throws alexnet::Error (all three have it).
  virtual void backward_from(const float* dout);
  // p -= lr * momentum-SGD direction (PyTorch's torch.optim.SGD) over the whole buffer, using the
  // gradients of the last backward().
  virtual void sgd_step(const SgdOptions& sgd, float lr) = 0;

  // Returns when all work queued on the backend is done. The CPU backends' calls return when their
  // work is done (nothing to wait for); the CUDA backend waits for its stream. Timers call it before
  // reading the clock.
  virtual void synchronize() const {}
  // The device time, in milliseconds, of the layers' work in the last forward pass and in the last
  // backward pass (backward / backward_from), measured between events on the device, so without the
  // host copies around them; negative where the backend has no device clock (the CPU backends, whose
  // calls return when their work is done: the host clock around a call is their time). Read after
  // synchronize().
  struct PassTimes {
    double forward_ms = -1, backward_ms = -1;
  };
  virtual PassTimes device_times() const { return {}; }

  // ---- inspection, for tests and per-layer reports: host fp32 NCHW copies
  virtual Tensor activation(int layer) const = 0;       // output of layer i, [n, C, H, W] or [n, F]
  virtual Tensor activation_grad(int layer) const = 0;  // d loss / d (output of layer i)
  virtual Tensor input_grad() const = 0;                // d loss / d input
  // input_grad() into `host` ([n, C, H, W] fp32), without a Tensor of its own.
  virtual void get_input_grad(float* host) const;

 protected:
  Net(NetSpec spec, BuildOptions options);
  // Backends call this after layer `layer`'s parameter gradients are written (nothing for layers
  // without parameters, or without a hook).
  // The index that keys layer i's dropout masks (BuildOptions::layer_ids).
  int dropout_layer(int i) const { return options_.layer_ids.empty() ? i : options_.layer_ids.at(size_t(i)); }
  bool announces_gradients() const { return bool(gradients_ready_); }
  // forward_planned's arguments checked (RGB network, batch size, every plan fits): alexnet::Error otherwise.
  void check_planned(int H, int W, const SamplePlan* plans, int n) const;
  void gradients_ready(int layer) const {
    if (!gradients_ready_) return;
    const auto [begin, end] = layer_ranges_[size_t(layer)];
    if (end > begin) gradients_ready_(begin, end);
  }
  NetSpec spec_;
  ParamTable table_;
  std::vector<ActShape> shapes_;
  BuildOptions options_;

 private:
  std::vector<std::pair<size_t, size_t>> layer_ranges_;  // each layer's parameters in the buffer
  std::vector<float> planned_input_;                     // forward_planned's transformed batch (host backends)
  GradientsReady gradients_ready_;
};

// Builds `spec` on a backend. Throws alexnet::Error when the backend is not compiled in, no device
// is present, or the precision is not supported there. Defined in make_net.cpp, the one file that
// knows every backend.
std::unique_ptr<Net> make_net(BackendKind backend, const NetSpec& spec, const BuildOptions& options);

}  // namespace alexnet
