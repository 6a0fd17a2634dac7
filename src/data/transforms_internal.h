// What the transforms' files share (src/data/transforms*.cpp); not part of the interface.
#pragma once

#include <cstdint>

#include "data/transforms.h"

namespace alexnet::detail {

// An image of h x w pixels, zeroed.
Image make_image(int h, int w);
// Asserts that the image's pixels match its size.
void check_image(const Image& image);
// Resamples through the float kernel and rounds back to uint8 HWC: out [rows.out_size, cols.out_size, 3].
void resample_u8(const Image& image, const ResizeAxis& rows, const ResizeAxis& cols, uint8_t* out);
// Bytes to planar floats, byte * scale[c] + shift[c] per channel.
void to_float_chw(const Image& image, const float scale[3], const float shift[3], float* out);

}  // namespace alexnet::detail
