// `alexnet export` against ONNX Runtime: for every variant (reduced width) the exported model gives
// `alexnet predict`'s logits within 1e-5 relative, at batch sizes 1 and 7, on random inputs (plain
// --weights export) and on real CIFAR images (--checkpoint export with the preprocessing folded in);
// torchvision's adaptive pool in all three forms; the full-size seed model once; fp16; metadata; and
// one `error:` line, exit 1 and no file left behind for every kind of bad input.
//
// ONNX Runtime is the `onnxruntime` Python package (scripts/setup.sh installs it into
// /opt/alexnet-venv, or $ALEXNET_VENV): $ALEXNET_PYTHON, else $ALEXNET_VENV/bin/python3, else
// /opt/alexnet-venv/bin/python3, else python3. The
// comparisons skip, saying why, when none of them imports onnxruntime, or when this alexnet was built
// without ONNX.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "data/image_codec.h"
#include "data/readers.h"
#include "exif_util.h"
#include "model/net_spec.h"
#include "model/weights.h"
#include "tensor/safetensors.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::run_alexnet;
using testing::run_command;
using testing::RunResult;
using testing::TempDir;

constexpr double kWidth = 0.5;  // width 0.25 gives 12-channel convolutions, slow in oneDNN
constexpr int kClasses = 10;
const std::array<float, 3> kMean{0.4914f, 0.4822f, 0.4465f}, kStd{0.2470f, 0.2435f, 0.2616f};

std::string shell_quote(const std::string& s) { return "'" + s + "'"; }

// The Python that imports onnxruntime, or "" (with the reason in `why`).
const std::string& onnx_python(std::string* why = nullptr) {
  static std::string reason;
  static const std::string python = testing::python_with("numpy, onnxruntime", &reason);
  if (why) *why = reason;
  return python;
}

bool export_built() {
  static const bool built =
      run_alexnet("export --weights /nonexistent -o /nonexistent.onnx").output.find("without ONNX") == std::string::npos;
  return built;
}

#define SKIP_UNLESS_ONNX_RUNTIME()                                                \
  do {                                                                            \
    if (!export_built()) GTEST_SKIP() << "this alexnet was built without ONNX";   \
    std::string why;                                                              \
    if (onnx_python(&why).empty()) GTEST_SKIP() << why;                           \
  } while (0)

NetOptions options(int input_size = 0, int classes = kClasses, double width = kWidth) {
  NetOptions o;
  o.num_classes = classes;
  o.width = width;
  o.input_size = input_size;
  return o;
}

std::string model_flags(const std::string& variant, const NetOptions& o) {
  return cat("--model ", variant, " --num-classes ", o.num_classes, " --width ", o.width, " --input-size ",
             o.input_size);
}

// A checkpoint as `alexnet train` writes it (metadata: model, classes, normalisation, config).
ModelInfo write_checkpoint(const std::string& path, const std::string& variant, const NetOptions& o, uint64_t seed) {
  ModelInfo info;
  info.variant = variant;
  info.options = o;
  for (int k = 0; k < o.num_classes; ++k) info.classes.push_back("class-" + std::to_string(k));
  info.mean = kMean;
  info.std = kStd;
  info.eval_preset = "standard";
  const NetSpec spec = info.spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, seed);
  save_weights_file(path, table, params, info, R"({"model":")" + variant + R"(","lr":0.01,"epochs":3})", 42);
  return info;
}

void write_tensor(const std::string& path, const Tensor& x) {
  TensorFile f;
  f.tensors.emplace("input", x);
  write_safetensors(path, f);
}

Tensor random_images(int n, int size, float scale, uint64_t seed) {
  Tensor x(DType::F32, {n, 3, size, size});
  Rng rng(seed);
  for (float& v : x.span<float>()) v = float(scale * rng.normal());
  return x;
}

