// AdaptiveAvgPool2d on CUDA: the kernels, their launchers and the op (contracts in ops/adaptive_avgpool2d.h).
#include "backend/cuda/ops/adaptive_avgpool2d.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

__device__ __forceinline__ int adaptive_begin(int i, int in, int out) { return (i * in) / out; }
__device__ __forceinline__ int adaptive_end(int i, int in, int out) { return ((i + 1) * in + out - 1) / out; }

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
    const int h0 = adaptive_begin(p, H, P), h1 = adaptive_end(p, H, P);
    const int w0 = adaptive_begin(q, W, Q), w1 = adaptive_end(q, W, Q);
    float sum = 0.f;
    for (int h = h0; h < h1; ++h)
      for (int w = w0; w < w1; ++w) sum += load(x, ((n * H + h) * W + w) * C + c);
    store(y, i, sum / float((h1 - h0) * (w1 - w0)));
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
    float acc = 0.f;
    for (int p = 0; p < P; ++p) {
      const int h0 = adaptive_begin(p, H, P), h1 = adaptive_end(p, H, P);
      if (h < h0 || h >= h1) continue;
      for (int q = 0; q < Q; ++q) {
        const int w0 = adaptive_begin(q, W, Q), w1 = adaptive_end(q, W, Q);
        if (w < w0 || w >= w1) continue;
        acc += load(dy, ((n * P + p) * Q + q) * C + c) / float((h1 - h0) * (w1 - w0));
      }
    }
    store(dx, i, acc);
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
