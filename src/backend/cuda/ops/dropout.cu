// Dropout on CUDA: the kernels and their launchers (contracts in ops/dropout.h).
#include "backend/cuda/ops/dropout.h"

#include "backend/cuda/kernel_util.cuh"
#include "nn/dropout.h"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void dropout_kernel(T* out, const T* in, int N, int C, int H, int W, float p, uint64_t key) {
  const float scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {
    uint64_t index = uint64_t(i);
    if (H * W > 1) {  // NHWC storage: the mask index is the NCHW position
      const int c = int(i % C);
      const int64_t pix = i / C;
      const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
      index = uint64_t((n * C + c) * H * W + hw);
    }
    store(out, i, dropout_keep(key, index, p) ? load(in, i) * scale : 0.f);
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

}  // namespace alexnet::cuda