// `alexnet predict` (fp32, CPU) at batch sizes 1 and 7 on the same input: out1, out7.
void predict(const std::string& flags, const std::string& input, const std::string& out1, const std::string& out7) {
  for (const auto& [b, out] : {std::pair{1, out1}, std::pair{7, out7}}) {
    const RunResult r = run_alexnet("predict " + flags + " --device cpu --precision fp32 --input-tensor " + input +
                                    " --output " + out + " -b " + std::to_string(b));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
}

// ONNX Runtime on `model` against our logits at batch 1 and 7; returns the script's last JSON line.
nlohmann::json check_with_onnx_runtime(const std::string& model, const std::string& input, const std::string& out1,
                                       const std::string& out7, double rtol = 1e-5) {
  const RunResult r = run_command(shell_quote(onnx_python()) + " " + ALEXNET_SOURCE_DIR "/tools/check_onnx.py " +
                                  model + " --input " + input + " --expect " + out1 + " --batch 1 --expect " + out7 +
                                  " --batch 7 --rtol " + cat(rtol));
  std::cout << r.output.substr(0, r.output.rfind("\n{"));  // the lines before the JSON
  std::cout << "\n";
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t nl = out.rfind('\n');
  try {
    return nlohmann::json::parse(nl == std::string::npos ? out : out.substr(nl + 1));
  } catch (const std::exception&) {
    return {};
  }
}

// Random inputs, plain --weights export: every variant, batch 1 and 7.
class OnnxRandom : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxRandom, OnnxRuntimeGivesOurLogits) {
  SKIP_UNLESS_ONNX_RUNTIME();
  TempDir dir;
  const std::string variant = GetParam();
  const NetOptions o = options();
  const NetSpec spec = make_net_spec(variant, o);
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, 7);
  save_weights(dir / "w.safetensors", table, params);
  // paper's LRN only matters at raw-pixel scale (alpha 1e-4): feed it inputs of that size.
  write_tensor(dir / "x.safetensors", random_images(7, spec.input_size, variant == "paper" ? 60.f : 1.f, 3));
  predict(model_flags(variant, o) + " --weights " + (dir / "w.safetensors"), dir / "x.safetensors",
          dir / "y1.safetensors", dir / "y7.safetensors");
  const RunResult e = run_alexnet("export --weights " + (dir / "w.safetensors") + " " + model_flags(variant, o) +
                                  " --out " + (dir / "m.onnx"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NE(e.output.find("opset 17"), std::string::npos) << e.output;
  const nlohmann::json res = check_with_onnx_runtime(dir / "m.onnx", dir / "x.safetensors", dir / "y1.safetensors",
                                                     dir / "y7.safetensors");
  ASSERT_TRUE(res.contains("results")) << res.dump();
  EXPECT_EQ(res["results"].size(), 2u);
  EXPECT_TRUE(res["ok"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(AllVariants, OnnxRandom, ::testing::Values("seed", "paper", "torchvision", "cifar"));

// torchvision's AdaptiveAvgPool2d(6, 6) on 3x3 (cells repeated: MatMul), 7x7 (uneven windows:
// MatMul) and 12x12 maps (AveragePool 2x2); 224 (6x6, nothing to do) is covered above.
class OnnxAdaptivePool : public ::testing::TestWithParam<int> {};

TEST_P(OnnxAdaptivePool, OnnxRuntimeGivesOurLogits) {
  SKIP_UNLESS_ONNX_RUNTIME();
  TempDir dir;
  const NetOptions o = options(GetParam(), kClasses, 0.5);
  write_checkpoint(dir / "c.safetensors", "torchvision", o, 5);
  write_tensor(dir / "x.safetensors", random_images(7, GetParam(), 1.f, 4));
  predict(model_flags("torchvision", o) + " --weights " + (dir / "c.safetensors"), dir / "x.safetensors",
          dir / "y1.safetensors", dir / "y7.safetensors");
  const RunResult e = run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --out " + (dir / "m.onnx"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const nlohmann::json res = check_with_onnx_runtime(dir / "m.onnx", dir / "x.safetensors", dir / "y1.safetensors",
                                                     dir / "y7.safetensors");
  EXPECT_TRUE(res.value("ok", false)) << res.dump();
}

INSTANTIATE_TEST_SUITE_P(Torchvision, OnnxAdaptivePool, ::testing::Values(128, 256, 416));

// Seven real CIFAR-10 pictures (one per class), uint8 RGB 32x32, or an empty vector.
std::vector<Image> cifar_images() {
  const fs::path archive = fs::path(ALEXNET_SOURCE_DIR) / "../shared/data/cifar10-jpeg-train.tar.gz";
  if (!fs::exists(archive)) return {};
  std::vector<Image> out;
  for (const ArchiveMember& m : read_archive(archive.string(), [](const std::string& name) {
         return name.ends_with("/0000.jpg") || name.ends_with("/0001.jpg");
       })) {
    if (m.data.empty()) continue;
    out.push_back(decode_image(m.data.data(), m.data.size(), m.name));
    if (out.size() == 7) break;
  }
  return out;
}

// The pictures as the model's input, 0..255 floats, NCHW; brought to S x S by nearest neighbour.
Tensor raw_tensor(const std::vector<Image>& images, int S) {
  Tensor x(DType::F32, {int64_t(images.size()), 3, S, S});
  float* p = x.data<float>();
  for (const Image& im : images)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < S; ++y)
        for (int xx = 0; xx < S; ++xx) {
          const int sy = y * im.height / S, sx = xx * im.width / S;
          *p++ = float(im.pixels[(size_t(sy) * im.width + sx) * 3 + c]);
        }
  return x;
}

// (x / 255 - mean) / std, in the order the exported graph computes it.
Tensor normalised(const Tensor& raw) {
  Tensor x = raw;
  const int64_t plane = raw.dim(2) * raw.dim(3);
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const size_t c = size_t((i / plane) % 3);
    p[i] = (p[i] / 255.f - kMean[c]) / kStd[c];
  }
  return x;
}

// Real pictures, --checkpoint export with --with-preprocessing (0..255 in), every variant.
class OnnxCifarImages : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxCifarImages, OnnxRuntimeWithPreprocessingGivesOurLogits) {
  SKIP_UNLESS_ONNX_RUNTIME();
  const std::vector<Image> images = cifar_images();
  if (images.size() < 7) GTEST_SKIP() << "../shared/data/cifar10-jpeg-train.tar.gz (from the repository root) is absent";
  TempDir dir;
  const std::string variant = GetParam();
  const NetOptions o = options();
  const ModelInfo info = write_checkpoint(dir / "c.safetensors", variant, o, 9);
  const int S = info.spec().input_size;
  const Tensor raw = raw_tensor(images, S);
  write_tensor(dir / "raw.safetensors", raw);
  write_tensor(dir / "norm.safetensors", normalised(raw));
  predict(model_flags(variant, o) + " --weights " + (dir / "c.safetensors"), dir / "norm.safetensors",
          dir / "y1.safetensors", dir / "y7.safetensors");
  const RunResult e = run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --with-preprocessing --out " +
                                  (dir / "m.onnx"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const nlohmann::json res = check_with_onnx_runtime(dir / "m.onnx", dir / "raw.safetensors", dir / "y1.safetensors",
                                                     dir / "y7.safetensors");
  EXPECT_TRUE(res.value("ok", false)) << res.dump();
  // The checkpoint's description travels in the model's metadata.
  ASSERT_TRUE(res.contains("metadata")) << res.dump();
  const nlohmann::json& meta = res["metadata"];
  EXPECT_EQ(nlohmann::json::parse(meta.value("classes", "[]")).size(), size_t(kClasses));
  EXPECT_EQ(meta.value("input_size", ""), std::to_string(S));
  EXPECT_EQ(meta.value("model", ""), variant);
  EXPECT_EQ(meta.value("preprocessing_included", ""), "true");
  EXPECT_NE(meta.value("config", "").find("\"lr\""), std::string::npos);
  const auto mean = nlohmann::json::parse(meta.value("mean", "[]")).get<std::vector<float>>();
  ASSERT_EQ(mean.size(), 3u);
  EXPECT_FLOAT_EQ(mean[0], kMean[0]);
  EXPECT_FALSE(meta.value("std", "").empty());
  // How to prepare a picture, as data: `standard` on small images keeps the input size; the model
  // normalises itself, so the caller only resizes and crops.
  EXPECT_EQ(meta.value("preprocess.resize", ""), "shorter_side");
  EXPECT_EQ(meta.value("preprocess.resize_size", ""), std::to_string(S));
  EXPECT_EQ(meta.value("preprocess.crop", ""), "centre");
  EXPECT_EQ(meta.value("preprocess.crop_size", ""), std::to_string(S));
  EXPECT_EQ(meta.value("preprocess.channel_order", ""), "RGB");
  EXPECT_EQ(meta.value("preprocess.layout", ""), "NCHW");
  EXPECT_EQ(meta.value("preprocess.value_scale", ""), "1");
  EXPECT_EQ(nlohmann::json::parse(meta.value("preprocess.std", "[]")), nlohmann::json({1.0, 1.0, 1.0}));
}

INSTANTIATE_TEST_SUITE_P(AllVariants, OnnxCifarImages, ::testing::Values("seed", "paper", "torchvision", "cifar"));

// The published seed network, 1000 classes, 61 M parameters: exported and run once.
TEST(OnnxFullSize, SeedWith1000Classes) {
  SKIP_UNLESS_ONNX_RUNTIME();
  TempDir dir;
  const NetOptions o = options(0, 1000, 1.0);
  write_checkpoint(dir / "c.safetensors", "seed", o, 1);
  write_tensor(dir / "x.safetensors", random_images(7, 224, 1.f, 8));
  predict(model_flags("seed", o) + " --weights " + (dir / "c.safetensors"), dir / "x.safetensors",
          dir / "y1.safetensors", dir / "y7.safetensors");
  const RunResult e = run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --out " + (dir / "m.onnx"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_GT(fs::file_size(dir / "m.onnx"), size_t(61'000'000) * 4);
  const nlohmann::json res = check_with_onnx_runtime(dir / "m.onnx", dir / "x.safetensors", dir / "y1.safetensors",
                                                     dir / "y7.safetensors");
  EXPECT_TRUE(res.value("ok", false)) << res.dump();
}

// fp16 weights and arithmetic: the logits within 1e-2 of fp32's.
TEST(OnnxFp16, CloseToOurFp32Logits) {
  SKIP_UNLESS_ONNX_RUNTIME();
  TempDir dir;
  const NetOptions o = options();
  write_checkpoint(dir / "c.safetensors", "cifar", o, 2);
  write_tensor(dir / "x.safetensors", random_images(7, 32, 1.f, 6));
  predict(model_flags("cifar", o) + " --weights " + (dir / "c.safetensors"), dir / "x.safetensors",
          dir / "y1.safetensors", dir / "y7.safetensors");
  const RunResult e = run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --precision fp16 --out " +
                                  (dir / "m.onnx"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const nlohmann::json res = check_with_onnx_runtime(dir / "m.onnx", dir / "x.safetensors", dir / "y1.safetensors",
                                                     dir / "y7.safetensors", 1e-2);
  EXPECT_TRUE(res.value("ok", false)) << res.dump();
}

// ---- deploying: tools/onnx_predict.py (shown in docs/deploy.md) reproduces `alexnet predict` --------

// A photo-like picture: smooth colour ramps, a few blobs and noise, so each crop and turn reads differently.
Image photo(int height, int width, uint64_t seed) {
  Image im;
  im.height = height;
  im.width = width;
  im.pixels.resize(size_t(height) * size_t(width) * 3);
  Rng rng(seed);
  const double cy = rng.uniform() * height, cx = rng.uniform() * width, r = 0.2 * std::min(height, width) + 2;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const bool blob = (y - cy) * (y - cy) + (x - cx) * (x - cx) < r * r;
      const double v[3] = {255.0 * x / width, 255.0 * y / height, blob ? 230.0 : 60.0 + 120.0 * (x + y) / (width + height)};
      for (int c = 0; c < 3; ++c)
        im.pixels[(size_t(y) * size_t(width) + size_t(x)) * 3 + size_t(c)] =
            uint8_t(std::clamp(v[c] + 12.0 * rng.normal(), 0.0, 255.0));
    }
  return im;
}


struct DeployCase {
  std::string variant;
  int input_size;
  std::string eval_preset;
  bool small_images;
};

class OnnxDeploy : public ::testing::TestWithParam<DeployCase> {};

TEST_P(OnnxDeploy, PythonProgramGivesPredictsProbabilities) {
  SKIP_UNLESS_ONNX_RUNTIME();
  if (run_command(shell_quote(onnx_python()) + " -c 'import PIL'").exit_code != 0)
    GTEST_SKIP() << "Pillow cannot be imported by " << onnx_python() << " (scripts/setup.sh installs it from PyPI)";
  const DeployCase& c = GetParam();
  TempDir dir;
  ModelInfo info;
  info.variant = c.variant;
  info.options = options(c.input_size);
  for (int k = 0; k < kClasses; ++k) info.classes.push_back("class-" + std::to_string(k));
  info.mean = kMean;
  info.std = kStd;
  info.eval_preset = c.eval_preset;
  info.small_images = c.small_images;
  const NetSpec spec = info.spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, 13);
  // Freshly initialised logits are all near 0 (probabilities near 1/10, hardly moved by the picture):
  // a larger last layer spreads them as a trained network's are, so a wrong step shows.
  const ParamInfo& last = table.entries[table.entries.size() - 2];  // the classifier's weight
  for (size_t i = 0; i < last.numel; ++i) params[last.offset + i] *= 30.f;
  save_weights_file(dir / "c.safetensors", table, params, info, "{}", 1);

