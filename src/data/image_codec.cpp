// libjpeg and libpng report errors through a callback that must not return. Ours longjmps back to
// the single function that called setjmp. Everything that function touches lives in a state struct
// owned by its caller, and no C++ object with a destructor sits between the setjmp and the library
// frames it jumps over, so the jump is well defined; the caller turns a failure into an exception.
#include "data/image_codec.h"

#include "core/atomic_file.h"

#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

namespace alexnet {

namespace {
std::atomic<int64_t> g_max_image_pixels{kMaxImagePixels};
std::atomic<bool> g_apply_exif_orientation{true};
}  // namespace

bool apply_exif_orientation() { return g_apply_exif_orientation.load(std::memory_order_relaxed); }
void set_apply_exif_orientation(bool apply) { g_apply_exif_orientation.store(apply, std::memory_order_relaxed); }

int64_t max_image_pixels() { return g_max_image_pixels.load(std::memory_order_relaxed); }

void set_max_image_pixels(int64_t pixels) {
  g_max_image_pixels.store(std::clamp<int64_t>(pixels, 1, kMaxImagePixelsCeiling), std::memory_order_relaxed);
}

ImageFormat detect_image_format(const uint8_t* data, size_t size) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat::Jpeg;
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return ImageFormat::Png;
  return ImageFormat::Unknown;
}

std::atomic<bool> g_scaled_jpeg_decode{true};

bool scaled_jpeg_decode() { return g_scaled_jpeg_decode.load(std::memory_order_relaxed); }
void set_scaled_jpeg_decode(bool scaled) { g_scaled_jpeg_decode.store(scaled, std::memory_order_relaxed); }

int jpeg_scale_eighths(int width, int height, int min_side) {
  if (min_side <= 0 || width <= 0 || height <= 0) return 8;
  const int64_t shorter = std::min(width, height);
  // Only 1/8, 1/4 and 1/2: libjpeg-turbo has SIMD inverse DCTs for those; 3/8, 5/8, 6/8 and 7/8 use
  // plain C ones and were measured no faster than the full decode (photos of 500x375 to 640x480 for
  // a resize to 256, docs/data-pipeline.md). A scale is taken when side * M / 8 >= min_side before
  // rounding (libjpeg then rounds the size up), which is Pillow's Image.draft rule: the deployed
  // Python program (tools/onnx_predict.py) decodes the same pixels.
  for (int m : {1, 2, 4})
    if (shorter * m >= int64_t(min_side) * 8) return m;
  return 8;
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors, int min_side) {
  switch (detect_image_format(data, size)) {
    case ImageFormat::Jpeg: return decode_jpeg(data, size, name_for_errors, min_side);
    case ImageFormat::Png: return decode_png(data, size, name_for_errors);
    case ImageFormat::Unknown: break;
  }
  if (size == 0) throw CorruptSample(cat(name_for_errors, ": empty file"));
  throw CorruptSample(cat(name_for_errors, ": not a JPEG or PNG image (unrecognised first bytes)"));
}

// ---------------------------------------------------------------------------------------------
// EXIF orientation

int exif_orientation(const uint8_t* payload, size_t size) {
  // "Exif\0\0", then a TIFF file: byte order ("II" little-endian, "MM" big-endian), 42, the offset of
  // the first IFD; an IFD is a count and 12-byte entries (tag, type, count, value or offset).
  if (size < 6 + 8 || std::memcmp(payload, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* t = payload + 6;
  const size_t n = size - 6;
  const bool little = t[0] == 'I' && t[1] == 'I';
  if (!little && !(t[0] == 'M' && t[1] == 'M')) return 1;
  auto u16 = [&](size_t at) -> uint32_t { return little ? t[at] | t[at + 1] << 8 : t[at] << 8 | t[at + 1]; };
  auto u32 = [&](size_t at) -> uint32_t {
    return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2);
  };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd + 2 > n) return 1;
  const size_t entries = u16(ifd);
  for (size_t i = 0; i < entries; ++i) {
    const size_t e = ifd + 2 + 12 * i;
    if (e + 12 > n) return 1;
    if (u16(e) != 0x0112) continue;
    // Type SHORT (3), one value, held in the first two bytes of the value field.
    if (u16(e + 2) != 3 || u32(e + 4) < 1) return 1;
    const uint32_t value = u16(e + 8);
    return value >= 1 && value <= 8 ? int(value) : 1;
  }
  return 1;
}

