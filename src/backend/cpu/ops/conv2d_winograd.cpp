#include "backend/cpu/ops/conv2d_winograd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace alexnet::onednn {

namespace {

constexpr int kLanes = 8;  // channels per block of nChw8c

int tiles_of(int size) { return (size + 1) / 2; }

// The 8 channels at (h, w) of an H x W plane blocked by 8, or zeros outside it (the padding).
inline void load_pixel(const float* plane, int h, int w, int H, int W, float* out) {
  if (h >= 0 && h < H && w >= 0 && w < W)
    std::memcpy(out, plane + (int64_t(h) * W + w) * kLanes, kLanes * sizeof(float));
  else
    std::memset(out, 0, kLanes * sizeof(float));
}

}  // namespace

void winograd_input_transform(const float* x, int images, int C, int H, int W, float* v) {
  const int TH = tiles_of(H), TW = tiles_of(W), CB = C / kLanes;
  const int64_t P = int64_t(images) * TH * TW;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < images; ++i)
    for (int ty = 0; ty < TH; ++ty)
      for (int cb = 0; cb < CB; ++cb) {
        const float* plane = x + (int64_t(i) * CB + cb) * H * W * kLanes;
        for (int tx = 0; tx < TW; ++tx) {
          float d[4][4][kLanes];
          for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 4; ++c) load_pixel(plane, 2 * ty - 1 + r, 2 * tx - 1 + c, H, W, d[r][c]);
          // Bᵀ d: along the rows, then (Bᵀ d) B along the columns.
          float t[4][4][kLanes];
          for (int c = 0; c < 4; ++c)
            for (int l = 0; l < kLanes; ++l) {
              t[0][c][l] = d[0][c][l] - d[2][c][l];
              t[1][c][l] = d[1][c][l] + d[2][c][l];
              t[2][c][l] = d[2][c][l] - d[1][c][l];
              t[3][c][l] = d[1][c][l] - d[3][c][l];
            }
          const int64_t p = (int64_t(i) * TH + ty) * TW + tx;
          float* out = v + p * C + cb * kLanes;
          const int64_t stride = P * C;  // between the 16 positions
          for (int r = 0; r < 4; ++r)
            for (int l = 0; l < kLanes; ++l) {
              out[(r * 4 + 0) * stride + l] = t[r][0][l] - t[r][2][l];
              out[(r * 4 + 1) * stride + l] = t[r][1][l] + t[r][2][l];
              out[(r * 4 + 2) * stride + l] = t[r][2][l] - t[r][1][l];
              out[(r * 4 + 3) * stride + l] = t[r][1][l] - t[r][3][l];
            }
        }
      }
}

void winograd_weight_transform(const float* w, int K, int C, bool flip, float* u) {
  // u[ξ] is [C][K] (forward) or [K][C] (flip: the backward pass's rot180(w)ᵀ).
#pragma omp parallel for collapse(2) schedule(static)
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c) {
      const float* g = w + (int64_t(k) * C + c) * 9;
      float f[3][3];
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) f[a][b] = flip ? g[(2 - a) * 3 + (2 - b)] : g[a * 3 + b];
      // G f (4x3), then (G f) Gᵀ (4x4); G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
      float t[4][3];
      for (int b = 0; b < 3; ++b) {
        t[0][b] = f[0][b];
        t[1][b] = 0.5f * (f[0][b] + f[1][b] + f[2][b]);
        t[2][b] = 0.5f * (f[0][b] - f[1][b] + f[2][b]);
        t[3][b] = f[2][b];
      }
      const int64_t at = flip ? int64_t(k) * C + c : int64_t(c) * K + k;
      const int64_t stride = int64_t(K) * C;
      for (int r = 0; r < 4; ++r) {
        u[(r * 4 + 0) * stride + at] = t[r][0];
        u[(r * 4 + 1) * stride + at] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
        u[(r * 4 + 2) * stride + at] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
        u[(r * 4 + 3) * stride + at] = t[r][2];
      }
    }
}

