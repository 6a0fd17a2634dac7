#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "image/png.h"

namespace alexnet::report {

namespace {

constexpr Rgb kGridColor{225, 225, 225};
constexpr Rgb kAxisColor{40, 40, 40};
constexpr Rgb kTextColor{20, 20, 20};
constexpr size_t kMaxMarkedPoints = 40;  // denser series are drawn without markers

// Distinct, colour-blind-tolerant line colours, used in order.
constexpr Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                            {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

// A round step near range / target: 1, 2 or 5 times a power of ten.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
}

// The tick labels of one axis: as many decimals as the step needs; when the largest tick reaches
// 10000 and the step is a multiple of 1000, every label is written in thousands ("5K", "120K").
std::vector<std::string> tick_labels(const std::vector<double>& ticks, double step) {
  double largest = 0;
  for (double v : ticks) largest = std::max(largest, std::abs(v));
  const bool thousands = largest >= 10000 && std::fmod(step, 1000) == 0;
  const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  std::vector<std::string> out;
  for (double v : ticks) {
    if (std::abs(v) < step * 1e-6) v = 0;  // no "-0"
    char buf[64];
    if (thousands) std::snprintf(buf, sizeof buf, "%.0fK", v / 1000);
    else std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    out.push_back(buf);
  }
  return out;
}

std::vector<double> ticks_between(double lo, double hi, double step) {
  std::vector<double> out;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0;; ++i) {
    const double v = first + i * step;
    if (v > hi + step * 1e-9 || i > 1000) break;
    out.push_back(v);
  }
  return out;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  bool empty() const { return !(lo <= hi); }
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
};

// Widens a degenerate range (one value) so that the value sits in the middle.
void widen_if_flat(Range& r) {
  if (r.empty()) r = {0, 1};
  if (r.hi - r.lo <= std::abs(r.hi) * 1e-12) {
    const double pad = r.hi == 0 ? 1 : std::abs(r.hi) * 0.1;
    r.lo -= pad;
    r.hi += pad;
  }
}

bool finite_point(const Series& s, size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

}  // namespace

int PlotArea::column(double x) const { return left + int(std::lround((x - x0) / (x1 - x0) * (right - left))); }
int PlotArea::row(double y) const { return bottom - int(std::lround((y - y0) / (y1 - y0) * (bottom - top))); }

namespace {

// The axes of a chart, computed once for the PNG and the SVG: data ranges widened to round ticks
// (y), fixed ends where the options give them.
struct Axes {
  Range x, y;
  double x_step = 1, y_step = 1;
  std::vector<double> x_ticks, y_ticks;
  std::vector<std::string> x_labels, y_labels;
};

Axes chart_axes(const std::string& title, const std::vector<Series>& series, const CurveOptions& options) {
  for (const Series& s : series)
    if (s.x.size() != s.y.size())
      fail("chart '", title, "': series '", s.name, "' has ", s.x.size(), " x values but ", s.y.size(), " y values");
  if (options.y_min && options.y_max && !(*options.y_min < *options.y_max))
    fail("chart '", title, "': y_min ", *options.y_min, " is not below y_max ", *options.y_max);
  if (options.x_min && options.x_max && !(*options.x_min < *options.x_max))
    fail("chart '", title, "': x_min ", *options.x_min, " is not below x_max ", *options.x_max);
  Axes a;
  Range &xr = a.x, &yr = a.y;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i)
      if (finite_point(s, i)) xr.add(s.x[i]), yr.add(s.y[i]);
  if (options.y_min) yr.lo = *options.y_min, yr.hi = std::max(yr.hi, yr.lo);
  if (options.y_max) yr.hi = *options.y_max, yr.lo = std::min(yr.lo, yr.hi);
  if (options.x_min) xr.lo = *options.x_min, xr.hi = std::max(xr.hi, xr.lo);
  if (options.x_max) xr.hi = *options.x_max, xr.lo = std::min(xr.lo, xr.hi);
  widen_if_flat(xr);
  widen_if_flat(yr);
  a.y_step = nice_step(yr.hi - yr.lo, 5);
  if (!options.y_min) yr.lo = std::floor(yr.lo / a.y_step + 1e-9) * a.y_step;
  if (!options.y_max) yr.hi = std::ceil(yr.hi / a.y_step - 1e-9) * a.y_step;
  a.x_step = nice_step(xr.hi - xr.lo, 8);
  a.y_ticks = ticks_between(yr.lo, yr.hi, a.y_step);
  a.x_ticks = ticks_between(xr.lo, xr.hi, a.x_step);
  a.y_labels = tick_labels(a.y_ticks, a.y_step);
  a.x_labels = tick_labels(a.x_ticks, a.x_step);
  return a;
}

Rgb series_color(const std::vector<Series>& series, size_t i) {
  return series[i].color.value_or(kPalette[i % std::size(kPalette)]);
}

// A faint series' colour: a third of the way from white.
Rgb faint_color(Rgb c) {
  auto f = [](uint8_t v) { return uint8_t(255 - (255 - v) * 2 / 5); };
  return {f(c.r), f(c.g), f(c.b)};
}

}  // namespace

