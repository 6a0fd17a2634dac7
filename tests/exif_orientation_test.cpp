// EXIF orientation: a JPEG whose Exif segment says 2..8 decodes upright, as Pillow's
// ImageOps.exif_transpose turns it; --ignore-exif-orientation (set_apply_exif_orientation(false))
// decodes it as stored. Each orientation is compared with the stored pixels turned by hand (rotations
// and mirrors composed here, not orient_image's table), in both TIFF byte orders; then through the
// program: `info` reports the upright size and `predict` gives the upright picture's answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/image_codec.h"
#include "exif_util.h"
#include "model/net_spec.h"
#include "model/weights.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::run_alexnet;
using testing::TempDir;
using testing::with_exif_orientation;

// A picture no turn or mirror maps onto itself: colour ramps along both axes and a bright corner.
Image test_picture(int height, int width) {
  Image im;
  im.height = height;
  im.width = width;
  im.pixels.resize(size_t(height) * size_t(width) * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &im.pixels[(size_t(y) * size_t(width) + size_t(x)) * 3];
      p[0] = uint8_t(255 * x / width);
      p[1] = uint8_t(255 * y / height);
      p[2] = uint8_t(y < height / 3 && x < width / 4 ? 250 : 40);
    }
  return im;
}

uint8_t at(const Image& im, int y, int x, int c) { return im.pixels[(size_t(y) * size_t(im.width) + size_t(x)) * 3 + size_t(c)]; }

Image mirrored(const Image& in) {  // left-right
  Image out = in;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c) out.pixels[(size_t(y) * size_t(in.width) + size_t(x)) * 3 + size_t(c)] = at(in, y, in.width - 1 - x, c);
  return out;
}

Image clockwise(const Image& in) {  // a quarter turn: the left column, bottom to top, becomes the top row
  Image out;
  out.height = in.width;
  out.width = in.height;
  out.pixels.resize(in.pixels.size());
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixels[(size_t(x) * size_t(out.width) + size_t(in.height - 1 - y)) * 3 + size_t(c)] = at(in, y, x, c);
  return out;
}

// What EXIF orientation o asks for, in turns and mirrors (the EXIF 2.3 table; Pillow's transposes).
Image upright_by_hand(const Image& stored, int o) {
  switch (o) {
    case 2: return mirrored(stored);                           // FLIP_LEFT_RIGHT
    case 3: return clockwise(clockwise(stored));               // ROTATE_180
    case 4: return clockwise(clockwise(mirrored(stored)));     // FLIP_TOP_BOTTOM
    case 5: return mirrored(clockwise(stored));                // TRANSPOSE
    case 6: return clockwise(stored);                          // ROTATE_270 (clockwise)
    case 7: return clockwise(mirrored(stored));                // TRANSVERSE
    case 8: return clockwise(clockwise(clockwise(stored)));    // ROTATE_90 (counter-clockwise)
    default: return stored;
  }
}

void expect_same(const Image& got, const Image& want, const std::string& what) {
  ASSERT_EQ(got.height, want.height) << what;
  ASSERT_EQ(got.width, want.width) << what;
  size_t differ = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i) differ += got.pixels[i] != want.pixels[i];
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << got.pixels.size() << " bytes differ";
}

class ExifOrientation : public ::testing::Test {
 protected:
  void TearDown() override { set_apply_exif_orientation(true); }
  // The JPEG as stored (no Exif) and its decoded pixels.
  const std::vector<uint8_t> jpeg = encode_jpeg(test_picture(24, 40), 95);
  const Image stored = decode_image(jpeg.data(), jpeg.size(), "stored.jpg");
};

TEST_F(ExifOrientation, EveryOrientationInBothByteOrdersDecodesUpright) {
  ASSERT_EQ(stored.height, 24);
  for (bool big_endian : {false, true})
    for (int o = 1; o <= 8; ++o) {
      const std::vector<uint8_t> file = with_exif_orientation(jpeg, o, big_endian);
      const std::string what = cat("orientation ", o, big_endian ? " (MM)" : " (II)");
      expect_same(decode_image(file.data(), file.size(), "oriented.jpg"), upright_by_hand(stored, o), what);
    }
}

TEST_F(ExifOrientation, OrientationSixPutsTheStoredBottomLeftAtTheTopLeft) {
  const std::vector<uint8_t> file = with_exif_orientation(jpeg, 6);
  const Image up = decode_image(file.data(), file.size(), "six.jpg");
  ASSERT_EQ(up.height, 40);
  ASSERT_EQ(up.width, 24);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(at(up, 0, 0, c), at(stored, 23, 0, c));
    EXPECT_EQ(at(up, 0, 23, c), at(stored, 0, 0, c));
    EXPECT_EQ(at(up, 39, 23, c), at(stored, 0, 39, c));
  }
}