void winograd_output_transform(const float* m, int images, int K, int H, int W, const float* bias, bool relu,
                               float* y) {
  const int TH = tiles_of(H), TW = tiles_of(W), KB = K / kLanes;
  const int64_t P = int64_t(images) * TH * TW, stride = P * K;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < images; ++i)
    for (int ty = 0; ty < TH; ++ty)
      for (int kb = 0; kb < KB; ++kb) {
        float* plane = y + (int64_t(i) * KB + kb) * H * W * kLanes;
        float b[kLanes] = {};
        if (bias) std::memcpy(b, bias + kb * kLanes, sizeof b);
        for (int tx = 0; tx < TW; ++tx) {
          const int64_t p = (int64_t(i) * TH + ty) * TW + tx;
          const float* in = m + p * K + kb * kLanes;
          // Aᵀ m: rows (m0 + m1 + m2, m1 - m2 - m3), then (Aᵀ m) A along the columns.
          float t[2][4][kLanes];
          for (int c = 0; c < 4; ++c)
            for (int l = 0; l < kLanes; ++l) {
              const float m0 = in[(0 * 4 + c) * stride + l], m1 = in[(1 * 4 + c) * stride + l];
              const float m2 = in[(2 * 4 + c) * stride + l], m3 = in[(3 * 4 + c) * stride + l];
              t[0][c][l] = m0 + m1 + m2;
              t[1][c][l] = m1 - m2 - m3;
            }
          for (int r = 0; r < 2; ++r) {
            const int h = 2 * ty + r;
            if (h >= H) break;
            for (int c = 0; c < 2; ++c) {
              const int w = 2 * tx + c;
              if (w >= W) break;
              float* out = plane + (int64_t(h) * W + w) * kLanes;
              for (int l = 0; l < kLanes; ++l) {
                float s = (c == 0 ? t[r][0][l] + t[r][1][l] + t[r][2][l] : t[r][1][l] - t[r][2][l] - t[r][3][l]) + b[l];
                out[l] = relu ? std::max(s, 0.f) : s;
              }
            }
          }
        }
      }
}

void winograd_output_grad_transform(const float* dy, int images, int K, int H, int W, float* t) {
  const int TH = tiles_of(H), TW = tiles_of(W), KB = K / kLanes;
  const int64_t P = int64_t(images) * TH * TW, stride = P * K;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < images; ++i)
    for (int ty = 0; ty < TH; ++ty)
      for (int kb = 0; kb < KB; ++kb) {
        const float* plane = dy + (int64_t(i) * KB + kb) * H * W * kLanes;
        for (int tx = 0; tx < TW; ++tx) {
          float e[2][2][kLanes];
          for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 2; ++c) load_pixel(plane, 2 * ty + r, 2 * tx + c, H, W, e[r][c]);
          // A e (4x2), then (A e) Aᵀ (4x4); A = [1 0; 1 1; 1 -1; 0 -1].
          float s[4][2][kLanes];
          for (int c = 0; c < 2; ++c)
            for (int l = 0; l < kLanes; ++l) {
              s[0][c][l] = e[0][c][l];
              s[1][c][l] = e[0][c][l] + e[1][c][l];
              s[2][c][l] = e[0][c][l] - e[1][c][l];
              s[3][c][l] = -e[1][c][l];
            }
          const int64_t p = (int64_t(i) * TH + ty) * TW + tx;
          float* out = t + p * K + kb * kLanes;
          for (int r = 0; r < 4; ++r)
            for (int l = 0; l < kLanes; ++l) {
              out[(r * 4 + 0) * stride + l] = s[r][0][l];
              out[(r * 4 + 1) * stride + l] = s[r][0][l] + s[r][1][l];
              out[(r * 4 + 2) * stride + l] = s[r][0][l] - s[r][1][l];
              out[(r * 4 + 3) * stride + l] = -s[r][1][l];
            }
        }
      }
}

void winograd_weight_grad_transform(const float* du, int K, int C, float* dw) {
  const int64_t stride = int64_t(C) * K;
#pragma omp parallel for collapse(2) schedule(static)
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c) {
      float d[4][4];
      for (int r = 0; r < 4; ++r)
        for (int q = 0; q < 4; ++q) d[r][q] = du[(r * 4 + q) * stride + int64_t(c) * K + k];
      // Gᵀ d (3x4), then (Gᵀ d) G (3x3); Gᵀ = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
      float t[3][4];
      for (int q = 0; q < 4; ++q) {
        t[0][q] = d[0][q] + 0.5f * (d[1][q] + d[2][q]);
        t[1][q] = 0.5f * (d[1][q] - d[2][q]);
        t[2][q] = 0.5f * (d[1][q] + d[2][q]) + d[3][q];
      }
      float* out = dw + (int64_t(k) * C + c) * 9;
      for (int a = 0; a < 3; ++a) {
        out[a * 3 + 0] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
        out[a * 3 + 1] = 0.5f * (t[a][1] - t[a][2]);
        out[a * 3 + 2] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
      }
    }
}