Image draw_curves(const std::string& title, const std::vector<Series>& series, const CurveOptions& options,
                  PlotArea* area_out) {
  if (options.width < 200 || options.height < 150)
    fail("chart '", title, "': size ", options.width, "x", options.height, " is too small (at least 200x150)");
  const Axes axes = chart_axes(title, series, options);
  const Range &xr = axes.x, &yr = axes.y;
  const std::vector<double>&x_ticks = axes.x_ticks, &y_ticks = axes.y_ticks;

  const int W = options.width, H = options.height;
  Canvas canvas(W, H);

  // Legend entries, wrapped into rows that fit the width.
  struct Entry {
    std::string name;
    Rgb color;
    int x, y;
  };
  std::vector<Entry> legend;
  const int legend_top = 12 + 2 * kGlyphHeight + 12;
  {
    std::vector<std::vector<Entry>> rows(1);
    std::vector<int> row_width(1, 0);
    for (size_t i = 0; i < series.size(); ++i) {
      Entry e{series[i].name, series[i].faint ? faint_color(series_color(series, i)) : series_color(series, i), 0, 0};
      const int w = 18 + text_width(e.name);
      if (row_width.back() > 0 && row_width.back() + 20 + w > W - 40) rows.emplace_back(), row_width.push_back(0);
      if (row_width.back() > 0) row_width.back() += 20;
      e.x = row_width.back();
      row_width.back() += w;
      rows.back().push_back(e);
    }
    for (size_t r = 0; r < rows.size(); ++r)
      for (Entry& e : rows[r]) {
        e.x += (W - row_width[r]) / 2;
        e.y = legend_top + int(r) * (kGlyphHeight + 6);
        legend.push_back(e);
      }
  }
  const int legend_rows = legend.empty() ? 0 : (legend.back().y - legend_top) / (kGlyphHeight + 6) + 1;

  const std::vector<std::string>&y_labels = axes.y_labels, &x_labels = axes.x_labels;
  int widest_y_label = 0;
  for (const std::string& label : y_labels) widest_y_label = std::max(widest_y_label, text_width(label));
  PlotArea a;
  a.top = legend_top + legend_rows * (kGlyphHeight + 6) + 8;
  a.left = 12 + kGlyphHeight + 10 + widest_y_label + 8;
  a.right = W - 24;
  a.bottom = H - (8 + kGlyphHeight + 12 + kGlyphHeight + 10);
  a.x0 = xr.lo, a.x1 = xr.hi, a.y0 = yr.lo, a.y1 = yr.hi;
  if (a.right - a.left < 40 || a.bottom - a.top < 40)
    fail("chart '", title, "': no room left for the plot at ", W, "x", H, " (too many legend entries?)");

  // Grid, frame, series (over the frame, so points on an axis end stay visible), then white margins
  // (which clip whatever strayed outside the frame), markers (whole, even at the frame), ticks and text.
  for (double v : y_ticks) canvas.fill_rect(a.left, a.row(v), a.right - a.left + 1, 1, kGridColor);
  for (double v : x_ticks) canvas.fill_rect(a.column(v), a.top, 1, a.bottom - a.top + 1, kGridColor);
  canvas.rect(a.left, a.top, a.right - a.left + 1, a.bottom - a.top + 1, kAxisColor);
  for (size_t si = 0; si < series.size(); ++si) {
    const Series& s = series[si];
    const Rgb color = s.faint ? faint_color(series_color(series, si)) : series_color(series, si);
    const int thickness = s.faint ? 2 : 3;
    bool have_previous = false;
    int px = 0, py = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite_point(s, i)) {
        have_previous = false;
        continue;
      }
      const int cx = a.column(s.x[i]), cy = a.row(s.y[i]);
      if (have_previous) canvas.line(px, py, cx, cy, color, thickness);
      else canvas.line(cx, cy, cx, cy, color, thickness);
      px = cx, py = cy, have_previous = true;
    }
  }
  canvas.fill_rect(0, 0, W, a.top, kWhite);
  canvas.fill_rect(0, a.bottom + 1, W, H - a.bottom - 1, kWhite);
  canvas.fill_rect(0, 0, a.left, H, kWhite);
  canvas.fill_rect(a.right + 1, 0, W - a.right - 1, H, kWhite);
  for (size_t si = 0; si < series.size(); ++si) {
    const Series& s = series[si];
    size_t finite = 0;
    for (size_t i = 0; i < s.x.size(); ++i) finite += finite_point(s, i);
    if (!s.markers || finite > kMaxMarkedPoints) continue;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (finite_point(s, i) && s.x[i] >= xr.lo && s.x[i] <= xr.hi && s.y[i] >= yr.lo && s.y[i] <= yr.hi)
        canvas.fill_rect(a.column(s.x[i]) - 3, a.row(s.y[i]) - 3, 7, 7, series_color(series, si));
  }

  for (size_t i = 0; i < y_ticks.size(); ++i) {
    const int y = a.row(y_ticks[i]);
    canvas.fill_rect(a.left - 5, y, 5, 1, kAxisColor);
    const std::string& label = y_labels[i];
    canvas.text(a.left - 8 - text_width(label), y - kGlyphHeight / 2, label, kTextColor);
  }
  for (size_t i = 0; i < x_ticks.size(); ++i) {
    const int x = a.column(x_ticks[i]);
    canvas.fill_rect(x, a.bottom + 1, 1, 5, kAxisColor);
    const std::string& label = x_labels[i];
    canvas.text(x - text_width(label) / 2, a.bottom + 9, label, kTextColor);
  }
  canvas.text((a.left + a.right - text_width(options.x_label)) / 2, a.bottom + 9 + kGlyphHeight + 12, options.x_label,
              kTextColor);
  if (!options.y_label.empty())
    canvas.text_up(12, (a.top + a.bottom + text_width(options.y_label)) / 2, options.y_label, kTextColor);
  canvas.text((W - text_width(title, 2)) / 2, 12, title, kTextColor, 2);
  for (const Entry& e : legend) {
    canvas.fill_rect(e.x, e.y + 2, 14, 3, e.color);
    canvas.text(e.x + 18, e.y, e.name, kTextColor);
  }

  if (area_out) *area_out = a;
  return canvas.image();
}

