// ImageNet (ILSVRC2012) in the layouts users have it (docs/data-formats.md, "ImageNet"):
//
//   * The official downloads side by side in ROOT, as torchvision.datasets.ImageNet(root) takes them:
//     ILSVRC2012_img_train.tar (a tar of 1,000 class tars, read in place by data/tar_index.h),
//     ILSVRC2012_img_val.tar (50,000 JPEGs in one flat level) and ILSVRC2012_devkit_t12.tar.gz (or
//     its extracted folder), whose data/ILSVRC2012_validation_ground_truth.txt gives each validation
//     image's ILSVRC2012_ID and data/meta.mat maps IDs to WNIDs. Extracted folders
//     ILSVRC2012_img_train/ and ILSVRC2012_img_val/ stand in for the tars.
//   * Kaggle's copy: ROOT/ILSVRC/Data/CLS-LOC/train/<wnid>/*.JPEG, ROOT/ILSVRC/Data/CLS-LOC/val/*.JPEG
//     (flat), with ROOT/LOC_synset_mapping.txt (the classes) and ROOT/LOC_val_solution.csv (labels).
//   * A flat validation tar or folder given alone, its labels (devkit or LOC_ files) beside it.
//
// The classes are the sorted WNIDs of the mapping (meta.mat's 1,000 leaf synsets, or
// LOC_synset_mapping.txt), the same list for every split, as torchvision's ImageNet orders them;
// Dataset::class_descriptions() holds the human-readable names ("tench, Tinca tinca").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/readers.h"

namespace alexnet {

// One entry of the devkit's meta.mat `synsets` struct array (the fields ImageNet's classes need).
struct Synset {
  int64_t id = 0;            // ILSVRC2012_ID: 1..1000 for the classes, above for inner nodes
  std::string wnid;          // "n01440764"
  std::string words;         // "tench, Tinca tinca"
  int64_t num_children = 0;  // 0: a leaf, one of the classes
};

// Reads meta.mat's `synsets` from the bytes of a MATLAB v5 MAT-file (data elements compressed with
// zlib or not; struct, char and numeric arrays). Anything else (a v7.3/HDF5 file, a big-endian one,
// a missing field, a broken element) throws alexnet::Error naming `name`.
std::vector<Synset> read_meta_mat(const uint8_t* data, size_t size, const std::string& name);

// The classes: WNIDs in byte order, with their names.
struct ImageNetClasses {
  std::vector<std::string> wnids;         // sorted
  std::vector<std::string> descriptions;  // per WNID
  std::map<int64_t, int64_t> by_id;       // ILSVRC2012_ID -> index into wnids (from meta.mat only)
  std::string source;                     // the file they came from, for messages

  // The index of `wnid`, or -1.
  int64_t find(const std::string& wnid) const;
};

// The leaf synsets (num_children == 0) of meta.mat. Throws alexnet::Error naming `name` for a
// duplicated ID or WNID, a WNID that is not 'n' and 8 digits, or no leaves at all.
ImageNetClasses classes_from_synsets(const std::vector<Synset>& synsets, const std::string& name);
// LOC_synset_mapping.txt: "n01440764 tench, Tinca tinca" per line.
ImageNetClasses read_synset_mapping(const std::string& text, const std::string& name);

// Validation labels: an image's file name less its extension ("ILSVRC2012_val_00000001") -> class.
struct ValidationLabels {
  std::unordered_map<std::string, int64_t> label;
  std::string source;
};
// The devkit's ground truth: line k holds the ILSVRC2012_ID of ILSVRC2012_val_<k, 8 digits>.
ValidationLabels read_ground_truth(const std::string& text, const ImageNetClasses& classes, const std::string& name);
// Kaggle's LOC_val_solution.csv: "ImageId,PredictionString", the prediction string's first word the WNID.
ValidationLabels read_loc_val_solution(const std::string& text, const ImageNetClasses& classes, const std::string& name);

// Opens the folder PATH when it is one of the layouts above; null when it is none of them (the caller
// goes on detecting). Split::Train reads the training images; Split::Val and Split::Test the
// validation images with their labels (ImageNet's test images have no public labels: with
// options.exact_split, Split::Test is an error). A flat validation folder given alone is one set
// used for every split.
std::unique_ptr<Dataset> open_imagenet_folder(const std::string& path, Split split, const DatasetOptions& options);

// Opens the uncompressed tar PATH (indexed as `index`) when it is a flat validation archive
// (ILSVRC2012_val_*.JPEG at its top level) with labels beside it; null when it is not one.
std::unique_ptr<Dataset> open_imagenet_val_tar(const std::string& path, const TarIndex& index,
                                               const DatasetOptions& options);

}  // namespace alexnet
