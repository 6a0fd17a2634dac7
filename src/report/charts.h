// The pictures of a training run: line charts (loss and accuracy curves), a confusion-matrix heat
// map, and the first convolution's kernels as an image grid. Each is drawn pixel by pixel on a
// report::Canvas and written as an 8-bit RGB PNG with the image codec's write_png.
//
// The draw_* functions return the picture in memory (for tests and for callers that embed it);
// the write_*_png functions draw and write it, throwing alexnet::Error naming the path when it
// cannot be written, or naming the problem for bad input (a ragged matrix, a weight of the wrong
// shape).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/canvas.h"
#include "tensor/tensor.h"

namespace alexnet::report {

// ---------------------------------------------------------------------------------------------
// Line charts

// One curve: points (x[i], y[i]) joined in order. Points whose x or y is not finite (a diverged
// loss) are left out and break the line there.
struct Series {
  std::string name;
  std::vector<double> x, y;
  std::optional<Rgb> color;  // unset: the next colour of the chart's palette
  bool markers = false;      // a small square at every point, when the series has at most 40 points
  bool faint = false;        // drawn thinner and paler: the raw values behind a smoothed curve
};

struct CurveOptions {
  int width = 800, height = 480;
  std::string x_label = "step", y_label;
  // Fixed ends of the y axis; unset ends follow the data, widened to round tick values.
  std::optional<double> y_min, y_max;
  // Fixed ends of the x axis; unset ends are the data's (a single x value sits in the middle).
  std::optional<double> x_min, x_max;
};

// Where the plot area lies and how data maps into it. The frame is drawn on columns `left` and
// `right` and rows `top` and `bottom`; x0 maps to column `left`, x1 to `right`, y0 to row `bottom`
// and y1 to row `top`, linearly, rounded to the nearest pixel.
struct PlotArea {
  int left = 0, top = 0, right = 0, bottom = 0;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  int column(double x) const;
  int row(double y) const;
};

// The chart: title (large) at the top, a legend row under it, then the framed plot with light grid
// lines at the ticks, tick labels on both axes and the axis labels. Series are drawn 3 pixels thick.
// `area`, when given, receives the plot area used. Series with no finite point are listed in the
// legend but draw nothing; a chart without any point draws the empty frame.
Image draw_curves(const std::string& title, const std::vector<Series>& series, const CurveOptions& options = {},
                  PlotArea* area = nullptr);
void write_curves_png(const std::string& path, const std::string& title, const std::vector<Series>& series,
                      const CurveOptions& options = {});
// The same chart as an <svg> element for a web page: the same axes, ticks and legend, lines as
// polylines (a non-finite point breaks them), markers as circles whose tooltip gives the value, text
// in the page's fonts. It scales with the page (viewBox options.width x options.height).
std::string curves_svg(const std::string& title, const std::vector<Series>& series, const CurveOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Confusion matrix

// Geometry of a drawn confusion matrix: cell (row i, column j) covers the square of side `cell`
// whose top-left pixel is (left + j*cell, top + i*cell). Rows are true classes, columns predictions.
struct ConfusionLayout {
  int left = 0, top = 0, cell = 0;
  bool names_shown = false;
};

// The colour of a row-normalised value in [0, 1]: white at 0 through light blue to dark blue at 1,
// getting strictly darker as the value grows. Rows with no samples at all are drawn light grey.
Rgb heat_color(double value);
inline constexpr Rgb kEmptyRowColor{224, 224, 224};

// `matrix` is [C][C] counts (or any non-negative weights): matrix[i][j] = samples of true class i
// predicted as j. Each row is divided by its sum. Cells of 22 pixels or more show the percentage
// ("<1" for a non-zero share that rounds to 0);
// class names (cut to 14 characters) are written when a cell is at least 9 pixels, otherwise every
// n-th class index is. `class_names` may be empty (indices are written instead) or hold C names.
// Throws alexnet::Error for a matrix that is empty, not square, or has a negative or non-finite entry,
// and for a name count that is neither 0 nor C.
Image draw_confusion(const std::vector<std::vector<double>>& matrix, const std::vector<std::string>& class_names,
                     ConfusionLayout* layout = nullptr);
void write_confusion_png(const std::string& path, const std::vector<std::vector<double>>& matrix,
                         const std::vector<std::string>& class_names);

// ---------------------------------------------------------------------------------------------
// First-layer filters

enum class FilterNorm {
  PerFilter,  // each kernel's own min..max (over its 3 channels) maps to 0..255: every kernel uses the full range
  Global,     // the min..max over all kernels maps to 0..255: brightness compares across kernels
};

// Geometry of a filter grid: kernel k sits at grid cell (k / columns, k % columns); its pixel
// (r, s) covers the scale x scale block whose top-left corner is
// (1 + (k % columns) * pitch_x + s * scale, 1 + (k / columns) * pitch_y + r * scale), where
// pitch = kernel size * scale + 1. One-pixel white lines separate the kernels and frame the grid.
struct FilterGrid {
  int columns = 0, rows = 0, pitch_x = 0, pitch_y = 0, width = 0, height = 0;
};
// The grid for K kernels of R x S at `scale`: columns is the smallest divisor of K in
// [ceil(sqrt K), 2 sqrt K] (96 kernels: 12 x 8), or ceil(sqrt K) when there is none.
FilterGrid filter_grid(int64_t kernels, int64_t r, int64_t s, int scale);

// `weight` is the first convolution's weight [K, 3, R, S] (F32; BF16 is converted), channels taken as
// R, G, B. `scale` (1..64) is the integer upscaling factor. A kernel that is constant is drawn mid-grey.
// Throws alexnet::Error for another rank, channel count or dtype, or a bad scale.
Image draw_filters(const Tensor& weight, int scale, FilterNorm norm = FilterNorm::PerFilter);
void write_filters_png(const std::string& path, const Tensor& weight, int scale,
                       FilterNorm norm = FilterNorm::PerFilter);

}  // namespace alexnet::report
