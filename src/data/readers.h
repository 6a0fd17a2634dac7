// Opening a dataset from a path, whatever its format (docs/data-formats.md has the details):
//
//   * CIFAR-10 / CIFAR-100 binary: the extracted folder (cifar-10-batches-bin, cifar-100-binary, or a
//     folder holding one of them) or the official .tar.gz, read in place.
//   * ImageFolder: ROOT/<class>/<image>.{jpg,jpeg,png}, as a folder, .tar or .tar.gz. A train/,
//     val/ or test/ level is recognised and chosen by the split; single leading folders are skipped.
//     An uncompressed tar is indexed and read in place (data/tar_index.h), a tar of class tars
//     (ImageNet's training archive) included; a compressed one is read whole, up to 1 GiB.
//   * ImageNet's layouts (data/imagenet.h): the official train tar, validation tar and devkit side
//     by side, Kaggle's folders with its LOC_ files, or a flat validation tar or folder with labels
//     beside it.
//   * A safetensors tensor dataset: `images` (F32 [N, 3, H, W] or U8 [N, H, W, 3]) and `labels`
//     (I64 [N]), class names optionally in the metadata key `classes` (a JSON list).
//
// The format is told from what PATH is (a folder's entries, a file's first bytes, an archive's member
// names), never from its extension. Structural problems (a missing batch, a truncated record file,
// a label out of range, an empty class folder, a broken archive) throw alexnet::Error naming the
// file; one undecodable image inside a good dataset throws CorruptSample from Dataset::image().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace alexnet {

enum class Split { Train, Val, Test };

// "train", "val", "test".
const char* split_name(Split split);
// Parses "train", "val"/"validation", "test"; throws alexnet::Error for anything else.
Split parse_split(const std::string& name);

enum class Cifar100Labels { Fine, Coarse };  // 100 classes or 20 superclasses

struct DatasetOptions {
  Cifar100Labels cifar100_labels = Cifar100Labels::Fine;
  // Receives one line per problem that does not stop the dataset from opening (skipped non-image
  // files, say). Empty: the line is printed to stderr as "warning: ...".
  std::function<void(const std::string&)> warn;
  // ImageFolder with train/, val/ or test/ folders: open exactly the folder named by the split (no
  // fallback from val/ to test/ or back), so that a caller can tell which splits exist.
  bool exact_split = false;
};

// Opens PATH as one of the formats above.
//   Split::Train: CIFAR's training batches, ImageFolder's train/.
//   Split::Val / Split::Test: CIFAR's test batch (CIFAR has no separate validation set: carve one out
//   of the training set with split_off_validation); ImageFolder's val/ (else test/) for Val, test/
//   (else val/) for Test. An ImageFolder without a split level is used whole for every split.
//   A safetensors file is one set of samples and is used whole for every split.
// Throws alexnet::Error with one line naming PATH when it does not exist or has no known format.
std::unique_ptr<Dataset> open_dataset(const std::string& path, Split split, const DatasetOptions& options = {});

// The splits PATH holds, each opened on its own (for `info --data` and `eval --split auto`): a split
// that is not there is null, and its error is in `missing`. A set without splits of its own (a tensor
// file, an ImageFolder without train/val/test folders) gives the same samples for every split: then
// `whole` is set and only `train` is filled. CIFAR has train and test (its val is its test).
struct DatasetSplits {
  std::unique_ptr<Dataset> train, val, test;
  bool whole = false;
  std::string missing;  // why each absent split is absent, "; "-separated
};
// A split that is not there at all (no training batches, no val/ folder), as opposed to one that is
// there but broken: open_dataset_splits records the first and passes the second on.
class SplitAbsent : public Error {
 public:
  using Error::Error;
};
// Throws alexnet::Error when a split is present but broken (a truncated batch, an empty class
// folder), or when no split opens at all (with the train split's error).
DatasetSplits open_dataset_splits(const std::string& path, const DatasetOptions& options = {});

// ------------------------------------------------------------------------------------------------
// The format-specific openers open_dataset dispatches to; callers normally use open_dataset.

// One regular file from an archive, in memory.
struct ArchiveMember {
  std::string name;           // as stored, with any leading "./" removed
  std::vector<uint8_t> data;
};

// Reads every regular file and folder of a tar (optionally gzip/bzip2/xz-compressed) archive; a
// folder is a member whose name ends in '/' and that holds no data. `keep` (when set) is asked for
// each member's name; members it refuses are skipped without being stored. Throws alexnet::Error
// naming the archive (and the member, when one is broken).
std::vector<ArchiveMember> read_archive(const std::string& path,
                                        const std::function<bool(const std::string&)>& keep = {});
// The same for an archive held in memory; `name` is used in messages.
std::vector<ArchiveMember> read_archive_memory(const uint8_t* data, size_t size, const std::string& name,
                                               const std::function<bool(const std::string&)>& keep = {});

// True when some member name looks like a CIFAR binary batch (data_batch_N.bin, test_batch.bin,
// train.bin, test.bin).
bool is_cifar_member_name(const std::string& member_name);

// CIFAR from an extracted folder (cifar-10-batches-bin or cifar-100-binary).
std::unique_ptr<Dataset> open_cifar_folder(const std::string& folder, Split split, const DatasetOptions& options);
// CIFAR from archive members (the official tar.gz, read by read_archive). `archive_name` is used in
// messages and in describe().
std::unique_ptr<Dataset> open_cifar_archive(std::vector<ArchiveMember> members, const std::string& archive_name,
                                            Split split, const DatasetOptions& options);

