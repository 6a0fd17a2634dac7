// Datasets: indexed collections of labelled images, whatever their format on disk.
//
// A Dataset hands out one sample at a time, decoded to 8-bit RGB, height x width x 3 (HWC), and is
// safe to call from many loader threads at once. Formats (data/readers): CIFAR-10/100 binary
// (folder or official .tar.gz), ImageFolder (folder, .tar or .tar.gz), and safetensors tensor files.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/image.h"

namespace alexnet {

// Image (a decoded picture) is image/image.h's.

// Thrown for one unreadable sample inside an otherwise good dataset (a corrupt JPEG, say): the
// loader skips it with a warning and counts it. Structural problems throw alexnet::Error instead.
class CorruptSample : public Error {
 public:
  using Error::Error;
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual size_t size() const = 0;
  virtual int64_t label(size_t index) const = 0;
  virtual const std::vector<std::string>& classes() const = 0;
  // Human-readable names of classes(), one per class, where the data has them (ImageNet's WNID
  // n01440764 is "tench, Tinca tinca"); empty otherwise. classes() stays the identity that labels,
  // checkpoints and class matching use; these are for people.
  virtual const std::vector<std::string>& class_descriptions() const {
    static const std::vector<std::string> none;
    return none;
  }
  // Decodes sample `index`. Thread-safe.
  virtual Image image(size_t index) const = 0;
  // The same, for a caller that will shrink the image to a shorter side of min_side: a dataset of
  // JPEG files may decode it smaller, its shorter side still >= min_side (decode_image's DCT
  // scaling, data/image_codec.h). Datasets that wrap another pass it on. Thread-safe.
  virtual Image image_scaled(size_t index, int min_side) const {
    (void)min_side;
    return image(index);
  }

  // Tensor datasets that hold float images ([N, 3, H, W] F32, used exactly as given) say so here and
  // copy sample `index` (3*H*W floats, {H, W} = float_image_size()) with float_image; every other
  // dataset decodes with image(). All float images of a dataset share one size.
  virtual bool has_float_images() const { return false; }
  virtual std::array<int, 2> float_image_size() const { return {0, 0}; }
  virtual void float_image(size_t /*index*/, float* /*out*/) const { fail("dataset has no float images"); }

  // Where sample `index` comes from, for messages: "PATH", "ARCHIVE:MEMBER", "BATCH record N",
  // "FILE image N".
  virtual std::string sample_name(size_t index) const { return cat(describe(), ", sample ", index); }

  // A short description: "CIFAR-10 binary (train split)", "ImageFolder in tar.gz", ...
  virtual std::string describe() const = 0;
};

}  // namespace alexnet
