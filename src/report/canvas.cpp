#include "report/canvas.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

namespace alexnet::report {

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  ALEXNET_ASSERT(width > 0 && height > 0, "a canvas needs a positive size");
  pixels_.resize(size_t(width) * size_t(height) * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
}

Rgb Canvas::at(int x, int y) const {
  ALEXNET_ASSERT(x >= 0 && y >= 0 && x < width_ && y < height_, "pixel outside the canvas");
  const uint8_t* p = &pixels_[(size_t(y) * size_t(width_) + size_t(x)) * 3];
  return {p[0], p[1], p[2]};
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &pixels_[(size_t(y) * size_t(width_) + size_t(x)) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c) {
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(x + w, width_), y1 = std::min(y + h, height_);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) set(xx, yy, c);
}

void Canvas::rect(int x, int y, int w, int h, Rgb c) {
  if (w <= 0 || h <= 0) return;
  fill_rect(x, y, w, 1, c);
  fill_rect(x, y + h - 1, w, 1, c);
  fill_rect(x, y, 1, h, c);
  fill_rect(x + w - 1, y, 1, h, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int thickness) {
  // Bresenham's walk over the ideal line, stamping a square pen at every step.
  const int before = (thickness - 1) / 2, size = std::max(thickness, 1);
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    fill_rect(x0 - before, y0 - before, size, size, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void Canvas::text(int x, int y, std::string_view s, Rgb c, int scale) {
  for (char ch : s) {
    const uint8_t* rows = glyph_rows(ch);
    for (int r = 0; r < kGlyphHeight; ++r)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (rows[r] & (1u << (kGlyphWidth - 1 - col))) fill_rect(x + col * scale, y + r * scale, scale, scale, c);
    x += kGlyphAdvance * scale;
  }
}

void Canvas::text_up(int x, int y, std::string_view s, Rgb c, int scale) {
  // Glyph pixel (col, r) of a character that starts `along` pixels up the page lands at
  // x + r, y - along - col: the glyph's top faces left.
  int along = 0;
  for (char ch : s) {
    const uint8_t* rows = glyph_rows(ch);
    for (int r = 0; r < kGlyphHeight; ++r)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (rows[r] & (1u << (kGlyphWidth - 1 - col)))
          fill_rect(x + r * scale, y - (along + col + 1) * scale + 1, scale, scale, c);
    along += kGlyphAdvance;
  }
}

Image Canvas::image() const {
  Image out;
  out.height = height_;
  out.width = width_;
  out.pixels = pixels_;
  return out;
}

int text_width(std::string_view s, int scale) {
  if (s.empty()) return 0;
  return (int(s.size()) * kGlyphAdvance - (kGlyphAdvance - kGlyphWidth)) * scale;
}

}  // namespace alexnet::report