  // Photos of other sizes and shapes (wide, tall, square, smaller than the input), as JPEGs with each
  // EXIF orientation 1..8 (the ones with 5..8 stored on their side), and one PNG.
  const std::pair<int, int> sizes[] = {{37, 50}, {90, 37}, {31, 200}, {64, 64}, {61, 97}, {70, 45}, {40, 81}, {120, 90}};
  std::string images;
  for (int o = 1; o <= 8; ++o) {
    const auto [h, w] = sizes[o - 1];
    const std::string path = dir / ("photo" + std::to_string(o) + ".jpg");
    const std::vector<uint8_t> jpeg = testing::with_exif_orientation(encode_jpeg(photo(h, w, uint64_t(o)), 90), o);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()), std::streamsize(jpeg.size()));
    images += " " + path;
  }
  write_png(dir / "photo.png", photo(53, 77, 9));
  images += " " + (dir / "photo.png");

  const RunResult ours = run_alexnet("predict --checkpoint " + (dir / "c.safetensors") +
                                     " --device cpu --precision fp32 --json --top " + std::to_string(kClasses) + images);
  ASSERT_EQ(ours.exit_code, 0) << ours.output;
  for (bool folded : {false, true}) {
    const RunResult e = run_alexnet("export --checkpoint " + (dir / "c.safetensors") +
                                    (folded ? " --with-preprocessing" : "") + " --out " + (dir / "m.onnx"));
    ASSERT_EQ(e.exit_code, 0) << e.output;
    const RunResult theirs = run_command(shell_quote(onnx_python()) + " " ALEXNET_SOURCE_DIR "/tools/onnx_predict.py " +
                                         (dir / "m.onnx") + " --json --top " + std::to_string(kClasses) + images);
    ASSERT_EQ(theirs.exit_code, 0) << theirs.output;
    const auto want = testing::predictions_of(ours.output), got = testing::predictions_of(theirs.output);
    ASSERT_EQ(want.size(), 9u) << ours.output;
    ASSERT_EQ(got.size(), 9u) << theirs.output;
    double worst = 0;
    std::string where;
    for (const auto& [image, classes] : want) {
      ASSERT_EQ(got.at(image).size(), size_t(kClasses)) << image;
      for (const auto& [k, p] : classes)
        if (std::abs(p - got.at(image).at(k)) > worst) worst = std::abs(p - got.at(image).at(k)), where = image;
    }
    std::cout << c.variant << " (" << c.eval_preset << (folded ? ", preprocessing in the model" : "")
              << "): largest probability difference " << worst << " (" << where << ")\n";
    EXPECT_LE(worst, 1e-4) << where;
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, OnnxDeploy,
                         ::testing::Values(DeployCase{"cifar", 0, "standard", true},  // shorter side to 32
                                           DeployCase{"torchvision", 64, "paper", false}),  // to 73, crop 64
                         [](const auto& info) { return info.param.variant; });