// ImageFolder from a folder on disk: images are read and decoded when asked for.
std::unique_ptr<Dataset> open_image_folder(const std::string& root, Split split, const DatasetOptions& options);
// ImageFolder from archive members: the bytes stay in memory, images are decoded when asked for.
std::unique_ptr<Dataset> open_image_folder_archive(std::vector<ArchiveMember> members,
                                                   const std::string& archive_name, Split split,
                                                   const DatasetOptions& options);

// ImageFolder from an uncompressed tar indexed by index_tar (data/tar_index.h): images are read by
// offset and decoded when asked for; nothing but the index is kept in memory.
struct TarIndex;
std::unique_ptr<Dataset> open_image_folder_indexed(const std::string& path, std::shared_ptr<const TarIndex> index,
                                                   Split split, const DatasetOptions& options);

// A safetensors tensor dataset.
std::unique_ptr<Dataset> open_tensor_dataset(const std::string& path, const DatasetOptions& options);

// ------------------------------------------------------------------------------------------------
// Subsets and a held-out validation split.

// A view of some samples of another dataset, in the order given. Thread-safe as the base is.
class SubsetDataset : public Dataset {
 public:
  // Throws alexnet::Error when an index is out of range.
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<size_t> indices, std::string description);

  size_t size() const override { return indices_.size(); }
  int64_t label(size_t index) const override { return base_->label(indices_.at(index)); }
  const std::vector<std::string>& classes() const override { return base_->classes(); }
  const std::vector<std::string>& class_descriptions() const override { return base_->class_descriptions(); }
  Image image(size_t index) const override { return base_->image(indices_.at(index)); }
  Image image_scaled(size_t index, int min_side) const override { return base_->image_scaled(indices_.at(index), min_side); }
  bool has_float_images() const override { return base_->has_float_images(); }
  std::array<int, 2> float_image_size() const override { return base_->float_image_size(); }
  void float_image(size_t index, float* out) const override { base_->float_image(indices_.at(index), out); }
  std::string sample_name(size_t index) const override { return base_->sample_name(indices_.at(index)); }
  std::string describe() const override { return description_; }

  const std::vector<size_t>& indices() const { return indices_; }  // into the base dataset

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<size_t> indices_;
  std::string description_;
};

struct TrainValSplit {
  std::unique_ptr<SubsetDataset> train;
  std::unique_ptr<SubsetDataset> val;
};

// Holds out round(fraction * size) samples for validation (--val-split F): the indices are shuffled
// with a fixed generator seeded by `seed` (the same seed gives the same split on every machine), the
// first part becomes `val`, the rest `train`; each part keeps its indices in increasing order.
// Throws alexnet::Error unless 0 < fraction < 1 and both parts get at least one sample.
TrainValSplit split_off_validation(std::shared_ptr<const Dataset> data, double fraction, uint64_t seed);

// The data a training run learns from and validates on (and `eval` finds again from the run's config).
// First, with holdout > 0, that fraction of the training split is set aside as a test set that
// neither training nor validation ever sees (the same images for every seed: kHoldoutSeed). Then, of
// what remains:
//   val_split > 0   that fraction held out for validation (split_off_validation, seeded by `seed`)
//   val_split < 0   the data's own test split (else val split) when it has one, else 10% held out
//   val_split == 0  no validation (val is null)
struct TrainingData {
  std::shared_ptr<const Dataset> train, val, holdout;  // val, holdout: null when none
  std::string val_note;  // what the validation set is, in words
};
TrainingData open_training_data(const std::string& path, double val_split, uint64_t seed, double holdout = 0);

// The one rule that divides a training set (train and eval both follow it): `holdout` > 0 sets that
// fraction aside as a test set first (its own seed, kHoldoutSeed); then `val_split` > 0 holds out that
// fraction for validation (shuffled by `seed`), 0 validates on nothing, and < 0 validates on `test`
// (the data's own test split) or, without one, on kDefaultValFraction of the training set.
inline constexpr double kDefaultValFraction = 0.1;
TrainingData split_training_data(std::shared_ptr<const Dataset> base, std::shared_ptr<const Dataset> test,
                                 double val_split, uint64_t seed, double holdout);

// What a run never trained on, for data that has a training part only: its test hold-out, else its
// validation part, else (val_split 0) all of it, with what it is in words.
struct HeldOut {
  std::shared_ptr<const Dataset> data;
  std::string note;
};
HeldOut held_out_part(std::shared_ptr<const Dataset> train, double val_split, uint64_t seed, double holdout);

inline constexpr uint64_t kHoldoutSeed = 0x686f6c646f7574;  // "holdout"
// The two parts of a training split that `holdout` divides it into (`.val` is the test set).
TrainValSplit split_off_holdout(std::shared_ptr<const Dataset> data, double holdout);

// Whether a set holds small (CIFAR-like, at most 64x64) images rather than large (ImageNet-like)
// ones, judged by the first image that decodes among the first 100: small images are padded and
// cropped, large ones resized and cropped (TransformConfig::small_images). Float tensor images count
// as small.
bool has_small_images(const Dataset& data);

}  // namespace alexnet
