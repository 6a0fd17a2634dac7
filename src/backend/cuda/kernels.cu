// The CUDA backend's own kernels (see kernels.h for the contracts). Element-wise work uses grid-stride
// loops over 64-bit indices; each kernel loads T (float or bf16), computes in fp32 and stores T.
#include "backend/cuda/kernels.h"

#include <cuda_bf16.h>

#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "nn/dropout.h"

namespace alexnet::cuda {

namespace {

using bf16_t = __nv_bfloat16;

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const bf16_t* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(bf16_t* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `count` elements (enough to fill the GPU, never zero).
unsigned blocks_for(int64_t count) {
  const int64_t b = (count + kThreads - 1) / kThreads;
  return unsigned(std::clamp<int64_t>(b, 1, 65536));
}

#define GRID_STRIDE(i, count) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (count); i += int64_t(gridDim.x) * blockDim.x)

// Calls `body` with a typed null pointer of the element type, so that it can declare `using T = ...`.
template <class F>
void dispatch(Elem e, F&& body) {
  if (e == Elem::F32)
    body(static_cast<float*>(nullptr));
  else
    body(static_cast<bf16_t*>(nullptr));
}
#define ELEM_T std::remove_pointer_t<decltype(tag)>

// ---- layout conversions ---------------------------------------------------------------------------

template <class T>
__global__ void input_to_nhwc_kernel(T* out, const float* in, int N, int C, int Cpad, int H, int W) {
  const int64_t count = int64_t(N) * H * W * Cpad;
  GRID_STRIDE(i, count) {
    const int c = int(i % Cpad);
    const int64_t pix = i / Cpad;  // (n*H + h)*W + w
    const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
    store(out, i, c < C ? in[(n * C + c) * H * W + hw] : 0.f);
  }
}

template <class T>
__global__ void nhwc_to_nchw_kernel(float* out, const T* in, int N, int C, int Cpad, int H, int W) {
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {  // i indexes the NCHW output
    const int64_t hw = i % (int64_t(H) * W);
    const int64_t nc = i / (int64_t(H) * W);
    const int c = int(nc % C);
    const int64_t n = nc / C;
    out[i] = load(in, (n * H * W + hw) * Cpad + c);
  }
}

template <class T>
__global__ void nhwc_to_flat_kernel(T* out, const T* in, int N, int C, int H, int W) {
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {  // i indexes the NHWC input: coalesced reads
    const int c = int(i % C);
    const int64_t pix = i / C;
    const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
    out[(n * C + c) * H * W + hw] = in[i];
  }
}

template <class T>
__global__ void flat_to_nhwc_kernel(T* out, const T* in, int N, int C, int H, int W) {
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {  // i indexes the NHWC output: coalesced writes
    const int c = int(i % C);
    const int64_t pix = i / C;
    const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
    out[i] = in[(n * C + c) * H * W + hw];
  }
}

// ---- bias, ReLU ------------------------------------------------------------------------------------

template <class T>
__global__ void bias_add_kernel(T* y, T* relu_out, const float* bias, int64_t M, int K) {
  GRID_STRIDE(i, M * K) {
    const float v = load(y, i) + bias[i % K];
    store(y, i, v);
    if (relu_out) store(relu_out, i, v > 0.f ? v : 0.f);
  }
}

// bf16 with an even K: two elements per thread (one 32-bit load and store each).
__global__ void bias_add_bf16x2_kernel(__nv_bfloat162* y, __nv_bfloat162* relu_out, const float* bias, int64_t pairs,
                                       int K2) {
  GRID_STRIDE(i, pairs) {
    const int k = int(i % K2) * 2;
    float2 v = __bfloat1622float2(y[i]);
    v.x += bias[k];
    v.y += bias[k + 1];
    const __nv_bfloat162 r = __float22bfloat162_rn(v);
    y[i] = r;
    // ReLU of the rounded value: the ReLU layer sees exactly the conv layer's stored output.
    if (relu_out) relu_out[i] = __hmax2(r, __float2bfloat162_rn(0.f));
  }
}

template <class T>
__global__ void relu_forward_kernel(T* y, const T* x, int64_t count) {
  GRID_STRIDE(i, count) {
    const float v = load(x, i);
    store(y, i, v > 0.f ? v : 0.f);
  }
}

template <class T>
__global__ void relu_backward_kernel(T* dx, const T* dy, const T* y, int64_t count) {
  GRID_STRIDE(i, count) store(dx, i, load(y, i) > 0.f ? load(dy, i) : 0.f);
}

// ---- max-pool ---------------------------------------------------------------------------------------

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

// ---- local response norm ----------------------------------------------------------------------------

template <class T>
__global__ void lrn_forward_kernel(T* y, float* scale, const T* x, int64_t pixels, int C, int size, float alpha,
                                   float beta, float k) {
  const int before = size / 2, after = (size - 1) / 2;
  GRID_STRIDE(i, pixels * C) {
    const int c = int(i % C);
    const int64_t base = i - c;
    float sum = 0.f;
    for (int j = max(0, c - before); j <= min(C - 1, c + after); ++j) {
      const float v = load(x, base + j);
      sum += v * v;
    }
    const float s = k + alpha / float(size) * sum;
    scale[i] = s;
    store(y, i, load(x, i) * powf(s, -beta));
  }
}

template <class T>
__global__ void lrn_backward_kernel(T* dx, const T* dy, const T* x, const float* scale, int64_t pixels, int C,
                                    int size, float alpha, float beta) {
  const int before = size / 2, after = (size - 1) / 2;
  const float coef = 2.f * alpha * beta / float(size);
  GRID_STRIDE(i, pixels * C) {
    const int ic = int(i % C);
    const int64_t base = i - ic;
    float acc = 0.f;
    for (int c = max(0, ic - after); c <= min(C - 1, ic + before); ++c)
      acc += load(dy, base + c) * load(x, base + c) * powf(scale[base + c], -beta - 1.f);
    store(dx, i, load(dy, i) * powf(scale[i], -beta) - coef * load(x, i) * acc);
  }
}

// ---- dropout -----------------------------------------------------------------------------------------

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

// ---- adaptive average pool ------------------------------------------------------------------------------

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
    const float q = (c == y ? 1.f - eps : 0.f) + eps / float(C);
    loss -= q * (zc - log_sum);
    store(dlogits, int64_t(n) * C + c, (expf(zc - log_sum) - q) / float(N));
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

// partial[chunk, k] = sum of in[chunk*kSumRows .. +kSumRows, k]
template <class T>
__global__ void column_partial_kernel(float* partial, const T* in, int64_t M, int K) {
  __shared__ float acc[kSumLanes][kSumCols];
  const int k = int(blockIdx.x) * kSumCols + int(threadIdx.x);
  const int64_t r0 = int64_t(blockIdx.y) * kSumRows;
  const int64_t r1 = min(M, r0 + kSumRows);
  float sum = 0.f;
  if (k < K)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kSumLanes) sum += load(in, r * K + k);
  acc[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && k < K) {
    for (int l = 1; l < kSumLanes; ++l) sum += acc[l][threadIdx.x];
    partial[int64_t(blockIdx.y) * K + k] = sum;
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
    const int c = int(i % Cpad);
    int64_t rest = i / Cpad;
    const int s = int(rest % S);
    rest /= S;
    const int r = int(rest % R);
    const int64_t k = rest / R;
    store(out, i, c < Cg ? w[((k * Cg + c) * R + r) * S + s] : 0.f);
  }
}

template <class T>
__global__ void conv_grad_to_kcrs_kernel(float* out, const T* dw, int K, int Cg, int Cpad, int R, int S) {
  const int64_t count = int64_t(K) * Cg * R * S;
  GRID_STRIDE(i, count) {  // i indexes [K, Cg, R, S]
    const int s = int(i % S);
    int64_t rest = i / S;
    const int r = int(rest % R);
    rest /= R;
    const int c = int(rest % Cg);
    const int64_t k = rest / Cg;
    out[i] = load(dw, ((k * R + r) * S + s) * Cpad + c);
  }
}

__global__ void to_bf16_kernel(bf16_t* out, const float* in, int64_t n) {
  GRID_STRIDE(i, n) out[i] = __float2bfloat16_rn(in[i]);
}

__device__ __forceinline__ float sgd_one(float& p, float g, float& buf, const SgdArgs& a) {
  const float d = g + a.weight_decay * p;
  float b;
  if (a.momentum == 0.f) {
    b = d;
  } else {
    b = a.first_step ? d : a.momentum * buf + (1.f - a.dampening) * d;
    buf = b;
  }
  const float step = (a.momentum != 0.f && a.nesterov) ? d + a.momentum * b : b;
  p -= a.lr * step;
  return p;
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

void bias_add(void* y, void* relu_out, Elem e, const float* bias, int64_t M, int K, cudaStream_t s) {
  if (e == Elem::BF16 && K % 2 == 0) {
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

void relu_forward(void* y, const void* x, Elem e, int64_t count, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    relu_forward_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<T*>(y), static_cast<const T*>(x), count);
  });
  CUDA_CHECK_LAUNCH("relu_forward_kernel");
}

void relu_backward(void* dx, const void* dy, const void* y, Elem e, int64_t count, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    relu_backward_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<T*>(dx), static_cast<const T*>(dy),
                                                                static_cast<const T*>(y), count);
  });
  CUDA_CHECK_LAUNCH("relu_backward_kernel");
}

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

