// Resizing: the filter tables, the fused resize + normalise into float CHW, and the uint8 resizes.
#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#include <utility>
#endif

#include "data/transforms_internal.h"

namespace alexnet {

// ---------------------------------------------------------------------------------------------
// Resize tables

ResizeAxis make_resize_axis(int in_size, int out_size) {
  ALEXNET_ASSERT(in_size > 0 && out_size > 0, cat("resize ", in_size, " -> ", out_size));
  const double scale = double(in_size) / out_size;
  const double support = std::max(scale, 1.0);  // the triangle's half-width, in input pixels
  // Per output: the input range [lo, hi) with non-zero weight and the weights themselves.
  std::vector<int> lo(static_cast<size_t>(out_size)), count(static_cast<size_t>(out_size));
  std::vector<double> w;
  int taps = 1;
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    int a = std::max(int(std::floor(center - support)), 0);
    int b = std::min(int(std::ceil(center + support)), in_size);
    double total = 0;
    thread_local std::vector<double> v;
    v.clear();
    for (int x = a; x < b; ++x) {
      double t = (x + 0.5 - center) / support;
      v.push_back(std::max(0.0, 1.0 - std::abs(t)));
      total += v.back();
    }
    // Drop zero-weight ends (an output centred exactly on an input pixel needs one tap, not three).
    size_t first = 0, last = v.size();
    while (first < last && v[first] <= 0) ++first;
    while (last > first && v[last - 1] <= 0) --last;
    if (first == last) {  // cannot happen for a triangle of half-width >= 1; keep the nearest pixel
      v.assign(1, 1.0);
      first = 0;
      last = 1;
      a = std::clamp(int(center), 0, in_size - 1);
      total = 1;
    }
    lo[size_t(o)] = a + int(first);
    count[size_t(o)] = int(last - first);
    for (size_t i = first; i < last; ++i) w.push_back(v[i] / total);
    taps = std::max(taps, count[size_t(o)]);
  }
  ResizeAxis axis;
  axis.in_size = in_size;
  axis.out_size = out_size;
  axis.taps = taps;
  axis.first.resize(size_t(out_size));
  axis.weight.assign(size_t(out_size) * size_t(taps), 0.f);
  size_t k = 0;
  for (int o = 0; o < out_size; ++o) {
    // Keep every read inside the image: a row with fewer taps starts early and pads with zeros.
    int first = std::min(lo[size_t(o)], in_size - taps);
    axis.first[size_t(o)] = first;
    for (int x = lo[size_t(o)]; x < lo[size_t(o)] + count[size_t(o)]; ++x)
      axis.weight[size_t(o) * size_t(taps) + size_t(x - first)] = float(w[k++]);
  }
  return axis;
}

ResizeAxis window_axis(const ResizeAxis& axis, int start, int length, bool flip) {
  ALEXNET_ASSERT(start >= 0 && length > 0 && start + length <= axis.out_size,
                 cat("window [", start, ", ", start + length, ") of ", axis.out_size));
  ResizeAxis out;
  out.in_size = axis.in_size;
  out.out_size = length;
  out.taps = axis.taps;
  out.first.resize(size_t(length));
  out.weight.resize(size_t(length) * size_t(axis.taps));
  for (int o = 0; o < length; ++o) {
    int src = flip ? start + length - 1 - o : start + o;
    out.first[size_t(o)] = axis.first[size_t(src)];
    std::copy_n(&axis.weight[size_t(src) * size_t(axis.taps)], axis.taps, &out.weight[size_t(o) * size_t(axis.taps)]);
  }
  return out;
}

ResizeAxis crop_resize_axis(int image_size, int crop_start, int crop_size, int out_size, bool flip) {
  ALEXNET_ASSERT(crop_start >= 0 && crop_size > 0 && crop_start + crop_size <= image_size,
                 cat("crop [", crop_start, ", ", crop_start + crop_size, ") of ", image_size));
  ResizeAxis axis = make_resize_axis(crop_size, out_size);
  axis.in_size = image_size;
  for (int& f : axis.first) f += crop_start;
  return flip ? window_axis(axis, 0, out_size, true) : axis;
}


// ---------------------------------------------------------------------------------------------
// The fused resize + normalise

namespace {

// lut[c * 256 + v]: the normalised float value of byte v in channel c.
void make_lut(const float scale[3], const float shift[3], float* lut) {
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c * 256 + v] = float(v) * scale[c] + shift[c];
}

