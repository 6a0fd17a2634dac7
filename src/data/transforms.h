// Image transforms: resizing, crops, flips, colour augmentation and normalisation, and the named
// presets the loader uses (`none`, `seed`, `standard`, `paper`).
//
// Inputs are decoded images: uint8 RGB, H x W x 3 (HWC, struct Image). Outputs are either normalised
// float [3, S, S] (CHW, what the CPU network eats) or uint8 [S0, S0, 3] (HWC, for a later GPU path).
//
// Randomness: every random choice for a sample comes from SampleRng(seed, epoch, index), a counter-
// based stream, so a sample's augmentation depends only on those three numbers and never on which
// thread handled it or in what order.
//
// Resizing is bilinear. Upscaling equals PyTorch's F.interpolate(mode='bilinear',
// align_corners=False); downscaling widens the triangle filter to the scale (antialiasing, as PIL
// and torchvision's Resize do), so large images do not alias. The hot path -- resize (+ crop window,
// + flip) + normalise straight into float CHW -- is one fused, separable two-pass kernel
// (resize_normalize) driven by per-axis tap tables computed once per geometry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "image/sample_plan.h"

namespace alexnet {

// ---------------------------------------------------------------------------------------------
// Randomness

// A small counter-based generator (splitmix64 over a state mixed from seed, epoch and index).
class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t epoch, uint64_t index);
  explicit SampleRng(uint64_t state) : state_(state) {}

  uint64_t next_u64();
  double uniform();                       // [0, 1)
  double uniform(double lo, double hi);   // [lo, hi)
  int uniform_int(int lo, int hi);        // [lo, hi], inclusive
  bool coin() { return (next_u64() >> 63) != 0; }
  double normal();                        // N(0, 1), Box-Muller

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------
// Resize tables

// For one axis of a resize: output o reads input pixels first[o] .. first[o]+taps-1 with weights
// weight[o*taps + k] (zero weights pad rows that need fewer taps). Weights of one output sum to 1.
struct ResizeAxis {
  int in_size = 0, out_size = 0, taps = 0;
  std::vector<int> first;      // [out_size]
  std::vector<float> weight;   // [out_size * taps]
};

// The table for resizing `in_size` pixels to `out_size`: a triangle filter of half-width
// max(in/out, 1) centred at (o + 0.5) * in/out - 0.5, clipped to the image and renormalised.
ResizeAxis make_resize_axis(int in_size, int out_size);

// Restricts `axis` (a resize of the whole axis) to the output window [start, start + length), and
// mirrors it when `flip` (output o then reads what output start + length - 1 - o read).
ResizeAxis window_axis(const ResizeAxis& axis, int start, int length, bool flip);

// Resizes the window [crop_start, crop_start + crop_size) of an axis of `image_size` pixels to
// `out_size` (crop, then resize: RandomResizedCrop), mirrored when `flip`.
ResizeAxis crop_resize_axis(int image_size, int crop_start, int crop_size, int out_size, bool flip);

// ---------------------------------------------------------------------------------------------
// Per-channel affine map from uint8 to float: out = (v / 255 + offset[c] - mean[c]) / std[c].
struct Normalization {
  std::array<float, 3> mean{0.f, 0.f, 0.f};
  std::array<float, 3> std{1.f, 1.f, 1.f};
  std::array<float, 3> offset{0.f, 0.f, 0.f};  // added in [0, 1] units: PCA colour shifts
};

inline constexpr std::array<float, 3> kSeedMean{0.5f, 0.5f, 0.5f};
inline constexpr std::array<float, 3> kSeedStd{0.5f, 0.5f, 0.5f};
inline constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

// The fused hot path: out[c, p, q] = normalise(sum_ij ry[p,i] rx[q,j] image[first_y[p]+i, first_x[q]+j, c]).
// `rows` and `cols` index into `image` (rows.in_size == image.height, cols.in_size == image.width).
// out: [3, rows.out_size, cols.out_size].
void resize_normalize(const Image& image, const ResizeAxis& rows, const ResizeAxis& cols,
                      const Normalization& norm, float* out);
// The same with the map given as out = byte * scale[c] + shift[c] (SamplePlan's form).
void resize_normalize(const Image& image, const ResizeAxis& rows, const ResizeAxis& cols, const float scale[3],
                      const float shift[3], float* out);
