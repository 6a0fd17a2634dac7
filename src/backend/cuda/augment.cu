// The batch transform kernel: one thread per output pixel, a 2-D grid (pixels of a sample, samples).
#include "backend/cuda/augment.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void augment_kernel(T* out, int Cpad, const uint8_t* src, int H, int W, const SamplePlan* plans, int S) {
  const int n = int(blockIdx.y);
  const int i = int(blockIdx.x) * int(blockDim.x) + int(threadIdx.x);  // p * S + q
  if (i >= S * S) return;
  const SamplePlan& plan = plans[n];
  float v[3];
  sample_pixel(src + size_t(n) * size_t(H) * size_t(W) * 3, plan, i / S, i % S, v);
  T* o = out + (size_t(n) * size_t(S) * size_t(S) + size_t(i)) * size_t(Cpad);
  for (int c = 0; c < 3; ++c) store(o, c, v[c]);
  for (int c = 3; c < Cpad; ++c) store(o, c, 0.f);
}

}  // namespace

void augment_batch(void* out, Elem e, int Cpad, const uint8_t* src, int H, int W, const SamplePlan* plans, int N,
                   int S, cudaStream_t s) {
  if (N == 0) return;
  const dim3 grid(unsigned((S * S + kThreads - 1) / kThreads), unsigned(N));
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    augment_kernel<T><<<grid, kThreads, 0, s>>>(static_cast<T*>(out), Cpad, src, H, W, plans, S);
  });
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace alexnet::cuda
