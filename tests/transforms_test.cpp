// Transforms: resize against PyTorch's golden output, exact crops/flips/10-crop on known images,
// normalisation, random-resized crop bounds, PCA colour statistics, presets and determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/transforms.h"
#include "tensor/safetensors.h"

namespace alexnet {
namespace {

// A known image: pixel (y, x, c) = (7y + 13x + 50c) mod 256.
Image pattern(int h, int w) {
  Image im;
  im.height = h;
  im.width = w;
  im.pixels.resize(size_t(h) * size_t(w) * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) im.pixels[(size_t(y) * size_t(w) + size_t(x)) * 3 + size_t(c)] = uint8_t((7 * y + 13 * x + 50 * c) % 256);
  return im;
}

uint8_t px(const Image& im, int y, int x, int c) { return im.pixels[(size_t(y) * size_t(im.width) + size_t(x)) * 3 + size_t(c)]; }

Image image_from(const Tensor& t) {
  Image im;
  im.height = int(t.dim(0));
  im.width = int(t.dim(1));
  auto s = t.span<uint8_t>();
  im.pixels.assign(s.begin(), s.end());
  return im;
}

// Largest |a - b| and where, for the failure message.
struct Worst {
  double diff = 0;
  size_t at = 0;
};
Worst worst_diff(const float* a, const float* b, size_t n) {
  Worst w;
  for (size_t i = 0; i < n; ++i)
    if (std::abs(double(a[i]) - b[i]) > w.diff) w = {std::abs(double(a[i]) - b[i]), i};
  return w;
}

// Upscaling (antialias=False) and downscaling at the presets' sizes (antialias=True, the widened
// triangle filter): tools/make_resize_golden.py.
const char* kCases[] = {"up32to224",          "up5x7to13x11",         "up3x4to16x9",
                        "same6x6",            "down333x250to224x224", "down150x200to37x49",
                        "down7x9to3x4",       "down40x48to32x32"};

TEST(Resize, MatchesPyTorchBilinearGolden) {
  TensorFile golden = read_safetensors(ALEXNET_SOURCE_DIR "/tests/golden/resize.safetensors");
  for (const char* name : kCases) {
    SCOPED_TRACE(name);
    Image input = image_from(golden.get(std::string(name) + ".input"));
    const Tensor& expected = golden.get(std::string(name) + ".output");  // [3, P, Q], 0..255
    const int P = int(expected.dim(1)), Q = int(expected.dim(2));
    const size_t n = size_t(3) * size_t(P) * size_t(Q);
    std::vector<float> want(n), got(n);
    for (size_t i = 0; i < n; ++i) want[i] = expected.data<float>()[i] / 255.f;

    // The float path (no normalisation: mean 0, std 1) is PyTorch's up to float rounding: measured
    // at most 2.3e-6 of the pixel range (up32to224, whose golden is PyTorch's float32), 1.8e-7 for
    // the float64 downscaling goldens.
    Normalization unit;
    resize_normalize(input, make_resize_axis(input.height, P), make_resize_axis(input.width, Q), unit, got.data());
    Worst w = worst_diff(got.data(), want.data(), n);
    EXPECT_LE(w.diff, 1e-5) << "worst element " << w.at << ": " << got[w.at] << " vs " << want[w.at];
    std::printf("%s: worst difference %.3g of the pixel range\n", name, w.diff);

    // The uint8 path rounds: within 1/255 (half a level plus float error, in fact).
    Image small = resize(input, P, Q);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < P; ++y)
        for (int x = 0; x < Q; ++x) {
          float ref = expected.data<float>()[(size_t(c) * size_t(P) + size_t(y)) * size_t(Q) + size_t(x)];
          ASSERT_LE(std::abs(px(small, y, x, c) - ref), 0.5f + 1e-3f) << "at " << c << "," << y << "," << x;
        }
  }
}

TEST(Resize, GoldenCatchesAWrongResize) {
  // The same comparison fails for a resize off by one output pixel of scale (32 -> 225, cut to 224):
  // the golden test has teeth.
  TensorFile golden = read_safetensors(ALEXNET_SOURCE_DIR "/tests/golden/resize.safetensors");
  Image input = image_from(golden.get("up32to224.input"));
  const Tensor& expected = golden.get("up32to224.output");
  std::vector<float> want(size_t(expected.numel())), got(want.size());
  for (size_t i = 0; i < want.size(); ++i) want[i] = expected.data<float>()[i] / 255.f;
  Normalization unit;
  ResizeAxis wrong = window_axis(make_resize_axis(32, 225), 0, 224, false);
  resize_normalize(input, wrong, wrong, unit, got.data());
  EXPECT_GT(worst_diff(got.data(), want.data(), want.size()).diff, 1.0 / 255);
}

TEST(Resize, SeedPresetIsResizeThenNormalize) {
  TensorFile golden = read_safetensors(ALEXNET_SOURCE_DIR "/tests/golden/resize.safetensors");
  Image input = image_from(golden.get("up32to224.input"));
  const Tensor& expected = golden.get("up32to224.output");
  Pipeline seed(TransformConfig{}, /*train=*/true);  // preset seed, 224, mean/std 0.5
  std::vector<float> got(size_t(expected.numel())), want(got.size());
  for (size_t i = 0; i < want.size(); ++i) want[i] = (expected.data<float>()[i] / 255.f - 0.5f) / 0.5f;
  SampleRng rng(1, 2, 3);
  seed.to_float(input, rng, got.data());
  Worst w = worst_diff(got.data(), want.data(), want.size());
  EXPECT_LE(w.diff, 2e-5) << "worst element " << w.at;
}

TEST(Resize, DownscaleAveragesAndTablesSumToOne) {
  for (auto [in, out] : {std::pair{32, 224}, {224, 32}, {500, 256}, {7, 3}, {5, 5}}) {
    ResizeAxis a = make_resize_axis(in, out);
    for (int o = 0; o < out; ++o) {
      double sum = 0;
      for (int k = 0; k < a.taps; ++k) sum += a.weight[size_t(o * a.taps + k)];
      ASSERT_NEAR(sum, 1.0, 1e-6) << in << "->" << out << " at " << o;
      ASSERT_GE(a.first[size_t(o)], 0);
      ASSERT_LE(a.first[size_t(o)] + a.taps, in);
    }
  }
  // Halving a 1-pixel checkerboard with the widened filter gives flat grey, not aliasing.
  Image board;
  board.height = board.width = 16;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) board.pixels.push_back((x + y) % 2 ? 255 : 0);
  Image half = resize(board, 8, 8);
  for (int y = 1; y < 7; ++y)
    for (int x = 1; x < 7; ++x) EXPECT_NEAR(px(half, y, x, 0), 127.5, 1.0);
}