// A normalisation as that affine map: scale = 1 / (255 std), shift = (offset - mean) / std.
void normalization_affine(const Normalization& norm, float scale[3], float shift[3]);

// uint8 -> float [3, H, W] with normalisation, no resize.
void to_float_chw(const Image& image, const Normalization& norm, float* out);

// Float images [3, H, W] -> [3, S, S]: the shorter side resized to S (bilinear, antialiased when
// shrinking, as `resize`), then the centre S x S window; values are not otherwise changed.
void resize_float_chw(const float* in, int height, int width, int S, float* out);

// The longest side a resize may produce (the shorter side brought to S makes the longer one
// S * long / short): an image more elongated than that is refused as a CorruptSample rather than
// asking for tables of millions of entries.
constexpr int kMaxResizedSide = 1 << 20;

// ---------------------------------------------------------------------------------------------
// uint8 transforms (HWC in, HWC out)

// Bilinear resize to out_h x out_w, rounded to the nearest integer.
Image resize(const Image& image, int out_h, int out_w);
// torchvision's Resize(int): the shorter side becomes `size`, the longer int(size * long / short).
Image resize_shorter(const Image& image, int size);
// The size resize_shorter would produce, as {height, width}.
std::array<int, 2> shorter_side_size(int height, int width, int size);

// The window [top, top+h) x [left, left+w); pixels outside the image are 0 (zero padding).
Image crop(const Image& image, int top, int left, int h, int w);
// torchvision's CenterCrop offsets: top = round((H - h) / 2), left = round((W - w) / 2).
std::array<int, 2> center_crop_offset(int height, int width, int h, int w);
Image center_crop(const Image& image, int h, int w);
// A random h x w window of the image zero-padded by `pad` on every side (torchvision's
// RandomCrop(size, padding=pad)): a translation by up to `pad` pixels each way.
Image random_crop(const Image& image, int h, int w, int pad, SampleRng& rng);
void flip_horizontal(Image& image);

struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};
// torchvision's RandomResizedCrop.get_params: 10 tries of area fraction ~ U(scale), log aspect
// ratio ~ U(log ratio), else a centre crop clamped to the ratio range.
CropBox random_resized_crop_box(int height, int width, SampleRng& rng, std::array<double, 2> scale = {0.08, 1.0},
                                std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0});

// torchvision's ColorJitter(brightness, contrast, saturation): each factor ~ U(max(0, 1-x), 1+x), the
// three applied in a random order; 0 turns one off.
struct ColorJitter {
  float brightness = 0.f, contrast = 0.f, saturation = 0.f;
  bool enabled() const { return brightness > 0.f || contrast > 0.f || saturation > 0.f; }
};
void color_jitter(Image& image, const ColorJitter& jitter, SampleRng& rng);
// color_jitter in two halves: the draws (none when !jitter.enabled()), then the pixels.
JitterDraw draw_color_jitter(const ColorJitter& jitter, SampleRng& rng);
void apply_color_jitter(Image& image, const JitterDraw& draw);

// The paper's PCA colour augmentation ("fancy PCA"): the eigenvectors v_i and eigenvalues l_i of the
// 3x3 covariance of RGB pixel values (scaled to [0, 1]) over the training set. Each image gets
// sum_i a_i l_i v_i added to every pixel, a_i ~ N(0, sigma) drawn once per image.
struct PcaLighting {
  std::array<float, 3> eigenvalues{};                  // descending
  std::array<std::array<float, 3>, 3> eigenvectors{};  // eigenvectors[i] = v_i, unit length (RGB)
  float sigma = 0.1f;

  // The shift for one image, in [0, 1] units, per channel.
  std::array<float, 3> draw(SampleRng& rng) const;
};
// Estimates the covariance from up to `max_images` images spread evenly over the dataset (every
// pixel of each), skipping corrupt samples. Throws alexnet::Error when no image could be read.
PcaLighting compute_pca_lighting(const Dataset& dataset, size_t max_images = 2000);

