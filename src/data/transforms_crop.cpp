// Crops and mirrors: fixed, centred, random (with padding), random-resized, and the 10 crops.
#include "data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "data/transforms_internal.h"

namespace alexnet {

using detail::check_image;
using detail::make_image;
using detail::resample_u8;

Image crop(const Image& image, int top, int left, int h, int w) {
  check_image(image);
  Image out = make_image(h, w);
  const int x0 = std::max(left, 0), x1 = std::min(left + w, image.width);
  for (int y = 0; y < h; ++y) {
    int sy = top + y;
    if (sy < 0 || sy >= image.height || x1 <= x0) continue;
    std::memcpy(&out.pixels[(size_t(y) * size_t(w) + size_t(x0 - left)) * 3],
                &image.pixels[(size_t(sy) * size_t(image.width) + size_t(x0)) * 3], size_t(x1 - x0) * 3);
  }
  return out;
}

std::array<int, 2> center_crop_offset(int height, int width, int h, int w) {
  return {int(std::nearbyint((height - h) / 2.0)), int(std::nearbyint((width - w) / 2.0))};
}

Image center_crop(const Image& image, int h, int w) {
  auto [top, left] = center_crop_offset(image.height, image.width, h, w);
  return crop(image, top, left, h, w);
}

Image random_crop(const Image& image, int h, int w, int pad, SampleRng& rng) {
  int top = rng.uniform_int(0, image.height + 2 * pad - h) - pad;
  int left = rng.uniform_int(0, image.width + 2 * pad - w) - pad;
  return crop(image, top, left, h, w);
}

void flip_horizontal(Image& image) {
  const int W = image.width;
  for (int y = 0; y < image.height; ++y) {
    uint8_t* row = image.pixels.data() + size_t(y) * size_t(W) * 3;
    for (int a = 0, b = W - 1; a < b; ++a, --b)
      for (int c = 0; c < 3; ++c) std::swap(row[3 * a + c], row[3 * b + c]);
  }
}

CropBox random_resized_crop_box(int height, int width, SampleRng& rng, std::array<double, 2> scale,
                                std::array<double, 2> ratio) {
  const double area = double(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target_area = area * rng.uniform(scale[0], scale[1]);
    double aspect = std::exp(rng.uniform(log_lo, log_hi));
    int w = int(std::nearbyint(std::sqrt(target_area * aspect)));
    int h = int(std::nearbyint(std::sqrt(target_area / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      int top = rng.uniform_int(0, height - h);
      int left = rng.uniform_int(0, width - w);
      return {top, left, h, w};
    }
  }
  double in_ratio = double(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio[0]) {
    h = int(std::nearbyint(w / ratio[0]));
  } else if (in_ratio > ratio[1]) {
    w = int(std::nearbyint(h * ratio[1]));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

// ---------------------------------------------------------------------------------------------
// 10-crop

std::array<CropBox, 5> five_crop_boxes(int height, int width, int size) {
  if (size > height || size > width)
    fail("10-crop of size ", size, " does not fit an image of ", height, "x", width);
  auto [ct, cl] = center_crop_offset(height, width, size, size);
  return {CropBox{0, 0, size, size}, CropBox{0, width - size, size, size}, CropBox{height - size, 0, size, size},
          CropBox{height - size, width - size, size, size}, CropBox{ct, cl, size, size}};
}

std::vector<Image> ten_crop(const Image& image, int size) {
  std::vector<Image> crops;
  for (const CropBox& b : five_crop_boxes(image.height, image.width, size))
    crops.push_back(crop(image, b.top, b.left, b.height, b.width));
  for (int i = 0; i < 5; ++i) {
    crops.push_back(crops[size_t(i)]);
    flip_horizontal(crops.back());
  }
  return crops;
}

}  // namespace alexnet
