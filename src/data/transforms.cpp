#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#if defined(__AVX2__)
#include <immintrin.h>
#include <utility>
#endif

#include "core/rng.h"

namespace alexnet {

// ---------------------------------------------------------------------------------------------
// Randomness (splitmix64 from core/rng.h)

SampleRng::SampleRng(uint64_t seed, uint64_t epoch, uint64_t index)
    : state_(splitmix64_finalize(splitmix64_finalize(splitmix64(seed) ^ (epoch + 0x632be59bd9b4e019ULL)) ^
                                 (index + 0x8cb92ba72f3d8dd7ULL))) {}

uint64_t SampleRng::next_u64() {
  state_ += kSplitMix64Gamma;
  return splitmix64_finalize(state_);
}

double SampleRng::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

double SampleRng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

int SampleRng::uniform_int(int lo, int hi) {
  ALEXNET_ASSERT(hi >= lo);
  uint64_t range = uint64_t(int64_t(hi) - lo) + 1;
  return int(int64_t(lo) + int64_t((unsigned __int128)next_u64() * range >> 64));
}

double SampleRng::normal() {
  double u1 = 1.0 - uniform();  // (0, 1]
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

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

// dst[q] = sum_k w[q, k] * src[first[q] + k]: one row of the horizontal pass. `src` has 8 readable
// floats past its end.
void horizontal_row(const float* src, const ResizeAxis& cols, float* dst) {
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
    for (int q = 0; q < Q; ++q) {
      float s = 0;
      for (int k = 0; k < taps; ++k) s += w[q * taps + k] * src[first[q] + k];
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

  thread_local std::vector<float> lut, planar, tmp;
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
      horizontal_row(planar.data() + size_t(c) * size_t(W), cols, tmp.data() + (size_t(c) * size_t(R) + size_t(r)) * size_t(Q));
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

namespace {
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
}  // namespace

void to_float_chw(const Image& image, const Normalization& norm, float* out) {
  float scale[3], shift[3];
  normalization_affine(norm, scale, shift);
  to_float_chw(image, scale, shift, out);
}

// ---------------------------------------------------------------------------------------------
// uint8 transforms

namespace {

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

}  // namespace

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

Image crop(const Image& image, int top, int left, int h, int w) {
  check_image(image);
  Image out = make_image(h, w);
  const int x0 = std::max(left, 0), x1 = std::min(left + w, image.width);
  for (int y = 0; y < h; ++y) {
    int sy = top + y;
    if (sy < 0 || sy >= image.height || x1 <= x0) continue;
    std::memcpy(&out.pixels[(size_t(y) * size_t(w) + size_t(x0 - left)) * 3],
                &image.pixels[(size_t(sy) * size_t(image.width) + size_t(x0)) * 3], size_t(x1 - x0) * 3);
  }
  return out;
}

std::array<int, 2> center_crop_offset(int height, int width, int h, int w) {
  return {int(std::nearbyint((height - h) / 2.0)), int(std::nearbyint((width - w) / 2.0))};
}

Image center_crop(const Image& image, int h, int w) {
  auto [top, left] = center_crop_offset(image.height, image.width, h, w);
  return crop(image, top, left, h, w);
}

Image random_crop(const Image& image, int h, int w, int pad, SampleRng& rng) {
  int top = rng.uniform_int(0, image.height + 2 * pad - h) - pad;
  int left = rng.uniform_int(0, image.width + 2 * pad - w) - pad;
  return crop(image, top, left, h, w);
}

void flip_horizontal(Image& image) {
  const int W = image.width;
  for (int y = 0; y < image.height; ++y) {
    uint8_t* row = image.pixels.data() + size_t(y) * size_t(W) * 3;
    for (int a = 0, b = W - 1; a < b; ++a, --b)
      for (int c = 0; c < 3; ++c) std::swap(row[3 * a + c], row[3 * b + c]);
  }
}

CropBox random_resized_crop_box(int height, int width, SampleRng& rng, std::array<double, 2> scale,
                                std::array<double, 2> ratio) {
  const double area = double(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target_area = area * rng.uniform(scale[0], scale[1]);
    double aspect = std::exp(rng.uniform(log_lo, log_hi));
    int w = int(std::nearbyint(std::sqrt(target_area * aspect)));
    int h = int(std::nearbyint(std::sqrt(target_area / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      int top = rng.uniform_int(0, height - h);
      int left = rng.uniform_int(0, width - w);
      return {top, left, h, w};
    }
  }
  double in_ratio = double(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio[0]) {
    h = int(std::nearbyint(w / ratio[0]));
  } else if (in_ratio > ratio[1]) {
    w = int(std::nearbyint(h * ratio[1]));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

JitterDraw draw_color_jitter(const ColorJitter& jitter, SampleRng& rng) {
  JitterDraw d;
  if (!jitter.enabled()) return d;
  for (int i = 2; i > 0; --i) std::swap(d.order[i], d.order[rng.uniform_int(0, i)]);
  auto factor = [&](float x) { return x > 0 ? float(rng.uniform(std::max(0.f, 1.f - x), 1.f + x)) : 1.f; };
  d.brightness = factor(jitter.brightness);
  d.contrast = factor(jitter.contrast);
  d.saturation = factor(jitter.saturation);
  return d;
}

void color_jitter(Image& image, const ColorJitter& jitter, SampleRng& rng) {
  if (!jitter.enabled()) return;
  apply_color_jitter(image, draw_color_jitter(jitter, rng));
}

void apply_color_jitter(Image& image, const JitterDraw& draw) {
  const float fb = draw.brightness, fc = draw.contrast, fs = draw.saturation;
  const size_t n = size_t(image.height) * size_t(image.width);
  uint8_t* px = image.pixels.data();
  auto to_u8 = [](float v) { return uint8_t(std::clamp(std::nearbyint(v), 0.f, 255.f)); };
  auto gray = [](const uint8_t* p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; };
  for (int op : draw.order) {
    if (op == 0 && fb != 1.f) {
      for (size_t i = 0; i < 3 * n; ++i) px[i] = to_u8(px[i] * fb);
    } else if (op == 1 && fc != 1.f) {
      double sum = 0;
      for (size_t i = 0; i < n; ++i) sum += gray(px + 3 * i);
      const float mean = float(sum / double(n)) * (1.f - fc);
      for (size_t i = 0; i < 3 * n; ++i) px[i] = to_u8(px[i] * fc + mean);
    } else if (op == 2 && fs != 1.f) {
      for (size_t i = 0; i < n; ++i) {
        float g = gray(px + 3 * i) * (1.f - fs);
        for (size_t c = 0; c < 3; ++c) px[3 * i + c] = to_u8(px[3 * i + c] * fs + g);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PCA colour

std::array<float, 3> PcaLighting::draw(SampleRng& rng) const {
  std::array<float, 3> shift{0.f, 0.f, 0.f};
  for (size_t i = 0; i < 3; ++i) {
    float alpha = float(rng.normal()) * sigma;
    for (size_t c = 0; c < 3; ++c) shift[c] += alpha * eigenvalues[i] * eigenvectors[i][c];
  }
  return shift;
}

namespace {
// Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations: a becomes diagonal,
// the columns of v the eigenvectors.
void jacobi3(double a[3][3], double v[3][3]) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) v[i][j] = i == j;
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = std::abs(a[0][1]) + std::abs(a[0][2]) + std::abs(a[1][2]);
    if (off < 1e-30) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (std::abs(a[p][q]) < 1e-300) continue;
        double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // a = a * J
          double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {  // a = J^T * a
          double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {
          double vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
}
}  // namespace

PcaLighting compute_pca_lighting(const Dataset& dataset, size_t max_images) {
  const size_t n = dataset.size();
  const size_t count = std::min(n, std::max<size_t>(max_images, 1));
  double sum[3] = {0, 0, 0}, prod[3][3] = {};
  double pixels = 0;
  for (size_t k = 0; k < count; ++k) {
    Image image;
    try {
      image = dataset.image(k * n / count);
    } catch (const CorruptSample&) {
      continue;
    }
    const size_t m = size_t(image.height) * size_t(image.width);
    for (size_t i = 0; i < m; ++i) {
      double p[3] = {image.pixels[3 * i] / 255.0, image.pixels[3 * i + 1] / 255.0, image.pixels[3 * i + 2] / 255.0};
      for (int a = 0; a < 3; ++a) {
        sum[a] += p[a];
        for (int b = a; b < 3; ++b) prod[a][b] += p[a] * p[b];
      }
    }
    pixels += double(m);
  }
  if (pixels == 0) fail("PCA colour statistics: none of the ", count, " sampled images of ", dataset.describe(), " could be read");
  double cov[3][3], vec[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = a; b < 3; ++b) cov[a][b] = cov[b][a] = prod[a][b] / pixels - (sum[a] / pixels) * (sum[b] / pixels);
  jacobi3(cov, vec);
  int order[3] = {0, 1, 2};
  std::sort(order, order + 3, [&](int x, int y) { return cov[x][x] > cov[y][y]; });
  PcaLighting pca;
  for (size_t i = 0; i < 3; ++i) {
    int col = order[i];
    pca.eigenvalues[i] = float(std::max(cov[col][col], 0.0));
    // A fixed sign (largest component positive) so the result does not depend on rotation order.
    int big = 0;
    for (int c = 1; c < 3; ++c)
      if (std::abs(vec[c][col]) > std::abs(vec[big][col])) big = c;
    double sign = vec[big][col] < 0 ? -1 : 1;
    for (size_t c = 0; c < 3; ++c) pca.eigenvectors[i][c] = float(sign * vec[c][col]);
  }
  return pca;
}

// ---------------------------------------------------------------------------------------------
// 10-crop

std::array<CropBox, 5> five_crop_boxes(int height, int width, int size) {
  if (size > height || size > width)
    fail("10-crop of size ", size, " does not fit an image of ", height, "x", width);
  auto [ct, cl] = center_crop_offset(height, width, size, size);
  return {CropBox{0, 0, size, size}, CropBox{0, width - size, size, size}, CropBox{height - size, 0, size, size},
          CropBox{height - size, width - size, size, size}, CropBox{ct, cl, size, size}};
}

std::vector<Image> ten_crop(const Image& image, int size) {
  std::vector<Image> crops;
  for (const CropBox& b : five_crop_boxes(image.height, image.width, size))
    crops.push_back(crop(image, b.top, b.left, b.height, b.width));
  for (int i = 0; i < 5; ++i) {
    crops.push_back(crops[size_t(i)]);
    flip_horizontal(crops.back());
  }
  return crops;
}

// ---------------------------------------------------------------------------------------------
// Presets

Preset parse_preset(const std::string& name) {
  if (name == "none") return Preset::None;
  if (name == "seed") return Preset::Seed;
  if (name == "standard") return Preset::Standard;
  if (name == "paper") return Preset::Paper;
  fail("unknown transform preset '", name, "' (expected none, seed, standard or paper)");
}

const char* preset_name(Preset preset) {
  switch (preset) {
    case Preset::None: return "none";
    case Preset::Seed: return "seed";
    case Preset::Standard: return "standard";
    case Preset::Paper: return "paper";
  }
  ALEXNET_ASSERT(false, "unknown preset");
}

Pipeline::Pipeline(TransformConfig config, bool train)
    : config_(std::move(config)), preset_(parse_preset(config_.preset)), train_(train) {
  if (config_.input_size <= 0) fail("transform input size must be positive, got ", config_.input_size);
  for (size_t c = 0; c < 3; ++c)
    if (!(config_.std[c] > 0.f)) fail("normalisation std must be positive, got ", config_.std[c], " for channel ", c);
  if (config_.pad < 0) fail("crop padding must be >= 0, got ", config_.pad);
  if (!(config_.crop_scale[0] > 0 && config_.crop_scale[0] <= config_.crop_scale[1] && config_.crop_scale[1] <= 1))
    fail("random-resized crop scale must satisfy 0 < min <= max <= 1, got (", config_.crop_scale[0], ", ",
         config_.crop_scale[1], ")");
  if (!(config_.crop_ratio[0] > 0 && config_.crop_ratio[0] <= config_.crop_ratio[1]))
    fail("random-resized crop ratio must satisfy 0 < min <= max, got (", config_.crop_ratio[0], ", ",
         config_.crop_ratio[1], ")");
  if (config_.jitter.brightness < 0 || config_.jitter.contrast < 0 || config_.jitter.saturation < 0)
    fail("colour jitter strengths must be >= 0");
  if (config_.source_size < 0) fail("source size must be >= 0, got ", config_.source_size);
}

int Pipeline::resize_side() const { return int(std::lround(256.0 * config_.input_size / 224.0)); }

Normalization Pipeline::normalization(SampleRng& rng) const {
  Normalization norm{config_.mean, config_.std, {0.f, 0.f, 0.f}};
  if (needs_pca()) {
    if (!config_.pca) fail("the 'paper' preset needs PCA colour statistics (TransformConfig::pca)");
    norm.offset = config_.pca->draw(rng);
  }
  return norm;
}

int Pipeline::eval_resize_side() const {
  if (preset_ == Preset::None) return 0;
  const bool small = preset_ == Preset::Seed || (preset_ == Preset::Standard && config_.small_images);
  return small ? config_.input_size : resize_side();
}

std::string Pipeline::describe() const {
  const int S = config_.input_size;
  std::string s = cat(preset_name(preset_), train_ ? " (train): " : " (eval): ");
  switch (preset_) {
    case Preset::None: s += cat("no resize (images must be ", S, "x", S, ")"); break;
    case Preset::Seed: s += cat("resize shorter side to ", S, ", centre crop ", S); break;
    case Preset::Standard:
      if (!train_)
        s += config_.small_images ? cat("resize shorter side to ", S, ", centre crop ", S)
                                  : cat("resize shorter side to ", resize_side(), ", centre crop ", S);
      else if (config_.small_images)
        s += cat("random crop with padding ", config_.pad, " at source size, flip, resize to ", S);
      else
        s += cat("random-resized crop to ", S, " (scale ", config_.crop_scale[0], "..", config_.crop_scale[1],
                 ", ratio ", config_.crop_ratio[0], "..", config_.crop_ratio[1], "), flip");
      break;
    case Preset::Paper:
      s += train_ ? cat("resize shorter side to ", resize_side(), ", random crop ", S, ", flip, PCA colour (sigma ",
                        config_.pca ? config_.pca->sigma : 0.1f, ")")
                  : cat("resize shorter side to ", resize_side(), ", centre crop ", S);
      break;
  }
  if (train_ && config_.jitter.enabled())
    s += cat(", colour jitter (", config_.jitter.brightness, ", ", config_.jitter.contrast, ", ",
             config_.jitter.saturation, ")");
  s += cat(", normalise mean (", config_.mean[0], ", ", config_.mean[1], ", ", config_.mean[2], ") std (",
           config_.std[0], ", ", config_.std[1], ", ", config_.std[2], ")");
  return s;
}

namespace {
// The tables of the last few (in, out) sizes this thread used: a dataset has few distinct image sizes,
// and building a table costs about as much as resizing a small image. One image needs two tables
// (rows, columns) alive at once: a lookup names the slot it must not evict (the other table's), so
// the second can never overwrite the first, whether the first was found or built.
struct AxisCache {
  std::array<ResizeAxis, 16> slots;
  size_t victim = 0;

  // The table for (in_size, out_size) and its slot; never evicts slot `keep`.
  std::pair<const ResizeAxis*, size_t> get(int in_size, int out_size, size_t keep) {
    for (size_t i = 0; i < slots.size(); ++i)
      if (slots[i].in_size == in_size && slots[i].out_size == out_size) return {&slots[i], i};
    if (victim == keep) victim = (victim + 1) % slots.size();
    const size_t i = victim;
    victim = (victim + 1) % slots.size();
    slots[i] = make_resize_axis(in_size, out_size);
    return {&slots[i], i};
  }
};

// The window [start, start + length) of a cached table, mirrored when `flip`; the table itself
// (no copy) when the window is all of it. `slot` is the cache slot to keep (in) and the one used (out).
const ResizeAxis& windowed(int in_size, int out_size, int start, int length, bool flip, ResizeAxis& storage,
                           size_t& slot) {
  thread_local AxisCache cache;
  const auto [full, used] = cache.get(in_size, out_size, slot);
  slot = used;
  if (start == 0 && length == out_size && !flip) return *full;
  storage = window_axis(*full, start, length, flip);
  return storage;
}

// The table for one axis of a plan over an image whose axis is `a.in_size` pixels with the crop
// window inside it: the cached table of the whole resize (no copy) when the plan uses all of it.
// `slot` is the cache slot to keep (in) and the one used (out).
const ResizeAxis& plan_axis(const AxisPlan& a, ResizeAxis& storage, size_t& slot) {
  if (a.crop_start == 0 && a.crop_size == a.in_size)
    return windowed(a.in_size, a.resized, a.window, a.out_size, a.flip_out, storage, slot);
  const ResizeAxis& table = windowed(a.crop_size, a.resized, a.window, a.out_size, a.flip_out, storage, slot);
  if (&table != &storage) storage = table;  // a copy: its offsets change below
  storage.in_size = a.in_size;
  for (int& f : storage.first) f += a.crop_start;
  return storage;
}

bool identity(const AxisPlan& a) {
  return a.crop_start == 0 && a.crop_size == a.in_size && a.resized == a.in_size && a.window == 0 &&
         a.out_size == a.in_size && !a.flip_in && !a.flip_out;
}
}  // namespace

SamplePlan Pipeline::plan(int height, int width, SampleRng& rng) const {
  const int S = config_.input_size;
  SamplePlan p;
  // The whole image's axis resized to `resized`, then the S pixels from `window` on.
  auto whole = [S](int in, int resized, int window) {
    AxisPlan a;
    a.in_size = in;
    a.crop_size = in;
    a.resized = resized;
    a.window = window;
    a.out_size = S;
    return a;
  };
  auto jitter = [&] {
    if (!train_ || !config_.jitter.enabled()) return;
    p.jitter = true;
    p.jitter_draw = draw_color_jitter(config_.jitter, rng);
  };

  if (preset_ == Preset::None) {
    if (height != S || width != S)
      fail("preset 'none' does not resize: images must be ", S, "x", S, ", got ", height, "x", width);
    p.rows = whole(S, S, 0);
    p.cols = whole(S, S, 0);
    jitter();
  } else if (!train_ || preset_ == Preset::Seed) {  // shorter side to `side`, centre crop
    auto [rh, rw] = shorter_side_size(height, width, eval_resize_side());
    auto [top, left] = center_crop_offset(rh, rw, S, S);
    p.rows = whole(height, rh, top);
    p.cols = whole(width, rw, left);
    jitter();
  } else if (preset_ == Preset::Standard && config_.small_images) {
    // A translation by up to `pad` pixels (a crop of the zero-padded image at its own size), flip,
    // then as the seed preset.
    const int pad = config_.pad;
    const int top = rng.uniform_int(0, 2 * pad) - pad;
    const int left = rng.uniform_int(0, 2 * pad) - pad;
    const bool flip = rng.coin();
    jitter();
    auto [rh, rw] = shorter_side_size(height, width, S);
    auto [ctop, cleft] = center_crop_offset(rh, rw, S, S);
    p.rows = whole(height, rh, ctop);
    p.rows.crop_start = top;
    p.cols = whole(width, rw, cleft);
    p.cols.crop_start = left;
    p.cols.flip_in = flip;
  } else if (preset_ == Preset::Standard) {  // large images: random-resized crop + flip
    const CropBox box = random_resized_crop_box(height, width, rng, config_.crop_scale, config_.crop_ratio);
    const bool flip = rng.coin();
    jitter();
    p.rows = {height, box.top, box.height, false, S, 0, S, false};
    p.cols = {width, box.left, box.width, false, S, 0, S, flip};
  } else {  // paper, training: shorter side to 256 (for S = 224), random S x S crop, flip, PCA colour
    auto [rh, rw] = shorter_side_size(height, width, resize_side());
    const int top = rng.uniform_int(0, rh - S);
    const int left = rng.uniform_int(0, rw - S);
    const bool flip = rng.coin();
    jitter();
    p.rows = whole(height, rh, top);
    p.cols = whole(width, rw, left);
    p.cols.flip_out = flip;
  }
  normalization_affine(normalization(rng), p.scale, p.shift);  // the PCA shift is drawn last
  return p;
}

void Pipeline::execute(const Image& source, const SamplePlan& plan, float* out) {
  check_image(source);
  AxisPlan rows = plan.rows, cols = plan.cols;
  ALEXNET_ASSERT(rows.in_size == source.height && cols.in_size == source.width && !rows.flip_in,
                 cat("a plan for ", rows.in_size, "x", cols.in_size, ", image ", source.height, "x", source.width));
  const Image* image = &source;
  Image staged;  // the crop window as an image of its own, when its pixels must change before resizing
  if (plan.jitter || cols.flip_in || !rows.inside() || !cols.inside()) {
    staged = crop(source, rows.crop_start, cols.crop_start, rows.crop_size, cols.crop_size);
    if (cols.flip_in) flip_horizontal(staged);
    if (plan.jitter) apply_color_jitter(staged, plan.jitter_draw);
    for (AxisPlan* a : {&rows, &cols}) {
      a->in_size = a->crop_size;
      a->crop_start = 0;
      a->flip_in = false;
    }
    image = &staged;
  }
  if (identity(rows) && identity(cols)) {
    to_float_chw(*image, plan.scale, plan.shift, out);
    return;
  }
  thread_local ResizeAxis row_storage, col_storage;
  size_t slot = size_t(-1);  // the rows' table is kept while the columns' is looked up
  const ResizeAxis& row_table = plan_axis(rows, row_storage, slot);
  const ResizeAxis& col_table = plan_axis(cols, col_storage, slot);
  resize_normalize(*image, row_table, col_table, plan.scale, plan.shift, out);
}

void Pipeline::to_float(const Image& source, SampleRng& rng, float* out) const {
  check_image(source);
  execute(source, plan(source.height, source.width, rng), out);
}

void Pipeline::to_u8(const Image& source, SampleRng& rng, int out_size, uint8_t* out) const {
  check_image(source);
  const int S0 = out_size;
  const size_t bytes = size_t(S0) * size_t(S0) * 3;
  auto emit = [&](const Image& im) {  // im is S0 x S0
    std::memcpy(out, im.pixels.data(), bytes);
  };
  // Brings an image to S0 x S0: shorter side to `side`, then the window at (top, left), mirrored.
  auto resample = [&](const Image& im, int side, int top, int left, bool flip) {
    auto [rh, rw] = shorter_side_size(im.height, im.width, side);
    if (rh == im.height && rw == im.width && !flip) {
      emit(crop(im, top, left, S0, S0));
      return;
    }
    ResizeAxis rows = window_axis(make_resize_axis(im.height, rh), top, S0, false);
    ResizeAxis cols = window_axis(make_resize_axis(im.width, rw), left, S0, flip);
    resample_u8(im, rows, cols, out);
  };
  auto center = [&](const Image& im, int side) {
    auto [rh, rw] = shorter_side_size(im.height, im.width, side);
    auto [top, left] = center_crop_offset(rh, rw, S0, S0);
    resample(im, side, top, left, false);
  };

  if (!train_ || preset_ == Preset::None || preset_ == Preset::Seed) {
    if (source.height == S0 && source.width == S0) {
      emit(source);
    } else {
      center(source, S0);
    }
    return;
  }
  if (preset_ == Preset::Standard && config_.small_images) {
    Image staged = random_crop(source, source.height, source.width, config_.pad, rng);
    if (rng.coin()) flip_horizontal(staged);
    if (staged.height == S0 && staged.width == S0) {
      emit(staged);
    } else {
      center(staged, S0);
    }
    return;
  }
  if (preset_ == Preset::Standard) {
    CropBox box = random_resized_crop_box(source.height, source.width, rng, config_.crop_scale, config_.crop_ratio);
    bool flip = rng.coin();
    ResizeAxis rows = crop_resize_axis(source.height, box.top, box.height, S0, false);
    ResizeAxis cols = crop_resize_axis(source.width, box.left, box.width, S0, flip);
    resample_u8(source, rows, cols, out);
    return;
  }
  // paper: the same 224/256 crop fraction as at full size.
  const int side = int(std::lround(256.0 * S0 / 224.0));
  auto [rh, rw] = shorter_side_size(source.height, source.width, side);
  int top = rng.uniform_int(0, rh - S0);
  int left = rng.uniform_int(0, rw - S0);
  bool flip = rng.coin();
  resample(source, side, top, left, flip);
}

void Pipeline::to_float_ten_crop(const Image& source, float* out) const {
  check_image(source);
  const int S = config_.input_size;
  const int side = preset_ == Preset::Seed || (preset_ == Preset::Standard && config_.small_images) ? S : resize_side();
  auto [rh, rw] = shorter_side_size(source.height, source.width, side);
  ResizeAxis rows_full = make_resize_axis(source.height, rh), cols_full = make_resize_axis(source.width, rw);
  Normalization norm{config_.mean, config_.std, {0.f, 0.f, 0.f}};
  const size_t plane = size_t(3) * size_t(S) * size_t(S);
  std::array<CropBox, 5> boxes = five_crop_boxes(rh, rw, S);
  for (int mirror = 0; mirror < 2; ++mirror)
    for (size_t i = 0; i < 5; ++i) {
      ResizeAxis rows = window_axis(rows_full, boxes[i].top, S, false);
      ResizeAxis cols = window_axis(cols_full, boxes[i].left, S, mirror == 1);
      resize_normalize(source, rows, cols, norm, out + (size_t(mirror) * 5 + i) * plane);
    }
}

}  // namespace alexnet
