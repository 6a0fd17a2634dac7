// The interface every oneDNN layer op implements, and what the ops share.
//
// One op per layer kind, in a file named after the layer (conv2d.cpp, lrn.cpp, ...). An op object
// serves one layer at one batch size; the net (onednn_net.cpp) makes one per layer for every batch
// size it runs and drives them in four phases:
//   plan(in_md)        creates the primitives for the input's format and returns the output's format
//   allocate(in, din)  creates the output and its gradient (`out`, `dout`), given the input's buffers
//   forward()          out = layer(in), keeping what backward needs (workspace, LRN scale)
//   backward_params()  parameter gradients, OVERWRITTEN (Conv2d and Linear; others do nothing)
//   backward_data()    din = d loss / d in, written, from dout
// Everything crossing layers is the net's: which ReLU is fused into the layer before it, the net's
// input and logits buffers, the plans per batch size, the weight copies kept across them.
//
// Activation formats are oneDNN memory descriptors: blocked (aBcd16b, ...) or plain, f32 or bf16.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cpu/dnnl_check.h"
#include "backend/net.h"
#include "model/net_spec.h"

namespace alexnet::onednn {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using Dt = memory::data_type;
using Tag = memory::format_tag;

memory::desc plain_md(const memory::dims& dims, Dt dt);  // abcd... in that order (NCHW, [N, F], OIHW)
memory::desc any_md(const memory::dims& dims, Dt dt);    // format_tag::any: the primitive chooses
bool is_reference_impl(const char* impl_info);           // oneDNN's slow reference kernels ("ref:...")
bool is_jit_impl(const char* impl_info);                 // generated machine code ("jit:avx2", "x64:gemm:jit", ...)

// What every op of one net reads: the engine and stream, the compute type, the fp32 master and
// gradient buffers, and the state of the current step. The net owns it and outlives its ops.
struct Context {
  dnnl::engine engine;
  mutable dnnl::stream stream;
  Dt dt = Dt::f32;               // activations and weight copies: f32 or bf16
  float* params = nullptr;       // fp32 [params().total] master weights
  float* grads = nullptr;        // fp32 [params().total] gradients
  uint64_t version = 0;          // bumped whenever the master weights change
  uint64_t seed = 0, step = 0;   // dropout masks derive from (seed, step, layer, element)
  Mode mode = Mode::Eval;

  void reorder(const memory& src, const memory& dst) const;  // nothing when src is dst
  memory fresh(const memory::desc& md) const { return ALEXNET_DNNL(memory(md, engine)); }
  memory view(const memory::desc& md, void* data) const { return ALEXNET_DNNL(memory(md, engine, data)); }
  void exec(const dnnl::primitive& prim, const std::unordered_map<int, memory>& args) const {
    ALEXNET_DNNL(prim.execute(stream, args));
  }
  void wait() const { ALEXNET_DNNL(stream.wait()); }
};

// Which layer an op serves and at what shapes: `in` and `out` per sample, `n` samples.
struct OpShape {
  int layer = 0;     // index into NetSpec::layers
  std::string name;  // the layer's name, for messages
  int n = 0;
  ActShape in, out;
  int dropout_layer = 0;  // the index keying this layer's dropout masks (BuildOptions::layer_ids)
  memory::dims in_dims() const;   // [n, C, H, W] or [n, F]
  memory::dims out_dims() const;
};

class Op {
 public:
  Op(const Context& ctx, const OpShape& shape) : ctx_(ctx), shape_(shape) {}
  virtual ~Op() = default;
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  // `in` is the input's format; an empty descriptor for the first layer of a net when it
  // picks_input_format(): input_md() afterwards. Returns the output's format (also out_md()).
  virtual memory::desc plan(const memory::desc& in) = 0;
  // True when, first in a net, this op chooses the net's input format (Conv2d, Linear, LRN); other
  // first ops get plain NCHW.
  virtual bool picks_input_format() const { return false; }
  virtual void allocate(const memory& in, const memory& din) = 0;
  virtual void forward() = 0;
  virtual void backward_params() {}
  virtual void backward_data() = 0;

  const memory::desc& input_md() const { return in_md_; }
  const memory::desc& out_md() const { return out_md_; }
  // The output and its gradient in out_md(). `out` is empty for a Conv2d/Linear whose ReLU is fused.
  memory out, dout;

 protected:
  const Context& ctx_;
  OpShape shape_;
  memory::desc in_md_, out_md_;
  memory in_, din_;  // the input and its gradient: the previous op's out/dout or the net's input

  // What most allocate()s do: keep the input's buffers and make `out` and `dout` fresh in out_md_.
  void keep_input_fresh_output(const memory& in, const memory& din) {
    in_ = in;
    din_ = din;
    out = ctx_.fresh(out_md_);
    dout = ctx_.fresh(out_md_);
  }
};

// A layer's compute copies of its weights, one per format a primitive asks for, refreshed from the
// master buffer once per parameter version. Shared by the layer's ops of every batch size.
class WeightCopies {
 public:
  // The weights in format `md`: the master buffer itself when `md` is plain fp32.
  memory get(const Context& ctx, float* master, const memory::desc& md);

 private:
  struct Copy {
    memory mem;
    uint64_t version = ~uint64_t(0);
  };
  std::vector<Copy> copies_;
};

// An op that falls back to a plain loop of nn/ on fp32 NCHW copies of its input and output, for
// what oneDNN has no primitive for (even-sized LRN, uneven adaptive pooling). Derived classes
// implement the two loops on x, y, dy, dx below.
class PlainLoopOp : public Op {
 public:
  using Op::Op;
  memory::desc plan(const memory::desc& in) override;
  void allocate(const memory& in, const memory& din) override;
  void forward() override;
  void backward_data() override;

 protected:
  virtual void loop_forward(const float* x, float* y) = 0;
  virtual void loop_backward(const float* x, const float* dy, float* dx) = 0;

 private:
  memory in_f32_, out_f32_, din_f32_, dout_f32_;  // views when the formats are already plain fp32
};

// A layer that changes nothing at this shape (Flatten of [N, F], AdaptiveAvgPool2d to its input's
// size): its output and gradient are its input's buffers.
class IdentityOp final : public Op {
 public:
  using Op::Op;
  memory::desc plan(const memory::desc& in) override;
  void allocate(const memory& in, const memory& din) override;
  void forward() override {}
  void backward_data() override {}
};

// oneDNN pooling (forward_training; max keeps its workspace), output in the format oneDNN picks.
// MaxPool2d, and AdaptiveAvgPool2d where the sizes divide (kernel = stride = in / out). An input in a
// format oneDNN has no JIT pooling for (plain NCHW) is pooled as a blocked copy.
class PoolingOp final : public Op {
 public:
  struct Window {
    algorithm alg;
    int kh, kw, sh, sw, pad;
  };
  PoolingOp(const Context& ctx, const OpShape& shape, const Window& window) : Op(ctx, shape), window_(window) {}
  memory::desc plan(const memory::desc& in) override;
  void allocate(const memory& in, const memory& din) override;
  void forward() override;
  void backward_data() override;

 private:
  Window window_;
  dnnl::primitive fwd_, bwd_;
  memory::desc src_md_;  // what the primitives read: the input's format, or a blocked one
  memory src_, dsrc_;    // the input and its gradient in src_md_ (the input's buffers when the same)
  memory workspace_;     // max pooling only
};

}  // namespace alexnet::onednn