// docs/deploy.md shows the program the test above runs, whole.
TEST(OnnxDeploy, DocsShowTheProgram) {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string program = read(ALEXNET_SOURCE_DIR "/tools/onnx_predict.py");
  ASSERT_FALSE(program.empty());
  EXPECT_NE(read(ALEXNET_SOURCE_DIR "/docs/deploy.md").find(program), std::string::npos)
      << "docs/deploy.md does not hold tools/onnx_predict.py as it is";
}

// ---- bad input: one `error:` line, exit 1, nothing written -----------------------------------------

void expect_one_error_line(const RunResult& r, const std::string& must_contain, const TempDir& dir,
                           const std::string& out_name = "m.onnx") {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_TRUE(r.output.starts_with("error: ")) << r.output;
  EXPECT_NE(r.output.find(must_contain), std::string::npos) << "expected '" << must_contain << "' in: " << r.output;
  EXPECT_FALSE(fs::exists(dir / out_name)) << "a file was left at " << (dir / out_name);
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

class OnnxBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!export_built()) GTEST_SKIP() << "this alexnet was built without ONNX";
  }
  TempDir dir;
};

TEST_F(OnnxBadInput, PlainWeightsAreNotACheckpoint) {
  const NetSpec spec = make_net_spec("cifar", options());
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total, 0.f);
  save_weights(dir / "w.safetensors", table, params);
  expect_one_error_line(run_alexnet("export --checkpoint " + (dir / "w.safetensors") + " --out " + (dir / "m.onnx")),
                        "not a checkpoint written by alexnet train", dir);
}

