// Image files in memory: decoding JPEG and PNG to 8-bit RGB, and writing PNG (pictures) and JPEG
// (test data).
//
// Decoders never crash or exit on bad input: a corrupt, truncated or oversized file throws
// CorruptSample naming the file. The format is told by magic bytes, never by the file name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "image/png.h"

namespace alexnet {

enum class ImageFormat { Unknown, Jpeg, Png };

// Looks at the first bytes: FF D8 FF is JPEG, 89 'P' 'N' 'G' 0D 0A 1A 0A is PNG.
ImageFormat detect_image_format(const uint8_t* data, size_t size);

// The largest image the decoders (and tensor datasets) accept, in pixels (H*W): by default 8192 x 8192.
// Anything larger is refused from the header alone, before any pixel buffer is made, so that a few
// bytes of header cannot ask for gigabytes. set_max_image_pixels (the --max-image-pixels flag) raises
// or lowers it for the whole process; the value is clamped to [1, kMaxImagePixelsCeiling].
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;
constexpr int64_t kMaxImagePixelsCeiling = int64_t(1) << 32;  // 65536 x 65536, what libpng and libjpeg reach
int64_t max_image_pixels();
void set_max_image_pixels(int64_t pixels);

// EXIF orientation: a JPEG whose APP1 (Exif) segment holds an Orientation tag of 2..8 is turned
// upright after decoding, as Pillow's ImageOps.exif_transpose does (phones store pictures as the
// sensor saw them and say how to turn them). On by default; set_apply_exif_orientation(false) (the
// --ignore-exif-orientation flag) decodes every JPEG as stored, as torchvision does. Process-wide.
bool apply_exif_orientation();
void set_apply_exif_orientation(bool apply);

// The EXIF Orientation tag (1..8) of a JPEG's APP1 segment `payload` (the bytes after the length,
// starting "Exif\0\0"), or 1 when there is none or it cannot be read (a damaged EXIF block is ignored,
// never an error: the pixels do not depend on it).
int exif_orientation(const uint8_t* payload, size_t size);

// The image turned upright for an EXIF orientation 1..8 (orientations 5..8 swap height and width):
//   2 mirror left-right, 3 rotate 180, 4 mirror top-bottom, 5 transpose, 6 rotate 90 clockwise,
//   7 transverse, 8 rotate 90 counter-clockwise. 1 (or any other value) returns it unchanged.
Image orient_image(Image image, int orientation);

// Decoding a JPEG at the size it is needed: with min_side > 0, a JPEG is decoded by libjpeg's DCT
// scaling at 1/8, 1/4 or 1/2 of its size, the smallest for which shorter side * scale >= min_side
// (none when the shorter side is under 2 min_side: then it is decoded whole, as PNGs are).
// The caller then resizes as it would the full image (its shorter side to min_side), so a 4000x3000
// photo decodes at 1/8 for a resize to 256. On by default; set_scaled_jpeg_decode(false) (the
// --exact-decode flag) always decodes at full size. Process-wide. docs/data-pipeline.md has the
// pixel difference this makes.
bool scaled_jpeg_decode();
void set_scaled_jpeg_decode(bool scaled);
// The scale M (of M/8: 1, 2, 4 or 8) for a JPEG of width x height decoded for a shorter side of
// min_side: 8 (full size) when min_side <= 0 or no smaller M keeps the shorter side >= min_side.
int jpeg_scale_eighths(int width, int height, int min_side);

// Decodes a JPEG or PNG held in memory to RGB, 8 bits per channel, [H, W, 3].
//   JPEG: grayscale is replicated to RGB; CMYK and YCCK are converted (Adobe files store inverted CMYK);
//         the EXIF orientation is applied (above).
//   PNG: gray, gray+alpha, palette, RGB and RGBA, 1 to 16 bits. Alpha is dropped (not composited) and
//        16-bit samples keep their high byte, as PIL's convert("RGB") does.
// Throws CorruptSample("NAME: ...") for anything it cannot decode; `name_for_errors` is the file or
// archive member the bytes came from.
// min_side > 0: a JPEG may come back smaller, its shorter side still >= min_side (above).
Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors, int min_side = 0);
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name_for_errors, int min_side = 0);
Image decode_png(const uint8_t* data, size_t size, const std::string& name_for_errors);

// The largest file read_file_bytes reads (1 GiB): a bigger one is refused before any buffer is made.
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 30;

// Reads a whole regular file (a FIFO, socket or device is refused without waiting on it); throws
// CorruptSample naming the path when it cannot be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);
// Reads and decodes an image file (min_side: as decode_image).
Image read_image_file(const std::string& path, int min_side = 0);

// PNG writing (encode_png, write_png, write_png_rgb) is image/png.h's, included here for callers.

// JPEG, baseline, 4:2:0 for colour, at `quality` (1..100). `components` says what `pixels` holds per
// pixel: 1 grayscale, 3 RGB, 4 CMYK stored inverted with an Adobe marker (as Photoshop writes it).
// Used to make test data.
std::vector<uint8_t> encode_jpeg(int height, int width, int components, const uint8_t* pixels, int quality);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality);

}  // namespace alexnet