void write_curves_png(const std::string& path, const std::string& title, const std::vector<Series>& series,
                      const CurveOptions& options) {
  write_png(path, draw_curves(title, series, options));
}

namespace {

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string css_color(Rgb c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A value for a tooltip: four significant digits, integers as integers.
std::string tooltip_number(double v) {
  char buf[64];
  if (v == std::round(v) && std::abs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// The width of a label at 12px in a proportional sans-serif font, roughly (for laying out the legend).
double label_width(const std::string& text) { return 6.6 * double(text.size()); }

}  // namespace

std::string curves_svg(const std::string& title, const std::vector<Series>& series, const CurveOptions& options) {
  if (options.width < 200 || options.height < 150)
    fail("chart '", title, "': size ", options.width, "x", options.height, " is too small (at least 200x150)");
  const Axes axes = chart_axes(title, series, options);
  const double W = options.width, H = options.height;

  // Legend rows under the title, centred.
  struct Entry {
    size_t series;
    double x, y;
  };
  std::vector<Entry> legend;
  const double legend_top = 46, legend_row = 18;
  {
    std::vector<std::vector<Entry>> rows(1);
    std::vector<double> row_width(1, 0);
    for (size_t i = 0; i < series.size(); ++i) {
      const double w = 22 + label_width(series[i].name);
      if (row_width.back() > 0 && row_width.back() + 18 + w > W - 40) rows.emplace_back(), row_width.push_back(0);
      if (row_width.back() > 0) row_width.back() += 18;
      rows.back().push_back({i, row_width.back(), 0});
      row_width.back() += w;
    }
    for (size_t r = 0; r < rows.size(); ++r)
      for (Entry& e : rows[r]) legend.push_back({e.series, e.x + (W - row_width[r]) / 2, legend_top + double(r) * legend_row});
  }
  const double legend_rows = legend.empty() ? 0 : (legend.back().y - legend_top) / legend_row + 1;
  double widest_y_label = 0;
  for (const std::string& label : axes.y_labels) widest_y_label = std::max(widest_y_label, label_width(label));
  const double left = 30 + widest_y_label + 10, right = W - 24;
  const double top = legend_top + legend_rows * legend_row + 4, bottom = H - 46;
  if (right - left < 40 || bottom - top < 40)
    fail("chart '", title, "': no room left for the plot at ", options.width, "x", options.height, " (too many legend entries?)");
  auto X = [&](double x) { return left + (x - axes.x.lo) / (axes.x.hi - axes.x.lo) * (right - left); };
  auto Y = [&](double y) { return bottom - (y - axes.y.lo) / (axes.y.hi - axes.y.lo) * (bottom - top); };
  static int chart_count = 0;  // ids of the clip paths, unique within a page
  const std::string clip_id = cat("plot", ++chart_count);

  std::string o;
  o += cat("<svg class=\"chart\" viewBox=\"0 0 ", options.width, " ", options.height,
           "\" width=\"", options.width, "\" height=\"", options.height, "\" role=\"img\" aria-label=\"",
           xml_escape(title), "\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n");
  // Lines are clipped a little outside the frame, so that a line along it (a constant at the axis end) is whole.
  o += cat("<clipPath id=\"", clip_id, "\"><rect x=\"", coord(left - 3), "\" y=\"", coord(top - 3), "\" width=\"",
           coord(right - left + 6), "\" height=\"", coord(bottom - top + 6), "\"/></clipPath>\n");
  o += cat("<text x=\"", coord(W / 2), "\" y=\"26\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"600\">",
           xml_escape(title), "</text>\n");
  for (const Entry& e : legend) {
    const Series& s = series[e.series];
    const std::string color = css_color(series_color(series, e.series));
    o += cat("<line x1=\"", coord(e.x), "\" y1=\"", coord(e.y - 4), "\" x2=\"", coord(e.x + 16), "\" y2=\"",
             coord(e.y - 4), "\" stroke=\"", color, "\" stroke-width=\"", s.faint ? "2\" stroke-opacity=\"0.35" : "3",
             "\"/><text x=\"", coord(e.x + 22), "\" y=\"", coord(e.y), "\">", xml_escape(s.name), "</text>\n");
  }
  // Grid and ticks.
  o += "<g stroke=\"#e1e1e1\" stroke-width=\"1\">";
  for (double v : axes.y_ticks)
    o += cat("<line x1=\"", coord(left), "\" y1=\"", coord(Y(v)), "\" x2=\"", coord(right), "\" y2=\"", coord(Y(v)), "\"/>");
  for (double v : axes.x_ticks)
    o += cat("<line x1=\"", coord(X(v)), "\" y1=\"", coord(top), "\" x2=\"", coord(X(v)), "\" y2=\"", coord(bottom), "\"/>");
  o += "</g>\n<g fill=\"#333\">";
  for (size_t i = 0; i < axes.y_ticks.size(); ++i)
    o += cat("<text x=\"", coord(left - 6), "\" y=\"", coord(Y(axes.y_ticks[i]) + 4), "\" text-anchor=\"end\">",
             xml_escape(axes.y_labels[i]), "</text>");
  for (size_t i = 0; i < axes.x_ticks.size(); ++i)
    o += cat("<text x=\"", coord(X(axes.x_ticks[i])), "\" y=\"", coord(bottom + 17), "\" text-anchor=\"middle\">",
             xml_escape(axes.x_labels[i]), "</text>");
  o += "</g>\n";
  o += cat("<text x=\"", coord((left + right) / 2), "\" y=\"", coord(H - 10), "\" text-anchor=\"middle\">",
           xml_escape(options.x_label), "</text>\n");
  if (!options.y_label.empty())
    o += cat("<text transform=\"translate(16 ", coord((top + bottom) / 2), ") rotate(-90)\" text-anchor=\"middle\">",
             xml_escape(options.y_label), "</text>\n");
  // Lines, clipped to the plot; faint ones first, under the others.
  o += cat("<g clip-path=\"url(#", clip_id, ")\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n");
  for (int pass = 0; pass < 2; ++pass)
    for (size_t si = 0; si < series.size(); ++si) {
      const Series& s = series[si];
      if (s.faint != (pass == 0)) continue;
      std::string points;
      size_t n = 0;
      auto flush = [&] {
        if (n == 1) points += " " + points;  // one point: a zero-length line, drawn as a dot by its round caps
        if (n > 0)
          o += cat("<polyline stroke=\"", css_color(series_color(series, si)), "\" stroke-width=\"",
                   s.faint ? "1.5\" stroke-opacity=\"0.35" : "2.5", "\" points=\"", points, "\"/>\n");
        points.clear(), n = 0;
      };
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!finite_point(s, i)) {
          flush();
          continue;
        }
        points += cat(n ? " " : "", coord(X(s.x[i])), ",", coord(Y(s.y[i])));
        ++n;
      }
      flush();
    }
  o += "</g>\n";
  // Markers, whole even on the frame, with their values as tooltips.
  for (size_t si = 0; si < series.size(); ++si) {
    const Series& s = series[si];
    size_t finite = 0;
    for (size_t i = 0; i < s.x.size(); ++i) finite += finite_point(s, i);
    if (!s.markers || finite > kMaxMarkedPoints) continue;
    o += cat("<g fill=\"", css_color(series_color(series, si)), "\">");
    for (size_t i = 0; i < s.x.size(); ++i)
      if (finite_point(s, i) && s.y[i] >= axes.y.lo && s.y[i] <= axes.y.hi && s.x[i] >= axes.x.lo && s.x[i] <= axes.x.hi)
        o += cat("<circle cx=\"", coord(X(s.x[i])), "\" cy=\"", coord(Y(s.y[i])), "\" r=\"4\"><title>",
                 xml_escape(cat(s.name, ": ", tooltip_number(s.y[i]), " at ", options.x_label, " ", tooltip_number(s.x[i]))),
                 "</title></circle>");
    o += "</g>\n";
  }
  o += cat("<rect x=\"", coord(left), "\" y=\"", coord(top), "\" width=\"", coord(right - left), "\" height=\"",
           coord(bottom - top), "\" fill=\"none\" stroke=\"#282828\"/>\n</svg>\n");
  return o;
}

// ---------------------------------------------------------------------------------------------

Rgb heat_color(double value) {
  // Two linear segments; every channel falls on both, so the colour darkens monotonically.
  constexpr Rgb stops[3] = {{255, 255, 255}, {107, 174, 214}, {8, 48, 107}};
  const double v = std::clamp(std::isfinite(value) ? value : 0.0, 0.0, 1.0);
  const int seg = v < 0.5 ? 0 : 1;
  const double t = (v - 0.5 * seg) * 2;
  auto mix = [t](uint8_t from, uint8_t to) { return uint8_t(std::lround(from + (to - from) * t)); };
  return {mix(stops[seg].r, stops[seg + 1].r), mix(stops[seg].g, stops[seg + 1].g),
          mix(stops[seg].b, stops[seg + 1].b)};
}

Image draw_confusion(const std::vector<std::vector<double>>& matrix, const std::vector<std::string>& class_names,
                     ConfusionLayout* layout_out) {
  const size_t C = matrix.size();
  if (C == 0) fail("confusion matrix: it is empty");
  if (C > 4096) fail("confusion matrix: ", C, " classes is more than the 4096 drawn");
  for (size_t i = 0; i < C; ++i) {
    if (matrix[i].size() != C) fail("confusion matrix: row ", i, " has ", matrix[i].size(), " entries, expected ", C);
    for (size_t j = 0; j < C; ++j)
      if (!std::isfinite(matrix[i][j]) || matrix[i][j] < 0)
        fail("confusion matrix: entry [", i, "][", j, "] is ", matrix[i][j], " (expected a count >= 0)");
  }
  if (!class_names.empty() && class_names.size() != C)
    fail("confusion matrix: ", class_names.size(), " class names for ", C, " classes");

  ConfusionLayout lay;
  lay.cell = std::clamp(640 / int(C), 1, 48);
  lay.names_shown = lay.cell >= kGlyphHeight + 2;
  // The labels: every class when they fit, otherwise every n-th index with n*cell >= 30 pixels.
  std::vector<std::pair<size_t, std::string>> labels;
  if (lay.names_shown) {
    for (size_t i = 0; i < C; ++i) {
      std::string name = class_names.empty() ? std::to_string(i) : class_names[i];
      if (name.size() > 14) name = name.substr(0, 13) + ".";
      labels.emplace_back(i, name);
    }
  } else {
    size_t every = 1;
    for (size_t m : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000})
      if ((every = m) * size_t(lay.cell) >= 30) break;
    for (size_t i = 0; i < C; i += every) labels.emplace_back(i, std::to_string(i));
  }
  int label_w = 0;
  for (const auto& [i, name] : labels) label_w = std::max(label_w, text_width(name));

