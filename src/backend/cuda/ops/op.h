// The interface every CUDA layer op implements, and what the ops share.
//
// One op per layer kind, in a file named after the layer (conv2d.cpp, lrn.cu, ...). An op object
// serves one layer for every batch size up to max_batch; the net (cuda_net.cpp) makes one per layer
// at construction and drives it in these phases:
//   allocate(in, din)  creates the output and its gradient (`out`, `dout`) and the op's own buffers,
//                      all for max_batch, given the input's buffers (once, at construction)
//   plan(n)            prepares batch size n (Conv2d measures its algorithms): for max_batch at
//                      construction, for another n right before the op's first forward at that size
//   refresh_weights()  rewrites the op's compute copy of its weights from the fp32 master buffer
//                      (Conv2d): before the first forward after the parameters changed
//   forward()          out = layer(in) for the ctx.n samples of the current batch, keeping what
//                      backward needs (argmax, LRN scale, dropout key)
//   backward_params()  parameter gradients, OVERWRITTEN (Conv2d and Linear; others do nothing)
//   backward_data()    din = d loss / d in, written, from dout
// Everything crossing layers is the net's: which ReLU is fused into the bias kernel of the layer
// before it, the net's input buffers and the logits, the batch sizes planned, the parameter buffers
// and the SGD update.
//
// Activations are NHWC [N, H, W, C] (convolutional layers) or [N, F] (after Flatten) in the compute
// element type (kernels.h); every buffer holds max_batch samples and the first ctx.n are used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels.h"
#include "backend/net.h"
#include "model/net_spec.h"

namespace alexnet::cuda {

// What every op of one net reads: the stream and library handles, the compute type, the fp32 master
// and gradient buffers, the buffers the layers share, and the state of the current step. The net
// owns it (and the resources it points to) and outlives its ops.
struct Context {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  Precision precision = Precision::F32;
  Elem elem = Elem::F32;  // activations and convolution weight copies: fp32 or bf16
  size_t esize = 4;       // elem_size(elem)
  cublasComputeType_t blas_compute = CUBLAS_COMPUTE_32F_PEDANTIC;
  float* params = nullptr;          // fp32 [params().total] master weights
  float* grads = nullptr;           // fp32 [params().total] gradients
  const uint16_t* mirror = nullptr;  // bf16 [params().total] copy of the parameters (BF16 only)
  void* conv_workspace = nullptr;   // shared by every convolution (kConvWorkspaceBytes, ops/conv2d.h)
  size_t conv_workspace_bytes = 0;
  float* column_scratch = nullptr;  // partial bias-gradient sums (column_sums), shared by Conv2d/Linear
  int n = 0;                        // samples in the current batch
  Mode mode = Mode::Eval;
  uint64_t seed = 0, step = 0;      // dropout masks derive from (seed, step, layer, element)
  bool vector = true;               // vector kernels allowed (ALEXNET_CUDA_VECTOR, switches.h)

  cudnnDataType_t cudnn_type() const { return elem == Elem::BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }
  cudaDataType_t blas_type() const { return elem == Elem::BF16 ? CUDA_R_16BF : CUDA_R_32F; }
};

// Which layer an op serves and at what shapes: `in` and `out` per sample, up to `max_batch` samples.
struct OpShape {
  int layer = 0;     // index into NetSpec::layers
  std::string name;  // the layer's name, for messages
  int max_batch = 0;
  ActShape in, out;
  int in_c_stored = 0;  // the input's channels as stored (the net's input is padded for the tensor cores)
  int dropout_layer = 0;  // the index keying this layer's dropout masks (BuildOptions::layer_ids)
};

class Op {
 public:
  Op(const Context& ctx, const OpShape& shape) : ctx_(ctx), shape_(shape) {}
  virtual ~Op() = default;
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  // By default: out and dout of max_batch * out.numel() elements, and the input's buffers kept.
  virtual void allocate(const void* in, void* din) {
    in_ = in;
    din_ = din;
    out = DeviceMemory(out_capacity() * ctx_.esize);
    dout = DeviceMemory(out_capacity() * ctx_.esize);
  }
  virtual void plan(int /*n*/) {}
  virtual void refresh_weights() {}
  virtual void forward() = 0;
  virtual void backward_params() {}
  virtual void backward_data() = 0;

  // The output and its gradient, [max_batch, ...] in the compute element type.
  DeviceMemory out, dout;

 protected:
  size_t out_capacity() const { return size_t(shape_.max_batch) * size_t(shape_.out.numel()); }
  int64_t in_count() const { return int64_t(ctx_.n) * shape_.in.numel(); }  // input elements of this batch

  const Context& ctx_;
  OpShape shape_;
  const void* in_ = nullptr;  // the input and its gradient: the previous op's out/dout or the net's input
  void* din_ = nullptr;
};

// What Conv2d and Linear share: their offsets in the parameter buffer and the bias kernel, which
// also writes the output of a ReLU the net fused into this layer (set_relu_output).
class WeightedOp : public Op {
 public:
  WeightedOp(const Context& ctx, const OpShape& shape, size_t weight_at, size_t bias_at)
      : Op(ctx, shape), weight_at_(weight_at), bias_at_(bias_at) {}
  // The following ReLU's output buffer: the bias kernel writes max(y, 0) there too.
  void set_relu_output(void* relu_out) { relu_out_ = relu_out; }

 protected:
  const float* bias() const { return ctx_.params + bias_at_; }
  float* weight_grad() const { return ctx_.grads + weight_at_; }
  float* bias_grad() const { return ctx_.grads + bias_at_; }

  size_t weight_at_, bias_at_;  // offsets in the parameter buffer (floats)
  void* relu_out_ = nullptr;
};

}  // namespace alexnet::cuda