TEST(Crop, ExactWithZeroPadding) {
  Image im = pattern(10, 12);
  Image c = crop(im, -2, 3, 6, 11);  // rows -2..3, columns 3..13 (13 is outside)
  ASSERT_EQ(c.height, 6);
  ASSERT_EQ(c.width, 11);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 11; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        int sy = y - 2, sx = x + 3;
        uint8_t want = (sy >= 0 && sx < 12) ? px(im, sy, sx, ch) : 0;
        ASSERT_EQ(px(c, y, x, ch), want) << y << "," << x << "," << ch;
      }
}

TEST(Crop, RandomCropIsATranslationWithinThePadding) {
  Image im = pattern(32, 32);
  std::set<std::pair<int, int>> shifts;
  for (uint64_t i = 0; i < 2000; ++i) {
    SampleRng rng(7, 0, i);
    Image c = random_crop(im, 32, 32, 4, rng);
    // Find the shift from a pixel that is inside the image for every shift: the centre.
    bool found = false;
    for (int dy = -4; dy <= 4 && !found; ++dy)
      for (int dx = -4; dx <= 4 && !found; ++dx) {
        SampleRng again(7, 0, i);
        int top = again.uniform_int(0, 8) - 4, left = again.uniform_int(0, 8) - 4;
        if (top != dy || left != dx) continue;
        found = true;
        Image want = crop(im, dy, dx, 32, 32);
        ASSERT_EQ(c.pixels, want.pixels);
        shifts.insert({dy, dx});
      }
    ASSERT_TRUE(found);
  }
  EXPECT_EQ(shifts.size(), 81u);  // every translation in [-4, 4]^2 occurs
}

TEST(Crop, CenterCropOffsetsFollowTorchvision) {
  EXPECT_EQ(center_crop_offset(32, 32, 24, 24), (std::array<int, 2>{4, 4}));
  EXPECT_EQ(center_crop_offset(5, 7, 2, 2), (std::array<int, 2>{2, 2}));  // round(1.5) = 2, round(2.5) = 2
  EXPECT_EQ(center_crop_offset(256, 341, 224, 224), (std::array<int, 2>{16, 58}));
  Image im = pattern(9, 9);
  Image c = center_crop(im, 3, 3);
  EXPECT_EQ(px(c, 0, 0, 1), px(im, 3, 3, 1));
}

