// Writing pictures as PNG (libpng), for the report and for test data. Reading is data/image_codec.h's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/image.h"

namespace alexnet {

// PNG, 8-bit RGB, no interlacing. Throws alexnet::Error for an image whose pixel count is not H*W*3.
std::vector<uint8_t> encode_png(const Image& image);
// Writes `image` as an RGB PNG to PATH (via a temporary file and a rename, so a reader never sees
// half a file). Throws alexnet::Error naming the path when it cannot be written.
void write_png(const std::string& path, const Image& image);
// The same from raw pixels: `rgb` is [height, width, 3].
void write_png_rgb(const std::string& path, int height, int width, const uint8_t* rgb);

}  // namespace alexnet