bool Winograd3x3::serves(int C, int K, int kernel, int stride, int padding, int groups, bool fp32, bool avx512) {
  if (!(fp32 && kernel == 3 && stride == 1 && padding == 1 && groups == 1 && C % kLanes == 0 && K % kLanes == 0))
    return false;
  if (const char* v = std::getenv("ALEXNET_WINOGRAD"); v && *v) {
    if (!std::strcmp(v, "0")) return false;
    if (!std::strcmp(v, "1")) return true;
    fail("ALEXNET_WINOGRAD=", v, ": expected 0 or 1");
  }
  return !avx512;  // measured faster on AVX2 (docs/cpu-backend.md); not measured against AVX-512's kernels
}

Winograd3x3::Winograd3x3(const dnnl::engine& engine, int n, int C, int K, int H, int W, int64_t chunk_bytes)
    : engine_(engine), C_(C), K_(K), H_(H), W_(W), tiles_(tiles_of(H) * tiles_of(W)) {
  if (C % kLanes || K % kLanes || n < 1) fail("Winograd3x3: ", C, " -> ", K, " channels at batch ", n);
  // Images per pass: the transformed tiles of a chunk (16 x tiles x (C + K) floats) within the budget.
  const int64_t per_image = int64_t(16) * tiles_ * (C + K) * int64_t(sizeof(float));
  chunk_ = int(std::clamp<int64_t>(chunk_bytes / per_image, 1, n));
  const size_t floats = size_t(16) * size_t(chunk_) * size_t(tiles_) * size_t(std::max(C, K));
  v_.resize(floats);
  m_.resize(floats);
}

dnnl::matmul& Winograd3x3::matmul(int images, bool backward) {
  for (Prim& p : prims_)
    if (p.images == images && p.kind == int(backward)) return p.prim;
  using dnnl::memory;
  const int64_t P = int64_t(images) * tiles_;
  const int64_t in_c = backward ? K_ : C_, out_c = backward ? C_ : K_;
  const memory::desc a({16, P, in_c}, memory::data_type::f32, memory::format_tag::abc);
  const memory::desc b({16, in_c, out_c}, memory::data_type::f32, memory::format_tag::abc);
  const memory::desc c({16, P, out_c}, memory::data_type::f32, memory::format_tag::abc);
  auto d = ALEXNET_DNNL(dnnl::matmul::desc(a, b, c));
  prims_.push_back({images, int(backward), ALEXNET_DNNL(dnnl::matmul(dnnl::matmul::primitive_desc(d, engine_)))});
  return prims_.back().prim;
}

// du[ξ] (C x K) = v[ξ]ᵀ (C x P, a strided view of v's P x C) · t[ξ] (P x K), added to du when
// `accumulate` (every chunk after the first).
dnnl::matmul& Winograd3x3::weight_matmul(int images, bool accumulate) {
  const int kind = accumulate ? 3 : 2;
  for (Prim& p : prims_)
    if (p.images == images && p.kind == kind) return p.prim;
  using dnnl::memory;
  const int64_t P = int64_t(images) * tiles_;
  const memory::desc a({16, C_, P}, memory::data_type::f32, memory::dims{P * C_, 1, C_});
  const memory::desc b({16, P, K_}, memory::data_type::f32, memory::format_tag::abc);
  const memory::desc c({16, C_, K_}, memory::data_type::f32, memory::format_tag::abc);
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ALEXNET_DNNL(ops.append_sum(1.f));
    ALEXNET_DNNL(attr.set_post_ops(ops));
  }
  auto d = ALEXNET_DNNL(dnnl::matmul::desc(a, b, c));
  prims_.push_back({images, kind, ALEXNET_DNNL(dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, engine_)))});
  return prims_.back().prim;
}

