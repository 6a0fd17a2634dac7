// Format detection, archive reading, subsets and the held-out validation split. The formats
// themselves are in cifar.cpp, image_folder.cpp and tensor_dataset.cpp.
#include "data/readers.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <archive.h>
#include <archive_entry.h>

#include "core/rng.h"
#include "data/imagenet.h"
#include "data/readers_internal.h"
#include "data/tar_index.h"

namespace alexnet {

namespace fs = std::filesystem;

const char* split_name(Split split) {
  switch (split) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "val" || name == "validation") return Split::Val;
  if (name == "test") return Split::Test;
  fail("unknown split '", name, "' (expected train, val or test)");
}

void dataset_warning(const DatasetOptions& options, const std::string& line) {
  if (options.warn) {
    options.warn(line);
  } else {
    std::fprintf(stderr, "warning: %s\n", line.c_str());
  }
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string strip_leading_dot_slash(std::string name) {
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  while (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

// A member name with a ".." component could name something outside the archive's tree.
bool climbs_out(const std::string& name) {
  size_t start = 0;
  for (;;) {
    const size_t slash = name.find('/', start);
    if (name.compare(start, slash == std::string::npos ? std::string::npos : slash - start, "..") == 0) return true;
    if (slash == std::string::npos) return false;
    start = slash + 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Archives

namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};


// The largest member kept in memory: an image or a CIFAR batch is far smaller.
constexpr int64_t kMaxMemberBytes = int64_t(1) << 30;

std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown error";
}

std::vector<ArchiveMember> read_open_archive(archive* a, const std::string& name,
                                             const std::function<bool(const std::string&)>& keep) {
  std::vector<ArchiveMember> members;
  archive_entry* entry = nullptr;
  std::string last_member;
  for (;;) {
    const int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (last_member.empty()) fail(name, ": not a readable tar archive: ", archive_message(a));
      fail(name, ": archive is broken after member '", last_member, "': ", archive_message(a));
    }
    const char* raw_name = archive_entry_pathname(entry);
    if (!raw_name) raw_name = archive_entry_pathname_utf8(entry);
    if (!raw_name) continue;  // a name libarchive cannot represent: not ours to read
    std::string member = strip_leading_dot_slash(raw_name);
    last_member = member;
    // Never followed or kept: a ".." path, a symbolic or hard link (its target may lie outside the
    // archive, or be another member under a second name), and anything that is not a file or folder.
    if (climbs_out(member) || archive_entry_symlink(entry) || archive_entry_hardlink(entry)) continue;
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      // Folders are members too (ImageFolder must see an empty class folder), named with a '/'.
      if (!member.empty() && member.back() != '/') member += '/';
      if (member != "/" && (!keep || keep(member))) members.push_back({std::move(member), {}});
      continue;
    }
    if (type != AE_IFREG) continue;
    if (keep && !keep(member)) continue;

    ArchiveMember m;
    m.name = std::move(member);
    // The header's size is a claim, not a promise: grow as data arrives rather than trusting it.
    if (archive_entry_size_is_set(entry)) m.data.reserve(size_t(std::min<la_int64_t>(archive_entry_size(entry), 1 << 24)));
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > kMaxMemberBytes)
      fail(name, ": member '", m.name, "' is ", archive_entry_size(entry), " bytes, more than the ", kMaxMemberBytes,
           " accepted for one member");
    uint8_t buffer[1 << 16];
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
      if (n < 0) fail(name, ": cannot read member '", m.name, "': ", archive_message(a));
      if (n == 0) break;
      if (int64_t(m.data.size()) + n > kMaxMemberBytes)
        fail(name, ": member '", m.name, "' holds more than the ", kMaxMemberBytes, " bytes accepted for one member");
      m.data.insert(m.data.end(), buffer, buffer + n);
    }
    members.push_back(std::move(m));
  }
  return members;
}

std::unique_ptr<archive, ArchiveFree> new_tar_reader() {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  if (!a) fail("cannot allocate an archive reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  return a;
}

}  // namespace

