// The per-pixel transform math a GPU kernel runs (image/sample_plan.h, sample_pixel) against the CPU
// pipeline (Pipeline::execute, the separable resize tables behind Pipeline::to_float), for every
// preset in training and evaluation, square and oblong images, enlarged and shrunk. Both carry out the
// same SamplePlan, so the geometry and the random draws are shared by construction; what is proven
// here is the arithmetic. The issue's bound is 1/255 of the pixel range; the measured error is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/net.h"
#include "data/transforms.h"
#include "image/sample_plan.h"
#include "model/net_spec.h"
#include "plan_test_util.h"

namespace alexnet {
namespace {

using test::noise_image;
using test::some_pca;

// sample_pixel over the whole output, as [3, S, S].
std::vector<float> per_pixel(const Image& image, const SamplePlan& plan) {
  const int P = plan.rows.out_size, Q = plan.cols.out_size;
  std::vector<float> out(size_t(3) * size_t(P) * size_t(Q));
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < Q; ++q) {
      float v[3];
      sample_pixel(image.pixels.data(), plan, p, q, v);
      for (int c = 0; c < 3; ++c) out[(size_t(c) * size_t(P) + size_t(p)) * size_t(Q) + size_t(q)] = v[c];
    }
  return out;
}

// The largest difference between the two, in units of the [0, 1] pixel range (a normalised
// difference divided by the channel's 255 * scale).
double worst_in_pixel_range(const std::vector<float>& a, const std::vector<float>& b, const SamplePlan& plan) {
  const size_t plane = a.size() / 3;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - b[i]) / (255.0 * plan.scale[i / plane]));
  return worst;
}

struct Shape {
  int h, w;
};

TEST(SamplePlan, PerPixelMathEqualsTheCpuPipelineForEveryPreset) {
  double worst = 0;
  int plans = 0;
  for (const char* preset : {"none", "seed", "standard", "paper"})
    for (bool train : {false, true})
      for (bool small : {true, false})
        for (int S : {24, 32, 64, 224})
          for (Shape shape : {Shape{32, 32}, Shape{24, 24}, Shape{40, 53}, Shape{90, 61}, Shape{64, 64}}) {
            if (S == 224 && shape.h != 32 && shape.h != 90) continue;  // the full size: CIFAR's, and one oblong
            TransformConfig config;
            config.preset = preset;
            config.input_size = S;
            config.small_images = small;
            config.pca = some_pca();
            const Pipeline pipeline(config, train);
            for (uint64_t index = 0; index < 3; ++index) {
              SCOPED_TRACE(testing::Message() << preset << (train ? " train" : " eval") << (small ? " small" : " large")
                                              << " S " << S << " image " << shape.h << "x" << shape.w << " #" << index);
              const Image image = noise_image(shape.h, shape.w, index * 977 + uint64_t(S));
              SampleRng rng(7, 1, index);
              SamplePlan plan;
              try {
                plan = pipeline.plan(image.height, image.width, rng);
              } catch (const Error&) {
                ASSERT_EQ(std::string(preset), "none");  // an image of another size: to_float refuses it too
                continue;
              }
              ASSERT_FALSE(plan.jitter);
              std::vector<float> cpu(size_t(3) * size_t(S) * size_t(S));
              Pipeline::execute(image, plan, cpu.data());
              const double w = worst_in_pixel_range(cpu, per_pixel(image, plan), plan);
              ASSERT_LE(w, 1.0 / 255) << "beyond the issue's bound";
              ASSERT_LE(w, 2e-6) << "beyond rounding";
              worst = std::max(worst, w);
              ++plans;
            }
          }
  std::printf("sample_pixel against Pipeline::execute: %d plans, largest difference %.3g of the pixel range\n",
              plans, worst);
  EXPECT_GT(plans, 200);
}