TEST(Flip, MirrorsColumnsAndIsAnInvolution) {
  Image im = pattern(5, 7), f = im;
  flip_horizontal(f);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(px(f, y, x, c), px(im, y, 6 - x, c));
  flip_horizontal(f);
  EXPECT_EQ(f.pixels, im.pixels);
}

TEST(TenCrop, CornersCentreAndMirrors) {
  Image im = pattern(10, 12);
  auto boxes = five_crop_boxes(10, 12, 6);
  EXPECT_EQ(boxes[0].top, 0);
  EXPECT_EQ(boxes[0].left, 0);
  EXPECT_EQ(boxes[1].left, 6);
  EXPECT_EQ(boxes[2].top, 4);
  EXPECT_EQ(boxes[3].top, 4);
  EXPECT_EQ(boxes[3].left, 6);
  EXPECT_EQ(boxes[4].top, 2);
  EXPECT_EQ(boxes[4].left, 3);
  std::vector<Image> crops = ten_crop(im, 6);
  ASSERT_EQ(crops.size(), 10u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(crops[size_t(i)].pixels, crop(im, boxes[size_t(i)].top, boxes[size_t(i)].left, 6, 6).pixels) << i;
    Image m = crops[size_t(i)];
    flip_horizontal(m);
    EXPECT_EQ(crops[size_t(i) + 5].pixels, m.pixels) << i;
  }
  EXPECT_THROW(five_crop_boxes(5, 12, 6), Error);
}

TEST(TenCrop, FloatTenCropMatchesTheUint8Crops) {
  // paper eval at S = 224 resizes the shorter side to 256: a 256 x 256 image is kept as it is, so the
  // float crops must equal the normalised uint8 crops exactly.
  Image im = pattern(256, 256);
  TransformConfig cfg;
  cfg.preset = "paper";
  Pipeline p(cfg, /*train=*/false);
  const size_t plane = 3 * 224 * 224;
  std::vector<float> got(10 * plane), want(plane);
  p.to_float_ten_crop(im, got.data());
  std::vector<Image> crops = ten_crop(im, 224);
  Normalization norm{cfg.mean, cfg.std, {0, 0, 0}};
  for (size_t i = 0; i < 10; ++i) {
    to_float_chw(crops[i], norm, want.data());
    Worst w = worst_diff(got.data() + i * plane, want.data(), plane);
    EXPECT_LE(w.diff, 1e-6) << "crop " << i << " element " << w.at;
  }
}

TEST(Normalize, ExactAffineMap) {
  Image im = pattern(3, 4);
  Normalization norm{kImageNetMean, kImageNetStd, {0, 0, 0}};
  std::vector<float> out(3 * 12);
  to_float_chw(im, norm, out.data());
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 12; ++i) {
      float want = (px(im, i / 4, i % 4, c) / 255.f - kImageNetMean[size_t(c)]) / kImageNetStd[size_t(c)];
      ASSERT_NEAR(out[size_t(c * 12 + i)], want, 1e-6);
    }
}

TEST(RandomResizedCrop, BoxesRespectScaleRatioAndBounds) {
  int fallbacks = 0;
  for (uint64_t i = 0; i < 3000; ++i) {
    SampleRng rng(3, 1, i);
    CropBox b = random_resized_crop_box(375, 500, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, 375);
    ASSERT_LE(b.left + b.width, 500);
    double frac = double(b.height) * b.width / (375.0 * 500.0);
    double ratio = double(b.width) / b.height;
    ASSERT_GE(frac, 0.075);
    ASSERT_LE(frac, 1.0);
    if (b.height == 375 && b.width == 500) ++fallbacks;
    else {
      ASSERT_GE(ratio, 0.74);
      ASSERT_LE(ratio, 1.35);
    }
  }
  EXPECT_LT(fallbacks, 30);
  // An extreme strip can never fit the ratio: the centre fallback, clamped to 4/3.
  SampleRng rng(0, 0, 0);
  CropBox b = random_resized_crop_box(3, 300, rng, {0.9, 1.0});
  EXPECT_EQ(b.height, 3);
  EXPECT_EQ(b.width, 4);
  EXPECT_EQ(b.left, 148);
}

