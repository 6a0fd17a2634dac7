// LocalResponseNorm on CUDA: the kernels, their launchers and the op (contracts in ops/lrn.h).
#include "backend/cuda/ops/lrn.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void lrn_forward_kernel(T* y, float* scale, const T* x, int64_t pixels, int C, LrnArgs a) {
  GRID_STRIDE(i, pixels * C) {
    const int c = int(i % C);
    const int64_t base = i - c;
    const float s = lrn_scale([&](int j) { return load(x, base + j); }, C, a, c);
    scale[i] = s;
    store(y, i, lrn_output(load(x, i), s, a));
  }
}

template <class T>
__global__ void lrn_backward_kernel(T* dx, const T* dy, const T* x, const float* scale, int64_t pixels, int C,
                                    LrnArgs a) {
  GRID_STRIDE(i, pixels * C) {
    const int ic = int(i % C);
    const int64_t base = i - ic;
    store(dx, i, lrn_input_grad([&](int j) { return load(dy, base + j); }, [&](int j) { return load(x, base + j); },
                                [&](int j) { return scale[base + j]; }, C, a, ic));
  }
}

}  // namespace

void lrn_forward(void* y, float* scale, const void* x, Elem e, int64_t pixels, int C, int size, float alpha, float beta,
                 float k, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    lrn_forward_kernel<<<blocks_for(pixels * C), kThreads, 0, s>>>(static_cast<T*>(y), scale, static_cast<const T*>(x),
                                                                   pixels, C, LrnArgs{size, alpha, beta, k});
  });
  CUDA_CHECK_LAUNCH("lrn_forward_kernel");
}

void lrn_backward(void* dx, const void* dy, const void* x, const float* scale, Elem e, int64_t pixels, int C, int size,
                  float alpha, float beta, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    lrn_backward_kernel<<<blocks_for(pixels * C), kThreads, 0, s>>>(static_cast<T*>(dx), static_cast<const T*>(dy),
                                                                    static_cast<const T*>(x), scale, pixels, C,
                                                                    LrnArgs{size, alpha, beta, 0.f});
  });
  CUDA_CHECK_LAUNCH("lrn_backward_kernel");
}


namespace {

class LrnOp final : public Op {
 public:
  LrnOp(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op) : Op(ctx, shape), op_(op) {}

  void allocate(const void* in, void* din) override {
    Op::allocate(in, din);
    scale_ = DeviceMemory(out_capacity() * sizeof(float));
  }
  void forward() override {
    const ActShape& in = shape_.in;
    lrn_forward(out.get(), scale_.as<float>(), in_, ctx_.elem, int64_t(ctx_.n) * in.h * in.w, in.c, op_.size, op_.alpha,
                op_.beta, op_.k, ctx_.stream);
  }
  void backward_data() override {
    const ActShape& in = shape_.in;
    lrn_backward(din_, dout.get(), in_, scale_.as<float>(), ctx_.elem, int64_t(ctx_.n) * in.h * in.w, in.c, op_.size,
                 op_.alpha, op_.beta, ctx_.stream);
  }

 private:
  LocalResponseNorm op_;
  DeviceMemory scale_;  // fp32 [max_batch, H, W, C]
};

}  // namespace

std::unique_ptr<Op> make_lrn_op(const Context& ctx, const OpShape& shape, const LocalResponseNorm& op) {
  return std::make_unique<LrnOp>(ctx, shape, op);
}

}  // namespace alexnet::cuda