  const std::string title = "confusion matrix (row-normalised)";
  const int grid = int(C) * lay.cell;
  const int predicted_y = 12 + 2 * kGlyphHeight + 12;
  lay.top = predicted_y + kGlyphHeight + 8 + label_w + 6;
  lay.left = 12 + kGlyphHeight + 10 + label_w + 6;
  const int bar_x = lay.left + grid + 16, bar_w = 14;
  const int width = std::max(bar_x + bar_w + 6 + text_width("100%") + 12, text_width(title, 2) + 24);
  const int height = lay.top + grid + 14;
  Canvas canvas(width, height);

  for (size_t i = 0; i < C; ++i) {
    double sum = 0;
    for (double v : matrix[i]) sum += v;
    for (size_t j = 0; j < C; ++j) {
      const int x = lay.left + int(j) * lay.cell, y = lay.top + int(i) * lay.cell;
      if (sum <= 0) {
        canvas.fill_rect(x, y, lay.cell, lay.cell, kEmptyRowColor);
        continue;
      }
      const double v = matrix[i][j] / sum;
      canvas.fill_rect(x, y, lay.cell, lay.cell, heat_color(v));
      if (lay.cell >= 22 && matrix[i][j] > 0) {
        const long rounded = std::lround(v * 100);
        const std::string pct = rounded == 0 ? "<1" : std::to_string(rounded);
        canvas.text(x + (lay.cell - text_width(pct)) / 2, y + (lay.cell - kGlyphHeight) / 2, pct,
                    v > 0.55 ? kWhite : kTextColor);
      }
    }
  }
  canvas.rect(lay.left - 1, lay.top - 1, grid + 2, grid + 2, kAxisColor);

