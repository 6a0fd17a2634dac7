// A decoded picture: what the data readers produce and the report draws. Below both data/ and
// report/, so neither needs the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace alexnet {

struct Image {
  int height = 0, width = 0;     // H, W
  std::vector<uint8_t> pixels;   // [H, W, 3] RGB
};

// Throws alexnet::Error unless `bytes` == height * width * 3 with both sides positive.
inline void check_rgb_image(int height, int width, size_t bytes, const char* what) {
  if (height <= 0 || width <= 0 || bytes != size_t(height) * size_t(width) * 3)
    fail(what, ": image is ", height, "x", width, " but holds ", bytes, " bytes (expected H*W*3)");
}

}  // namespace alexnet
