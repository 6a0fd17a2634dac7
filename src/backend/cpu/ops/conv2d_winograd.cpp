#include "backend/cpu/ops/conv2d_winograd.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "core/error.h"

namespace alexnet::onednn {

namespace {

constexpr int kLanes = 8;  // channels per block of nChw8c

// Loops over a tile's rows and columns unroll, so the constant matrix entries fold into the arithmetic.
#define ALEXNET_UNROLL _Pragma("GCC unroll 8")

int tiles_of(int size, int m) { return (size + m - 1) / m; }

// 8 channels as one vector (GCC/Clang vector extension: AVX registers under x86-64-v3).
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

inline Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }

// The 8 channels at (h, w) of an H x W plane blocked by 8, or zeros outside it (the padding).
inline Lanes load_pixel(const float* plane, int h, int w, int H, int W) {
  if (h >= 0 && h < H && w >= 0 && w < W) return load(plane + (int64_t(h) * W + w) * kLanes);
  return Lanes{};
}

// Σ_j row[j] · x(j) over the N entries of a constant matrix row; after unrolling the entries are
// constants, so zero terms vanish and ±1 needs no multiplication.
template <int N, class X>
inline Lanes combine(const float* row, X&& x) {
  Lanes s{};
  bool first = true;
  ALEXNET_UNROLL
  for (int j = 0; j < N; ++j) {
    const float c = row[j];
    if (c == 0.f) continue;
    const Lanes term = c == 1.f ? x(j) : c == -1.f ? -x(j) : c * x(j);
    s = first ? term : s + term;
    first = false;
  }
  return s;
}

template <int M, int R>
struct Kernels;

// The matrices of F(M, R), a = M + R - 1, row-major: at [M][a], g [a][R], bt [a][a]; computed at
// compile time, so the transforms below multiply by constants (the zeros and ones fold away).
template <int M, int R>
struct Matrices {
  static constexpr int A = M + R - 1;
  std::array<float, M * A> at{};
  std::array<float, A * R> g{};
  std::array<float, A * A> bt{};
};

template <int M, int R>
constexpr Matrices<M, R> make_matrices() {
  constexpr int a = M + R - 1;
  const double points[4] = {0, 1, -1, 2};  // and -2 for a = 6: points[j] for j < a - 1
  auto point = [&](int j) { return j < 4 ? points[j] : -2.0; };
  // E_n (a x n): row j < a-1 evaluates a polynomial of n coefficients at point j; the last row at
  // infinity (its leading coefficient).
  auto evaluation = [&](int n, int row, int col) {
    if (row == a - 1) return col == n - 1 ? 1.0 : 0.0;
    double x = 1;
    for (int k = 0; k < col; ++k) x *= point(row);
    return x;
  };
  // V⁻¹ by Gauss-Jordan elimination with partial pivoting.
  std::array<double, a * a> v{}, inv{};
  for (int i = 0; i < a; ++i)
    for (int k = 0; k < a; ++k) v[size_t(i * a + k)] = evaluation(a, i, k), inv[size_t(i * a + k)] = i == k;
  auto magnitude = [](double x) { return x < 0 ? -x : x; };
  for (int c = 0; c < a; ++c) {
    int pivot = c;
    for (int i = c + 1; i < a; ++i)
      if (magnitude(v[size_t(i * a + c)]) > magnitude(v[size_t(pivot * a + c)])) pivot = i;
    for (int k = 0; k < a; ++k) {
      const double t = v[size_t(c * a + k)], u = inv[size_t(c * a + k)];
      v[size_t(c * a + k)] = v[size_t(pivot * a + k)], inv[size_t(c * a + k)] = inv[size_t(pivot * a + k)];
      v[size_t(pivot * a + k)] = t, inv[size_t(pivot * a + k)] = u;
    }
    const double d = v[size_t(c * a + c)];
    for (int k = 0; k < a; ++k) v[size_t(c * a + k)] /= d, inv[size_t(c * a + k)] /= d;
    for (int i = 0; i < a; ++i) {
      if (i == c) continue;
      const double f = v[size_t(i * a + c)];
      for (int k = 0; k < a; ++k)
        v[size_t(i * a + k)] -= f * v[size_t(c * a + k)], inv[size_t(i * a + k)] -= f * inv[size_t(c * a + k)];
    }
  }
  // Row ξ of Bᵀ and row ξ of G meet only in the product at position ξ, so Bᵀ's row may be scaled by
  // s and G's by 1/s. s makes the row's smallest entry ±1: Bᵀ then holds small integers (exact in
  // fp32, e.g. 4, -5, 1 for R = 5) and the fractions move into G, applied once per weight update.
  Matrices<M, R> m;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < a; ++j) m.at[size_t(i * a + j)] = float(evaluation(M, j, i));
  for (int i = 0; i < a; ++i) {
    double smallest = 0;
    for (int j = 0; j < a; ++j) {
      const double x = magnitude(inv[size_t(j * a + i)]);
      if (x > 1e-12 && (smallest == 0 || x < smallest)) smallest = x;
    }
    const double scale = 1 / smallest;
    for (int j = 0; j < a; ++j) m.bt[size_t(i * a + j)] = float(inv[size_t(j * a + i)] * scale);
    for (int j = 0; j < R; ++j) m.g[size_t(i * R + j)] = float(evaluation(R, i, j) / scale);
  }
  return m;
}