void Winograd3x3::backward_weights(dnnl::stream& stream, const float* x, const float* dy, float* dw, float* db, int n) {
  using dnnl::memory;
  const int64_t in_image = int64_t(C_) * H_ * W_, out_image = int64_t(K_) * H_ * W_;
  du_.resize(size_t(16) * size_t(C_) * size_t(K_));
  for (int i0 = 0; i0 < n; i0 += chunk_) {
    const int images = std::min(chunk_, n - i0);
    const int64_t P = int64_t(images) * tiles_;
    winograd_input_transform(x + i0 * in_image, images, C_, H_, W_, v_.data());
    winograd_output_grad_transform(dy + i0 * out_image, images, K_, H_, W_, m_.data());
    dnnl::matmul& mm = weight_matmul(images, i0 > 0);
    const memory a({{16, C_, P}, memory::data_type::f32, memory::dims{P * C_, 1, C_}}, engine_, v_.data());
    const memory b({{16, P, K_}, memory::data_type::f32, memory::format_tag::abc}, engine_, m_.data());
    const memory c({{16, C_, K_}, memory::data_type::f32, memory::format_tag::abc}, engine_, du_.data());
    ALEXNET_DNNL(mm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}}));
    ALEXNET_DNNL(stream.wait());
  }
  winograd_weight_grad_transform(du_.data(), K_, C_, dw);
  if (!db) return;
  // db[k] = Σ over images and positions of dy; fp32 sums per image, in image order.
  const int KB = K_ / kLanes, HW = H_ * W_;
  std::fill(db, db + K_, 0.f);
#pragma omp parallel for schedule(static)
  for (int kb = 0; kb < KB; ++kb)
    for (int i = 0; i < n; ++i) {
      const float* plane = dy + (int64_t(i) * KB + kb) * HW * kLanes;
      float acc[kLanes] = {};
      for (int q = 0; q < HW; ++q)
        for (int l = 0; l < kLanes; ++l) acc[l] += plane[q * kLanes + l];
      for (int l = 0; l < kLanes; ++l) db[kb * kLanes + l] += acc[l];
    }
}

void Winograd3x3::run(dnnl::stream& stream, const float* in, int in_c, const std::vector<float>& u, int out_c,
                      const float* bias, bool relu, float* out, int n, bool backward) {
  using dnnl::memory;
  const int64_t in_image = int64_t(in_c) * H_ * W_, out_image = int64_t(out_c) * H_ * W_;
  for (int i0 = 0; i0 < n; i0 += chunk_) {
    const int images = std::min(chunk_, n - i0);
    const int64_t P = int64_t(images) * tiles_;
    winograd_input_transform(in + i0 * in_image, images, in_c, H_, W_, v_.data());
    dnnl::matmul& mm = matmul(images, backward);
    const memory a({{16, P, in_c}, memory::data_type::f32, memory::format_tag::abc}, engine_, v_.data());
    const memory b({{16, in_c, out_c}, memory::data_type::f32, memory::format_tag::abc}, engine_,
                   const_cast<float*>(u.data()));
    const memory c({{16, P, out_c}, memory::data_type::f32, memory::format_tag::abc}, engine_, m_.data());
    ALEXNET_DNNL(mm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}}));
    ALEXNET_DNNL(stream.wait());
    winograd_output_transform(m_.data(), images, out_c, H_, W_, bias, relu, out + i0 * out_image);
  }
}

void Winograd3x3::forward(dnnl::stream& stream, const float* x, const float* w, uint64_t version, const float* bias,
                          bool relu, float* y, int n) {
  if (u_version_ != version) {
    u_.resize(size_t(16) * size_t(C_) * size_t(K_));
    winograd_weight_transform(w, K_, C_, false, u_.data());
    u_version_ = version;
  }
  run(stream, x, C_, u_, K_, bias, relu, y, n, false);
}

void Winograd3x3::backward_data(dnnl::stream& stream, const float* dy, const float* w, uint64_t version, float* dx,
                                int n) {
  if (u_flip_version_ != version) {
    u_flip_.resize(size_t(16) * size_t(C_) * size_t(K_));
    winograd_weight_transform(w, K_, C_, true, u_flip_.data());
    u_flip_version_ = version;
  }
  run(stream, dy, K_, u_flip_, C_, nullptr, false, dx, n, true);
}

}  // namespace alexnet::onednn