std::vector<ArchiveMember> read_archive(const std::string& path, const std::function<bool(const std::string&)>& keep) {
  auto a = new_tar_reader();
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
    fail(path, ": cannot open archive: ", archive_message(a.get()));
  return read_open_archive(a.get(), path, keep);
}

std::vector<ArchiveMember> read_archive_memory(const uint8_t* data, size_t size, const std::string& name,
                                               const std::function<bool(const std::string&)>& keep) {
  auto a = new_tar_reader();
  if (archive_read_open_memory(a.get(), data, size) != ARCHIVE_OK)
    fail(name, ": cannot open archive: ", archive_message(a.get()));
  return read_open_archive(a.get(), name, keep);
}

// ---------------------------------------------------------------------------------------------
// Detection

namespace {

// A compressed archive is read whole into memory (it cannot be read by seeking): up to this size.
constexpr uint64_t kMaxCompressedArchiveBytes = uint64_t(1) << 30;

const char* kSupported =
    "supported: a CIFAR-10/100 binary folder or its official .tar.gz, an ImageFolder "
    "(ROOT/<class>/<image>.jpg|.png) as a folder, .tar or .tar.gz, ImageNet's official files or Kaggle's "
    "layout (docs/data-formats.md), or a safetensors file with "
    "'images' and 'labels'";

// Which CIFAR batches a split needs; the others need not be kept in memory.
bool cifar_batch_wanted(const std::string& base, Split split) {
  const bool train_batch = base == "train.bin" || base.rfind("data_batch_", 0) == 0;
  return split == Split::Train ? train_batch : !train_batch;
}

bool is_archive_magic(const uint8_t* head, size_t n) {
  if (n >= 2 && head[0] == 0x1F && head[1] == 0x8B) return true;                        // gzip
  if (n >= 3 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h') return true;       // bzip2
  if (n >= 6 && std::memcmp(head, "\xFD" "7zXZ\0", 6) == 0) return true;               // xz
  if (n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0) return true;               // tar
  return false;
}

bool is_safetensors_magic(const uint8_t* head, size_t n, uint64_t file_size) {
  if (n < 9) return false;
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | head[i];
  return head[8] == '{' && header >= 2 && header <= file_size - 8;
}

bool has_cifar_batch(const fs::path& folder) {
  std::error_code ec;
  for (const char* name : {"data_batch_1.bin", "test_batch.bin", "train.bin", "test.bin"})
    if (fs::is_regular_file(folder / name, ec)) return true;
  return false;
}

}  // namespace

bool is_cifar_member_name(const std::string& member_name) {
  const std::string base = base_name(member_name);
  if (base == "test_batch.bin" || base == "train.bin" || base == "test.bin") return true;
  return base.size() == std::strlen("data_batch_1.bin") && base.rfind("data_batch_", 0) == 0 &&
         base[11] >= '1' && base[11] <= '9' && base.compare(12, 4, ".bin") == 0;
}

std::unique_ptr<Dataset> open_dataset(const std::string& path, Split split, const DatasetOptions& options) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) fail(path, ": no such file or folder");

  if (fs::is_directory(st)) {
    if (auto imagenet = open_imagenet_folder(path, split, options)) return imagenet;
    if (has_cifar_batch(path)) return open_cifar_folder(path, split, options);
    for (const char* inner : {"cifar-10-batches-bin", "cifar-100-binary"}) {
      const fs::path sub = fs::path(path) / inner;
      if (fs::is_directory(sub, ec) && has_cifar_batch(sub)) return open_cifar_folder(sub.string(), split, options);
    }
    return open_image_folder(path, split, options);
  }
  if (!fs::is_regular_file(st)) fail(path, ": not a regular file or a folder; ", kSupported);

  uint8_t head[512] = {};
  size_t n = 0;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, ": cannot open: ", std::strerror(errno));
    in.read(reinterpret_cast<char*>(head), sizeof head);
    n = size_t(in.gcount());
  }
  const uint64_t file_size = fs::file_size(path, ec);
  if (is_safetensors_magic(head, n, file_size)) return open_tensor_dataset(path, options);
  if (is_uncompressed_tar(head, n)) {
    // Indexed and read in place; a CIFAR tar (a few hundred MB at most) is read whole as before.
    const std::shared_ptr<const TarIndex> index = shared_tar_index(path);
    bool cifar = false;
    for (const TarEntry& e : index->entries) cifar = cifar || is_cifar_member_name(e.name);
    if (!cifar) {
      if (auto imagenet_val = open_imagenet_val_tar(path, *index, options)) return imagenet_val;
      return open_image_folder_indexed(path, index, split, options);
    }
  } else if (is_archive_magic(head, n) && file_size > kMaxCompressedArchiveBytes) {
    fail(path, ": a compressed archive of ", file_size, " bytes is more than the ", kMaxCompressedArchiveBytes,
         " read into memory; use the uncompressed .tar (read in place) or an extracted folder");
  }
  if (is_archive_magic(head, n)) {
    bool cifar = false;
    std::vector<ArchiveMember> members = read_archive(path, [&](const std::string& member) {
      if (!is_cifar_member_name(member)) return true;
      cifar = true;
      return cifar_batch_wanted(base_name(member), split);
    });
    if (cifar) return open_cifar_archive(std::move(members), path, split, options);
    return open_image_folder_archive(std::move(members), path, split, options);
  }
  if (n == 0) fail(path, ": empty file; ", kSupported);
  fail(path, ": unknown dataset format; ", kSupported);
}