// The transforms for F(M, R), a = M + R - 1, on blocks of 8 channels (the innermost loops vectorise).
template <int M, int R>
struct Kernels {
  static constexpr int A = M + R - 1, P = (R - 1) / 2;  // input tile and padding
  static constexpr Matrices<M, R> kT = make_matrices<M, R>();

  // v [A²][tiles][C] from x [images][C/8][H][W][8]: Bᵀ d B of every A x A input tile.
  static void input(const float* x, int images, int C, int H, int W, float* v) {
    const int TH = tiles_of(H, M), TW = tiles_of(W, M), CB = C / kLanes;
    const int64_t stride = int64_t(images) * TH * TW * C;  // between the A² positions
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < images; ++i)
      for (int ty = 0; ty < TH; ++ty)
        for (int cb = 0; cb < CB; ++cb) {
          const float* plane = x + (int64_t(i) * CB + cb) * H * W * kLanes;
          for (int tx = 0; tx < TW; ++tx) {
            Lanes d[A][A], t[A][A];
            const int h0 = M * ty - P, w0 = M * tx - P;
            if (h0 >= 0 && w0 >= 0 && h0 + A <= H && w0 + A <= W) {  // inside: no padding to test for
              ALEXNET_UNROLL
              for (int r = 0; r < A; ++r)
                ALEXNET_UNROLL
                for (int c = 0; c < A; ++c) d[r][c] = load(plane + (int64_t(h0 + r) * W + w0 + c) * kLanes);
            } else {
              for (int r = 0; r < A; ++r)
                for (int c = 0; c < A; ++c) d[r][c] = load_pixel(plane, h0 + r, w0 + c, H, W);
            }
            ALEXNET_UNROLL
            for (int r = 0; r < A; ++r)  // Bᵀ d
              ALEXNET_UNROLL
              for (int c = 0; c < A; ++c) t[r][c] = combine<A>(&kT.bt[size_t(r * A)], [&](int j) { return d[j][c]; });
            float* out = v + ((int64_t(i) * TH + ty) * TW + tx) * C + cb * kLanes;
            ALEXNET_UNROLL
            for (int r = 0; r < A; ++r)  // (Bᵀ d) B
              ALEXNET_UNROLL
              for (int c = 0; c < A; ++c)
                store(out + (r * A + c) * stride, combine<A>(&kT.bt[size_t(c * A)], [&](int j) { return t[r][j]; }));
          }
        }
  }

  // u [A²][C][K] from OIHW w [K][C][R][R]: G g Gᵀ; `flip`: of rot180(w) transposed, u [A²][K][C].
  // Eight filters side by side (8 k, or 8 c when flipped: along u's rows), so the stores are vectors.
  static void weights(const float* w, int K, int C, bool flip, float* u) {
    const int64_t stride = int64_t(K) * C;
    const int outer = flip ? K : C, inner = flip ? C : K;
#pragma omp parallel for collapse(2) schedule(static)
    for (int o = 0; o < outer; ++o)
      for (int ib = 0; ib < inner / kLanes; ++ib) {
        Lanes f[R][R], t[A][R];
        for (int l = 0; l < kLanes; ++l) {
          const int i = ib * kLanes + l, k = flip ? o : i, c = flip ? i : o;
          const float* src = w + (int64_t(k) * C + c) * R * R;
          for (int p = 0; p < R; ++p)
            for (int q = 0; q < R; ++q) f[p][q][l] = flip ? src[(R - 1 - p) * R + (R - 1 - q)] : src[p * R + q];
        }
        ALEXNET_UNROLL
        for (int r = 0; r < A; ++r)  // G f
          ALEXNET_UNROLL
          for (int q = 0; q < R; ++q) t[r][q] = combine<R>(&kT.g[size_t(r * R)], [&](int j) { return f[j][q]; });
        float* out = u + int64_t(o) * inner + ib * kLanes;
        ALEXNET_UNROLL
        for (int r = 0; r < A; ++r)  // (G f) Gᵀ
          ALEXNET_UNROLL
          for (int q = 0; q < A; ++q)
            store(out + (r * A + q) * stride, combine<R>(&kT.g[size_t(q * R)], [&](int j) { return t[r][j]; }));
      }
  }

  // y [images][K/8][H][W][8] from m [A²][tiles][K]: Aᵀ m A, plus bias (may be null), ReLU if `relu`.
  static void output(const float* m, int images, int K, int H, int W, const float* bias, bool relu, float* y) {
    const int TH = tiles_of(H, M), TW = tiles_of(W, M), KB = K / kLanes;
    const int64_t stride = int64_t(images) * TH * TW * K;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < images; ++i)
      for (int ty = 0; ty < TH; ++ty)
        for (int kb = 0; kb < KB; ++kb) {
          float* plane = y + (int64_t(i) * KB + kb) * H * W * kLanes;
          const Lanes b = bias ? load(bias + kb * kLanes) : Lanes{};
          const Lanes zero{};
          for (int tx = 0; tx < TW; ++tx) {
            const float* in = m + ((int64_t(i) * TH + ty) * TW + tx) * K + kb * kLanes;
            Lanes t[M][A];
            ALEXNET_UNROLL
            for (int r = 0; r < M; ++r)  // Aᵀ m
              ALEXNET_UNROLL
              for (int c = 0; c < A; ++c)
                t[r][c] = combine<A>(&kT.at[size_t(r * A)], [&](int j) { return load(in + (j * A + c) * stride); });
            ALEXNET_UNROLL
            for (int r = 0; r < M; ++r) {  // (Aᵀ m) A
              const int h = M * ty + r;
              if (h >= H) break;
              ALEXNET_UNROLL
              for (int c = 0; c < M; ++c) {
                const int w = M * tx + c;
                if (w >= W) break;
                Lanes s = b + combine<A>(&kT.at[size_t(c * A)], [&](int j) { return t[r][j]; });
                if (relu) s = s > zero ? s : zero;
                store(plane + (int64_t(h) * W + w) * kLanes, s);
              }
            }
          }
        }
  }

  // t [A²][tiles][K] from dy [images][K/8][H][W][8]: A e Aᵀ of every M x M tile e.
  static void output_grad(const float* dy, int images, int K, int H, int W, float* t) {
    const int TH = tiles_of(H, M), TW = tiles_of(W, M), KB = K / kLanes;
    const int64_t stride = int64_t(images) * TH * TW * K;
    // A (a x M) row by row: the transpose of Aᵀ.
    constexpr std::array<float, A * M> a_rows = [] {
      std::array<float, A * M> r{};
      for (int j = 0; j < A; ++j)
        for (int c = 0; c < M; ++c) r[size_t(j * M + c)] = kT.at[size_t(c * A + j)];
      return r;
    }();
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < images; ++i)
      for (int ty = 0; ty < TH; ++ty)
        for (int kb = 0; kb < KB; ++kb) {
          const float* plane = dy + (int64_t(i) * KB + kb) * H * W * kLanes;
          for (int tx = 0; tx < TW; ++tx) {
            Lanes e[M][M], s[A][M];
            ALEXNET_UNROLL
            for (int r = 0; r < M; ++r)
              ALEXNET_UNROLL
              for (int c = 0; c < M; ++c) e[r][c] = load_pixel(plane, M * ty + r, M * tx + c, H, W);
            ALEXNET_UNROLL
            for (int j = 0; j < A; ++j)  // A e
              ALEXNET_UNROLL
              for (int c = 0; c < M; ++c) s[j][c] = combine<M>(&a_rows[size_t(j * M)], [&](int r) { return e[r][c]; });
            float* out = t + ((int64_t(i) * TH + ty) * TW + tx) * K + kb * kLanes;
            ALEXNET_UNROLL
            for (int j = 0; j < A; ++j)  // (A e) Aᵀ
              ALEXNET_UNROLL
              for (int q = 0; q < A; ++q)
                store(out + (j * A + q) * stride, combine<M>(&a_rows[size_t(q * M)], [&](int c) { return s[j][c]; }));
          }
        }
  }

  // dw [K][C][R][R] (overwritten) from du [A²][C][K]: Gᵀ du G.
  static void weight_grad(const float* du, int K, int C, float* dw) {
    const int64_t stride = int64_t(C) * K;
    // Gᵀ (R x a) row by row.
    constexpr std::array<float, R * A> gt = [] {
      std::array<float, R * A> t{};
      for (int p = 0; p < R; ++p)
        for (int j = 0; j < A; ++j) t[size_t(p * A + j)] = kT.g[size_t(j * R + p)];
      return t;
    }();
    // Eight filters side by side (8 k: along du's rows), so the loads are vectors.
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; ++c)
      for (int kb = 0; kb < K / kLanes; ++kb) {
        const float* in = du + int64_t(c) * K + kb * kLanes;
        Lanes d[A][A], t[R][A];
        ALEXNET_UNROLL
        for (int r = 0; r < A; ++r)
          ALEXNET_UNROLL
          for (int q = 0; q < A; ++q) d[r][q] = load(in + (r * A + q) * stride);
        ALEXNET_UNROLL
        for (int p = 0; p < R; ++p)  // Gᵀ d
          ALEXNET_UNROLL
          for (int q = 0; q < A; ++q) t[p][q] = combine<A>(&gt[size_t(p * A)], [&](int j) { return d[j][q]; });
        for (int p = 0; p < R; ++p)  // (Gᵀ d) G
          for (int q = 0; q < R; ++q) {
            const Lanes s = combine<A>(&gt[size_t(q * A)], [&](int j) { return t[p][j]; });
            for (int l = 0; l < kLanes; ++l) dw[((int64_t(kb) * kLanes + l) * C + c) * R * R + p * R + q] = s[l];
          }
      }
  }
};