// The paper's 10-crop evaluation: the four corner and the centre size x size crops, then the mirror
// image of each, in that order: top-left, top-right, bottom-left, bottom-right, centre,
// mirrored top-left, ..., mirrored centre. (torchvision's TenCrop gives the same ten crops; its
// mirrored half comes in a different order.)
std::array<CropBox, 5> five_crop_boxes(int height, int width, int size);
std::vector<Image> ten_crop(const Image& image, int size);

// ---------------------------------------------------------------------------------------------
// Presets

enum class Preset { None, Seed, Standard, Paper };
// "none", "seed", "standard", "paper"; throws alexnet::Error naming the valid ones otherwise.
Preset parse_preset(const std::string& name);
const char* preset_name(Preset preset);

struct TransformConfig {
  std::string preset = "seed";
  int input_size = 224;                   // S: the float output is [3, S, S]
  std::array<float, 3> mean = kSeedMean;  // normalisation, in [0, 1] units
  std::array<float, 3> std = kSeedStd;
  // CIFAR-like small images (`standard` pads by `pad` and crops at the source size) versus
  // ImageNet-like large ones (`standard` uses a random-resized crop).
  bool small_images = true;
  int pad = 4;
  std::array<double, 2> crop_scale{0.08, 1.0};        // random-resized crop, area fraction
  std::array<double, 2> crop_ratio{3.0 / 4.0, 4.0 / 3.0};
  ColorJitter jitter;                     // optional with any training preset; off by default
  std::optional<PcaLighting> pca;         // `paper`; the loader estimates it when absent
  // The uint8 output's side (S0); 0 means "the source size" (all images must then share one size).
  int source_size = 0;
};

// The transform of one sample, built once from a config and shared by all loader threads (const).
class Pipeline {
 public:
  // train: random augmentation; otherwise the preset's evaluation counterpart (deterministic).
  Pipeline(TransformConfig config, bool train);

  const TransformConfig& config() const { return config_; }
  Preset preset() const { return preset_; }
  bool train() const { return train_; }
  // True for `paper` in training, which needs config().pca.
  bool needs_pca() const { return train_ && preset_ == Preset::Paper; }
  // One line: "seed (eval): resize shorter side to 224, centre crop 224, normalise ...".
  std::string describe() const;
  // The evaluation geometry as a number (what describe() says in words, for exported models): the
  // shorter side is resized to this (the longer to floor(this * long / short)), then the centre S x S
  // window is taken; 0 for `none`, which takes S x S images as they are.
  int eval_resize_side() const;
  // The shorter side an image is resized to before anything else looks at its pixels, so that a
  // JPEG may be decoded that small (Dataset::image_scaled): for the float path and the ten crops,
  // and for the uint8 path at out_size. 0 where the geometry is not a resize of the whole image
  // (`none`; `standard`'s random-resized crop and small-image padding, which work in source pixels).
  int min_decode_side() const;
  int min_decode_side_u8(int out_size) const;

  // The float path: out [3, S, S]. Throws alexnet::Error for an image the preset cannot take
  // (`none` with an image that is not S x S). It is execute(image, plan(H, W, rng), out).
  void to_float(const Image& image, SampleRng& rng, float* out) const;
  // Every random choice for an image of height x width (crop, flip, jitter, PCA colour), drawn from
  // rng in the preset's order, and the geometry and normalisation they give (image/sample_plan.h).
  SamplePlan plan(int height, int width, SampleRng& rng) const;
  // Carries a plan out on the CPU: out [3, S, S] (S = the plan's out_size on each axis).
  static void execute(const Image& image, const SamplePlan& plan, float* out);
  // The uint8 path (crop + flip only, no colour): out [S0, S0, 3], S0 = out_size. Images of another
  // size are first brought to S0 (shorter side resized, centre crop); `paper` crops 224/256 of the
  // side, as it does at full size.
  void to_u8(const Image& image, SampleRng& rng, int out_size, uint8_t* out) const;
  // Ten float crops [10, 3, S, S] for evaluation (resize shorter side, then ten_crop's order).
  void to_float_ten_crop(const Image& image, float* out) const;

 private:
  Normalization normalization(SampleRng& rng) const;
  // The side the shorter image side is resized to before an S x S crop in `paper`/eval.
  int resize_side() const;

  TransformConfig config_;
  Preset preset_;
  bool train_;
};

}  // namespace alexnet