// The weights of a resize axis by tap, [taps][out_size], for the vector downscale below.
void weights_by_tap(const ResizeAxis& axis, std::vector<float>& out) {
  const int Q = axis.out_size, taps = axis.taps;
  out.resize(size_t(taps) * size_t(Q));
  for (int q = 0; q < Q; ++q)
    for (int k = 0; k < taps; ++k) out[size_t(k) * size_t(Q) + size_t(q)] = axis.weight[size_t(q) * size_t(taps) + size_t(k)];
}

// dst[q] = sum_k w[q, k] * src[first[q] + k]: one row of the horizontal pass. `src` has 8 readable
// floats past its end. `by_tap`: the weights as weights_by_tap gives them (used when taps > 2).
void horizontal_row(const float* src, const ResizeAxis& cols, const float* by_tap, float* dst) {
  const int Q = cols.out_size, taps = cols.taps;
  const int* first = cols.first.data();
  const float* w = cols.weight.data();
  if (taps == 2) {
    int q = 0;
#if defined(__AVX2__)
    // Upscaling: 8 neighbouring outputs read at most 8 neighbouring inputs, so one load and a
    // permute replace 8 scalar gathers.
    for (; q + 8 <= Q; q += 8) {
      const int base = std::min(first[q], first[q + 7]);  // tables are monotonic (decreasing if mirrored)
      if (std::abs(first[q + 7] - first[q]) > 6) break;   // a downscale: the scalar loop below
      __m256i idx = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(first + q)),
                                     _mm256_set1_epi32(base));
      __m256 a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(src + base), idx);
      __m256 b = _mm256_permutevar8x32_ps(_mm256_loadu_ps(src + base + 1), idx);
      // weights are interleaved (w0, w1) per output: split them.
      __m256 wlo = _mm256_loadu_ps(w + 2 * q), whi = _mm256_loadu_ps(w + 2 * q + 8);
      const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
      wlo = _mm256_permutevar8x32_ps(wlo, even);  // w0 of q..q+3, w1 of q..q+3
      whi = _mm256_permutevar8x32_ps(whi, even);  // w0 of q+4..q+7, w1 of q+4..q+7
      __m256 w0 = _mm256_permute2f128_ps(wlo, whi, 0x20), w1 = _mm256_permute2f128_ps(wlo, whi, 0x31);
      _mm256_storeu_ps(dst + q, _mm256_fmadd_ps(w1, b, _mm256_mul_ps(w0, a)));
    }
#endif
    // std::fma: the same rounding as the vector path, so results never depend on alignment.
    for (; q < Q; ++q) dst[q] = std::fma(w[2 * q + 1], src[first[q] + 1], w[2 * q] * src[first[q]]);
  } else {
    int q = 0;
#if defined(__AVX2__)
    // Downscaling: 8 outputs at once, each tap's 8 inputs gathered; the same sums in the same order
    // (fused multiply-adds from 0) as the scalar loop, so results never depend on the path.
    for (; q + 8 <= Q; q += 8) {
      const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(first + q));
      __m256 s = _mm256_setzero_ps();
      for (int k = 0; k < taps; ++k) {
        const __m256 x = _mm256_i32gather_ps(src + k, at, 4);
        s = _mm256_fmadd_ps(_mm256_loadu_ps(by_tap + size_t(k) * size_t(Q) + size_t(q)), x, s);
      }
      _mm256_storeu_ps(dst + q, s);
    }
#endif
    (void)by_tap;
    for (; q < Q; ++q) {
      float s = 0;
      for (int k = 0; k < taps; ++k) s = std::fma(w[q * taps + k], src[first[q] + k], s);
      dst[q] = s;
    }
  }
}

// dst[q] = w0 * a[q] + w1 * b[q]. The output is large (600 kB a 224 x 224 image) and read much later
// by the network: streaming stores skip reading every line into the cache first.
void blend_rows(float* __restrict dst, const float* __restrict a, const float* __restrict b, float w0, float w1,
                int Q) {
  int q = 0;
#if defined(__AVX2__)
  if ((reinterpret_cast<uintptr_t>(dst) & 31) == 0) {
    const __m256 v0 = _mm256_set1_ps(w0), v1 = _mm256_set1_ps(w1);
    for (; q + 8 <= Q; q += 8)
      _mm256_stream_ps(dst + q, _mm256_fmadd_ps(v1, _mm256_loadu_ps(b + q), _mm256_mul_ps(v0, _mm256_loadu_ps(a + q))));
  }
#endif
  for (; q < Q; ++q) dst[q] = std::fma(w1, b[q], w0 * a[q]);
}

}  // namespace