// The comparison sees a plan carried out wrongly: a window one pixel off, a mirror left out, a
// translation dropped, the PCA shift dropped.
TEST(SamplePlan, TheComparisonCatchesAWrongPlan) {
  TransformConfig config;
  config.preset = "standard";
  config.input_size = 48;
  config.pad = 4;
  const Pipeline pipeline(config, true);
  const Image image = noise_image(32, 32, 5);
  // Draw until a sample is both translated and flipped.
  SamplePlan plan;
  for (uint64_t index = 0;; ++index) {
    SampleRng rng(3, 0, index);
    plan = pipeline.plan(32, 32, rng);
    if (plan.cols.flip_in && plan.rows.crop_start != 0 && plan.cols.crop_start != 0) break;
  }
  std::vector<float> cpu(size_t(3) * 48 * 48);
  Pipeline::execute(image, plan, cpu.data());
  EXPECT_LE(worst_in_pixel_range(cpu, per_pixel(image, plan), plan), 2e-6);

  SamplePlan shifted = plan;
  shifted.cols.crop_start += 1;
  EXPECT_GT(worst_in_pixel_range(cpu, per_pixel(image, shifted), plan), 0.1);
  SamplePlan unflipped = plan;
  unflipped.cols.flip_in = false;
  EXPECT_GT(worst_in_pixel_range(cpu, per_pixel(image, unflipped), plan), 0.1);
  SamplePlan untranslated = plan;  // the rows' translation dropped
  untranslated.rows.crop_start = 0;
  EXPECT_GT(worst_in_pixel_range(cpu, per_pixel(image, untranslated), plan), 0.1);

  TransformConfig paper;
  paper.preset = "paper";
  paper.input_size = 24;
  paper.pca = some_pca();
  const Pipeline with_pca(paper, true);
  SampleRng rng(1, 0, 0);
  SamplePlan p = with_pca.plan(40, 40, rng);
  const Image big = noise_image(40, 40, 6);
  std::vector<float> out(size_t(3) * 24 * 24);
  Pipeline::execute(big, p, out.data());
  EXPECT_LE(worst_in_pixel_range(out, per_pixel(big, p), p), 2e-6);
  Normalization plain{config.mean, config.std, {0.f, 0.f, 0.f}};
  normalization_affine(plain, p.scale, p.shift);
  EXPECT_GT(worst_in_pixel_range(out, per_pixel(big, p), p), 1e-3);
}

// The paper preset in training, worked out from the pixels alone: on an image whose shorter side is
// already the resize side (37 for S = 32), to_float must give an S x S window of the image at some
// offset, mirrored or not, normalised with a per-channel colour shift (the PCA draw):
// out * std + mean - byte / 255 is one constant per channel. The window, mirror and shift found must
// be the plan's (drawn from a copy of the generator), and over 8 samples both mirrors and several
// windows occur.
TEST(SamplePlan, PaperTrainingIsARandomWindowMirrorAndColourShift) {
  TransformConfig config;
  config.preset = "paper";
  config.input_size = 32;
  config.pca = some_pca();
  const Pipeline pipeline(config, true);
  const int S = 32, H = 37, W = 45;
  const Image image = noise_image(H, W, 9);
  auto byte = [&](int c, int y, int x) { return image.pixels[(size_t(y) * size_t(W) + size_t(x)) * 3 + size_t(c)]; };
  std::vector<std::array<int, 3>> found;  // (top, left, mirrored)
  for (uint64_t index = 0; index < 8; ++index) {
    SampleRng a(2, 3, index), b(2, 3, index);
    std::vector<float> x(size_t(3) * S * S);
    pipeline.to_float(image, a, x.data());
    const SamplePlan plan = pipeline.plan(H, W, b);
    int matches = 0;
    for (int top = 0; top + S <= H; ++top)
      for (int left = 0; left + S <= W; ++left)
        for (int mirrored = 0; mirrored < 2; ++mirrored) {
          bool constant = true;
          float shift[3];
          for (int c = 0; c < 3 && constant; ++c)
            for (int y = 0; y < S && constant; ++y)
              for (int q = 0; q < S && constant; ++q) {
                const int col = left + (mirrored ? S - 1 - q : q);
                const float out = x[(size_t(c) * S + size_t(y)) * S + size_t(q)];
                const float d = out * config.std[size_t(c)] + config.mean[size_t(c)] - byte(c, top + y, col) / 255.f;
                if (y == 0 && q == 0) shift[c] = d;
                constant = std::abs(d - shift[c]) < 1e-4f;
              }
          if (!constant) continue;
          ++matches;
          found.push_back({top, left, mirrored});
          EXPECT_EQ(plan.rows.window, top) << index;
          EXPECT_EQ(plan.cols.window, left) << index;
          EXPECT_EQ(plan.cols.flip_out, mirrored == 1) << index;
          for (int c = 0; c < 3; ++c)  // the plan's affine map: byte * scale + shift
            EXPECT_NEAR(shift[c], (plan.shift[c] * config.std[size_t(c)] + config.mean[size_t(c)]), 1e-4f) << index;
        }
    EXPECT_EQ(matches, 1) << "sample " << index << ": not one window, mirror and colour shift";
  }
  int mirrored = 0;
  for (const auto& f : found) mirrored += f[2];
  EXPECT_GT(mirrored, 0);
  EXPECT_LT(mirrored, int(found.size()));
  std::sort(found.begin(), found.end());
  EXPECT_GE(std::unique(found.begin(), found.end()) - found.begin(), 4);
}