Image orient_image(Image image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const int H = image.height, W = image.width;
  Image out;
  out.height = orientation >= 5 ? W : H;
  out.width = orientation >= 5 ? H : W;
  out.pixels.resize(image.pixels.size());
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sy = y, sx = x;  // the source pixel of output (y, x)
      switch (orientation) {
        case 2: sx = W - 1 - x; break;
        case 3: sy = H - 1 - y, sx = W - 1 - x; break;
        case 4: sy = H - 1 - y; break;
        case 5: sy = x, sx = y; break;
        case 6: sy = H - 1 - x, sx = y; break;
        case 7: sy = H - 1 - x, sx = W - 1 - y; break;
        case 8: sy = x, sx = W - 1 - y; break;
      }
      std::memcpy(&out.pixels[(size_t(y) * size_t(out.width) + size_t(x)) * 3],
                  &image.pixels[(size_t(sy) * size_t(W) + size_t(sx)) * 3], 3);
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JPEG decoding

namespace {

// The size to grow a pixel buffer to when it must hold at least `needed` of `total` bytes: doubling,
// so rows are copied O(1) times each, and never past the whole image.
size_t grown_size(size_t current, size_t needed, size_t total) {
  if (current >= needed) return current;
  return std::min(total, std::max(needed, current * 2));
}

// Progressive files may hold any number of scans; a hostile one with thousands makes decoding
// crawl. Real encoders write about ten.
constexpr int kMaxJpegScans = 1000;

// libjpeg's error manager with the jump target and message beside it. `pub` comes first, so the
// pointer libjpeg hands back (cinfo->err) is also a pointer to this struct.
struct JpegErrorJump {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
};

JpegErrorJump* jpeg_jump(j_common_ptr cinfo) { return reinterpret_cast<JpegErrorJump*>(cinfo->err); }

struct JpegDecodeState {
  jpeg_decompress_struct cinfo;
  JpegErrorJump error;
  jpeg_progress_mgr progress;

  const uint8_t* data = nullptr;
  size_t size = 0;
  int height = 0, width = 0, components = 0;  // of `raw`
  bool adobe = false;                         // an Adobe marker: CMYK is stored inverted
  int orientation = 1;                        // EXIF, 1..8 (1 when absent or not applied)
  int min_side = 0;                           // > 0: decode at the smallest DCT scale keeping this
  std::vector<uint8_t> raw;                   // [H, W, components]
};

[[noreturn]] void jpeg_error_exit(j_common_ptr cinfo) {
  JpegErrorJump* e = jpeg_jump(cinfo);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace output
  // A truncated file: libjpeg would pad the rest with grey and carry on. Stop instead, so a cut-off
  // image is reported as corrupt rather than trained on (and a tiny file claiming huge dimensions
  // costs nothing).
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    JpegErrorJump* e = jpeg_jump(cinfo);
    std::snprintf(e->message, sizeof e->message, "file is truncated (premature end of JPEG data)");
    std::longjmp(e->jump, 1);
  }
  // The compressed data of a scan ended (at a marker: the end-of-image, say) before the image was
  // complete. libjpeg would also fill the rest with grey, so a few hundred bytes claiming 8192 x 8192
  // pixels would decode, slowly, to a 200 MB grey picture.
  if (cinfo->err->msg_code == JWRN_HIT_MARKER) {
    JpegErrorJump* e = jpeg_jump(cinfo);
    std::snprintf(e->message, sizeof e->message, "image data ends before the image is complete (premature end of data segment)");
    std::longjmp(e->jump, 1);
  }
  cinfo->err->num_warnings++;
}

void jpeg_silent(j_common_ptr) {}

void jpeg_limit_scans(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    JpegErrorJump* e = jpeg_jump(cinfo);
    std::snprintf(e->message, sizeof e->message, "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(e->jump, 1);
  }
}

// Decodes s.data into s.raw as RGB (3 components) or CMYK (4). Returns false with s.error.message set.
bool run_jpeg_decode(JpegDecodeState& s) {
  s.cinfo.err = jpeg_std_error(&s.error.pub);
  s.error.pub.error_exit = jpeg_error_exit;
  s.error.pub.emit_message = jpeg_emit_message;
  s.error.pub.output_message = jpeg_silent;
  if (setjmp(s.error.jump)) {
    jpeg_destroy_decompress(&s.cinfo);
    return false;
  }
  jpeg_create_decompress(&s.cinfo);
  s.progress.progress_monitor = jpeg_limit_scans;
  s.cinfo.progress = &s.progress;
  jpeg_mem_src(&s.cinfo, s.data, static_cast<unsigned long>(s.size));
  const bool orient = apply_exif_orientation();
  if (orient) jpeg_save_markers(&s.cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&s.cinfo, TRUE);
  // The first Exif APP1 segment, as Pillow reads it (a file may also hold XMP in APP1).
  for (jpeg_saved_marker_ptr m = orient ? s.cinfo.marker_list : nullptr; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      s.orientation = exif_orientation(m->data, m->data_length);
      break;
    }

  if (int64_t(s.cinfo.image_width) * int64_t(s.cinfo.image_height) > max_image_pixels()) {
    std::snprintf(s.error.message, sizeof s.error.message,
                  "image is %ux%u, more than the %lld pixels accepted (--max-image-pixels raises the limit)",
                  s.cinfo.image_width, s.cinfo.image_height, static_cast<long long>(max_image_pixels()));
    jpeg_destroy_decompress(&s.cinfo);
    return false;
  }
  switch (s.cinfo.jpeg_color_space) {
    case JCS_CMYK:
    case JCS_YCCK: s.cinfo.out_color_space = JCS_CMYK; break;
    default: s.cinfo.out_color_space = JCS_RGB; break;  // grayscale, YCbCr, RGB
  }
  s.adobe = s.cinfo.saw_Adobe_marker;
  // The shorter side is the same upright or not: the scale does not depend on the orientation.
  const int m = scaled_jpeg_decode() ? jpeg_scale_eighths(int(s.cinfo.image_width), int(s.cinfo.image_height), s.min_side) : 8;
  if (m < 8) {
    s.cinfo.scale_num = unsigned(m);
    s.cinfo.scale_denom = 8;
  }
  jpeg_start_decompress(&s.cinfo);

  s.height = int(s.cinfo.output_height);
  s.width = int(s.cinfo.output_width);
  s.components = s.cinfo.output_components;
  const size_t row_bytes = size_t(s.width) * size_t(s.components);
  // A single-scan file is decoded as its rows are read: its data reaching a marker (other than a
  // restart marker) more than two MCU rows before the last row means it ended early. libjpeg warns
  // for Huffman coding (JWRN_HIT_MARKER above) but its arithmetic decoder just goes on with zeros,
  // so a few hundred bytes claiming 1023 x 65348 pixels would decode, slowly, to grey.
  const bool one_scan = !jpeg_has_multiple_scans(&s.cinfo);
  // The decoder runs up to two MCU rows ahead of the rows it returns (fancy upsampling reads the
  // next one): its data ends that early in a good file.
  const JDIMENSION mcu_rows = JDIMENSION(2 * s.cinfo.max_v_samp_factor * DCTSIZE);
  while (s.cinfo.output_scanline < s.cinfo.output_height) {
    const int marker = s.cinfo.unread_marker;
    if (one_scan && marker != 0 && !(marker >= 0xD0 && marker <= 0xD7) &&
        s.cinfo.output_scanline + mcu_rows < s.cinfo.output_height) {
      std::snprintf(s.error.message, sizeof s.error.message,
                    "image data ends at row %u of %u (premature end of data segment)", s.cinfo.output_scanline,
                    s.cinfo.output_height);
      jpeg_destroy_decompress(&s.cinfo);
      return false;
    }
    // Grow with the rows actually decoded, so a short file claiming a huge image costs little.
    s.raw.resize(grown_size(s.raw.size(), row_bytes * (s.cinfo.output_scanline + 1), row_bytes * size_t(s.height)));
    JSAMPROW row = s.raw.data() + row_bytes * s.cinfo.output_scanline;
    jpeg_read_scanlines(&s.cinfo, &row, 1);
  }
  // Not jpeg_finish_decompress: every pixel is in, and a file that merely lacks its final marker
  // is still a good image.
  jpeg_destroy_decompress(&s.cinfo);
  return true;
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name_for_errors, int min_side) {
  auto state = std::make_unique<JpegDecodeState>();
  state->data = data;
  state->size = size;
  state->min_side = min_side;
  if (size == 0) throw CorruptSample(cat(name_for_errors, ": empty file"));
  bool decoded = false;
  try {
    decoded = run_jpeg_decode(*state);
  } catch (...) {  // std::bad_alloc from a pixel buffer: release libjpeg's memory too
    jpeg_destroy_decompress(&state->cinfo);
    throw;
  }
  if (!decoded) throw CorruptSample(cat(name_for_errors, ": corrupt JPEG: ", state->error.message));
  if (state->height <= 0 || state->width <= 0)
    throw CorruptSample(cat(name_for_errors, ": corrupt JPEG: zero-sized image"));

  Image image;
  image.height = state->height;
  image.width = state->width;
  const size_t pixels = size_t(image.height) * size_t(image.width);
  if (state->components == 3) {
    image.pixels = std::move(state->raw);
    return orient_image(std::move(image), state->orientation);
  }
  if (state->components != 4)
    throw CorruptSample(cat(name_for_errors, ": corrupt JPEG: ", state->components, " colour components"));
  // CMYK -> RGB: R = (255 - C) * (255 - K) / 255, and so on. Adobe files store 255 - C etc.
  image.pixels.resize(pixels * 3);
  const uint8_t* in = state->raw.data();
  uint8_t* out = image.pixels.data();
  for (size_t i = 0; i < pixels; ++i, in += 4, out += 3) {
    const unsigned k = state->adobe ? in[3] : 255u - in[3];
    for (int c = 0; c < 3; ++c) {
      const unsigned v = state->adobe ? in[c] : 255u - in[c];
      out[c] = uint8_t((v * k + 127) / 255);
    }
  }
  return orient_image(std::move(image), state->orientation);
}

// ---------------------------------------------------------------------------------------------
// PNG decoding

namespace {

struct PngDecodeState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::jmp_buf jump;
  char message[256] = {};

  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t position = 0;
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;  // [H, W, 3]
  std::vector<png_bytep> rows;  // H pointers into pixels
};

[[noreturn]] void png_error_to_jump(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngDecodeState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", message);
  std::longjmp(s->jump, 1);
}


// Decoding warnings are ignored, except those saying the pixel data ran out: libpng would fill the
// rest of the image with zeros and carry on, so a few bytes claiming 8192 x 8192 pixels would cost
// 200 MB and seconds. A truncated image is corrupt, as for JPEG.
void png_read_warning(png_structp png, png_const_charp message) {
  if (std::strstr(message, "Not enough image data") || std::strstr(message, "Truncated compressed data"))
    png_error(png, "file is truncated (not enough image data)");
}

void png_read_from_memory(png_structp png, png_bytep out, size_t count) {
  auto* s = static_cast<PngDecodeState*>(png_get_io_ptr(png));
  if (count > s->size - s->position) png_error(png, "file is truncated");
  std::memcpy(out, s->data + s->position, count);
  s->position += count;
}

bool run_png_decode(PngDecodeState& s) {
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_error_to_jump, png_read_warning);
  if (!s.png) {
    std::snprintf(s.message, sizeof s.message, "cannot allocate a PNG reader");
    return false;
  }
  s.info = png_create_info_struct(s.png);
  if (!s.info) {
    png_destroy_read_struct(&s.png, nullptr, nullptr);
    std::snprintf(s.message, sizeof s.message, "cannot allocate a PNG reader");
    return false;
  }
  if (setjmp(s.jump)) {
    png_destroy_read_struct(&s.png, &s.info, nullptr);
    return false;
  }
  png_set_read_fn(s.png, &s, png_read_from_memory);
  png_set_user_limits(s.png, 1u << 16, 1u << 16);
  png_read_info(s.png, s.info);

  const png_uint_32 width = png_get_image_width(s.png, s.info);
  const png_uint_32 height = png_get_image_height(s.png, s.info);
  if (int64_t(width) * int64_t(height) > max_image_pixels()) {
    std::snprintf(s.message, sizeof s.message,
                  "image is %ux%u, more than the %lld pixels accepted (--max-image-pixels raises the limit)",
                  unsigned(width), unsigned(height), static_cast<long long>(max_image_pixels()));
    png_destroy_read_struct(&s.png, &s.info, nullptr);
    return false;
  }
  const int color_type = png_get_color_type(s.png, s.info);
  const int bit_depth = png_get_bit_depth(s.png, s.info);

  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s.png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(s.png);
  if (bit_depth == 16) png_set_strip_16(s.png);
  // Palette expansion turns a tRNS chunk into an alpha channel; drop it with the rest.
  if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(s.png, s.info, PNG_INFO_tRNS)) png_set_strip_alpha(s.png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(s.png);
  png_set_interlace_handling(s.png);
  png_read_update_info(s.png, s.info);
  if (png_get_rowbytes(s.png, s.info) != size_t(width) * 3) png_error(s.png, "unexpected row size after conversion");

  s.height = int(height);
  s.width = int(width);
  const size_t row_bytes = size_t(width) * 3;
  if (png_get_interlace_type(s.png, s.info) == PNG_INTERLACE_NONE) {
    // Row by row, growing with the rows actually decoded (a short file claiming a huge image
    // costs little).
    for (png_uint_32 y = 0; y < height; ++y) {
      s.pixels.resize(grown_size(s.pixels.size(), row_bytes * (size_t(y) + 1), row_bytes * height));
      png_read_row(s.png, s.pixels.data() + row_bytes * y, nullptr);
    }
  } else {
    // Adam7 passes revisit every row: the whole image is needed up front.
    s.pixels.resize(row_bytes * height);
    s.rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) s.rows[y] = s.pixels.data() + size_t(y) * row_bytes;
    png_read_image(s.png, s.rows.data());
  }
  // Not png_read_end: the pixels are complete, and what follows them (text, IEND) does not matter.
  png_destroy_read_struct(&s.png, &s.info, nullptr);
  return true;
}

}  // namespace

