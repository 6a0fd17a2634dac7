// The CUDA backend's own kernels (see kernels.h for the contracts). Element-wise work uses grid-stride
// loops over 64-bit indices; each kernel loads T (float or bf16), computes in fp32 with the functions
// of kernel_math.h (checked on the CPU by tests/cuda_kernel_math_test.cpp) and stores T.
#include "backend/cuda/kernels.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

// ---- layout conversions ---------------------------------------------------------------------------

template <class T>
__global__ void input_to_nhwc_kernel(T* out, const float* in, int N, int C, int Cpad, int H, int W) {
  const int64_t count = int64_t(N) * H * W * Cpad;
  GRID_STRIDE(i, count) {
    const int64_t at = nhwc_to_nchw_index(i, C, Cpad, H, W);
    store(out, i, at >= 0 ? in[at] : 0.f);
  }
}

template <class T>
__global__ void nhwc_to_nchw_kernel(float* out, const T* in, int N, int C, int Cpad, int H, int W) {
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) out[i] = load(in, nchw_to_nhwc_index(i, C, Cpad, H, W));  // i indexes the NCHW output
}

// ---- bias (+ReLU) ------------------------------------------------------------------------------------

template <class T>
__global__ void bias_add_kernel(T* y, T* relu_out, const float* bias, int64_t M, int K) {
  GRID_STRIDE(i, M * K) {
    const float v = bias_value(load(y, i), bias[i % K]);
    store(y, i, v);
    if (relu_out) store(relu_out, i, relu_value(v));
  }
}

// bf16 with an even K: two elements per thread (one 32-bit load and store each).
__global__ void bias_add_bf16x2_kernel(__nv_bfloat162* y, __nv_bfloat162* relu_out, const float* bias, int64_t pairs,
                                       int K2) {
  GRID_STRIDE(i, pairs) {
    const int k = int(i % K2) * 2;
    float2 v = __bfloat1622float2(y[i]);
    v.x = bias_value(v.x, bias[k]);
    v.y = bias_value(v.y, bias[k + 1]);
    const __nv_bfloat162 r = __float22bfloat162_rn(v);
    y[i] = r;
    // ReLU of the rounded value: the ReLU layer sees exactly the conv layer's stored output.
    if (relu_out) {
      const float2 rv = __bfloat1622float2(r);
      relu_out[i] = __floats2bfloat162_rn(relu_value(rv.x), relu_value(rv.y));
    }
  }
}

// ---- loss ---------------------------------------------------------------------------------------------------

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// One warp per sample.
template <class T>
__global__ void softmax_xent_kernel(T* dlogits, float* row_loss, const T* logits, const int64_t* labels, int N, int C,
                                    float eps) {
  const int n = int(blockIdx.x) * (blockDim.x / 32) + int(threadIdx.x / 32);
  const int lane = int(threadIdx.x % 32);
  if (n >= N) return;
  const T* z = logits + int64_t(n) * C;
  float zmax = -INFINITY;
  for (int c = lane; c < C; c += 32) zmax = fmaxf(zmax, load(z, c));
  zmax = warp_max(zmax);
  float sum = 0.f;
  for (int c = lane; c < C; c += 32) sum += expf(load(z, c) - zmax);
  const float log_sum = logf(warp_sum(sum)) + zmax;
  const int64_t y = labels[n];
  float loss = 0.f;
  for (int c = lane; c < C; c += 32) {
    const float zc = load(z, c);
    const float q = xent_target(c, y, eps, C);
    loss += xent_loss_term(zc, log_sum, q);
    store(dlogits, int64_t(n) * C + c, xent_grad(zc, log_sum, q, N));
  }
  loss = warp_sum(loss);
  if (lane == 0) row_loss[n] = loss;
}

