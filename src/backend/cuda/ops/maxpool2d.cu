// MaxPool2d on CUDA: the kernels and their launchers (contracts in ops/maxpool2d.h).
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
    float best = -INFINITY;
    int32_t where = -1;
    for (int r = 0; r < p.kernel; ++r) {
      const int h = pp * p.stride - p.pad + r;
      if (h < 0 || h >= p.H) continue;
      for (int s = 0; s < p.kernel; ++s) {
        const int w = q * p.stride - p.pad + s;
        if (w < 0 || w >= p.W) continue;
        const float v = load(plane, (int64_t(h) * p.W + w) * p.C);
        if (where < 0 || v > best || v != v) {
          best = v;
          where = h * p.W + w;
        }
      }
    }
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
    // Outputs whose window holds (h, w): p*stride - pad <= h <= p*stride - pad + kernel - 1.
    const int p0 = max(0, (h + p.pad - p.kernel + p.stride) / p.stride), p1 = min(p.P - 1, (h + p.pad) / p.stride);
    const int q0 = max(0, (w + p.pad - p.kernel + p.stride) / p.stride), q1 = min(p.Q - 1, (w + p.pad) / p.stride);
    const int32_t me = h * p.W + w;
    float acc = 0.f;
    for (int pp = p0; pp <= p1; ++pp)
      for (int q = q0; q <= q1; ++q) {
        const int64_t o = ((n * p.P + pp) * p.Q + q) * p.C + c;
        if (argmax[o] == me) acc += load(dy, o);
      }
    store(dx, i, acc);
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

}  // namespace alexnet::cuda
