// CIFAR-10 and CIFAR-100, binary version (https://www.cs.toronto.edu/~kriz/cifar.html).
//
// A batch file is a run of fixed-size records, each one image of 32x32 pixels:
//   CIFAR-10:  <label byte> <1024 R bytes> <1024 G bytes> <1024 B bytes>           3073 bytes
//   CIFAR-100: <coarse label byte> <fine label byte> <R, G, B planes as above>      3074 bytes
// Planes are row-major. CIFAR-10 training is data_batch_1.bin .. data_batch_5.bin and test is
// test_batch.bin; CIFAR-100 has train.bin and test.bin. Class names are one per line in
// batches.meta.txt, fine_label_names.txt and coarse_label_names.txt.
#include <filesystem>
#include <algorithm>
#include <map>

#include "data/image_codec.h"
#include "data/readers.h"
#include "data/readers_internal.h"

namespace alexnet {

namespace fs = std::filesystem;

namespace {

constexpr int kSide = 32;
constexpr size_t kPlane = kSide * kSide;  // one colour plane of one image
constexpr size_t kPixelBytes = 3 * kPlane;

const std::vector<std::string> kCifar10Classes = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                  "dog",      "frog",       "horse", "ship", "truck"};

const std::vector<std::string> kCifar100Coarse = {
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2"};

const std::vector<std::string> kCifar100Fine = {
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm"};

enum class CifarVersion { Ten, Hundred };

struct Batch {
  std::string name;  // a path, or "ARCHIVE:MEMBER", for messages
  std::vector<uint8_t> bytes;
};

class CifarDataset : public Dataset {
 public:
  CifarDataset(std::vector<uint8_t> records, size_t record_size, size_t label_offset,
               std::vector<std::string> classes, std::string description)
      : records_(std::move(records)),
        record_size_(record_size),
        label_offset_(label_offset),
        count_(records_.size() / record_size),
        classes_(std::move(classes)),
        description_(std::move(description)) {}

  size_t size() const override { return count_; }
  int64_t label(size_t index) const override { return record(index)[label_offset_]; }
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string describe() const override { return description_; }

  Image image(size_t index) const override {
    const uint8_t* planes = record(index) + (record_size_ - kPixelBytes);
    Image image;
    image.height = kSide;
    image.width = kSide;
    image.pixels.resize(kPixelBytes);
    for (size_t p = 0; p < kPlane; ++p)
      for (size_t c = 0; c < 3; ++c) image.pixels[p * 3 + c] = planes[c * kPlane + p];
    return image;
  }

 private:
  const uint8_t* record(size_t index) const {
    ALEXNET_ASSERT(index < count_, cat("CIFAR index ", index, " of ", count_));
    return records_.data() + index * record_size_;
  }

  std::vector<uint8_t> records_;  // count_ records back to back
  size_t record_size_, label_offset_, count_;
  std::vector<std::string> classes_;
  std::string description_;
};

// Checks every batch (whole records, labels in range) and joins them into one record array.
std::unique_ptr<Dataset> build(CifarVersion kind, Cifar100Labels labels, std::vector<Batch> batches,
                               std::vector<std::string> classes, const std::string& description) {
  const bool ten = kind == CifarVersion::Ten;
  const char* kind_name = ten ? "CIFAR-10" : "CIFAR-100";
  const size_t record_size = ten ? 1 + kPixelBytes : 2 + kPixelBytes;
  const size_t label_offset = ten ? 0 : labels == Cifar100Labels::Coarse ? 0 : 1;

  size_t total = 0;
  for (const Batch& b : batches) {
    if (b.bytes.empty()) fail(b.name, ": empty ", kind_name, " batch file");
    if (b.bytes.size() % record_size != 0)
      fail(b.name, ": ", b.bytes.size(), " bytes is not a whole number of ", record_size, "-byte ", kind_name,
           " records (truncated, or not a ", kind_name, " file?)");
    const size_t n = b.bytes.size() / record_size;
    for (size_t r = 0; r < n; ++r) {
      const uint8_t* rec = b.bytes.data() + r * record_size;
      if (ten) {
        if (rec[0] >= 10) fail(b.name, ": record ", r, " has label ", int(rec[0]), "; CIFAR-10 labels are 0..9");
      } else {
        if (rec[0] >= 20) fail(b.name, ": record ", r, " has coarse label ", int(rec[0]), "; CIFAR-100 coarse labels are 0..19");
        if (rec[1] >= 100) fail(b.name, ": record ", r, " has fine label ", int(rec[1]), "; CIFAR-100 fine labels are 0..99");
      }
    }
    total += b.bytes.size();
  }

  std::vector<uint8_t> records;
  if (batches.size() == 1) {
    records = std::move(batches[0].bytes);
  } else {
    records.reserve(total);
    for (Batch& b : batches) {
      records.insert(records.end(), b.bytes.begin(), b.bytes.end());
      std::vector<uint8_t>().swap(b.bytes);
    }
  }
  auto dataset = std::make_unique<CifarDataset>(std::move(records), record_size, label_offset, std::move(classes),
                                                description);
  return dataset;
}

// Class names, one per line (blank lines and trailing spaces ignored); the built-in list when the
// file is absent.
std::vector<std::string> parse_names(const std::string& text, const std::string& source, size_t expected) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
    start = end + 1;
  }
  if (names.size() != expected) fail(source, ": expected ", expected, " class names, found ", names.size());
  return names;
}

const char* names_file(CifarVersion kind, Cifar100Labels labels) {
  if (kind == CifarVersion::Ten) return "batches.meta.txt";
  return labels == Cifar100Labels::Coarse ? "coarse_label_names.txt" : "fine_label_names.txt";
}

const std::vector<std::string>& builtin_names(CifarVersion kind, Cifar100Labels labels) {
  if (kind == CifarVersion::Ten) return kCifar10Classes;
  return labels == Cifar100Labels::Coarse ? kCifar100Coarse : kCifar100Fine;
}

// The batch files a split reads, in order.
std::vector<std::string> batch_names(CifarVersion kind, Split split) {
  if (kind == CifarVersion::Hundred) return {split == Split::Train ? "train.bin" : "test.bin"};
  if (split != Split::Train) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) names.push_back(cat("data_batch_", i, ".bin"));
  return names;
}

