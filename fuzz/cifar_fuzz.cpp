// libFuzzer harness for the CIFAR reader. The first byte chooses what the rest is:
//   bit 0 clear: one raw batch file (CIFAR-10 test_batch.bin, or CIFAR-100 test.bin with bit 1 set);
//   bit 0 set:   a whole archive, read as open_dataset reads a .tar.gz;
//   bit 2: CIFAR-100 coarse labels; bit 3: the test split (else train).
// Readers may throw alexnet::Error (structural) or CorruptSample; every sample of a dataset that
// opened must have a label naming a class and a 32x32 image.
#include <cstddef>
#include <cstdint>

#include "data/readers.h"

using namespace alexnet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  DatasetOptions options;
  options.warn = [](const std::string&) {};
  options.cifar100_labels = (mode & 4) ? Cifar100Labels::Coarse : Cifar100Labels::Fine;
  try {
    std::unique_ptr<Dataset> d;
    if (mode & 1) {
      std::vector<ArchiveMember> members = read_archive_memory(data + 1, size - 1, "fuzz.tar.gz");
      const Split split = (mode & 8) ? Split::Test : Split::Train;
      bool cifar = false;
      for (const ArchiveMember& m : members) cifar = cifar || is_cifar_member_name(m.name);
      if (!cifar) return 0;
      d = open_cifar_archive(std::move(members), "fuzz.tar.gz", split, options);
    } else {
      std::vector<ArchiveMember> members(1);
      members[0].name = (mode & 2) ? "cifar-100-binary/test.bin" : "cifar-10-batches-bin/test_batch.bin";
      members[0].data.assign(data + 1, data + size);
      d = open_cifar_archive(std::move(members), "fuzz-batch", Split::Test, options);
    }
    for (size_t i = 0; i < d->size() && i < 64; ++i) {
      const int64_t label = d->label(i);
      if (label < 0 || size_t(label) >= d->classes().size()) __builtin_trap();
      const Image im = d->image(i);
      if (im.height != 32 || im.width != 32 || im.pixels.size() != 32 * 32 * 3) __builtin_trap();
    }
  } catch (const Error&) {
  }
  return 0;
}
