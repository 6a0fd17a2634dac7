// A small RGB drawing surface for the report's pictures: filled rectangles, thick lines, and text in a
// built-in 5x7 bitmap font. No plotting or font library is involved; every pixel is set here.
//
// Coordinates are pixels, x to the right and y downwards, (0, 0) the top-left corner. Everything
// drawn is clipped to the canvas, so callers may draw partly outside it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "image/image.h"

namespace alexnet::report {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};

// The font: each glyph is kGlyphWidth x kGlyphHeight pixels and text advances kGlyphAdvance per
// character (one blank column between glyphs), times the text's integer scale. Letters are capitals
// only; lower-case text is drawn in capitals. Characters without a glyph are drawn as '?'.
inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = 6;

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb at(int x, int y) const;  // asserts that (x, y) is inside

  void set(int x, int y, Rgb c);  // ignored outside the canvas
  void fill_rect(int x, int y, int w, int h, Rgb c);
  // A straight line from (x0, y0) to (x1, y1), both ends included, `thickness` pixels wide (a square
  // pen centred on the ideal line; odd thicknesses centre exactly).
  void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);
  // The outline of a rectangle, one pixel wide, corners (x, y) and (x + w - 1, y + h - 1).
  void rect(int x, int y, int w, int h, Rgb c);

  // Text whose top-left corner is (x, y), left to right.
  void text(int x, int y, std::string_view s, Rgb c, int scale = 1);
  // Text read bottom-to-top (turned 90 degrees anticlockwise); (x, y) is the bottom-left corner of
  // the first character as it appears on the page.
  void text_up(int x, int y, std::string_view s, Rgb c, int scale = 1);

  // The 8-bit RGB image, [H, W, 3].
  Image image() const;

 private:
  int width_, height_;
  std::vector<uint8_t> pixels_;  // [H, W, 3]
};

// The width in pixels of `s` drawn at `scale` (no trailing blank column).
int text_width(std::string_view s, int scale = 1);

// The 7 rows of a character's glyph, bit 4 the leftmost column; '?' for a character without one.
const uint8_t* glyph_rows(char c);

}  // namespace alexnet::report
