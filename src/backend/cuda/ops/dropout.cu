// Dropout on CUDA: the kernels, their launchers and the op (contracts in ops/dropout.h).
#include "backend/cuda/ops/dropout.h"

#include "backend/cuda/kernel_util.cuh"
#include "nn/dropout.h"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void dropout_kernel(T* out, const T* in, int N, int C, int H, int W, float p, uint64_t key) {
  const float scale = dropout_scale(p);
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {
    // NHWC storage: the mask index is the NCHW position (the same for [N, F] features)
    const uint64_t index = uint64_t(nhwc_to_nchw_index(i, C, C, H, W));
    store(out, i, dropout_value(load(in, i), dropout_keep(key, index, p), scale));
  }
}

}  // namespace

void dropout_apply(void* out, const void* in, Elem e, int N, int C, int H, int W, float p, uint64_t key, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    dropout_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(static_cast<T*>(out),
                                                                           static_cast<const T*>(in), N, C, H, W, p, key);
  });
  CUDA_CHECK_LAUNCH("dropout_kernel");
}


namespace {

class DropoutOp final : public Op {
 public:
  DropoutOp(const Context& ctx, const OpShape& shape, const Dropout& op) : Op(ctx, shape), op_(op) {}

  void forward() override {
    const ActShape& in = shape_.in;
    on_ = ctx_.mode == Mode::Train && op_.p > 0.f;
    if (on_) {
      key_ = dropout_key(ctx_.seed, ctx_.step, shape_.dropout_layer);
      dropout_apply(out.get(), in_, ctx_.elem, ctx_.n, in.c, in.h, in.w, op_.p, key_, ctx_.stream);
    } else {
      CUDA_CHECK(cudaMemcpyAsync(out.get(), in_, size_t(in_count()) * ctx_.esize, cudaMemcpyDeviceToDevice, ctx_.stream));
    }
  }
  void backward_data() override {
    const ActShape& in = shape_.in;
    if (on_)
      dropout_apply(din_, dout.get(), ctx_.elem, ctx_.n, in.c, in.h, in.w, op_.p, key_, ctx_.stream);
    else
      CUDA_CHECK(cudaMemcpyAsync(din_, dout.get(), size_t(in_count()) * ctx_.esize, cudaMemcpyDeviceToDevice,
                                 ctx_.stream));
  }

 private:
  Dropout op_;
  bool on_ = false;   // a mask was applied in the last forward
  uint64_t key_ = 0;  // its key
};

}  // namespace

std::unique_ptr<Op> make_dropout_op(const Context& ctx, const OpShape& shape, const Dropout& op) {
  return std::make_unique<DropoutOp>(ctx, shape, op);
}

}  // namespace alexnet::cuda
