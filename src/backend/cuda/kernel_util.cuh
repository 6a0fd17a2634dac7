// What the CUDA kernels share (kernels.cu and ops/*.cu): element loads and stores in fp32 or bf16, the
// grid-stride loop, the launch size, and the dispatch on the element type. Each kernel loads T (float
// or bf16), computes in fp32 and stores T; element-wise work uses grid-stride loops over 64-bit indices.
#pragma once

#include <cuda_bf16.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace alexnet::cuda {

namespace {
using bf16_t = __nv_bfloat16;

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const bf16_t* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(bf16_t* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `count` elements (enough to fill the GPU, never zero).
inline unsigned blocks_for(int64_t count) {
  const int64_t b = (count + kThreads - 1) / kThreads;
  return unsigned(std::clamp<int64_t>(b, 1, 65536));
}

#define GRID_STRIDE(i, count) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (count); i += int64_t(gridDim.x) * blockDim.x)

// Calls `body` with a typed null pointer of the element type, so that it can declare `using T = ...`.
template <class F>
inline void dispatch(Elem e, F&& body) {
  if (e == Elem::F32)
    body(static_cast<float*>(nullptr));
  else
    body(static_cast<bf16_t*>(nullptr));
}
#define ELEM_T std::remove_pointer_t<decltype(tag)>

}  // namespace

}  // namespace alexnet::cuda