void normalization_affine(const Normalization& norm, float scale[3], float shift[3]) {
  for (size_t c = 0; c < 3; ++c) {
    scale[c] = 1.f / (255.f * norm.std[c]);
    shift[c] = (norm.offset[c] - norm.mean[c]) / norm.std[c];
  }
}

void resize_normalize(const Image& image, const ResizeAxis& rows, const ResizeAxis& cols, const Normalization& norm,
                      float* out) {
  float scale[3], shift[3];
  normalization_affine(norm, scale, shift);
  resize_normalize(image, rows, cols, scale, shift, out);
}

void resize_normalize(const Image& image, const ResizeAxis& rows, const ResizeAxis& cols, const float scale[3],
                      const float shift[3], float* out) {
  const int H = image.height, W = image.width;
  ALEXNET_ASSERT(rows.in_size == H && cols.in_size == W,
                 cat("resize tables for ", rows.in_size, "x", cols.in_size, ", image ", H, "x", W));
  const int P = rows.out_size, Q = cols.out_size, ty = rows.taps;

  // Only the input rows that some output row reads.
  int r_lo = H, r_hi = 0;
  for (int p = 0; p < P; ++p) {
    r_lo = std::min(r_lo, rows.first[size_t(p)]);
    r_hi = std::max(r_hi, rows.first[size_t(p)] + ty);
  }
  const int R = r_hi - r_lo;

  thread_local std::vector<float> lut, planar, tmp, by_tap;
  weights_by_tap(cols, by_tap);
  lut.resize(3 * 256);
  make_lut(scale, shift, lut.data());
  planar.resize(size_t(3) * size_t(W) + 8);  // + 8: horizontal_row may load past the last pixel
  tmp.resize(size_t(3) * size_t(R) * size_t(Q));

  // Pass 1, horizontal: tmp[c, r, q] for every needed input row r, normalised through the LUT.
  for (int r = 0; r < R; ++r) {
    const uint8_t* px = image.pixels.data() + size_t(r + r_lo) * size_t(W) * 3;
    float* p0 = planar.data();
    float* p1 = p0 + W;
    float* p2 = p1 + W;
    for (int x = 0; x < W; ++x) {
      p0[x] = lut[px[3 * x]];
      p1[x] = lut[256 + px[3 * x + 1]];
      p2[x] = lut[512 + px[3 * x + 2]];
    }
    for (int c = 0; c < 3; ++c)
      horizontal_row(planar.data() + size_t(c) * size_t(W), cols, by_tap.data(),
                     tmp.data() + (size_t(c) * size_t(R) + size_t(r)) * size_t(Q));
  }

  // Pass 2, vertical: contiguous rows of Q floats, vectorised by the compiler.
  for (int c = 0; c < 3; ++c) {
    const float* plane = tmp.data() + size_t(c) * size_t(R) * size_t(Q);
    for (int p = 0; p < P; ++p) {
      float* __restrict dst = out + (size_t(c) * size_t(P) + size_t(p)) * size_t(Q);
      const float* w = rows.weight.data() + size_t(p) * size_t(ty);
      const float* __restrict a = plane + size_t(rows.first[size_t(p)] - r_lo) * size_t(Q);
      if (ty == 1) {
        std::memcpy(dst, a, sizeof(float) * size_t(Q));
      } else if (ty == 2) {
        blend_rows(dst, a, a + Q, w[0], w[1], Q);
      } else {
        for (int q = 0; q < Q; ++q) dst[q] = w[0] * a[q];
        for (int k = 1; k < ty; ++k) {
          const float* __restrict s = a + size_t(k) * size_t(Q);
          const float wk = w[k];
          for (int q = 0; q < Q; ++q) dst[q] += wk * s[q];
        }
      }
    }
  }
#if defined(__AVX2__)
  _mm_sfence();  // order the streaming stores before the batch is handed on
#endif
}

namespace detail {
void to_float_chw(const Image& image, const float scale[3], const float shift[3], float* out) {
  float lut[3 * 256];
  make_lut(scale, shift, lut);
  const size_t n = size_t(image.height) * size_t(image.width);
  const uint8_t* px = image.pixels.data();
  float* o0 = out;
  float* o1 = out + n;
  float* o2 = out + 2 * n;
  for (size_t i = 0; i < n; ++i) {
    o0[i] = lut[px[3 * i]];
    o1[i] = lut[256 + px[3 * i + 1]];
    o2[i] = lut[512 + px[3 * i + 2]];
  }
}
}  // namespace detail

