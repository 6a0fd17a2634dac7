// ReLU on CUDA: the kernels, their launchers and the op (contracts in ops/relu.h).
#include "backend/cuda/ops/relu.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void relu_forward_kernel(T* y, const T* x, int64_t count) {
  GRID_STRIDE(i, count) {
    store(y, i, relu_value(load(x, i)));
  }
}

template <class T>
__global__ void relu_backward_kernel(T* dx, const T* dy, const T* y, int64_t count) {
  GRID_STRIDE(i, count) store(dx, i, relu_grad(load(dy, i), load(y, i)));
}

}  // namespace

void relu_forward(void* y, const void* x, Elem e, int64_t count, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    relu_forward_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<T*>(y), static_cast<const T*>(x), count);
  });
  CUDA_CHECK_LAUNCH("relu_forward_kernel");
}

void relu_backward(void* dx, const void* dy, const void* y, Elem e, int64_t count, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    relu_backward_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<T*>(dx), static_cast<const T*>(dy),
                                                                static_cast<const T*>(y), count);
  });
  CUDA_CHECK_LAUNCH("relu_backward_kernel");
}


namespace {

class ReluOp final : public Op {
 public:
  ReluOp(const Context& ctx, const OpShape& shape, bool fused) : Op(ctx, shape), fused_(fused) {}

  void forward() override {
    if (!fused_) relu_forward(out.get(), in_, ctx_.elem, in_count(), ctx_.stream);
  }
  void backward_data() override { relu_backward(din_, dout.get(), out.get(), ctx_.elem, in_count(), ctx_.stream); }

 private:
  bool fused_;
};

}  // namespace

std::unique_ptr<Op> make_relu_op(const Context& ctx, const OpShape& shape, bool fused) {
  return std::make_unique<ReluOp>(ctx, shape, fused);
}

}  // namespace alexnet::cuda