  for (const auto& [i, name] : labels) {
    const int centre = int(i) * lay.cell + lay.cell / 2;
    canvas.text(lay.left - 6 - text_width(name), lay.top + centre - kGlyphHeight / 2, name, kTextColor);
    canvas.text_up(lay.left + centre - kGlyphHeight / 2, lay.top - 6, name, kTextColor);
  }
  canvas.text((width - text_width(title, 2)) / 2, 12, title, kTextColor, 2);
  canvas.text(lay.left + (grid - text_width("predicted")) / 2, predicted_y, "predicted", kTextColor);
  canvas.text_up(12, lay.top + (grid + text_width("true")) / 2, "true", kTextColor);

  // The colour scale: 100% at the top, 0% at the bottom.
  for (int y = 0; y < grid; ++y)
    canvas.fill_rect(bar_x, lay.top + y, bar_w, 1, heat_color(1.0 - double(y) / std::max(grid - 1, 1)));
  canvas.rect(bar_x - 1, lay.top - 1, bar_w + 2, grid + 2, kAxisColor);
  canvas.text(bar_x + bar_w + 6, lay.top, "100%", kTextColor);
  canvas.text(bar_x + bar_w + 6, lay.top + grid - kGlyphHeight, "0%", kTextColor);
  if (grid >= 4 * kGlyphHeight) canvas.text(bar_x + bar_w + 6, lay.top + (grid - kGlyphHeight) / 2, "50%", kTextColor);