Image decode_png(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  auto state = std::make_unique<PngDecodeState>();
  state->data = data;
  state->size = size;
  if (size == 0) throw CorruptSample(cat(name_for_errors, ": empty file"));
  bool decoded = false;
  try {
    decoded = run_png_decode(*state);
  } catch (...) {  // std::bad_alloc from a pixel buffer: release libpng's memory too
    png_destroy_read_struct(&state->png, &state->info, nullptr);
    throw;
  }
  if (!decoded) throw CorruptSample(cat(name_for_errors, ": corrupt PNG: ", state->message));
  if (state->height <= 0 || state->width <= 0) throw CorruptSample(cat(name_for_errors, ": corrupt PNG: zero-sized image"));
  Image image;
  image.height = state->height;
  image.width = state->width;
  image.pixels = std::move(state->pixels);
  return image;
}

// ---------------------------------------------------------------------------------------------
// Files

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw CorruptSample(cat(path, ": cannot open: ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw CorruptSample(cat(path, ": cannot stat: ", std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw CorruptSample(cat(path, ": not a regular file"));
  }
  if (uint64_t(st.st_size) > kMaxFileBytes) {
    ::close(fd);
    throw CorruptSample(cat(path, ": file is ", uint64_t(st.st_size), " bytes, more than the ", kMaxFileBytes,
                            " accepted for one image or batch file"));
  }
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : 0;
      ::close(fd);
      throw CorruptSample(cat(path, ": cannot read: ", e ? std::strerror(e) : "file shrank while reading"));
    }
    done += size_t(n);
  }
  ::close(fd);
  return bytes;
}