// Calls f(Kernels<m, r>{}) for the supported F(m, r): F(2, 3), F(4, 3) and F(2, 5).
template <class F>
void with_kernel(int m, int r, F&& f) {
  if (m == 2 && r == 3)
    f(Kernels<2, 3>{});
  else if (m == 4 && r == 3)
    f(Kernels<4, 3>{});
  else if (m == 2 && r == 5)
    f(Kernels<2, 5>{});
  else
    fail("Winograd: no F(", m, ", ", r, ")");
}

}  // namespace

bool Winograd::serves(int C, int K, int kernel, int stride, int padding, int groups, bool fp32, bool avx512) {
  if (!(fp32 && (kernel == 3 || kernel == 5) && stride == 1 && padding == (kernel - 1) / 2 && groups == 1 &&
        C % kLanes == 0 && K % kLanes == 0))
    return false;
  if (const char* v = std::getenv("ALEXNET_WINOGRAD"); v && *v) {
    if (!std::strcmp(v, "0")) return false;
    if (!std::strcmp(v, "1")) return true;
    fail("ALEXNET_WINOGRAD=", v, ": expected 0 or 1");
  }
  return !avx512;  // measured faster on AVX2 (docs/cpu-backend.md); not measured against AVX-512's kernels
}

int Winograd::tile_for(int r) {
  if (r != 3) return 2;
  if (const char* v = std::getenv("ALEXNET_WINOGRAD_TILE"); v && *v) {
    if (!std::strcmp(v, "2")) return 2;
    if (!std::strcmp(v, "4")) return 4;
    fail("ALEXNET_WINOGRAD_TILE=", v, ": expected 2 or 4");
  }
  return 4;  // measured faster on every 3x3 layer of the seed and cifar models (docs/cpu-backend.md)
}

