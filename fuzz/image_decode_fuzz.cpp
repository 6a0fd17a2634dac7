// libFuzzer harness: any bytes through decode_image. A good image must have H*W*3 pixels; a bad one
// must throw CorruptSample. Anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>

#include "data/image_codec.h"

// At the default limit (2^26 pixels) a few hundred bytes of progressive CMYK JPEG may legitimately
// decode to 64M pixels: 2.4 s natively, over 10 s under ASan and coverage, which libFuzzer counts as
// a hang. The work is bounded by the limit, so the harness lowers it to 2^22 (2048 x 2048) and
// explores the same code with each input costing at most a sixteenth of that.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  alexnet::set_max_image_pixels(int64_t(1) << 22);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const alexnet::Image im = alexnet::decode_image(data, size, "fuzz-input");
    if (im.height <= 0 || im.width <= 0 || im.pixels.size() != size_t(im.height) * size_t(im.width) * 3)
      __builtin_trap();
  } catch (const alexnet::CorruptSample&) {
  }
  return 0;
}