void to_float_chw(const Image& image, const Normalization& norm, float* out) {
  float scale[3], shift[3];
  normalization_affine(norm, scale, shift);
  detail::to_float_chw(image, scale, shift, out);
}


// ---------------------------------------------------------------------------------------------
// uint8 resizes

namespace detail {

Image make_image(int h, int w) {
  Image im;
  im.height = h;
  im.width = w;
  im.pixels.assign(size_t(h) * size_t(w) * 3, 0);
  return im;
}

void check_image(const Image& image) {
  ALEXNET_ASSERT(image.height > 0 && image.width > 0 &&
                     image.pixels.size() == size_t(image.height) * size_t(image.width) * 3,
                 cat("image ", image.height, "x", image.width, " with ", image.pixels.size(), " bytes"));
}

// Values 0..255 in float CHW, without normalisation.
const Normalization kByteScale{{0.f, 0.f, 0.f}, {1.f / 255.f, 1.f / 255.f, 1.f / 255.f}, {0.f, 0.f, 0.f}};

// Resamples through the float kernel and rounds back to uint8 HWC: out [rows.out_size, cols.out_size, 3].
void resample_u8(const Image& image, const ResizeAxis& rows, const ResizeAxis& cols, uint8_t* out) {
  const size_t n = size_t(rows.out_size) * size_t(cols.out_size);
  thread_local std::vector<float> chw;
  chw.resize(3 * n);
  resize_normalize(image, rows, cols, kByteScale, chw.data());
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < 3; ++c) out[3 * i + c] = uint8_t(std::clamp(std::nearbyint(chw[c * n + i]), 0.f, 255.f));
}

}  // namespace detail

using detail::check_image;
using detail::make_image;
using detail::resample_u8;

Image resize(const Image& image, int out_h, int out_w) {
  check_image(image);
  Image out = make_image(out_h, out_w);
  resample_u8(image, make_resize_axis(image.height, out_h), make_resize_axis(image.width, out_w), out.pixels.data());
  return out;
}

std::array<int, 2> shorter_side_size(int height, int width, int size) {
  ALEXNET_ASSERT(height > 0 && width > 0 && size > 0);
  const int64_t s = size, h = height, w = width;
  const int64_t longer = height <= width ? s * w / h : s * h / w;  // no overflow: int * int fits int64
  if (longer > kMaxResizedSide)
    throw CorruptSample(cat("image ", width, "x", height, " (width x height) is too elongated to resize its shorter side to ", size,
                            " (the longer side would be ", longer, " pixels, more than ", kMaxResizedSide, ")"));
  if (height <= width) return {size, int(longer)};
  return {int(longer), size};
}

void resize_float_chw(const float* in, int height, int width, int S, float* out) {
  ALEXNET_ASSERT(height > 0 && width > 0 && S > 0);
  auto [rh, rw] = shorter_side_size(height, width, S);
  auto [top, left] = center_crop_offset(rh, rw, S, S);
  const ResizeAxis rows = window_axis(make_resize_axis(height, rh), top, S, false);
  const ResizeAxis cols = window_axis(make_resize_axis(width, rw), left, S, false);
  std::vector<float> tmp(size_t(height) * size_t(S));  // one channel, resized along x
  for (int c = 0; c < 3; ++c) {
    const float* plane = in + size_t(c) * size_t(height) * size_t(width);
    for (int y = 0; y < height; ++y) {
      const float* row = plane + size_t(y) * size_t(width);
      for (int q = 0; q < S; ++q) {
        float v = 0.f;
        for (int k = 0; k < cols.taps; ++k) {
          const float wgt = cols.weight[size_t(q) * size_t(cols.taps) + size_t(k)];
          if (wgt != 0.f) v += wgt * row[cols.first[size_t(q)] + k];
        }
        tmp[size_t(y) * size_t(S) + size_t(q)] = v;
      }
    }
    float* dst = out + size_t(c) * size_t(S) * size_t(S);
    for (int p = 0; p < S; ++p)
      for (int q = 0; q < S; ++q) {
        float v = 0.f;
        for (int k = 0; k < rows.taps; ++k) {
          const float wgt = rows.weight[size_t(p) * size_t(rows.taps) + size_t(k)];
          if (wgt != 0.f) v += wgt * tmp[size_t(rows.first[size_t(p)] + k) * size_t(S) + size_t(q)];
        }
        dst[size_t(p) * size_t(S) + size_t(q)] = v;
      }
  }
}

Image resize_shorter(const Image& image, int size) {
  auto [h, w] = shorter_side_size(image.height, image.width, size);
  return resize(image, h, w);
}

}  // namespace alexnet
