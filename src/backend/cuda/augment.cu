// The batch transform kernel: one thread per output pixel, a 2-D grid (pixels of a sample, samples).
#include "backend/cuda/augment.h"

#include "backend/cuda/kernel_util.cuh"
#include "core/error.h"

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

void check_augment_plans(const SamplePlan* plans, int N, int H, int W, int S) {
  for (int n = 0; n < N; ++n) {
    const SamplePlan& p = plans[n];
    if (p.jitter) fail("sample ", n, ": colour jitter is not done on the GPU (leave --jitter off with --device cuda)");
    if (p.rows.in_size != H || p.cols.in_size != W || p.rows.out_size != S || p.cols.out_size != S)
      fail("sample ", n, ": a plan for ", p.rows.in_size, "x", p.cols.in_size, " -> ", p.rows.out_size, "x",
           p.cols.out_size, " in a batch of ", H, "x", W, " -> ", S, "x", S);
    for (const AxisPlan* a : {&p.rows, &p.cols})
      if (a->crop_size <= 0 || a->resized <= 0 || a->window < 0 || a->window + a->out_size > a->resized)
        fail("sample ", n, ": a plan's window [", a->window, ", ", a->window + a->out_size, ") of ", a->resized,
             " pixels (crop ", a->crop_size, ")");
  }
}

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