Winograd::Winograd(const dnnl::engine& engine, int n, int C, int K, int H, int W, int r, int m, int64_t chunk_bytes)
    : engine_(engine), r_(r), mt_(m), C_(C), K_(K), H_(H), W_(W), tiles_(tiles_of(H, m) * tiles_of(W, m)) {
  if (C % kLanes || K % kLanes || n < 1) fail("Winograd: ", C, " -> ", K, " channels at batch ", n);
  // Images per pass: the transformed tiles of a chunk (a² x tiles x (C + K) floats) within the budget.
  const int64_t a2 = int64_t(mt_ + r_ - 1) * (mt_ + r_ - 1);
  const int64_t per_image = a2 * tiles_ * (C + K) * int64_t(sizeof(float));
  chunk_ = int(std::clamp<int64_t>(chunk_bytes / per_image, 1, n));
  const size_t floats = size_t(a2) * size_t(chunk_) * size_t(tiles_) * size_t(std::max(C, K));
  v_.resize(floats);
  m_.resize(floats);
}

// kind 0: m = v · u (forward), 1: the same with C and K swapped (backward-data), 2: du = vᵀ · t (the
// weight gradient; vᵀ a strided view of v), 3: the same added to du (every chunk after the first).
dnnl::matmul& Winograd::matmul(int images, int kind) {
  for (Prim& p : prims_)
    if (p.images == images && p.kind == kind) return p.prim;
  using dnnl::memory;
  const int64_t a2 = int64_t(mt_ + r_ - 1) * (mt_ + r_ - 1), P = int64_t(images) * tiles_;
  const auto f32 = memory::data_type::f32;
  const auto abc = memory::format_tag::abc;
  memory::desc a, b, c;
  dnnl::primitive_attr attr;
  if (kind < 2) {
    const int64_t in_c = kind == 1 ? K_ : C_, out_c = kind == 1 ? C_ : K_;
    a = memory::desc({a2, P, in_c}, f32, abc);
    b = memory::desc({a2, in_c, out_c}, f32, abc);
    c = memory::desc({a2, P, out_c}, f32, abc);
  } else {
    a = memory::desc({a2, C_, P}, f32, memory::dims{P * C_, 1, C_});
    b = memory::desc({a2, P, K_}, f32, abc);
    c = memory::desc({a2, C_, K_}, f32, abc);
    if (kind == 3) {
      dnnl::post_ops ops;
      ALEXNET_DNNL(ops.append_sum(1.f));
      ALEXNET_DNNL(attr.set_post_ops(ops));
    }
  }
  auto d = ALEXNET_DNNL(dnnl::matmul::desc(a, b, c));
  prims_.push_back({images, kind, ALEXNET_DNNL(dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, engine_)))});
  return prims_.back().prim;
}