// A dataset whose pixels vary along one colour direction d = (1, 2, 2)/3 around grey.
class LineDataset : public Dataset {
 public:
  size_t size() const override { return 50; }
  int64_t label(size_t) const override { return 0; }
  const std::vector<std::string>& classes() const override { return classes_; }
  Image image(size_t index) const override {
    Image im;
    im.height = im.width = 8;
    for (int i = 0; i < 64; ++i) {
      double t = std::sin(double(index * 64 + size_t(i)) * 0.37) * 60.0;
      im.pixels.push_back(uint8_t(std::lround(128 + t / 3)));
      im.pixels.push_back(uint8_t(std::lround(128 + 2 * t / 3)));
      im.pixels.push_back(uint8_t(std::lround(128 + 2 * t / 3)));
    }
    return im;
  }
  std::string describe() const override { return "line"; }

 private:
  std::vector<std::string> classes_{"a"};
};

TEST(PcaLighting, FindsTheDominantColourDirection) {
  LineDataset data;
  PcaLighting pca = compute_pca_lighting(data, 50);
  EXPECT_NEAR(pca.eigenvectors[0][0], 1.0 / 3, 0.01);
  EXPECT_NEAR(pca.eigenvectors[0][1], 2.0 / 3, 0.01);
  EXPECT_NEAR(pca.eigenvectors[0][2], 2.0 / 3, 0.01);
  // Var(t/255) with t = 60 sin(.) is about 1800/255^2.
  EXPECT_NEAR(pca.eigenvalues[0], 1800.0 / (255 * 255), 0.004);
  EXPECT_LT(pca.eigenvalues[1], pca.eigenvalues[0] * 0.01);
  EXPECT_GE(pca.eigenvalues[1], pca.eigenvalues[2]);
  // The drawn shift is sum_i a_i l_i v_i with a_i ~ N(0, sigma), drawn in order.
  SampleRng rng(5, 6, 7), again(5, 6, 7);
  std::array<float, 3> shift = pca.draw(rng);
  std::array<double, 3> want{0, 0, 0};
  for (size_t i = 0; i < 3; ++i) {
    double a = again.normal() * pca.sigma;
    for (size_t c = 0; c < 3; ++c) want[c] += a * pca.eigenvalues[i] * pca.eigenvectors[i][c];
  }
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(shift[c], want[c], 1e-7);
}

TEST(ColorJitter, IdentityAtZeroAndGreyKeepsSaturation) {
  Image im = pattern(6, 6), j = im;
  SampleRng rng(1, 1, 1);
  color_jitter(j, ColorJitter{}, rng);
  EXPECT_EQ(j.pixels, im.pixels);
  Image grey;
  grey.height = grey.width = 4;
  grey.pixels.assign(48, 90);
  Image g = grey;
  color_jitter(g, ColorJitter{0.f, 0.f, 0.9f}, rng);  // saturation only: grey stays grey
  EXPECT_EQ(g.pixels, grey.pixels);
  // Brightness only scales every value by one factor in [0.5, 1.5].
  Image b = im;
  color_jitter(b, ColorJitter{0.5f, 0.f, 0.f}, rng);
  for (size_t i = 0; i < b.pixels.size(); ++i)
    if (im.pixels[i] > 100) {
      double f = double(b.pixels[i]) / im.pixels[i];
      ASSERT_GE(f, 0.49);
      ASSERT_LE(f, 1.51);
    }
}

TEST(Presets, ParseAndReportErrors) {
  EXPECT_EQ(parse_preset("seed"), Preset::Seed);
  EXPECT_EQ(parse_preset("paper"), Preset::Paper);
  try {
    parse_preset("fancy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown transform preset 'fancy'"), std::string::npos) << e.what();
  }
  TransformConfig cfg;
  cfg.preset = "none";
  cfg.input_size = 32;
  Pipeline none(cfg, true);
  std::vector<float> out(3 * 32 * 32);
  SampleRng rng(0, 0, 0);
  EXPECT_THROW(none.to_float(pattern(31, 32), rng, out.data()), Error);
  cfg.preset = "paper";
  Pipeline paper(cfg, true);  // no PCA statistics given
  EXPECT_THROW(paper.to_float(pattern(32, 32), rng, out.data()), Error);
  EXPECT_NE(paper.describe().find("PCA"), std::string::npos);
}

