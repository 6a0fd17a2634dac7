// libFuzzer harness for ImageFolder in a tar (optionally compressed): the bytes are the archive. The
// first byte picks the split. Opening may throw alexnet::Error; decoding a sample may throw
// CorruptSample; labels must name a class.
#include <cstddef>
#include <cstdint>

#include "data/image_codec.h"
#include "data/readers.h"

using namespace alexnet;

// As in image_decode_fuzz: an image may decode to at most 2^22 pixels here, so that one large but
// valid sample cannot pass libFuzzer's 10 s hang limit under ASan (each archive decodes up to 16).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  set_max_image_pixels(int64_t(1) << 22);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Split split = data[0] % 3 == 0 ? Split::Train : data[0] % 3 == 1 ? Split::Val : Split::Test;
  DatasetOptions options;
  options.warn = [](const std::string&) {};
  try {
    std::vector<ArchiveMember> members = read_archive_memory(data + 1, size - 1, "fuzz.tar");
    std::unique_ptr<Dataset> d = open_image_folder_archive(std::move(members), "fuzz.tar", split, options);
    if (d->size() == 0 || d->classes().empty()) __builtin_trap();
    for (size_t i = 0; i < d->size() && i < 16; ++i) {
      const int64_t label = d->label(i);
      if (label < 0 || size_t(label) >= d->classes().size()) __builtin_trap();
      try {
        const Image im = d->image(i);
        if (im.pixels.size() != size_t(im.height) * size_t(im.width) * 3) __builtin_trap();
      } catch (const CorruptSample&) {
      }
    }
  } catch (const CorruptSample&) {
    __builtin_trap();  // opening never decodes, so it never reports one bad sample
  } catch (const Error&) {
  }
  return 0;
}