TEST_F(ExifOrientation, IgnoredOnRequest) {
  set_apply_exif_orientation(false);
  for (int o = 2; o <= 8; ++o) {
    const std::vector<uint8_t> file = with_exif_orientation(jpeg, o);
    expect_same(decode_image(file.data(), file.size(), "ignored.jpg"), stored, cat("orientation ", o, " ignored"));
  }
}

TEST_F(ExifOrientation, BadOrDamagedTagsLeaveThePictureAsStored) {
  for (int o : {0, 9, 255}) {
    const std::vector<uint8_t> file = with_exif_orientation(jpeg, o);
    expect_same(decode_image(file.data(), file.size(), "bad.jpg"), stored, cat("orientation value ", o));
  }
  // The IFD offset pointing past the segment's end.
  std::vector<uint8_t> file = with_exif_orientation(jpeg, 6);
  const auto exif = std::search(file.begin(), file.end(), std::begin("Exif"), std::end("Exif") - 1);
  ASSERT_NE(exif, file.end());
  *(exif + 6 + 4) = 0xF0;  // "II", 42, then the offset's low byte
  expect_same(decode_image(file.data(), file.size(), "damaged.jpg"), stored, "IFD offset out of range");
}

// ---- through the program ---------------------------------------------------------------------------

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}


TEST(ExifOrientationCli, InfoReportsTheUprightSize) {
  TempDir dir;
  fs::create_directories(dir.path() / "photos/cat");
  fs::create_directories(dir.path() / "photos/dog");
  const std::vector<uint8_t> jpeg = with_exif_orientation(encode_jpeg(test_picture(24, 56), 90), 6);
  write_bytes(dir / "photos/cat/a.jpg", jpeg);
  write_bytes(dir / "photos/dog/b.jpg", jpeg);
  for (bool ignore : {false, true}) {
    const testing::RunResult r =
        run_alexnet("info --json --data " + (dir / "photos") + (ignore ? " --ignore-exif-orientation" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json j = nlohmann::json::parse(r.output.substr(r.output.rfind("\n{") + 1));
    // Width x height: upright the picture is 24 wide and 56 high.
    const std::string want = ignore ? "56x24" : "24x56";
    EXPECT_EQ(j["image_sizes"].value(want, 0), 2) << r.output;
  }
}

TEST(ExifOrientationCli, PredictSeesTheUprightPicture) {
  TempDir dir;
  ModelInfo info;
  info.variant = "cifar";
  info.options.num_classes = 10;
  info.options.width = 0.5;
  for (int k = 0; k < 10; ++k) info.classes.push_back("class-" + std::to_string(k));
  info.mean = {0.5f, 0.5f, 0.5f};
  info.std = {0.25f, 0.25f, 0.25f};
  info.eval_preset = "standard";
  const NetSpec spec = info.spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, 3);
  save_weights_file(dir / "c.safetensors", table, params, info, "{}", 1);

  const std::vector<uint8_t> jpeg = encode_jpeg(test_picture(36, 60), 90);
  const Image stored = decode_image(jpeg.data(), jpeg.size(), "stored.jpg");
  write_png(dir / "upright.png", upright_by_hand(stored, 6));
  write_png(dir / "stored.png", stored);
  write_bytes(dir / "phone.jpg", with_exif_orientation(jpeg, 6));
  const std::string cmd = "predict --checkpoint " + (dir / "c.safetensors") + " --device cpu --precision fp32 --top 10 --json ";
  for (bool ignore : {false, true}) {
    const testing::RunResult r = run_alexnet(cmd + (ignore ? "--ignore-exif-orientation " : "") + (dir / "phone.jpg") +
                                             " " + (dir / "upright.png") + " " + (dir / "stored.png"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto p = testing::predictions_of(r.output);
    const auto& phone = p[dir / "phone.jpg"];
    const auto& same = p[dir / (ignore ? "stored.png" : "upright.png")];
    const auto& other = p[dir / (ignore ? "upright.png" : "stored.png")];
    ASSERT_EQ(phone.size(), 10u) << r.output;
    double to_same = 0, to_other = 0;
    for (const auto& [k, prob] : phone) {
      to_same = std::max(to_same, std::abs(prob - same.at(k)));
      to_other = std::max(to_other, std::abs(prob - other.at(k)));
    }
    EXPECT_LT(to_same, 1e-6) << (ignore ? "ignored: " : "applied: ") << r.output;
    EXPECT_GT(to_other, 1e-6) << "the turn does not change the answer, so this test shows nothing: " << r.output;
  }
}

}  // namespace
}  // namespace alexnet