TEST_F(OnnxBadInput, SomethingElseEntirely) {
  std::ofstream(dir / "x.safetensors") << "this is not a safetensors file, nor a checkpoint\n";
  expect_one_error_line(run_alexnet("export --checkpoint " + (dir / "x.safetensors") + " --out " + (dir / "m.onnx")),
                        "x.safetensors", dir);
}

TEST_F(OnnxBadInput, TruncatedCheckpoint) {
  write_checkpoint(dir / "c.safetensors", "cifar", options(), 1);
  fs::resize_file(dir / "c.safetensors", fs::file_size(dir / "c.safetensors") / 2);
  expect_one_error_line(run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --out " + (dir / "m.onnx")),
                        "c.safetensors", dir);
}

TEST_F(OnnxBadInput, UnknownModelFlag) {
  write_checkpoint(dir / "c.safetensors", "cifar", options(), 1);
  expect_one_error_line(run_alexnet("export --weights " + (dir / "c.safetensors") + " --model vgg16 --out " +
                                    (dir / "m.onnx")),
                        "unknown model 'vgg16'", dir);
}

TEST_F(OnnxBadInput, UnknownModelInTheCheckpoint) {
  TensorFile f = read_safetensors([&] {
    write_checkpoint(dir / "c.safetensors", "cifar", options(), 1);
    return dir / "c.safetensors";
  }());
  f.metadata["model"] = "resnet50";
  write_safetensors(dir / "c2.safetensors", f);
  expect_one_error_line(run_alexnet("export --checkpoint " + (dir / "c2.safetensors") + " --out " + (dir / "m.onnx")),
                        "unknown model 'resnet50'", dir);
}

TEST_F(OnnxBadInput, WeightsOfAnotherModel) {
  write_checkpoint(dir / "c.safetensors", "cifar", options(), 1);
  expect_one_error_line(run_alexnet("export --weights " + (dir / "c.safetensors") + " --model seed --out " +
                                    (dir / "m.onnx")),
                        "features.0.weight", dir);
}

TEST_F(OnnxBadInput, OutputInAMissingFolder) {
  write_checkpoint(dir / "c.safetensors", "cifar", options(), 1);
  expect_one_error_line(run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --out " +
                                    (dir / "no/such/folder/m.onnx")),
                        "does not exist", dir, "no");
}

TEST_F(OnnxBadInput, UnsupportedPrecision) {
  write_checkpoint(dir / "c.safetensors", "cifar", options(), 1);
  expect_one_error_line(run_alexnet("export --checkpoint " + (dir / "c.safetensors") + " --precision int4 --out " +
                                    (dir / "m.onnx")),
                        "int4", dir);
}

}  // namespace
}  // namespace alexnet