void Winograd::run(dnnl::stream& stream, const float* in, int in_c, const std::vector<float>& u, int out_c,
                   const float* bias, bool relu, float* out, int n, bool backward) {
  using dnnl::memory;
  const int64_t a2 = int64_t(mt_ + r_ - 1) * (mt_ + r_ - 1);
  const int64_t in_image = int64_t(in_c) * H_ * W_, out_image = int64_t(out_c) * H_ * W_;
  for (int i0 = 0; i0 < n; i0 += chunk_) {
    const int images = std::min(chunk_, n - i0);
    const int64_t P = int64_t(images) * tiles_;
    with_kernel(mt_, r_, [&](auto k) {
      decltype(k)::input(in + i0 * in_image, images, in_c, H_, W_, v_.data());
    });
    dnnl::matmul& mm = matmul(images, backward ? 1 : 0);
    const memory a({{a2, P, in_c}, memory::data_type::f32, memory::format_tag::abc}, engine_, v_.data());
    const memory b({{a2, in_c, out_c}, memory::data_type::f32, memory::format_tag::abc}, engine_,
                   const_cast<float*>(u.data()));
    const memory c({{a2, P, out_c}, memory::data_type::f32, memory::format_tag::abc}, engine_, m_.data());
    ALEXNET_DNNL(mm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}}));
    ALEXNET_DNNL(stream.wait());
    with_kernel(mt_, r_, [&](auto k) {
      decltype(k)::output(m_.data(), images, out_c, H_, W_, bias, relu, out + i0 * out_image);
    });
  }
}