  if (layout_out) *layout_out = lay;
  return canvas.image();
}

void write_confusion_png(const std::string& path, const std::vector<std::vector<double>>& matrix,
                         const std::vector<std::string>& class_names) {
  write_png(path, draw_confusion(matrix, class_names));
}

// ---------------------------------------------------------------------------------------------

FilterGrid filter_grid(int64_t kernels, int64_t r, int64_t s, int scale) {
  ALEXNET_ASSERT(kernels > 0 && r > 0 && s > 0 && scale > 0);
  FilterGrid g;
  const double root = std::sqrt(double(kernels));
  const int64_t lo = int64_t(std::ceil(root - 1e-9));
  int64_t columns = lo;
  for (int64_t c = lo; c <= int64_t(2 * root); ++c)
    if (kernels % c == 0) {
      columns = c;
      break;
    }
  g.columns = int(columns);
  g.rows = int((kernels + columns - 1) / columns);
  g.pitch_x = int(s) * scale + 1;
  g.pitch_y = int(r) * scale + 1;
  g.width = g.columns * g.pitch_x + 1;
  g.height = g.rows * g.pitch_y + 1;
  return g;
}

Image draw_filters(const Tensor& weight_in, int scale, FilterNorm norm) {
  if (!weight_in.defined()) fail("filters: the weight tensor is empty");
  if (weight_in.ndim() != 4 || weight_in.dim(1) != 3)
    fail("filters: expected a first-layer weight [K, 3, R, S], got ", shape_str(weight_in.shape()));
  if (weight_in.dtype() != DType::F32 && weight_in.dtype() != DType::BF16)
    fail("filters: expected F32 or BF16 weights, got ", dtype_name(weight_in.dtype()));
  if (scale < 1 || scale > 64) fail("filters: scale ", scale, " is outside 1..64");
  const int64_t K = weight_in.dim(0), R = weight_in.dim(2), S = weight_in.dim(3);
  if (K < 1 || R < 1 || S < 1) fail("filters: the weight ", shape_str(weight_in.shape()), " has no kernels");
  if (K > 4096 || R * scale > 1024 || S * scale > 1024)
    fail("filters: ", shape_str(weight_in.shape()), " at scale ", scale, " is too large to draw");
  const Tensor weight = weight_in.dtype() == DType::F32 ? weight_in : weight_in.to(DType::F32);
  const float* w = weight.data<float>();  // [K, 3, R, S]
  const int64_t per_kernel = 3 * R * S;
  for (int64_t i = 0; i < weight.numel(); ++i)
    if (!std::isfinite(w[i]))
      fail("filters: weight element ", i, " (kernel ", i / per_kernel, ") is ", w[i], "; cannot draw non-finite weights");

  const FilterGrid g = filter_grid(K, R, S, scale);
  Canvas canvas(g.width, g.height);
  float global_lo = *std::min_element(w, w + weight.numel());
  float global_hi = *std::max_element(w, w + weight.numel());
  for (int64_t k = 0; k < K; ++k) {
    const float* kw = w + k * per_kernel;  // [3, R, S]
    float lo = global_lo, hi = global_hi;
    if (norm == FilterNorm::PerFilter) {
      lo = *std::min_element(kw, kw + per_kernel);
      hi = *std::max_element(kw, kw + per_kernel);
    }
    auto level = [lo, hi](float v) {
      if (!(hi > lo)) return uint8_t(128);
      return uint8_t(std::lround(std::clamp((double(v) - lo) / (double(hi) - lo), 0.0, 1.0) * 255));
    };
    const int x0 = 1 + int(k % g.columns) * g.pitch_x, y0 = 1 + int(k / g.columns) * g.pitch_y;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t s = 0; s < S; ++s) {
        const Rgb c{level(kw[(0 * R + r) * S + s]), level(kw[(1 * R + r) * S + s]), level(kw[(2 * R + r) * S + s])};
        canvas.fill_rect(x0 + int(s) * scale, y0 + int(r) * scale, scale, scale, c);
      }
  }
  return canvas.image();
}

void write_filters_png(const std::string& path, const Tensor& weight, int scale, FilterNorm norm) {
  write_png(path, draw_filters(weight, scale, norm));
}

}  // namespace alexnet::report