void lrn_forward(void* y, float* scale, const void* x, Elem e, int64_t pixels, int C, int size, float alpha, float beta,
                 float k, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    lrn_forward_kernel<<<blocks_for(pixels * C), kThreads, 0, s>>>(static_cast<T*>(y), scale, static_cast<const T*>(x),
                                                                   pixels, C, size, alpha, beta, k);
  });
  CUDA_CHECK_LAUNCH("lrn_forward_kernel");
}

void lrn_backward(void* dx, const void* dy, const void* x, const float* scale, Elem e, int64_t pixels, int C, int size,
                  float alpha, float beta, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    lrn_backward_kernel<<<blocks_for(pixels * C), kThreads, 0, s>>>(static_cast<T*>(dx), static_cast<const T*>(dy),
                                                                    static_cast<const T*>(x), scale, pixels, C, size,
                                                                    alpha, beta);
  });
  CUDA_CHECK_LAUNCH("lrn_backward_kernel");
}

void dropout_apply(void* out, const void* in, Elem e, int N, int C, int H, int W, float p, uint64_t key, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    dropout_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(static_cast<T*>(out),
                                                                           static_cast<const T*>(in), N, C, H, W, p, key);
  });
  CUDA_CHECK_LAUNCH("dropout_kernel");
}

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