TEST(Presets, PaperCropIsAWindowOfTheFullResize) {
  // The fused window (resize to 256, crop 224, flip) equals resizing the whole image and cutting.
  TransformConfig cfg;
  cfg.preset = "paper";
  cfg.pca = PcaLighting{};  // zero eigenvalues: no colour shift
  Pipeline paper(cfg, true);
  Image im = pattern(32, 40);
  auto [rh, rw] = shorter_side_size(32, 40, 256);
  ASSERT_EQ(rh, 256);
  ASSERT_EQ(rw, 320);
  std::vector<float> full(size_t(3) * size_t(rh) * size_t(rw)), got(3 * 224 * 224);
  Normalization norm{cfg.mean, cfg.std, {0, 0, 0}};
  resize_normalize(im, make_resize_axis(32, rh), make_resize_axis(40, rw), norm, full.data());
  int flips = 0;
  for (uint64_t i = 0; i < 6; ++i) {
    SampleRng rng(9, 0, i), mirror(9, 0, i);
    paper.to_float(im, rng, got.data());
    int top = mirror.uniform_int(0, rh - 224), left = mirror.uniform_int(0, rw - 224);
    bool flip = mirror.coin();
    flips += flip;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 224; ++y)
        for (int x = 0; x < 224; ++x) {
          int sx = left + (flip ? 223 - x : x);
          float want = full[(size_t(c) * size_t(rh) + size_t(top + y)) * size_t(rw) + size_t(sx)];
          ASSERT_NEAR(got[(size_t(c) * 224 + size_t(y)) * 224 + size_t(x)], want, 1e-5) << i << ":" << c << "," << y << "," << x;
        }
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 6);
}

TEST(Presets, StandardSmallIsPadCropFlipThenResize) {
  TransformConfig cfg;
  cfg.preset = "standard";
  cfg.input_size = 64;
  Pipeline standard(cfg, true);
  Image im = pattern(32, 32);
  std::vector<float> got(3 * 64 * 64), want(got.size());
  Normalization norm{cfg.mean, cfg.std, {0, 0, 0}};
  for (uint64_t i = 0; i < 4; ++i) {
    SampleRng rng(4, 2, i), mirror(4, 2, i);
    standard.to_float(im, rng, got.data());
    Image staged = random_crop(im, 32, 32, 4, mirror);
    if (mirror.coin()) flip_horizontal(staged);
    resize_normalize(staged, make_resize_axis(32, 64), make_resize_axis(32, 64), norm, want.data());
    EXPECT_EQ(got, want) << i;
  }
  // Evaluation is deterministic: the plain resize.
  Pipeline eval(cfg, false);
  SampleRng a(1, 1, 1), b(2, 2, 2);
  std::vector<float> e1(got.size()), e2(got.size());
  eval.to_float(im, a, e1.data());
  eval.to_float(im, b, e2.data());
  EXPECT_EQ(e1, e2);
  resize_normalize(im, make_resize_axis(32, 64), make_resize_axis(32, 64), norm, want.data());
  EXPECT_EQ(e1, want);
}

TEST(Presets, Uint8PathCropsAndFlipsAtSourceSize) {
  TransformConfig cfg;
  cfg.preset = "standard";
  Pipeline standard(cfg, true);
  Image im = pattern(32, 32);
  std::vector<uint8_t> out(32 * 32 * 3);
  for (uint64_t i = 0; i < 4; ++i) {
    SampleRng rng(4, 2, i), mirror(4, 2, i);
    standard.to_u8(im, rng, 32, out.data());
    Image staged = random_crop(im, 32, 32, 4, mirror);
    if (mirror.coin()) flip_horizontal(staged);
    EXPECT_EQ(out, staged.pixels) << i;
  }
  Pipeline eval(cfg, false);
  SampleRng rng(0, 0, 0);
  eval.to_u8(im, rng, 32, out.data());
  EXPECT_EQ(out, im.pixels);
}

TEST(SampleRng, DependsOnlyOnItsKey) {
  SampleRng a(1, 2, 3), b(1, 2, 3), c(1, 2, 4), d(1, 3, 3);
  uint64_t x = a.next_u64();
  EXPECT_EQ(x, b.next_u64());
  EXPECT_NE(x, c.next_u64());
  EXPECT_NE(x, d.next_u64());
  SampleRng e(11, 0, 0);
  double sum = 0, sq = 0;
  for (int i = 0; i < 20000; ++i) {
    double n = e.normal();
    sum += n;
    sq += n * n;
  }
  EXPECT_NEAR(sum / 20000, 0.0, 0.03);
  EXPECT_NEAR(sq / 20000, 1.0, 0.05);
}

}  // namespace
}  // namespace alexnet