void Winograd::forward(dnnl::stream& stream, const float* x, const float* w, uint64_t version, const float* bias,
                       bool relu, float* y, int n) {
  if (u_version_ != version) {
    u_.resize(size_t(mt_ + r_ - 1) * size_t(mt_ + r_ - 1) * size_t(C_) * size_t(K_));
    with_kernel(mt_, r_, [&](auto k) { decltype(k)::weights(w, K_, C_, false, u_.data()); });
    u_version_ = version;
  }
  run(stream, x, C_, u_, K_, bias, relu, y, n, false);
}

void Winograd::backward_data(dnnl::stream& stream, const float* dy, const float* w, uint64_t version, float* dx,
                             int n) {
  if (u_flip_version_ != version) {
    u_flip_.resize(size_t(mt_ + r_ - 1) * size_t(mt_ + r_ - 1) * size_t(C_) * size_t(K_));
    with_kernel(mt_, r_, [&](auto k) { decltype(k)::weights(w, K_, C_, true, u_flip_.data()); });
    u_flip_version_ = version;
  }
  run(stream, dy, K_, u_flip_, C_, nullptr, false, dx, n, true);
}

void Winograd::backward_weights(dnnl::stream& stream, const float* x, const float* dy, float* dw, float* db, int n) {
  using dnnl::memory;
  const int64_t a2 = int64_t(mt_ + r_ - 1) * (mt_ + r_ - 1);
  const int64_t in_image = int64_t(C_) * H_ * W_, out_image = int64_t(K_) * H_ * W_;
  du_.resize(size_t(a2) * size_t(C_) * size_t(K_));
  for (int i0 = 0; i0 < n; i0 += chunk_) {
    const int images = std::min(chunk_, n - i0);
    const int64_t P = int64_t(images) * tiles_;
    with_kernel(mt_, r_, [&](auto k) {
      decltype(k)::input(x + i0 * in_image, images, C_, H_, W_, v_.data());
      decltype(k)::output_grad(dy + i0 * out_image, images, K_, H_, W_, m_.data());
    });
    dnnl::matmul& mm = matmul(images, i0 > 0 ? 3 : 2);
    const memory a({{a2, C_, P}, memory::data_type::f32, memory::dims{P * C_, 1, C_}}, engine_, v_.data());
    const memory b({{a2, P, K_}, memory::data_type::f32, memory::format_tag::abc}, engine_, m_.data());
    const memory c({{a2, C_, K_}, memory::data_type::f32, memory::format_tag::abc}, engine_, du_.data());
    ALEXNET_DNNL(mm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}}));
    ALEXNET_DNNL(stream.wait());
  }
  with_kernel(mt_, r_, [&](auto k) { decltype(k)::weight_grad(du_.data(), K_, C_, dw); });
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

}  // namespace alexnet::onednn