void nhwc_to_flat(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    nhwc_to_flat_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(static_cast<T*>(out),
                                                                                static_cast<const T*>(in), N, C, H, W);
  });
  CUDA_CHECK_LAUNCH("nhwc_to_flat_kernel");
}

void flat_to_nhwc(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    flat_to_nhwc_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(static_cast<T*>(out),
                                                                                static_cast<const T*>(in), N, C, H, W);
  });
  CUDA_CHECK_LAUNCH("flat_to_nhwc_kernel");
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

void column_sums(float* out, const void* in, Elem e, int64_t M, int K, float* partial, cudaStream_t s) {
  const int chunks = int((M + kSumRows - 1) / kSumRows);
  const dim3 grid(unsigned((K + kSumCols - 1) / kSumCols), unsigned(chunks));
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
                cudaStream_t s) {
  // The vector kernel needs 16-byte aligned buffers (cudaMalloc gives 256) and, for the mirror, 8-byte.
  const int64_t n4 = int64_t(n / 4);
  if (n4 > 0) {
    sgd_vec4_kernel<<<blocks_for(n4), kThreads, 0, s>>>(reinterpret_cast<float4*>(params),
                                                        reinterpret_cast<const float4*>(grads),
                                                        reinterpret_cast<float4*>(momentum), static_cast<uint2*>(mirror),
                                                        n4, a);
    CUDA_CHECK_LAUNCH("sgd_vec4_kernel");
  }
  if (int64_t(n) > n4 * 4) {
    sgd_scalar_kernel<<<1, 32, 0, s>>>(params, grads, momentum, static_cast<bf16_t*>(mirror), n4 * 4, int64_t(n), a);
    CUDA_CHECK_LAUNCH("sgd_scalar_kernel");
  }
}

}  // namespace alexnet::cuda