__global__ void mean_loss_kernel(float* loss, const float* row_loss, int N) {
  __shared__ float partial[kThreads];
  float acc = 0.f;
  for (int i = int(threadIdx.x); i < N; i += kThreads) acc += row_loss[i];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
    if (int(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) loss[0] = partial[0] / float(N);
}

// ---- column sums (bias gradients) ---------------------------------------------------------------------------

constexpr int kSumCols = 32;   // columns per block (one warp wide: coalesced row reads)
constexpr int kSumLanes = 8;   // rows read at once per block
constexpr int kSumRows = 256;  // rows per block

// partial[chunk, k] = sum of in[chunk*kSumRows .. +kSumRows, k]. The grid's y extent is capped at
// 65,535 (CUDA's limit), so each block row takes every gridDim.y-th chunk.
template <class T>
__global__ void column_partial_kernel(float* partial, const T* in, int64_t M, int K) {
  __shared__ float acc[kSumLanes][kSumCols];
  const int k = int(blockIdx.x) * kSumCols + int(threadIdx.x);
  const int64_t chunks = (M + kSumRows - 1) / kSumRows;
  for (int64_t chunk = blockIdx.y; chunk < chunks; chunk += gridDim.y) {
    const int64_t r0 = chunk * kSumRows;
    const int64_t r1 = min(M, r0 + kSumRows);
    float sum = 0.f;
    if (k < K)
      for (int64_t r = r0 + threadIdx.y; r < r1; r += kSumLanes) sum += load(in, r * K + k);
    acc[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && k < K) {
      for (int l = 1; l < kSumLanes; ++l) sum += acc[l][threadIdx.x];
      partial[chunk * K + k] = sum;
    }
    __syncthreads();  // acc is reused by the next chunk
  }
}

__global__ void column_final_kernel(float* out, const float* partial, int chunks, int K) {
  const int k = int(blockIdx.x) * blockDim.x + int(threadIdx.x);
  if (k >= K) return;
  float sum = 0.f;
  for (int c = 0; c < chunks; ++c) sum += partial[int64_t(c) * K + k];
  out[k] = sum;
}

// ---- parameters -------------------------------------------------------------------------------------------------

template <class T>
__global__ void conv_weight_to_krsc_kernel(T* out, const float* w, int K, int Cg, int Cpad, int R, int S) {
  const int64_t count = int64_t(K) * R * S * Cpad;
  GRID_STRIDE(i, count) {  // i indexes [K, R, S, Cpad]
    const int64_t at = krsc_to_kcrs_index(i, Cg, Cpad, R, S);
    store(out, i, at >= 0 ? w[at] : 0.f);
  }
}

template <class T>
__global__ void conv_grad_to_kcrs_kernel(float* out, const T* dw, int K, int Cg, int Cpad, int R, int S) {
  const int64_t count = int64_t(K) * Cg * R * S;
  GRID_STRIDE(i, count) out[i] = load(dw, kcrs_to_krsc_index(i, Cg, Cpad, R, S));  // i indexes [K, Cg, R, S]
}

__global__ void to_bf16_kernel(bf16_t* out, const float* in, int64_t n) {
  GRID_STRIDE(i, n) out[i] = __float2bfloat16_rn(in[i]);
}

// Four parameters per thread (16-byte loads and stores); the tail (n % 4) by the scalar kernel.
__global__ void sgd_vec4_kernel(float4* params, const float4* grads, float4* momentum, uint2* mirror, int64_t n4,
                                SgdArgs a) {
  GRID_STRIDE(i, n4) {
    float4 p = params[i];
    const float4 g = grads[i];
    float4 m = a.momentum != 0.f && !a.first_step ? momentum[i] : make_float4(0.f, 0.f, 0.f, 0.f);
    sgd_one(p.x, g.x, m.x, a);
    sgd_one(p.y, g.y, m.y, a);
    sgd_one(p.z, g.z, m.z, a);
    sgd_one(p.w, g.w, m.w, a);
    params[i] = p;
    if (a.momentum != 0.f) momentum[i] = m;
    if (mirror) {
      const __nv_bfloat162 lo = __floats2bfloat162_rn(p.x, p.y), hi = __floats2bfloat162_rn(p.z, p.w);
      uint2 packed;
      packed.x = *reinterpret_cast<const unsigned*>(&lo);
      packed.y = *reinterpret_cast<const unsigned*>(&hi);
      mirror[i] = packed;
    }
  }
}

__global__ void sgd_scalar_kernel(float* params, const float* grads, float* momentum, bf16_t* mirror, int64_t begin,
                                  int64_t n, SgdArgs a) {
  GRID_STRIDE(j, n - begin) {
    const int64_t i = begin + j;
    float buf = a.momentum != 0.f && !a.first_step ? momentum[i] : 0.f;
    const float p = sgd_one(params[i], grads[i], buf, a);
    if (a.momentum != 0.f) momentum[i] = buf;
    if (mirror) mirror[i] = __float2bfloat16_rn(p);
  }
}

}  // namespace

// ---- launchers -------------------------------------------------------------------------------------------------------

void input_to_nhwc(void* out, Elem e, const float* in, int N, int C, int Cpad, int H, int W, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    input_to_nhwc_kernel<<<blocks_for(int64_t(N) * H * W * Cpad), kThreads, 0, s>>>(static_cast<T*>(out), in, N, C,
                                                                                     Cpad, H, W);
  });
  CUDA_CHECK_LAUNCH("input_to_nhwc_kernel");
}

void nhwc_to_nchw_f32(float* out, const void* in, Elem e, int N, int C, int Cpad, int H, int W, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    nhwc_to_nchw_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(out, static_cast<const T*>(in), N, C,
                                                                                Cpad, H, W);
  });
  CUDA_CHECK_LAUNCH("nhwc_to_nchw_kernel");
}

