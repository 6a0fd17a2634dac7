// libFuzzer harness: a safetensors tensor dataset fed through the loader to a model whose input size
// need not match the images, as `alexnet train --data X.safetensors` does. The first two bytes choose
//   byte 0: the model's input size S (1 .. 64, or 224) and the batch size (1 or 3);
//   byte 1: bits 0-1 the preset (none, seed, standard, paper), bit 2 training (else evaluation),
//           bit 3 --resize-float, bit 4 uint8 batches, bit 5 small images (CIFAR-like);
// the rest is the file. Opening, the shape rule and loading may throw alexnet::Error; every batch
// that comes out must be S x S (or the uint8 source size) and finite, and nothing may write past a
// batch slot (AddressSanitizer watches the loader's buffers).
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/loader.h"
#include "data/readers.h"

using namespace alexnet;
namespace fs = std::filesystem;

namespace {

const std::string& input_path() {
  static const std::string path = [] {
    std::string t = (fs::temp_directory_path() / "tensor_loader_fuzz_XXXXXX").string();
    if (!mkdtemp(t.data())) __builtin_trap();
    return t + "/data.safetensors";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int S = data[0] % 66 == 65 ? 224 : 1 + data[0] % 66 % 64;
  const int batch = (data[0] & 0x80) ? 3 : 1;
  const uint8_t flags = data[1];
  static const char* kPresets[] = {"none", "seed", "standard", "paper"};
  {
    std::ofstream out(input_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 2), std::streamsize(size - 2));
  }
  DatasetOptions dopt;
  dopt.warn = [](const std::string&) {};
  try {
    const std::unique_ptr<Dataset> d = open_tensor_dataset(input_path(), dopt);
    LoaderOptions o;
    o.batch_size = batch;
    o.threads = 1;
    o.prefetch = 2;
    o.drop_last = false;
    o.train = (flags & 4) != 0;
    o.transform.preset = kPresets[flags & 3];
    o.transform.input_size = S;
    o.transform.small_images = (flags & 32) != 0;
    o.resize_float_images = (flags & 8) != 0;
    o.format = (flags & 16) ? BatchFormat::U8_NHWC : BatchFormat::F32_NCHW;
    o.pca_images = 4;
    o.warn = [](const std::string&) {};
    Loader loader(*d, o);
    loader.start_epoch(0);
    for (int b = 0; b < 2; ++b) {
      const Batch* batch_out = loader.next();
      if (!batch_out) break;
      if (batch_out->size < 1 || batch_out->size > batch) __builtin_trap();
      for (int64_t i = 0; i < batch_out->size; ++i) {
        const int64_t label = batch_out->labels[i];
        if (label < 0 || size_t(label) >= d->classes().size()) __builtin_trap();
      }
      if (o.format == BatchFormat::F32_NCHW) {
        if (batch_out->height != S || batch_out->width != S) __builtin_trap();
        // Float datasets may hold NaN or infinity as given; decoded ones must come out finite.
        if (!d->has_float_images())
          for (int64_t k = 0; k < batch_out->size * 3 * S * S; ++k)
            if (!std::isfinite(batch_out->images_f32[k])) __builtin_trap();
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