// The files a split needs, for messages.
std::string split_files(CifarVersion kind, Split split) {
  const std::vector<std::string> names = batch_names(kind, split);
  return names.size() == 1 ? names[0] : cat(names.front(), " .. ", names.back());
}

std::string describe(CifarVersion kind, Cifar100Labels labels, Split split, const std::string& where) {
  const char* split_text = split == Split::Train ? "train split" : "test split";
  if (kind == CifarVersion::Ten) return cat("CIFAR-10 binary (", split_text, ") from ", where);
  return cat("CIFAR-100 binary (", split_text, ", ", labels == Cifar100Labels::Coarse ? "20 coarse" : "100 fine",
             " labels) from ", where);
}

std::string to_string(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

std::unique_ptr<Dataset> open_cifar_folder(const std::string& folder, Split split, const DatasetOptions& options) {
  std::error_code ec;
  const fs::path dir(folder);
  const bool ten = fs::exists(dir / "data_batch_1.bin", ec) || fs::exists(dir / "test_batch.bin", ec);
  const CifarVersion kind = ten ? CifarVersion::Ten : CifarVersion::Hundred;
  const Cifar100Labels labels = options.cifar100_labels;

  const std::vector<std::string> batch_files = batch_names(kind, split);
  if (std::none_of(batch_files.begin(), batch_files.end(), [&](const std::string& n) { return fs::is_regular_file(dir / n, ec); }))
    throw SplitAbsent(cat(folder, ": no ", split_name(split), " split (", ten ? "CIFAR-10" : "CIFAR-100", " ",
                          split_name(split), " split needs ", split_files(kind, split), ")"));
  std::vector<Batch> batches;
  for (const std::string& name : batch_files) {
    const fs::path p = dir / name;
    if (!fs::is_regular_file(p, ec))
      fail(folder, ": missing ", name, " (", ten ? "CIFAR-10" : "CIFAR-100", " ", split_name(split), " split needs ",
           split_files(kind, split), ")");
    try {
      batches.push_back({p.string(), read_file_bytes(p.string())});
    } catch (const CorruptSample& e) {
      fail(e.what());  // an unreadable batch is structural, not one bad sample
    }
  }

  std::vector<std::string> classes = builtin_names(kind, labels);
  const fs::path names_path = dir / names_file(kind, labels);
  if (fs::is_regular_file(names_path, ec)) {
    std::vector<uint8_t> text;
    try {
      text = read_file_bytes(names_path.string());
    } catch (const CorruptSample& e) {
      fail(e.what());
    }
    classes = parse_names(to_string(text), names_path.string(), classes.size());
  }
  return build(kind, labels, std::move(batches), std::move(classes), describe(kind, labels, split, folder));
}

std::unique_ptr<Dataset> open_cifar_archive(std::vector<ArchiveMember> members, const std::string& archive_name,
                                            Split split, const DatasetOptions& options) {
  std::map<std::string, ArchiveMember*> by_base;  // every batch and names file, by file name
  for (ArchiveMember& m : members) {
    const std::string base = base_name(m.name);
    if (!is_cifar_member_name(m.name) && base.find("names.txt") == std::string::npos && base != "batches.meta.txt")
      continue;
    auto [it, inserted] = by_base.emplace(base, &m);
    if (!inserted) fail(archive_name, ": holds two members named ", base, ": '", it->second->name, "' and '", m.name, "'");
  }
  const bool ten = std::any_of(by_base.begin(), by_base.end(), [](const auto& kv) {
    return kv.first == "test_batch.bin" || kv.first.rfind("data_batch_", 0) == 0;
  }) || by_base.count("batches.meta.txt") != 0;
  const CifarVersion kind = ten ? CifarVersion::Ten : CifarVersion::Hundred;
  const Cifar100Labels labels = options.cifar100_labels;

  const std::vector<std::string> batch_files = batch_names(kind, split);
  if (std::none_of(batch_files.begin(), batch_files.end(), [&](const std::string& n) { return by_base.count(n) != 0; }))
    throw SplitAbsent(cat(archive_name, ": no ", split_name(split), " split (", ten ? "CIFAR-10" : "CIFAR-100", " ",
                          split_name(split), " split needs ", split_files(kind, split), ")"));
  std::vector<Batch> batches;
  for (const std::string& name : batch_files) {
    auto it = by_base.find(name);
    if (it == by_base.end())
      fail(archive_name, ": has no member ", name, " (", ten ? "CIFAR-10" : "CIFAR-100", " ", split_name(split),
           " split needs ", split_files(kind, split), ")");
    batches.push_back({cat(archive_name, ":", it->second->name), std::move(it->second->data)});
  }

  std::vector<std::string> classes = builtin_names(kind, labels);
  auto names = by_base.find(names_file(kind, labels));
  if (names != by_base.end())
    classes = parse_names(to_string(names->second->data), cat(archive_name, ":", names->second->name), classes.size());
  return build(kind, labels, std::move(batches), std::move(classes), describe(kind, labels, split, archive_name));
}

}  // namespace alexnet
