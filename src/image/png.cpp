#include "image/png.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <memory>

#include "core/atomic_file.h"

namespace alexnet {

namespace {

struct PngEncodeState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::jmp_buf jump;
  char message[256] = {};

  int height = 0, width = 0;
  const uint8_t* rgb = nullptr;
  std::vector<uint8_t> out;
};

void png_write_to_memory(png_structp png, png_bytep data, size_t count) {
  auto* s = static_cast<PngEncodeState*>(png_get_io_ptr(png));
  s->out.insert(s->out.end(), data, data + count);
}

void png_flush_nothing(png_structp) {}

void png_encode_warning(png_structp, png_const_charp) {}

[[noreturn]] void png_encode_error(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngEncodeState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", message);
  std::longjmp(s->jump, 1);
}

bool run_png_encode(PngEncodeState& s) {
  s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, png_encode_error, png_encode_warning);
  if (!s.png) return false;
  s.info = png_create_info_struct(s.png);
  if (!s.info) {
    png_destroy_write_struct(&s.png, nullptr);
    return false;
  }
  if (setjmp(s.jump)) {
    png_destroy_write_struct(&s.png, &s.info);
    return false;
  }
  png_set_write_fn(s.png, &s, png_write_to_memory, png_flush_nothing);
  png_set_IHDR(s.png, s.info, png_uint_32(s.width), png_uint_32(s.height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(s.png, s.info);
  for (int y = 0; y < s.height; ++y) png_write_row(s.png, s.rgb + size_t(y) * size_t(s.width) * 3);
  png_write_end(s.png, s.info);
  png_destroy_write_struct(&s.png, &s.info);
  return true;
}


}  // namespace

std::vector<uint8_t> encode_png(const Image& image) {
  check_rgb_image(image.height, image.width, image.pixels.size(), "encode_png");
  auto state = std::make_unique<PngEncodeState>();
  state->height = image.height;
  state->width = image.width;
  state->rgb = image.pixels.data();
  if (!run_png_encode(*state)) fail("encode_png: ", state->message[0] ? state->message : "cannot allocate a PNG writer");
  return std::move(state->out);
}

void write_png_rgb(const std::string& path, int height, int width, const uint8_t* rgb) {
  Image image;
  image.height = height;
  image.width = width;
  if (height > 0 && width > 0) image.pixels.assign(rgb, rgb + size_t(height) * size_t(width) * 3);
  write_png(path, image);
}

void write_png(const std::string& path, const Image& image) {
  const std::vector<uint8_t> bytes = encode_png(image);
  write_file_atomic(path, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

}  // namespace alexnet
