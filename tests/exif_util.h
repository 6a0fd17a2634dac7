// Test pictures with an EXIF orientation: a JPEG from encode_jpeg with an APP1 (Exif) segment
// written here, byte by byte, holding one IFD with one entry, the Orientation tag (0x0112).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "data/image_codec.h"

namespace alexnet::testing {

// `jpeg` with an Exif APP1 segment saying `orientation` (1..8, or any value to test bad ones),
// placed after the JFIF APP0 segment (or right after SOI when there is none). `big_endian`: the
// TIFF block in Motorola byte order ("MM") instead of Intel ("II").
inline std::vector<uint8_t> with_exif_orientation(const std::vector<uint8_t>& jpeg, int orientation,
                                                  bool big_endian = false) {
  std::vector<uint8_t> tiff;
  auto put16 = [&](uint32_t v) {
    const uint8_t hi = uint8_t(v >> 8), lo = uint8_t(v);
    tiff.push_back(big_endian ? hi : lo);
    tiff.push_back(big_endian ? lo : hi);
  };
  auto put32 = [&](uint32_t v) {
    if (big_endian) put16(v >> 16), put16(v & 0xFFFF);
    else put16(v & 0xFFFF), put16(v >> 16);
  };
  tiff.push_back(big_endian ? 'M' : 'I');
  tiff.push_back(big_endian ? 'M' : 'I');
  put16(42);
  put32(8);  // IFD0 right after the header
  put16(1);  // one entry
  put16(0x0112);
  put16(3);  // SHORT
  put32(1);  // one value
  put16(uint32_t(orientation));
  put16(0);  // the rest of the 4-byte value field
  put32(0);  // no next IFD

  std::vector<uint8_t> segment = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  segment.insert(segment.end(), tiff.begin(), tiff.end());
  const size_t length = segment.size() - 2;  // the length counts itself, not the marker
  segment[2] = uint8_t(length >> 8);
  segment[3] = uint8_t(length);

  size_t at = 2;  // after SOI
  if (jpeg.size() > 6 && jpeg[2] == 0xFF && jpeg[3] == 0xE0) at = 4 + (size_t(jpeg[4]) << 8 | jpeg[5]);
  std::vector<uint8_t> out(jpeg.begin(), jpeg.begin() + long(at));
  out.insert(out.end(), segment.begin(), segment.end());
  out.insert(out.end(), jpeg.begin() + long(at), jpeg.end());
  return out;
}

}  // namespace alexnet::testing
