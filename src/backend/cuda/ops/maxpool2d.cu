// MaxPool2d on CUDA: the kernels, their launchers and the op (contracts in ops/maxpool2d.h).
#include "backend/cuda/ops/maxpool2d.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void maxpool_forward_kernel(T* y, int32_t* argmax, const T* x, PoolShape p) {
  const int64_t count = int64_t(p.N) * p.P * p.Q * p.C;
  GRID_STRIDE(i, count) {
    const int c = int(i % p.C);
    int64_t rest = i / p.C;
    const int q = int(rest % p.Q);
    rest /= p.Q;
    const int pp = int(rest % p.P);
    const int64_t n = rest / p.P;
    const T* plane = x + n * p.H * p.W * p.C + c;
    float best;
    int32_t where;
    maxpool_cell([&](int h, int w) { return load(plane, (int64_t(h) * p.W + w) * p.C); }, p.H, p.W,
                 PoolWindow{p.kernel, p.stride, p.pad}, pp, q, best, where);
    store(y, i, best);
    argmax[i] = where;
  }
}

template <class T>
__global__ void maxpool_backward_kernel(T* dx, const T* dy, const int32_t* argmax, PoolShape p) {
  const int64_t count = int64_t(p.N) * p.H * p.W * p.C;
  GRID_STRIDE(i, count) {
    const int c = int(i % p.C);
    int64_t rest = i / p.C;
    const int w = int(rest % p.W);
    rest /= p.W;
    const int h = int(rest % p.H);
    const int64_t n = rest / p.H;
    auto out_at = [&](int pp, int q) { return ((n * p.P + pp) * p.Q + q) * p.C + c; };
    store(dx, i, maxpool_input_grad([&](int pp, int q) { return argmax[out_at(pp, q)]; },
                                    [&](int pp, int q) { return load(dy, out_at(pp, q)); }, p.H, p.W, p.P, p.Q,
                                    PoolWindow{p.kernel, p.stride, p.pad}, h, w));
  }
}

}  // namespace

void maxpool_forward(void* y, int32_t* argmax, const void* x, Elem e, const PoolShape& p, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    maxpool_forward_kernel<<<blocks_for(int64_t(p.N) * p.P * p.Q * p.C), kThreads, 0, s>>>(
        static_cast<T*>(y), argmax, static_cast<const T*>(x), p);
  });
  CUDA_CHECK_LAUNCH("maxpool_forward_kernel");
}

void maxpool_backward(void* dx, const void* dy, const int32_t* argmax, Elem e, const PoolShape& p, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    maxpool_backward_kernel<<<blocks_for(int64_t(p.N) * p.H * p.W * p.C), kThreads, 0, s>>>(
        static_cast<T*>(dx), static_cast<const T*>(dy), argmax, p);
  });
  CUDA_CHECK_LAUNCH("maxpool_backward_kernel");
}


namespace {

class MaxPool2dOp final : public Op {
 public:
  MaxPool2dOp(const Context& ctx, const OpShape& shape, const MaxPool2d& op) : Op(ctx, shape), op_(op) {}

  void allocate(const void* in, void* din) override {
    Op::allocate(in, din);
    argmax_ = DeviceMemory(out_capacity() * sizeof(int32_t));
  }
  void forward() override { maxpool_forward(out.get(), argmax_.as<int32_t>(), in_, ctx_.elem, pool_shape(), ctx_.stream); }
  void backward_data() override {
    maxpool_backward(din_, dout.get(), argmax_.as<int32_t>(), ctx_.elem, pool_shape(), ctx_.stream);
  }

 private:
  PoolShape pool_shape() const {
    const ActShape &in = shape_.in, &o = shape_.out;
    return {ctx_.n, in.c, in.h, in.w, o.h, o.w, op_.kernel, op_.stride, op_.padding};
  }

  MaxPool2d op_;
  DeviceMemory argmax_;  // int32 [max_batch, P, Q, C]
};

}  // namespace

std::unique_ptr<Op> make_maxpool2d_op(const Context& ctx, const OpShape& shape, const MaxPool2d& op) {
  return std::make_unique<MaxPool2dOp>(ctx, shape, op);
}

}  // namespace alexnet::cuda
