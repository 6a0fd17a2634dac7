// libFuzzer harness for ImageNet's label files (data/imagenet.h): the first byte picks the reader,
// the rest is the file. 0: meta.mat (a MAT v5 file) and its class list; 1: LOC_synset_mapping.txt;
// 2: LOC_val_solution.csv and 3: the devkit's ground truth, both against a fixed class list. Each
// may throw alexnet::Error; every label must name a class.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/imagenet.h"

using namespace alexnet;

namespace {

ImageNetClasses fixed_classes() {
  ImageNetClasses c = read_synset_mapping("n01440764 tench\nn01443537 goldfish\nn02119789 kit fox\n", "mapping");
  c.by_id = {{1, 2}, {2, 0}, {3, 1}};
  return c;
}

void check(const ValidationLabels& labels, size_t classes) {
  for (const auto& [image, label] : labels.label)
    if (label < 0 || size_t(label) >= classes) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const ImageNetClasses classes = fixed_classes();
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        const ImageNetClasses c = classes_from_synsets(read_meta_mat(data + 1, size - 1, "meta.mat"), "meta.mat");
        if (c.wnids.empty() || c.descriptions.size() != c.wnids.size()) __builtin_trap();
        for (const auto& [id, index] : c.by_id)
          if (index < 0 || size_t(index) >= c.wnids.size()) __builtin_trap();
        break;
      }
      case 1: {
        const ImageNetClasses c = read_synset_mapping(text, "LOC_synset_mapping.txt");
        if (c.wnids.empty() || c.descriptions.size() != c.wnids.size()) __builtin_trap();
        break;
      }
      case 2: check(read_loc_val_solution(text, classes, "LOC_val_solution.csv"), classes.wnids.size()); break;
      default: check(read_ground_truth(text, classes, "ground_truth.txt"), classes.wnids.size()); break;
    }
  } catch (const Error&) {
  }
  return 0;
}