DatasetSplits open_dataset_splits(const std::string& path, const DatasetOptions& options) {
  DatasetOptions exact = options;
  exact.exact_split = true;
  DatasetSplits out;
  std::string first_error;
  auto attempt = [&](Split split) -> std::unique_ptr<Dataset> {
    try {
      return open_dataset(path, split, exact);
    } catch (const SplitAbsent& e) {
      if (first_error.empty()) first_error = e.what();
      out.missing += cat(out.missing.empty() ? "" : "; ", split_name(split), ": ", e.what());
      return nullptr;
    }
  };
  out.train = attempt(Split::Train);
  out.val = attempt(Split::Val);
  out.test = attempt(Split::Test);
  if (!out.train && !out.val && !out.test) fail(first_error);
  // One set for every split (describe() names the split or the folder a set came from).
  const auto same = [](const std::unique_ptr<Dataset>& a, const std::unique_ptr<Dataset>& b) {
    return a && b && a->describe() == b->describe();
  };
  if (same(out.train, out.val) && same(out.train, out.test)) {
    out.whole = true;
    out.val.reset();
    out.test.reset();
  } else if (same(out.val, out.test)) {  // CIFAR: val is its test batch
    out.val.reset();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Subsets

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<size_t> indices, std::string description)
    : base_(std::move(base)), indices_(std::move(indices)), description_(std::move(description)) {
  ALEXNET_ASSERT(base_ != nullptr);
  const size_t n = base_->size();
  for (size_t i : indices_)
    if (i >= n) fail("subset of ", base_->describe(), ": index ", i, " is out of range (size ", n, ")");
}

// Shuffles below use SplitMix64 (core/rng.h): its output is the same everywhere (std::shuffle and
// the standard distributions are not specified bit for bit).

TrainValSplit split_off_validation(std::shared_ptr<const Dataset> data, double fraction, uint64_t seed) {
  ALEXNET_ASSERT(data != nullptr);
  if (!(fraction > 0.0 && fraction < 1.0)) fail("validation fraction must be between 0 and 1 (exclusive), got ", fraction);
  const size_t n = data->size();
  const size_t held = size_t(double(n) * fraction + 0.5);
  if (held == 0 || held >= n)
    fail("validation fraction ", fraction, " of ", n, " samples leaves ", held, " for validation and ", n - std::min(held, n),
         " for training; both need at least one");

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  SplitMix64 rng{seed};
  for (size_t i = n - 1; i > 0; --i) std::swap(order[i], order[size_t(rng.below(i + 1))]);

  std::vector<size_t> val(order.begin(), order.begin() + std::ptrdiff_t(held));
  std::vector<size_t> train(order.begin() + std::ptrdiff_t(held), order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());

  const std::string base = data->describe();
  TrainValSplit out;
  out.train = std::make_unique<SubsetDataset>(data, std::move(train),
                                              cat(base, ", training part of a ", fraction, " validation split (seed ", seed, ")"));
  out.val = std::make_unique<SubsetDataset>(data, std::move(val),
                                            cat(base, ", held-out ", fraction, " for validation (seed ", seed, ")"));
  return out;
}

TrainValSplit split_off_holdout(std::shared_ptr<const Dataset> data, double holdout) {
  const TrainValSplit s = split_off_validation(data, holdout, kHoldoutSeed);
  const std::string base = data->describe();
  TrainValSplit out;
  out.train = std::make_unique<SubsetDataset>(data, s.train->indices(), cat(base, ", less a ", holdout, " test hold-out"));
  out.val = std::make_unique<SubsetDataset>(data, s.val->indices(), cat(base, ", the ", holdout, " test hold-out"));
  return out;
}

TrainingData split_training_data(std::shared_ptr<const Dataset> base, std::shared_ptr<const Dataset> test,
                                 double val_split, uint64_t seed, double holdout) {
  TrainingData d;
  if (holdout > 0) {
    TrainValSplit h = split_off_holdout(base, holdout);
    base = std::move(h.train);
    d.holdout = std::move(h.val);
  }
  auto hold_out = [&](double fraction, const std::string& note) {
    TrainValSplit s = split_off_validation(base, fraction, seed);
    d.train = std::move(s.train);
    d.val = std::move(s.val);
    d.val_note = note;
  };
  if (val_split > 0) {
    hold_out(val_split, cat("held-out ", val_split * 100, "% of the training set", holdout > 0 ? " (after the test hold-out)" : "",
                            " (seed ", seed, ")"));
  } else if (val_split < 0 && test) {
    d.train = base;
    d.val = test;
    d.val_note = test->describe();
  } else if (val_split < 0) {
    hold_out(kDefaultValFraction, cat("held-out ", kDefaultValFraction * 100, "% of the training set (seed ", seed,
                                      "; the data has no test split of its own)"));
  } else {
    d.train = base;
  }
  return d;
}

TrainingData open_training_data(const std::string& path, double val_split, uint64_t seed, double holdout) {
  std::shared_ptr<const Dataset> base = open_dataset(path, Split::Train), test;
  if (val_split < 0) {
    try {
      test = open_dataset(path, Split::Test);
    } catch (const SplitAbsent&) {  // a train/ folder without val/ or test/: no test split (a broken one is an error)
    }
    if (test && test->describe() == base->describe()) test = nullptr;  // one set for every split
  }
  return split_training_data(std::move(base), std::move(test), val_split, seed, holdout);
}

HeldOut held_out_part(std::shared_ptr<const Dataset> train, double val_split, uint64_t seed, double holdout) {
  const std::string all = train->describe();
  TrainingData d = split_training_data(std::move(train), nullptr, val_split, seed, holdout);
  if (d.holdout) return {d.holdout, cat("the test set held out in training (", holdout * 100, "%, never trained or validated on)")};
  if (d.val) return {d.val, cat(d.val_note, ", as in training")};
  return {d.train, cat(all, ", all of it (training held nothing out: --val-split 0)")};
}

bool has_small_images(const Dataset& data) {
  if (data.has_float_images()) return true;
  for (size_t i = 0; i < data.size() && i < 100; ++i) {
    try {
      const Image probe = data.image(i);
      return std::max(probe.height, probe.width) <= 64;
    } catch (const CorruptSample&) {  // the loader skips it too
    }
  }
  return true;
}

}  // namespace alexnet
