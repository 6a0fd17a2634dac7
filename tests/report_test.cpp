// The report's pictures and page: PNGs read back with libpng (not with our own decoder), pixels that
// must land in known places, and the bad-input policy of write_report_html.
#include <gtest/gtest.h>
#include <png.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "report/canvas.h"
#include "report/charts.h"
#include "report/run_report.h"
#include "tensor/safetensors.h"
#include "train/config.h"

namespace alexnet::report {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system's temporary folder, removed at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (fs::temp_directory_path() / "alexnet-report-XXXXXX").string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A PNG file decoded by libpng's simplified API to 8-bit RGB.
struct Png {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // [H, W, 3]
  Rgb at(int x, int y) const {
    const uint8_t* p = &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3];
    return {p[0], p[1], p[2]};
  }
};

Png read_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str()))
    throw std::runtime_error(path + ": libpng cannot read it: " + image.message);
  image.format = PNG_FORMAT_RGB;
  Png png;
  png.width = int(image.width);
  png.height = int(image.height);
  png.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, png.rgb.data(), 0, nullptr))
    throw std::runtime_error(path + ": libpng cannot decode it: " + image.message);
  return png;
}

Rgb pixel(const Image& im, int x, int y) {
  const uint8_t* p = &im.pixels[(size_t(y) * size_t(im.width) + size_t(x)) * 3];
  return {p[0], p[1], p[2]};
}

