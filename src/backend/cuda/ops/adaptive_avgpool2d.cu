// AdaptiveAvgPool2d on CUDA: the kernels, their launchers and the op (contracts in ops/adaptive_avgpool2d.h).
#include "backend/cuda/ops/adaptive_avgpool2d.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void avgpool_forward_kernel(T* y, const T* x, int N, int C, int H, int W, int P, int Q) {
  const int64_t count = int64_t(N) * P * Q * C;
  GRID_STRIDE(i, count) {
    const int c = int(i % C);
    int64_t rest = i / C;
    const int q = int(rest % Q);
    rest /= Q;
    const int p = int(rest % P);
    const int64_t n = rest / P;
    store(y, i, avgpool_cell([&](int h, int w) { return load(x, ((n * H + h) * W + w) * C + c); }, H, W, P, Q, p, q));
  }
}

template <class T>
__global__ void avgpool_backward_kernel(T* dx, const T* dy, int N, int C, int H, int W, int P, int Q) {
  const int64_t count = int64_t(N) * H * W * C;
  GRID_STRIDE(i, count) {
    const int c = int(i % C);
    int64_t rest = i / C;
    const int w = int(rest % W);
    rest /= W;
    const int h = int(rest % H);
    const int64_t n = rest / H;
    store(dx, i, avgpool_input_grad([&](int p, int q) { return load(dy, ((n * P + p) * Q + q) * C + c); }, H, W, P, Q, h, w));
  }
}

}  // namespace

void adaptive_avgpool_forward(void* y, const void* x, Elem e, int N, int C, int H, int W, int P, int Q, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    avgpool_forward_kernel<<<blocks_for(int64_t(N) * P * Q * C), kThreads, 0, s>>>(
        static_cast<T*>(y), static_cast<const T*>(x), N, C, H, W, P, Q);
  });
  CUDA_CHECK_LAUNCH("avgpool_forward_kernel");
}

void adaptive_avgpool_backward(void* dx, const void* dy, Elem e, int N, int C, int H, int W, int P, int Q,
                               cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    avgpool_backward_kernel<<<blocks_for(int64_t(N) * H * W * C), kThreads, 0, s>>>(
        static_cast<T*>(dx), static_cast<const T*>(dy), N, C, H, W, P, Q);
  });
  CUDA_CHECK_LAUNCH("avgpool_backward_kernel");
}


namespace {

class AdaptiveAvgPool2dOp final : public Op {
 public:
  AdaptiveAvgPool2dOp(const Context& ctx, const OpShape& shape, const AdaptiveAvgPool2d& op) : Op(ctx, shape), op_(op) {}

  void forward() override {
    const ActShape& in = shape_.in;
    adaptive_avgpool_forward(out.get(), in_, ctx_.elem, ctx_.n, in.c, in.h, in.w, op_.out_h, op_.out_w, ctx_.stream);
  }
  void backward_data() override {
    const ActShape& in = shape_.in;
    adaptive_avgpool_backward(din_, dout.get(), ctx_.elem, ctx_.n, in.c, in.h, in.w, op_.out_h, op_.out_w, ctx_.stream);
  }

 private:
  AdaptiveAvgPool2d op_;
};

}  // namespace

std::unique_ptr<Op> make_adaptive_avgpool2d_op(const Context& ctx, const OpShape& shape, const AdaptiveAvgPool2d& op) {
  return std::make_unique<AdaptiveAvgPool2dOp>(ctx, shape, op);
}

}  // namespace alexnet::cuda