Image read_image_file(const std::string& path, int min_side) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), path, min_side);
}

// ---------------------------------------------------------------------------------------------
// JPEG encoding

namespace {

struct JpegEncodeState {
  jpeg_compress_struct cinfo;
  JpegErrorJump error;

  int height = 0, width = 0, components = 0, quality = 90;
  const uint8_t* pixels = nullptr;
  unsigned char* buffer = nullptr;  // malloc'ed by libjpeg
  unsigned long buffer_size = 0;
  std::vector<uint8_t> row;         // one row, inverted for CMYK
};

bool run_jpeg_encode(JpegEncodeState& s) {
  s.cinfo.err = jpeg_std_error(&s.error.pub);
  s.error.pub.error_exit = jpeg_error_exit;
  s.error.pub.output_message = jpeg_silent;
  if (setjmp(s.error.jump)) {
    jpeg_destroy_compress(&s.cinfo);
    return false;
  }
  jpeg_create_compress(&s.cinfo);
  jpeg_mem_dest(&s.cinfo, &s.buffer, &s.buffer_size);
  s.cinfo.image_width = JDIMENSION(s.width);
  s.cinfo.image_height = JDIMENSION(s.height);
  s.cinfo.input_components = s.components;
  s.cinfo.in_color_space = s.components == 1 ? JCS_GRAYSCALE : s.components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&s.cinfo);  // CMYK input is written as CMYK with an Adobe marker
  jpeg_set_quality(&s.cinfo, s.quality, TRUE);
  jpeg_start_compress(&s.cinfo, TRUE);
  const size_t row_bytes = size_t(s.width) * size_t(s.components);
  s.row.resize(row_bytes);
  while (s.cinfo.next_scanline < s.cinfo.image_height) {
    const uint8_t* src = s.pixels + row_bytes * s.cinfo.next_scanline;
    for (size_t i = 0; i < row_bytes; ++i) s.row[i] = s.components == 4 ? uint8_t(255 - src[i]) : src[i];
    JSAMPROW row = s.row.data();
    jpeg_write_scanlines(&s.cinfo, &row, 1);
  }
  jpeg_finish_compress(&s.cinfo);
  jpeg_destroy_compress(&s.cinfo);
  return true;
}

}  // namespace

std::vector<uint8_t> encode_jpeg(int height, int width, int components, const uint8_t* pixels, int quality) {
  if (height <= 0 || width <= 0) fail("encode_jpeg: image is ", height, "x", width);
  if (components != 1 && components != 3 && components != 4)
    fail("encode_jpeg: components must be 1, 3 or 4, got ", components);
  if (quality < 1 || quality > 100) fail("encode_jpeg: quality must be in 1..100, got ", quality);
  auto state = std::make_unique<JpegEncodeState>();
  state->height = height;
  state->width = width;
  state->components = components;
  state->quality = quality;
  state->pixels = pixels;
  const bool ok = run_jpeg_encode(*state);
  std::vector<uint8_t> out;
  if (ok) out.assign(state->buffer, state->buffer + state->buffer_size);
  std::free(state->buffer);
  if (!ok) fail("encode_jpeg: ", state->error.message);
  return out;
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  check_rgb_image(image.height, image.width, image.pixels.size(), "encode_jpeg");
  return encode_jpeg(image.height, image.width, 3, image.pixels.data(), quality);
}

}  // namespace alexnet