// Colour jitter is drawn in training only, and left to the CPU (sample_pixel does not do it).
TEST(SamplePlan, JitterIsPlannedInTrainingOnly) {
  TransformConfig config;
  config.preset = "paper";
  config.input_size = 32;
  config.pca = some_pca();
  config.jitter.brightness = 0.4f;
  config.jitter.contrast = 0.4f;
  SampleRng a(2, 3, 0), b(2, 3, 0);
  EXPECT_TRUE(Pipeline(config, true).plan(45, 38, a).jitter);
  EXPECT_FALSE(Pipeline(config, false).plan(45, 38, b).jitter);
}

// Plans that do not fit a batch, or need the CPU (colour jitter), are refused before anything is
// uploaded (check_sample_plans, which Net::forward_planned calls on every backend).
TEST(SamplePlan, PlansThatDoNotFitAreRefused) {
  TransformConfig config;
  config.preset = "standard";
  config.input_size = 32;
  SampleRng rng(1, 0, 0);
  SamplePlan plan = Pipeline(config, true).plan(32, 32, rng);
  EXPECT_NO_THROW(check_sample_plans(&plan, 1, 32, 32, 32, true));
  EXPECT_THROW(check_sample_plans(&plan, 1, 32, 40, 32, true), Error);  // another image size
  EXPECT_THROW(check_sample_plans(&plan, 1, 32, 32, 24, true), Error);  // another output size
  SamplePlan jitter = plan;
  jitter.jitter = true;
  try {
    check_sample_plans(&jitter, 1, 32, 32, 32, true);
    FAIL() << "a plan with colour jitter was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("jitter"), std::string::npos) << e.what();
  }
  SamplePlan outside = plan;
  outside.cols.window = outside.cols.resized - outside.cols.out_size + 1;
  EXPECT_THROW(check_sample_plans(&outside, 1, 32, 32, 32, true), Error);
}

// Net::forward_planned (the host backends carry the plans out with sample_pixel) gives the logits
// forward() gives on the CPU pipeline's batch: a translated, flipped CIFAR-sized batch for a small
// seed-shaped network at 40 x 40.
TEST(SamplePlan, ForwardPlannedIsForwardOnThePipelinesBatch) {
  TransformConfig config;
  config.preset = "standard";
  config.input_size = 40;
  const Pipeline pipeline(config, true);
  const test::PlannedBatch batch = test::planned_batch(pipeline, 4, 32, 32, 40, 9);
  for (BackendKind kind : {BackendKind::Reference, BackendKind::OneDNN}) {
    SCOPED_TRACE(backend_name(kind));
    const test::BothLogits l = test::logits_both_ways(kind, "cifar", Precision::F32, batch, 32, 32, 40);
    ASSERT_EQ(l.planned.size(), l.forward.size()) << "plans for another source size were not refused";
    double worst = 0, largest = 0;
    for (size_t i = 0; i < l.forward.size(); ++i) {
      worst = std::max(worst, std::abs(double(l.forward[i]) - l.planned[i]));
      largest = std::max(largest, std::abs(double(l.forward[i])));
    }
    EXPECT_LE(worst, 1e-5 * std::max(1.0, largest));
    EXPECT_GT(largest, 1e-3);  // the logits are not all zero
  }
}

TEST(SamplePlan, TapsAreTheResizeTables) {
  for (auto [in, out] : {std::pair{32, 224}, std::pair{224, 32}, std::pair{7, 7}, std::pair{300, 224}, std::pair{5, 13}}) {
    const ResizeAxis axis = make_resize_axis(in, out);
    for (int o = 0; o < out; ++o) {
      const ResizeTaps t = resize_taps(o, in, out);
      for (int x = 0; x < in; ++x) {
        const int k = x - axis.first[size_t(o)];
        const float table = k >= 0 && k < axis.taps ? axis.weight[size_t(o) * size_t(axis.taps) + size_t(k)] : 0.f;
        const float taps = x >= t.first && x < t.first + t.count ? t.weight(x) : 0.f;
        ASSERT_NEAR(taps, table, 1e-6) << in << " -> " << out << ", output " << o << ", input " << x;
      }
    }
  }
}

}  // namespace
}  // namespace alexnet
