// Flags about reading data that several subcommands share: --max-image-pixels, --ignore-exif-orientation,
// --exact-decode.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

#include "cli/common.h"
#include "data/image_codec.h"

namespace alexnet::cli {

struct DataLimitFlags {
  int64_t max_image_pixels = 0;  // 0: the default (kMaxImagePixels)
  bool ignore_exif_orientation = false;
  bool exact_decode = false;

  void add(CLI::App* cmd) {
    cmd->add_option("--max-image-pixels", max_image_pixels,
                    "Refuse images of more pixels (H*W) than this, from their header, before decoding (0 = the "
                    "default, 8192*8192 = 67108864; at most 2^32)")
        ->capture_default_str()
        ->check(number_check(int64_t(0), kMaxImagePixelsCeiling));
    cmd->add_flag("--ignore-exif-orientation", ignore_exif_orientation,
                  "Decode JPEGs as stored, ignoring the EXIF orientation tag that turns phone photos upright "
                  "(torchvision's behaviour)");
    cmd->add_flag("--exact-decode", exact_decode,
                  "Decode every JPEG at full size. By default a JPEG larger than the preset's resize needs is "
                  "decoded at 1/8, 1/4 or 1/2 of its size by the decoder's DCT scaling (a 4000x3000 photo at 1/8 for "
                  "a resize to 256): much faster, and a little different in pixels (docs/data-pipeline.md)");
  }
  // Sets the process-wide settings the decoders and readers use.
  void apply() const {
    if (max_image_pixels > 0) set_max_image_pixels(max_image_pixels);
    set_apply_exif_orientation(!ignore_exif_orientation);
    set_scaled_jpeg_decode(!exact_decode);
  }
};

}  // namespace alexnet::cli
