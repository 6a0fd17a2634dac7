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
#include "data/transforms_internal.h"

namespace alexnet {

using detail::check_image;
using detail::resample_u8;
using detail::to_float_chw;

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

int Pipeline::min_decode_side() const {
  if (preset_ == Preset::None) return 0;
  if (!train_) return eval_resize_side();
  if (preset_ == Preset::Seed) return config_.input_size;
  if (preset_ == Preset::Paper) return resize_side();
  return 0;  // standard: random-resized crop, or padding in source pixels
}

int Pipeline::min_decode_side_u8(int out_size) const {
  if (!train_ || preset_ == Preset::None || preset_ == Preset::Seed) return out_size;  // centre (none: only if not S0)
  if (preset_ == Preset::Paper) return int(std::lround(256.0 * out_size / 224.0));
  return 0;
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