double luminance(Rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

std::string rgb_str(Rgb c) { return cat("(", int(c.r), ", ", int(c.g), ", ", int(c.b), ")"); }

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

RunResult run_alexnet(const std::string& args) {
  RunResult r;
  FILE* p = popen((std::string(ALEXNET_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Tensor random_conv1(int64_t K, int64_t R, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 0.05f);
  Tensor w(DType::F32, {K, 3, R, R});
  for (float& v : w.span<float>()) v = normal(rng);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Font and canvas

TEST(Canvas, GlyphsDrawWhereExpected) {
  EXPECT_EQ(std::memcmp(glyph_rows('a'), glyph_rows('A'), kGlyphHeight), 0) << "lower case is drawn in capitals";
  EXPECT_EQ(std::memcmp(glyph_rows('\x01'), glyph_rows('?'), kGlyphHeight), 0);
  // "1": the vertical stroke is column 2 of every row but the last, whose base spans columns 1..3.
  Canvas c(12, 9);
  c.text(1, 1, "1", kBlack);
  for (int r = 0; r < kGlyphHeight; ++r) EXPECT_EQ(c.at(1 + 2, 1 + r), kBlack) << "row " << r;
  EXPECT_EQ(c.at(1 + 0, 1 + 0), kWhite);
  EXPECT_EQ(c.at(1 + 1, 1 + 6), kBlack);
  EXPECT_EQ(c.at(1 + 4, 1 + 6), kWhite);
  EXPECT_EQ(text_width("11"), 11);
  EXPECT_EQ(text_width("11", 2), 22);
}

TEST(Canvas, UpwardTextIsTurnedAnticlockwise) {
  // "L" read bottom-to-top: its vertical stroke (glyph column 0) becomes the bottom row of the
  // run, its foot (glyph row 6) the rightmost column.
  Canvas c(12, 12);
  c.text_up(2, 9, "L", kBlack);
  for (int r = 0; r < kGlyphHeight; ++r) EXPECT_EQ(c.at(2 + r, 9), kBlack) << "stroke pixel " << r;
  for (int col = 0; col < kGlyphWidth; ++col) EXPECT_EQ(c.at(2 + 6, 9 - col), kBlack) << "foot pixel " << col;
  EXPECT_EQ(c.at(2, 9 - 4), kWhite);
}

TEST(Canvas, ThickLineIsCentred) {
  Canvas c(20, 20);
  c.line(2, 10, 17, 10, kBlack, 3);
  for (int x = 2; x <= 17; ++x)
    for (int y = 0; y < 20; ++y) EXPECT_EQ(c.at(x, y) == kBlack, y >= 9 && y <= 11) << x << "," << y;
}

// ---------------------------------------------------------------------------------------------
// Filters

TEST(Filters, GridGeometry) {
  const FilterGrid g = filter_grid(96, 11, 11, 4);
  EXPECT_EQ(g.columns, 12);
  EXPECT_EQ(g.rows, 8);
  EXPECT_EQ(g.width, 12 * 45 + 1);
  EXPECT_EQ(g.height, 8 * 45 + 1);
  EXPECT_EQ(filter_grid(64, 5, 5, 1).columns, 8);
  const FilterGrid prime = filter_grid(7, 3, 3, 1);  // no divisor: ceil(sqrt 7) = 3 columns, 3 rows
  EXPECT_EQ(prime.columns, 3);
  EXPECT_EQ(prime.rows, 3);
}

TEST(Filters, KnownValueLandsAtExpectedPixel) {
  // 4 kernels of 3x3 at scale 2: a 2 x 2 grid, pitch 7, image 15 x 15.
  Tensor w(DType::F32, {4, 3, 3, 3});
  float* p = w.data<float>();
  auto at = [p](int k, int c, int r, int s) -> float& { return p[((k * 3 + c) * 3 + r) * 3 + s]; };
  at(3, 0, 1, 2) = 1.f;   // kernel 3, red, row 1, column 2: the kernel's maximum
  at(3, 2, 0, 0) = -1.f;  // kernel 3, blue, row 0, column 0: its minimum
  at(0, 1, 2, 2) = 0.5f;  // kernel 0, green, row 2, column 2

  ScratchDir dir;
  write_filters_png(dir / "f.png", w, 2);
  const Png png = read_png(dir / "f.png");
  ASSERT_EQ(png.width, 15);
  ASSERT_EQ(png.height, 15);
  // Kernel 3 is grid cell (1, 1): its pixel (r, s) covers x = 1 + 7 + 2s .. +1, y = 1 + 7 + 2r .. +1.
  for (int dy = 0; dy < 2; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      EXPECT_EQ(png.at(12 + dx, 10 + dy), (Rgb{255, 128, 128})) << rgb_str(png.at(12 + dx, 10 + dy));
      EXPECT_EQ(png.at(8 + dx, 8 + dy), (Rgb{128, 128, 0})) << rgb_str(png.at(8 + dx, 8 + dy));
    }
  // Kernel 0 (cell (0, 0)), per-kernel range 0..0.5: zeros black, the 0.5 full green at (2, 2).
  EXPECT_EQ(png.at(1, 1), (Rgb{0, 0, 0}));
  EXPECT_EQ(png.at(1 + 4, 1 + 4), (Rgb{0, 255, 0}));
  // Kernel 1 is all zero: constant kernels are mid-grey.
  EXPECT_EQ(png.at(8, 1), (Rgb{128, 128, 128}));
  // Separators and frame are white.
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(png.at(0, i), kWhite);
    EXPECT_EQ(png.at(7, i), kWhite);
    EXPECT_EQ(png.at(i, 7), kWhite);
    EXPECT_EQ(png.at(i, 14), kWhite);
  }

  // Global normalisation: -1..1 over all kernels, so kernel 0's zeros are mid-grey and 0.5 is 191.
  const Image global = draw_filters(w, 2, FilterNorm::Global);
  EXPECT_EQ(pixel(global, 1, 1), (Rgb{128, 128, 128}));
  EXPECT_EQ(pixel(global, 5, 5), (Rgb{128, 191, 128}));
  EXPECT_EQ(pixel(global, 12, 10), (Rgb{255, 128, 128}));
}

TEST(Filters, AlexNetConv1SizeAndBf16) {
  const Tensor w = random_conv1(96, 11, 1);
  ScratchDir dir;
  write_filters_png(dir / "conv1.png", w, 4);
  const Png png = read_png(dir / "conv1.png");
  EXPECT_EQ(png.width, 541);
  EXPECT_EQ(png.height, 361);
  // BF16 weights are converted and drawn the same way, up to bf16 rounding.
  const Image a = draw_filters(w, 1), b = draw_filters(w.to(DType::BF16), 1);
  ASSERT_EQ(a.pixels.size(), b.pixels.size());
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  EXPECT_LE(worst, 3);
}

TEST(Filters, BadInputIsAnError) {
  EXPECT_THROW(draw_filters(Tensor(DType::F32, {4, 1, 3, 3}), 1), Error);
  EXPECT_THROW(draw_filters(Tensor(DType::F32, {4, 3, 3}), 1), Error);
  EXPECT_THROW(draw_filters(Tensor(DType::U8, {4, 3, 3, 3}), 1), Error);
  EXPECT_THROW(draw_filters(Tensor(DType::F32, {4, 3, 3, 3}), 0), Error);
  EXPECT_THROW(draw_filters(Tensor(), 1), Error);
  Tensor nan(DType::F32, {2, 3, 3, 3});
  nan.data<float>()[5] = std::nanf("");
  EXPECT_THROW(draw_filters(nan, 1), Error);
  EXPECT_THROW(write_filters_png("/nonexistent-folder/x.png", random_conv1(4, 3, 2), 1), Error);
}

// ---------------------------------------------------------------------------------------------
// Curves

// Checks that `area` describes the frame that was drawn: dark pixels on its four sides (looked at a
// fifth of the way along, away from the curves of these tests).
void expect_frame(const Image& im, const PlotArea& a) {
  const int mid_x = a.left + (a.right - a.left) / 5, mid_y = a.top + (a.bottom - a.top) / 5;
  EXPECT_LT(luminance(pixel(im, a.left, mid_y)), 80);
  EXPECT_LT(luminance(pixel(im, a.right, mid_y)), 80);
  EXPECT_LT(luminance(pixel(im, mid_x, a.top)), 80);
  EXPECT_LT(luminance(pixel(im, mid_x, a.bottom)), 80);
  EXPECT_EQ(pixel(im, a.left - 1, mid_y + 3), kWhite) << "outside the frame";
}

// The rows holding `color` inside the frame, and whether every interior column has it.
struct Trace {
  int min_row = 1 << 30, max_row = -1;
  bool every_column = true;
};
Trace trace_of(const Image& im, const PlotArea& a, Rgb color) {
  Trace t;
  for (int x = a.left + 1; x < a.right; ++x) {
    bool found = false;
    for (int y = a.top + 1; y < a.bottom; ++y)
      if (pixel(im, x, y) == color) found = true, t.min_row = std::min(t.min_row, y), t.max_row = std::max(t.max_row, y);
    t.every_column = t.every_column && found;
  }
  return t;
}

TEST(Curves, ConstantSeriesIsHorizontalLineAtItsRow) {
  const Rgb red{200, 0, 0};
  Series s{"constant", {}, {}, red, false};
  for (int i = 0; i <= 100; ++i) s.x.push_back(i * 10), s.y.push_back(0.25);
  CurveOptions o;
  o.y_min = 0, o.y_max = 1;
  PlotArea a;
  const Image im = draw_curves("flat", {s}, o, &a);
  ASSERT_EQ(im.width, 800);
  ASSERT_EQ(im.height, 480);
  expect_frame(im, a);
  // 0.25 of the way up from the bottom frame row to the top one; the line is 3 pixels thick.
  const int expected = int(std::lround(a.bottom - 0.25 * (a.bottom - a.top)));
  const Trace t = trace_of(im, a, red);
  EXPECT_EQ(t.min_row, expected - 1);
  EXPECT_EQ(t.max_row, expected + 1);
  EXPECT_TRUE(t.every_column) << "the line spans the whole plot";
}

TEST(Curves, ConstantSeriesWithFreeAxisSitsInTheMiddle) {
  const Rgb green{0, 150, 0};
  Series s{"flat", {1, 2, 3, 4}, {3.0, 3.0, 3.0, 3.0}, green, false};
  PlotArea a;
  const Image im = draw_curves("flat", {s}, {}, &a);
  expect_frame(im, a);
  const Trace t = trace_of(im, a, green);
  const int middle = (a.top + a.bottom) / 2;
  EXPECT_NEAR((t.min_row + t.max_row) / 2.0, middle, 1.0);
  EXPECT_EQ(t.max_row - t.min_row, 2);
  EXPECT_LT(a.y0, 3.0);
  EXPECT_GT(a.y1, 3.0);
}

TEST(Curves, RisingSeriesGoesUpAndNonFiniteBreaksTheLine) {
  const Rgb blue{0, 0, 220};
  Series s{"rising", {0, 1, 2, 3, 4}, {0, 1, std::nan(""), 3, 4}, blue, false};
  PlotArea a;
  const Image im = draw_curves("up", {s}, {}, &a);
  EXPECT_EQ(pixel(im, a.column(0), a.row(0)), blue);
  EXPECT_EQ(pixel(im, a.column(4), a.row(4)), blue);
  EXPECT_EQ(pixel(im, a.column(1), a.row(1)), blue);
  // Between x = 1 and x = 3 nothing is drawn: the NaN breaks the line.
  for (int y = a.top + 1; y < a.bottom; ++y) EXPECT_NE(pixel(im, a.column(2), y), blue);
}

TEST(Curves, PngIsValidAndBadSeriesAreErrors) {
  ScratchDir dir;
  Series a{"a", {0, 1, 2}, {3, 2, 1}, std::nullopt, true}, b{"b", {0, 2}, {1, 2}, std::nullopt, false};
  CurveOptions o;
  o.width = 640, o.height = 360;
  write_curves_png(dir / "c.png", "two series", {a, b}, o);
  const Png png = read_png(dir / "c.png");
  EXPECT_EQ(png.width, 640);
  EXPECT_EQ(png.height, 360);
  // Nothing to draw still gives a chart (an empty frame).
  EXPECT_NO_THROW(draw_curves("empty", {}, {}));
  Series ragged{"ragged", {0, 1}, {1}, std::nullopt, false};
  EXPECT_THROW(draw_curves("x", {ragged}), Error);
  o.width = 50;
  EXPECT_THROW(draw_curves("x", {a}, o), Error);
}

// Markers on the right end of the x axis (the last epoch) are drawn whole, not cut by the margin.
TEST(Curves, MarkersAtTheFrameAreWhole) {
  const Rgb red{200, 0, 0};
  Series s{"epochs", {0, 100, 200}, {1, 2, 3}, red, true};
  PlotArea a;
  const Image im = draw_curves("m", {s}, {}, &a);
  ASSERT_EQ(a.column(200), a.right);
  EXPECT_EQ(pixel(im, a.right + 3, a.row(3)), red);
  EXPECT_EQ(pixel(im, a.right - 3, a.row(3)), red);
}

TEST(Curves, XAxisFromAFixedStart) {
  Series s{"one epoch", {250}, {0.3}, std::nullopt, true};
  CurveOptions o;
  o.x_min = 0;
  PlotArea a;
  draw_curves("acc", {s}, o, &a);
  EXPECT_EQ(a.x0, 0);
  EXPECT_EQ(a.x1, 250);
  o.x_max = -1;
  EXPECT_THROW(draw_curves("acc", {s}, o), Error);
}

TEST(Curves, SvgHasTheSameDataAsThePng) {
  Series s{"a <b>", {0, 1, 2, 3, 4}, {0, 1, std::nan(""), 3, 4}, Rgb{0, 0, 220}, false};
  Series m{"marked", {4}, {2}, std::nullopt, true};
  const std::string svg = curves_svg("t & u", {s, m}, {});
  EXPECT_EQ(svg.rfind("<svg class=\"chart\" viewBox=\"0 0 800 480\"", 0), 0u) << svg.substr(0, 80);
  size_t polylines = 0;
  for (size_t at = 0; (at = svg.find("<polyline stroke=\"#0000dc\"", at)) != std::string::npos; ++at) ++polylines;
  EXPECT_EQ(polylines, 2u) << "the NaN breaks the line in two";
  EXPECT_NE(svg.find(">a &lt;b&gt;</text>"), std::string::npos) << "legend text is escaped";
  EXPECT_NE(svg.find(">t &amp; u</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>marked: 2 at step 4</title>"), std::string::npos);
  // The same ticks as the PNG: y from 0 to 4.
  EXPECT_NE(svg.find("text-anchor=\"end\">0</text>"), std::string::npos);
  EXPECT_NE(svg.find("text-anchor=\"end\">4</text>"), std::string::npos);
  EXPECT_THROW(curves_svg("x", {Series{"ragged", {0, 1}, {1}, std::nullopt, false}}), Error);
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

TEST(Confusion, ColoursDarkenWithValue) {
  double previous = 1e9;
  for (int i = 0; i <= 20; ++i) {
    const double l = luminance(heat_color(i / 20.0));
    EXPECT_LT(l, previous) << "value " << i / 20.0;
    previous = l;
  }
  EXPECT_EQ(heat_color(0), kWhite);
}

TEST(Confusion, CellsAreOrderedByRowNormalisedValue) {
  // Row 0 normalises to 0, .1, .3, .6; row 1 to 1, 0, 0, 0; row 2 has no samples.
  const std::vector<std::vector<double>> m = {{0, 1, 3, 6}, {10, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  const std::vector<std::string> names = {"cat", "dog", "ship", "truck"};
  ConfusionLayout lay;
  const Image im = draw_confusion(m, names, &lay);
  EXPECT_TRUE(lay.names_shown);
  // A cell's top-left interior pixel shows its colour (the percentage is written in the middle).
  auto cell = [&](int i, int j) { return pixel(im, lay.left + j * lay.cell + 1, lay.top + i * lay.cell + 1); };
  const Rgb c0 = cell(0, 0), c1 = cell(0, 1), c3 = cell(0, 2), c6 = cell(0, 3), c10 = cell(1, 0);
  EXPECT_EQ(c0, heat_color(0.0));
  EXPECT_EQ(c1, heat_color(0.1));
  EXPECT_EQ(c6, heat_color(0.6));
  EXPECT_EQ(c10, heat_color(1.0));
  EXPECT_GT(luminance(c0), luminance(c1));
  EXPECT_GT(luminance(c1), luminance(c3));
  EXPECT_GT(luminance(c3), luminance(c6));
  EXPECT_GT(luminance(c6), luminance(c10));
  EXPECT_EQ(cell(2, 2), kEmptyRowColor);
  EXPECT_EQ(cell(3, 0), cell(3, 3)) << "equal values, equal colours";

  ScratchDir dir;
  write_confusion_png(dir / "cm.png", m, names);
  const Png png = read_png(dir / "cm.png");
  EXPECT_EQ(png.width, im.width);
  EXPECT_EQ(png.height, im.height);
  EXPECT_EQ(png.at(lay.left + 3 * lay.cell + 1, lay.top + 1), c6);
}

TEST(Confusion, ManyClassesDropNamesAndBadMatricesAreErrors) {
  std::vector<std::vector<double>> big(200, std::vector<double>(200, 1.0));
  ConfusionLayout lay;
  const Image im = draw_confusion(big, {}, &lay);
  EXPECT_FALSE(lay.names_shown);
  EXPECT_GE(lay.cell, 1);
  EXPECT_LE(im.width, 1000);

  EXPECT_THROW(draw_confusion({}, {}), Error);
  EXPECT_THROW(draw_confusion({{1, 2}, {3}}, {}), Error);
  EXPECT_THROW(draw_confusion({{1, -2}, {3, 4}}, {}), Error);
  EXPECT_THROW(draw_confusion({{1, 2}, {3, 4}}, {"only one"}), Error);
}

// ---------------------------------------------------------------------------------------------
// Run report

// A small run directory: two epochs of print steps, epoch lines, config, weights, confusion.
void make_run(const ScratchDir& dir, bool with_weights = true) {
  std::string metrics;
  for (int step = 10; step <= 200; step += 10) {
    const int epoch = step <= 100 ? 1 : 2;
    metrics += cat("{\"kind\":\"step\",\"epoch\":", epoch, ",\"step\":", step, ",\"loss\":", 2.3 - step * 0.005,
                   ",\"lr\":0.01,\"img_s\":", 50 + step % 7, "}\n");
    if (step == 100)
      metrics += "{\"kind\":\"epoch\",\"epoch\":1,\"train_loss\":2.0,\"train_acc\":0.3,\"val_loss\":1.9,"
                 "\"val_top1\":0.35,\"val_top5\":0.8}\n";
  }
  metrics += "{\"kind\":\"epoch\",\"epoch\":2,\"train_loss\":1.6,\"train_acc\":0.45,\"val_loss\":1.5,"
             "\"val_top1\":0.5,\"val_top5\":0.9}\n";
  write_text(dir / "metrics.jsonl", metrics);
  write_text(dir / "config.json", R"({"model":"cifar","lr":0.01,"epochs":2,"augment":"seed <&>"})");
  write_text(dir / "confusion.json", R"({"classes":["cat","dog","ship"],"matrix":[[8,1,1],[2,7,1],[0,0,10]]})");
  if (with_weights) {
    TensorFile f;
    f.tensors.emplace("features.0.weight", random_conv1(96, 11, 3));
    f.tensors.emplace("features.0.bias", Tensor(DType::F32, {96}));
    f.metadata["step"] = "200";
    write_safetensors(dir / "last.safetensors", f);
  }
}

TEST(Report, WritesPicturesAndSelfContainedPage) {
  ScratchDir dir;
  make_run(dir);
  const ReportResult r = write_report_html(dir.str());
  EXPECT_EQ(r.html_path, dir / "report.html");
  EXPECT_EQ(r.pictures.size(), 6u);  // loss, accuracy, lr, throughput, filters, confusion
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();

  const std::string html = read_text(r.html_path);
  for (const char* link : {"href=\"loss.png\"", "href=\"accuracy.png\"", "href=\"lr.png\"", "href=\"throughput.png\"",
                           "src=\"filters.png\"", "src=\"confusion.png\""})
    EXPECT_NE(html.find(link), std::string::npos) << link;
  for (const char* chart : {"aria-label=\"loss\"", "aria-label=\"accuracy\"", "aria-label=\"learning rate\"",
                            "aria-label=\"throughput\""})
    EXPECT_NE(html.find(chart), std::string::npos) << "an inline SVG chart " << chart;
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("seed &lt;&amp;&gt;"), std::string::npos) << "config values are escaped";
  EXPECT_EQ(html.find("seed <&>"), std::string::npos);
  EXPECT_NE(html.find("<td>0.45</td>"), std::string::npos) << "the epoch table holds epoch 2's train_acc";

  const Png loss = read_png(dir / "loss.png"), acc = read_png(dir / "accuracy.png");
  EXPECT_EQ(loss.width, 800);
  EXPECT_EQ(loss.height, 480);
  EXPECT_EQ(acc.width, 800);
  const Png filters = read_png(dir / "filters.png");
  EXPECT_EQ(filters.width, 541);
  EXPECT_EQ(filters.height, 361);
  EXPECT_GT(read_png(dir / "confusion.png").width, 0);
}

TEST(Report, MissingMetricsIsAnErrorNamingTheFile) {
  ScratchDir dir;
  try {
    write_report_html(dir.str());
    FAIL() << "expected alexnet::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "metrics.jsonl"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_report_html(dir / "no-such-run"), Error);
}

TEST(Report, MalformedLinesAreSkippedWithNotes) {
  ScratchDir dir;
  write_text(dir / "metrics.jsonl",
             "{\"kind\":\"step\",\"epoch\":1,\"step\":10,\"loss\":2.0}\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":20,\"loss\":1.9\n"    // line 2: cut short
             "[1, 2, 3]\n"                                                  // line 3: not an object
             "{\"epoch\":1,\"loss\":1.8}\n"                                 // line 4: no kind
             "{\"kind\":\"step\",\"epoch\":1,\"loss\":1.7}\n"               // line 5: no step
             "{\"kind\":\"hello\",\"anything\":true}\n"                     // another kind: ignored
             "\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":30,\"loss\":null}\n"  // a diverged loss: kept as NaN
             "{\"kind\":\"step\",\"epoch\":1,\"step\":40,\"loss\":1.5}\n");
  const RunMetrics m = read_metrics(dir / "metrics.jsonl");
  ASSERT_EQ(m.steps.size(), 3u);
  EXPECT_TRUE(std::isnan(m.steps[1].loss));
  ASSERT_EQ(m.notes.size(), 4u);
  EXPECT_NE(m.notes[0].find("metrics.jsonl:2:"), std::string::npos) << m.notes[0];
  EXPECT_NE(m.notes[1].find("metrics.jsonl:3:"), std::string::npos) << m.notes[1];
  EXPECT_NE(m.notes[2].find("metrics.jsonl:4:"), std::string::npos) << m.notes[2];
  EXPECT_NE(m.notes[3].find("metrics.jsonl:5:"), std::string::npos) << m.notes[3];

  const ReportResult r = write_report_html(dir.str());
  const std::string html = read_text(r.html_path);
  EXPECT_NE(html.find("metrics.jsonl:3: skipped"), std::string::npos);
  EXPECT_NE(html.find("href=\"loss.png\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"accuracy.png\""), std::string::npos) << "no epoch lines, no accuracy chart";
}

TEST(Report, EmptyMetricsGivesAPageThatSaysSo) {
  ScratchDir dir;
  write_text(dir / "metrics.jsonl", "");
  const ReportResult r = write_report_html(dir.str());
  EXPECT_TRUE(r.pictures.empty());
  const std::string html = read_text(r.html_path);
  EXPECT_NE(html.find("no step or epoch records"), std::string::npos);
  EXPECT_NE(html.find("config.json: not found"), std::string::npos);
}

TEST(Report, ResumedRunKeepsTheLastAttempt) {
  ScratchDir dir;
  write_text(dir / "metrics.jsonl",
             "{\"kind\":\"step\",\"epoch\":1,\"step\":100,\"loss\":3}\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":200,\"loss\":2}\n"
             "{\"kind\":\"step\",\"epoch\":2,\"step\":300,\"loss\":1}\n"
             "{\"kind\":\"epoch\",\"epoch\":1,\"val_top1\":0.2}\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":200,\"loss\":2.5}\n"  // resumed from step 100
             "{\"kind\":\"epoch\",\"epoch\":1,\"val_top1\":0.25}\n"
             "{\"kind\":\"step\",\"epoch\":2,\"step\":300,\"loss\":1.5}\n");
  const RunMetrics m = read_metrics(dir / "metrics.jsonl");
  ASSERT_EQ(m.steps.size(), 3u);
  EXPECT_EQ(m.steps[1].loss, 2.5);
  EXPECT_EQ(m.steps[2].loss, 1.5);
  ASSERT_EQ(m.epochs.size(), 1u);
  EXPECT_EQ(m.epochs[0].get("val_top1"), 0.25);
}

// The inline SVG chart whose aria-label is `title`, or "".
std::string svg_chart(const std::string& html, const std::string& title) {
  const size_t at = html.find("aria-label=\"" + title + "\"");
  if (at == std::string::npos) return "";
  const size_t begin = html.rfind("<svg", at), end = html.find("</svg>", at);
  return html.substr(begin, end - begin);
}

TEST(Report, ShowsTheTestResultsOfEvalJson) {
  ScratchDir dir;
  make_run(dir);
  write_text(dir / "eval.json", R"({"n":200,"top1":0.8125,"top5":0.99,"loss":0.61,"per_class":[)"
                                R"({"class":"cat","n":100,"top1":0.75},{"class":"d<o>g","n":100,"top1":0.875}]})");
  const ReportResult r = write_report_html(dir.str());
  const std::string html = read_text(r.html_path);
  EXPECT_NE(html.find("top-1 <b>81.25%</b>, top-5 <b>99.00%</b> on 200 images"), std::string::npos) << html;
  EXPECT_NE(html.find("<td class=\"key\">d&lt;o&gt;g</td><td>100</td><td>87.50%</td>"), std::string::npos);
  EXPECT_LT(html.find("id=\"test\""), html.find("id=\"summary\"")) << "the headline result comes first";

  write_text(dir / "eval.json", R"({"n":200})");
  const ReportResult bad = write_report_html(dir.str());
  EXPECT_EQ(read_text(bad.html_path).find("id=\"test\""), std::string::npos);
  ASSERT_EQ(bad.notes.size(), 1u);
  EXPECT_NE(bad.notes[0].find("eval.json: no numeric \"top1\""), std::string::npos) << bad.notes[0];
}

// One epoch without validation (--val-split 0): the x axes run from step 0 to the last step (not
// 0.9 to 1.1 around one epoch), the learning rate and a smoothed loss are drawn, the page says why
// there are no validation curves, and settings read as given.
TEST(Report, OneEpochRunWithoutValidation) {
  ScratchDir dir;
  write_text(dir / "metrics.jsonl",
             "{\"kind\":\"step\",\"epoch\":1,\"step\":1,\"loss\":4.34,\"lr\":0.002,\"img_s\":900}\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":101,\"loss\":2.24,\"lr\":0.05,\"img_s\":1000}\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":201,\"loss\":2.0,\"lr\":0.01,\"img_s\":1000}\n"
             "{\"kind\":\"step\",\"epoch\":1,\"step\":250,\"loss\":1.9,\"lr\":0.0001,\"img_s\":1000}\n"
             "{\"kind\":\"epoch\",\"epoch\":1,\"step\":250,\"train_loss\":2.5,\"train_acc\":0.3}\n");
  write_text(dir / "config.json", R"({"model":"cifar","lr":0.05,"momentum":0.9,"val_split":0})");
  const ReportResult r = write_report_html(dir.str());
  const std::string html = read_text(r.html_path);
  const std::string acc = svg_chart(html, "accuracy"), lr = svg_chart(html, "learning rate"), loss = svg_chart(html, "loss");
  ASSERT_FALSE(acc.empty());
  EXPECT_NE(acc.find("text-anchor=\"middle\">0</text>"), std::string::npos) << "the x axis starts at step 0";
  EXPECT_NE(acc.find("text-anchor=\"middle\">250</text>"), std::string::npos) << acc;
  EXPECT_EQ(acc.find(">0.9<"), std::string::npos);
  EXPECT_NE(acc.find("<title>training accuracy: 0.3 at step 250</title>"), std::string::npos) << acc;
  ASSERT_FALSE(lr.empty());
  const size_t points = lr.find("points=\"");
  ASSERT_NE(points, std::string::npos) << lr;
  const std::string xy = lr.substr(points + 8, lr.find('"', points + 8) - points - 8);
  EXPECT_EQ(std::count(xy.begin(), xy.end(), ','), 4) << "four (step, lr) points: " << xy;
  EXPECT_NE(loss.find("smoothed (0.6)"), std::string::npos);
  EXPECT_NE(html.find("none (--val-split 0): no validation curves"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"text\">0.05</td>"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "lr.png"));
}

// Small first-layer kernels are drawn large enough to see: 48 kernels of 5x5 in 8 columns at 12x.
TEST(Report, SmallFiltersAreScaledUp) {
  ScratchDir dir;
  make_run(dir, /*with_weights=*/false);
  TensorFile f;
  f.tensors.emplace("features.0.weight", random_conv1(48, 5, 5));
  write_safetensors(dir / "last.safetensors", f);
  const ReportResult r = write_report_html(dir.str());
  const Png filters = read_png(dir / "filters.png");
  EXPECT_EQ(filters.width, 8 * (5 * 12 + 1) + 1);
  EXPECT_NE(read_text(r.html_path).find("12x"), std::string::npos);
}

TEST(Report, BrokenOptionalFilesAreNotedAndLeftOut) {
  ScratchDir dir;
  make_run(dir, /*with_weights=*/false);
  TensorFile f;
  f.tensors.emplace("classifier.6.weight", Tensor(DType::F32, {10, 4}));
  write_safetensors(dir / "last.safetensors", f);
  write_text(dir / "confusion.json", "{\"matrix\": [[1, 2], [3]]}");
  write_text(dir / "config.json", "{not json");
  std::filesystem::remove(dir / "filters.png");
  const ReportResult r = write_report_html(dir.str());
  const std::string html = read_text(r.html_path);
  EXPECT_EQ(html.find("src=\"filters.png\""), std::string::npos);
  EXPECT_EQ(html.find("src=\"confusion.png\""), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "filters.png"));
  std::string all;
  for (const std::string& n : r.notes) all += n + "\n";
  EXPECT_NE(all.find("features.0.weight"), std::string::npos) << all;
  EXPECT_NE(all.find("confusion.json"), std::string::npos) << all;
  EXPECT_NE(all.find("config.json: not a JSON object"), std::string::npos) << all;
  EXPECT_NE(html.find("href=\"loss.png\""), std::string::npos) << "the rest of the report is still written";
}

// config.json (and so the report and the hparams) holds settings as given: 0.05 reads 0.05, not the
// float's exact value 0.05000000074505806, and reads back as the same float.
TEST(ConfigJson, FloatSettingsReadAsGiven) {
  TrainConfig c;
  c.lr = 0.05f, c.momentum = 0.9f, c.weight_decay = 5e-4f;
  const std::string text = c.to_json();
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["lr"].dump(), "0.05");
  EXPECT_EQ(j["momentum"].dump(), "0.9");
  EXPECT_EQ(j["weight_decay"].dump(), "0.0005");
  const TrainConfig back = TrainConfig::from_json(text);
  EXPECT_EQ(back.lr, c.lr);
  EXPECT_EQ(back.momentum, c.momentum);
  EXPECT_EQ(back.weight_decay, c.weight_decay);
}

// ---------------------------------------------------------------------------------------------
// alexnet filters

// `alexnet report RUN_DIR` draws the page again: an eval.json written after the run shows up.
TEST(ReportCommand, RedrawsTheReportWithTheRunsFiles) {
  ScratchDir dir;
  make_run(dir);
  write_report_html(dir.str());
  EXPECT_EQ(read_text(dir / "report.html").find("id=\"test\""), std::string::npos);
  write_text(dir / "eval.json", R"({"n":200,"top1":0.8125,"top5":0.99,"loss":0.61,"per_class":[]})");
  const RunResult r = run_alexnet(cat("report ", dir.str()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(dir / "report.html"), std::string::npos) << r.output;
  EXPECT_NE(read_text(dir / "report.html").find("top-1 <b>81.25%</b>"), std::string::npos);
  const RunResult missing = run_alexnet(cat("report ", dir / "nothing"));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("error: "), std::string::npos) << missing.output;
}

TEST(FiltersCommand, WritesThePictureOfAWeightsFile) {
  ScratchDir dir;
  TensorFile f;
  f.tensors.emplace("features.0.weight", random_conv1(64, 5, 4));
  write_safetensors(dir / "w.safetensors", f);
  const RunResult r = run_alexnet(cat("filters --checkpoint ", dir / "w.safetensors", " --out ", dir / "conv1.png",
                                      " --scale 3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Png png = read_png(dir / "conv1.png");
  EXPECT_EQ(png.width, 8 * (5 * 3 + 1) + 1);
  EXPECT_EQ(png.height, 8 * (5 * 3 + 1) + 1);
}

TEST(FiltersCommand, ClearErrorsForFilesWithoutConv1) {
  ScratchDir dir;
  TensorFile f;
  f.tensors.emplace("momentum", Tensor(DType::F32, {10}));
  write_safetensors(dir / "state.safetensors", f);
  RunResult r = run_alexnet(cat("filters --checkpoint ", dir / "state.safetensors", " --out ", dir / "x.png"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("features.0.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(dir / "state.safetensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("momentum"), std::string::npos) << "lists what the file holds: " << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));

  r = run_alexnet(cat("filters --checkpoint ", dir / "missing.safetensors"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.safetensors"), std::string::npos) << r.output;

  TensorFile wrong;
  wrong.tensors.emplace("features.0.weight", Tensor(DType::F32, {8, 1, 3, 3}));
  write_safetensors(dir / "gray.safetensors", wrong);
  r = run_alexnet(cat("filters --checkpoint ", dir / "gray.safetensors", " --out ", dir / "y.png"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("[8, 1, 3, 3]"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace alexnet::report
