// libFuzzer harness: any bytes through decode_image. A good image must have H*W*3 pixels; a bad one
// must throw CorruptSample. Anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>

#include "data/image_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const alexnet::Image im = alexnet::decode_image(data, size, "fuzz-input");
    if (im.height <= 0 || im.width <= 0 || im.pixels.size() != size_t(im.height) * size_t(im.width) * 3)
      __builtin_trap();
  } catch (const alexnet::CorruptSample&) {
  }
  return 0;
}
