// A sample's transform as numbers (its plan), and the per-pixel arithmetic that carries it out, in
// one header that compiles for the host and for CUDA kernels (ALEXNET_HD is __host__ __device__
// there). The CPU pipeline (transforms.cpp) draws every random choice of a sample into a SamplePlan
// and executes it with its separable resize tables; a GPU kernel executes the same plan with
// sample_pixel() below, one output pixel per thread. tests/sample_plan_test.cpp proves the two
// agree within 1/255 for every preset, so the GPU arithmetic is checked before any GPU runs it.
//
// What a plan describes, per axis (rows and columns alike): a crop window of the source, which may
// reach past the image (those pixels are 0: zero padding, a translation), optionally mirrored; the
// window resized to `resized` pixels by the triangle filter of make_resize_axis (bilinear when
// enlarging, antialiased when shrinking); then out_size of those pixels from `window` on, optionally
// mirrored. Then per channel an affine map of the byte value: normalisation, with the PCA colour
// shift folded in. Colour jitter is not per-pixel arithmetic (contrast uses the image's mean); a
// plan that has it (SamplePlan::jitter) is carried out on the CPU only.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define ALEXNET_HD __host__ __device__
#else
#define ALEXNET_HD
#endif

namespace alexnet {

struct AxisPlan {
  int in_size = 0;         // source pixels along this axis
  int crop_start = 0;      // the crop window [crop_start, crop_start + crop_size), source coordinates;
  int crop_size = 0;       //   pixels outside [0, in_size) are zero
  bool flip_in = false;    // the crop window mirrored before resizing
  int resized = 0;         // the window resized to this many pixels
  int window = 0;          // output o reads resized pixel window + o ...
  int out_size = 0;
  bool flip_out = false;   // ... or window + out_size - 1 - o

  ALEXNET_HD bool inside() const { return crop_start >= 0 && crop_start + crop_size <= in_size; }
};

// The draws of colour jitter (torchvision's ColorJitter): the order of the three operations and
// their factors (1: off).
struct JitterDraw {
  int order[3] = {0, 1, 2};  // 0 brightness, 1 contrast, 2 saturation
  float brightness = 1.f, contrast = 1.f, saturation = 1.f;
};

struct SamplePlan {
  AxisPlan rows, cols;
  // normalised value = byte * scale[c] + shift[c]: (v / 255 + offset[c] - mean[c]) / std[c], the
  // offset being the PCA colour shift of this sample.
  float scale[3] = {1.f, 1.f, 1.f};
  float shift[3] = {0.f, 0.f, 0.f};
  bool jitter = false;  // colour jitter on the crop window before resizing (CPU only)
  JitterDraw jitter_draw;
};

// The taps of output pixel o of a resize from `in` to `out` pixels (make_resize_axis's filter): input
// pixels first .. first + count - 1 with weight(x), which sum to 1. The triangle is centred at
// (o + 1/2) in / out with half-width max(in / out, 1); in units of 1 / (2 out) both are integers, so
// the distance of pixel x from the centre over the half-width is the exact ratio
// |(2x + 1) out - (2o + 1) in| / (2 max(in, out)), rounded once to float.
struct ResizeTaps {
  int first = 0, count = 0;
  int64_t centre2 = 0;   // (2o + 1) in: twice the centre, in units of 1 / out
  int64_t out = 1;
  float inv_width = 1;   // 1 / (2 max(in, out)): the half-width in those units, inverted
  float inv_total = 1;

  ALEXNET_HD float weight(int x) const {
    int64_t d = (2 * int64_t(x) + 1) * out - centre2;
    d = d < 0 ? -d : d;
    const float t = float(d) * inv_width;
    return t < 1.f ? (1.f - t) * inv_total : 0.f;
  }
};

ALEXNET_HD inline int64_t floor_div(int64_t n, int64_t d) { return n >= 0 ? n / d : -((-n + d - 1) / d); }

ALEXNET_HD inline ResizeTaps resize_taps(int o, int in, int out) {
  ResizeTaps t;
  t.out = out;
  t.centre2 = (2 * int64_t(o) + 1) * in;
  const int64_t width2 = 2 * int64_t(in > out ? in : out);  // twice the half-width, in units of 1 / out
  t.inv_width = 1.f / float(width2);
  // floor(centre - half-width) and ceil(centre + half-width), in input pixels.
  int64_t a = floor_div(t.centre2 - width2, 2 * int64_t(out));
  int64_t b = -floor_div(-(t.centre2 + width2), 2 * int64_t(out));
  a = a < 0 ? 0 : a;
  b = b > in ? in : b;
  t.first = int(a);
  t.count = int(b - a);
  float total = 0;
  for (int x = t.first; x < t.first + t.count; ++x) total += t.weight(x);
  t.inv_total = 1.f / total;  // > 0: a half-width of at least one pixel always covers one
  return t;
}

// Throws alexnet::Error unless each of the n plans is for an H x W image, gives S x S outputs with
// windows inside their resized images, and (when `no_jitter`) needs no colour jitter.
void check_sample_plans(const SamplePlan* plans, int n, int H, int W, int S, bool no_jitter);

// The resized coordinate output o of this axis reads.
ALEXNET_HD inline int resized_index(const AxisPlan& a, int o) {
  return a.window + (a.flip_out ? a.out_size - 1 - o : o);
}

// The source coordinate of crop-window pixel x (before the window's mirror), or -1 when it is padding.
ALEXNET_HD inline int source_index(const AxisPlan& a, int x) {
  const int s = a.crop_start + (a.flip_in ? a.crop_size - 1 - x : x);
  return s >= 0 && s < a.in_size ? s : -1;
}

// Output pixel (p, q) of a plan without jitter, its three normalised channels: image is uint8 HWC
// [rows.in_size, cols.in_size, 3].
ALEXNET_HD inline void sample_pixel(const uint8_t* image, const SamplePlan& plan, int p, int q, float out[3]) {
  const AxisPlan& R = plan.rows;
  const AxisPlan& C = plan.cols;
  const ResizeTaps ty = resize_taps(resized_index(R, p), R.crop_size, R.resized);
  const ResizeTaps tx = resize_taps(resized_index(C, q), C.crop_size, C.resized);
  float acc[3] = {0.f, 0.f, 0.f};
  for (int i = 0; i < ty.count; ++i) {
    const int y = source_index(R, ty.first + i);
    const float wy = ty.weight(ty.first + i);
    if (y < 0 || wy == 0.f) continue;
    const uint8_t* row = image + size_t(y) * size_t(C.in_size) * 3;
    for (int j = 0; j < tx.count; ++j) {
      const int x = source_index(C, tx.first + j);
      const float w = wy * tx.weight(tx.first + j);
      if (x < 0 || w == 0.f) continue;
      for (int c = 0; c < 3; ++c) acc[c] += w * float(row[3 * x + c]);
    }
  }
  for (int c = 0; c < 3; ++c) out[c] = acc[c] * plan.scale[c] + plan.shift[c];
}

}  // namespace alexnet