void bias_add(void* y, void* relu_out, Elem e, const float* bias, int64_t M, int K, bool vector, cudaStream_t s) {
  if (vector && e == Elem::BF16 && K % 2 == 0) {
    const int64_t pairs = M * K / 2;
    bias_add_bf16x2_kernel<<<blocks_for(pairs), kThreads, 0, s>>>(
        static_cast<__nv_bfloat162*>(y), static_cast<__nv_bfloat162*>(relu_out), bias, pairs, K / 2);
  } else {
    dispatch(e, [&](auto tag) {
      using T = ELEM_T;
      bias_add_kernel<<<blocks_for(M * K), kThreads, 0, s>>>(static_cast<T*>(y), static_cast<T*>(relu_out), bias, M, K);
    });
  }
  CUDA_CHECK_LAUNCH("bias_add_kernel");
}

void softmax_cross_entropy(void* dlogits, float* row_loss, const void* logits, const int64_t* labels, Elem e, int N,
                           int C, float eps, cudaStream_t s) {
  constexpr int kWarps = kThreads / 32;
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    softmax_xent_kernel<<<unsigned((N + kWarps - 1) / kWarps), kThreads, 0, s>>>(
        static_cast<T*>(dlogits), row_loss, static_cast<const T*>(logits), labels, N, C, eps);
  });
  CUDA_CHECK_LAUNCH("softmax_xent_kernel");
}

void mean_loss(float* loss, const float* row_loss, int N, cudaStream_t s) {
  mean_loss_kernel<<<1, kThreads, 0, s>>>(loss, row_loss, N);
  CUDA_CHECK_LAUNCH("mean_loss_kernel");
}

size_t column_sums_scratch(int64_t M, int K) { return size_t((M + kSumRows - 1) / kSumRows) * size_t(K); }

ColumnSumsLaunch column_sums_launch(int64_t M, int K) {
  const int64_t chunks = (M + kSumRows - 1) / kSumRows;
  return {unsigned((K + kSumCols - 1) / kSumCols), unsigned(std::clamp<int64_t>(chunks, 1, kMaxGridY)), chunks};
}

void column_sums(float* out, const void* in, Elem e, int64_t M, int K, float* partial, cudaStream_t s) {
  const ColumnSumsLaunch l = column_sums_launch(M, K);
  const int chunks = int(l.chunks);
  const dim3 grid(l.grid_x, l.grid_y);
  const dim3 block(kSumCols, kSumLanes);
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    column_partial_kernel<<<grid, block, 0, s>>>(partial, static_cast<const T*>(in), M, K);
  });
  CUDA_CHECK_LAUNCH("column_partial_kernel");
  column_final_kernel<<<unsigned((K + kThreads - 1) / kThreads), kThreads, 0, s>>>(out, partial, chunks, K);
  CUDA_CHECK_LAUNCH("column_final_kernel");
}

void conv_weight_to_krsc(void* out, Elem e, const float* w, int K, int Cg, int Cpad, int R, int S, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    conv_weight_to_krsc_kernel<<<blocks_for(int64_t(K) * R * S * Cpad), kThreads, 0, s>>>(static_cast<T*>(out), w, K,
                                                                                           Cg, Cpad, R, S);
  });
  CUDA_CHECK_LAUNCH("conv_weight_to_krsc_kernel");
}

void conv_grad_to_kcrs(float* out, const void* dw, Elem e, int K, int Cg, int Cpad, int R, int S, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    conv_grad_to_kcrs_kernel<<<blocks_for(int64_t(K) * Cg * R * S), kThreads, 0, s>>>(out, static_cast<const T*>(dw), K,
                                                                                      Cg, Cpad, R, S);
  });
  CUDA_CHECK_LAUNCH("conv_grad_to_kcrs_kernel");
}

void to_bf16(void* out, const float* in, size_t n, cudaStream_t s) {
  to_bf16_kernel<<<blocks_for(int64_t(n)), kThreads, 0, s>>>(static_cast<bf16_t*>(out), in, int64_t(n));
  CUDA_CHECK_LAUNCH("to_bf16_kernel");
}

void sgd_update(float* params, const float* grads, float* momentum, void* mirror, size_t n, const SgdArgs& a,
                bool vector, cudaStream_t s) {
  // The vector kernel needs 16-byte aligned buffers (cudaMalloc gives 256) and, for the mirror, 8-byte.
  const int64_t n4 = vector ? int64_t(n / 4) : 0;
  if (n4 > 0) {
    sgd_vec4_kernel<<<blocks_for(n4), kThreads, 0, s>>>(reinterpret_cast<float4*>(params),
                                                        reinterpret_cast<const float4*>(grads),
                                                        reinterpret_cast<float4*>(momentum), static_cast<uint2*>(mirror),
                                                        n4, a);
    CUDA_CHECK_LAUNCH("sgd_vec4_kernel");
  }
  if (int64_t(n) > n4 * 4) {
    sgd_scalar_kernel<<<blocks_for(int64_t(n) - n4 * 4), kThreads, 0, s>>>(params, grads, momentum,
                                                                           static_cast<bf16_t*>(mirror), n4 * 4,
                                                                           int64_t(n), a);
    CUDA_CHECK_LAUNCH("sgd_scalar_kernel");
  }
}

}  // namespace alexnet::cuda
