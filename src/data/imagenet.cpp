// ImageNet's layouts (data/imagenet.h): finding what ROOT holds, the class list and validation
// labels from the devkit or Kaggle's LOC_ files, the flat validation set, and the training set
// relabelled onto the class list.
#include "data/imagenet.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <set>

#include "core/atomic_file.h"
#include "data/image_codec.h"
#include "data/readers_internal.h"
#include "data/tar_index.h"

namespace alexnet {

namespace fs = std::filesystem;

namespace {

constexpr char kTrainTar[] = "ILSVRC2012_img_train.tar";
constexpr char kValTar[] = "ILSVRC2012_img_val.tar";
constexpr char kTrainFolder[] = "ILSVRC2012_img_train";
constexpr char kValFolder[] = "ILSVRC2012_img_val";
constexpr char kDevkitArchive[] = "ILSVRC2012_devkit_t12.tar.gz";
constexpr char kDevkitFolder[] = "ILSVRC2012_devkit_t12";
constexpr char kGroundTruth[] = "data/ILSVRC2012_validation_ground_truth.txt";
constexpr char kMetaMat[] = "data/meta.mat";
constexpr char kSynsetMapping[] = "LOC_synset_mapping.txt";
constexpr char kValSolution[] = "LOC_val_solution.csv";
constexpr char kKaggleData[] = "ILSVRC/Data/CLS-LOC";
constexpr char kValPrefix[] = "ILSVRC2012_val_";

// Label files are a few MB at most (50,000 lines of ground truth or LOC_val_solution.csv, meta.mat's
// 1,860 synsets); meta.mat's bound also bounds the arrays a crafted one could ask for.
constexpr uint64_t kMaxLabelFileBytes = uint64_t(64) << 20;
constexpr uint64_t kMaxMetaMatBytes = uint64_t(16) << 20;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
bool is_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string read_label_file(const fs::path& path, uint64_t limit = kMaxLabelFileBytes) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) fail(path.string(), ": cannot read: ", ec.message());
  if (size > limit) fail(path.string(), ": ", size, " bytes, more than the ", limit, " accepted for this file");
  return read_text_file(path.string());
}

bool is_wnid(const std::string& s) {
  return s.size() == 9 && s[0] == 'n' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_image_name(const std::string& name) {
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return false;
  const std::string ext = lower(name.substr(dot + 1));
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

std::string stem(const std::string& name) {
  const std::string base = base_name(name);
  const size_t dot = base.find_last_of('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

// The lines of a text file, each without its "\r\n" or "\n"; a UTF-8 byte order mark dropped.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    start = end + 1;
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

ImageNetClasses sorted_classes(std::vector<std::pair<std::string, std::string>> named, const std::string& name) {
  std::sort(named.begin(), named.end());
  ImageNetClasses c;
  c.source = name;
  for (size_t i = 0; i < named.size(); ++i) {
    if (i > 0 && named[i].first == named[i - 1].first) fail(name, ": WNID ", named[i].first, " is listed twice");
    c.wnids.push_back(named[i].first);
    c.descriptions.push_back(named[i].second);
  }
  return c;
}

}  // namespace

int64_t ImageNetClasses::find(const std::string& wnid) const {
  const auto it = std::lower_bound(wnids.begin(), wnids.end(), wnid);
  return it != wnids.end() && *it == wnid ? int64_t(it - wnids.begin()) : -1;
}

ImageNetClasses classes_from_synsets(const std::vector<Synset>& synsets, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> named;
  std::map<int64_t, std::string> id_wnid;
  for (const Synset& s : synsets) {
    if (s.num_children != 0) continue;
    if (!is_wnid(s.wnid)) fail(name, ": synset ", s.id, " has WNID '", s.wnid, "' (expected 'n' and 8 digits)");
    if (!id_wnid.emplace(s.id, s.wnid).second) fail(name, ": ILSVRC2012_ID ", s.id, " is given to two synsets");
    named.emplace_back(s.wnid, s.words);
  }
  if (named.empty()) fail(name, ": 'synsets' has no leaf synsets (num_children 0): no classes");
  ImageNetClasses c = sorted_classes(std::move(named), name);
  for (const auto& [id, wnid] : id_wnid) c.by_id[id] = c.find(wnid);
  return c;
}

ImageNetClasses read_synset_mapping(const std::string& text, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> named;
  const std::vector<std::string> lines = lines_of(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trim(lines[i]);
    if (line.empty()) continue;
    const size_t space = line.find_first_of(" \t");
    const std::string wnid = line.substr(0, space);
    if (!is_wnid(wnid))
      fail(name, " line ", i + 1, ": '", line.substr(0, 40), "' does not start with a WNID ('n' and 8 digits, as "
           "\"n01440764 tench, Tinca tinca\")");
    named.emplace_back(wnid, space == std::string::npos ? "" : trim(line.substr(space)));
  }
  if (named.empty()) fail(name, ": no classes (expected lines as \"n01440764 tench, Tinca tinca\")");
  return sorted_classes(std::move(named), name);
}

ValidationLabels read_ground_truth(const std::string& text, const ImageNetClasses& classes, const std::string& name) {
  ValidationLabels out;
  out.source = name;
  const std::vector<std::string> lines = lines_of(text);
  size_t n = lines.size();
  while (n > 0 && trim(lines[n - 1]).empty()) --n;  // blank lines at the end
  for (size_t i = 0; i < n; ++i) {
    const std::string t = trim(lines[i]);
    int64_t id = -1;
    if (!t.empty() && t.size() <= 9 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
      id = std::stoll(t);
    const auto it = classes.by_id.find(id);
    if (it == classes.by_id.end())
      fail(name, " line ", i + 1, ": '", t.substr(0, 40), "' is not the ILSVRC2012_ID of one of the ", classes.wnids.size(),
           " classes in ", classes.source);
    std::string number = std::to_string(i + 1);
    if (number.size() < 8) number.insert(0, 8 - number.size(), '0');
    out.label.emplace(kValPrefix + number, it->second);
  }
  if (out.label.empty()) fail(name, ": no labels");
  return out;
}

ValidationLabels read_loc_val_solution(const std::string& text, const ImageNetClasses& classes, const std::string& name) {
  ValidationLabels out;
  out.source = name;
  const std::vector<std::string> lines = lines_of(text);
  if (lines.empty() || trim(lines[0]) != "ImageId,PredictionString")
    fail(name, ": the first line is not \"ImageId,PredictionString\" (Kaggle's LOC_val_solution.csv)");
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string line = trim(lines[i]);
    if (line.empty()) continue;
    const size_t comma = line.find(',');
    const std::string image = comma == std::string::npos ? "" : trim(line.substr(0, comma));
    const std::string rest = comma == std::string::npos ? "" : trim(line.substr(comma + 1));
    const std::string wnid = rest.substr(0, rest.find_first_of(" \t"));
    if (image.empty() || image.find('/') != std::string::npos || !is_wnid(wnid))
      fail(name, " line ", i + 1, ": '", line.substr(0, 60), "' is not \"ImageId,WNID ...\"");
    const int64_t label = classes.find(wnid);
    if (label < 0) fail(name, " line ", i + 1, ": WNID ", wnid, " is not one of the ", classes.wnids.size(), " classes in ", classes.source);
    const auto [it, added] = out.label.emplace(image, label);
    if (!added && it->second != label) fail(name, " line ", i + 1, ": ", image, " is labelled twice, differently");
  }
  if (out.label.empty()) fail(name, ": no labels");
  return out;
}

namespace {

// ------------------------------------------------------------------------------------------------
// Where the classes and labels come from

struct Labels {
  ImageNetClasses classes;
  std::optional<ValidationLabels> val;  // absent when only the classes are known
  std::string note;                     // where they came from, for describe()
};

// The devkit (archive or folder) in `dir`, when there.
std::optional<Labels> devkit_labels(const fs::path& dir, bool need_val) {
  const fs::path archive = dir / kDevkitArchive, folder = dir / kDevkitFolder;
  std::string meta_bytes, truth, where;
  const bool from_folder = is_folder(folder / "data");
  if (from_folder) {
    where = folder.string();
    const fs::path meta = folder / kMetaMat;
    if (!is_file(meta)) fail(meta.string(), ": missing (the devkit's ILSVRC2012_ID -> WNID mapping)");
    meta_bytes = read_label_file(meta, kMaxMetaMatBytes);
    const fs::path gt = folder / kGroundTruth;
    if (need_val) {
      if (!is_file(gt)) fail(gt.string(), ": missing (the devkit's validation labels)");
      truth = read_label_file(gt);
    }
  } else if (is_file(archive)) {
    where = archive.string();
    bool meta_found = false, truth_found = false;
    for (ArchiveMember& m : read_archive(where, [](const std::string& member) {
           return member.ends_with(kMetaMat) || member.ends_with(kGroundTruth);
         })) {
      const uint64_t limit = m.name.ends_with(kMetaMat) ? kMaxMetaMatBytes : kMaxLabelFileBytes;
      if (m.data.size() > limit) fail(where, ":", m.name, ": more than the ", limit, " bytes accepted for this file");
      std::string& to = m.name.ends_with(kMetaMat) ? meta_bytes : truth;
      (m.name.ends_with(kMetaMat) ? meta_found : truth_found) = true;
      to.assign(m.data.begin(), m.data.end());
    }
    if (!meta_found) fail(where, ": holds no ", kMetaMat, " (the ILSVRC2012_ID -> WNID mapping)");
    if (need_val && !truth_found) fail(where, ": holds no ", kGroundTruth, " (the validation labels)");
  } else {
    return std::nullopt;
  }
  const std::string inside = from_folder ? "/" : ":";  // a file in the folder, a member of the archive
  const std::string meta_name = where + inside + kMetaMat;
  const std::vector<Synset> synsets = read_meta_mat(reinterpret_cast<const uint8_t*>(meta_bytes.data()), meta_bytes.size(), meta_name);
  Labels out{classes_from_synsets(synsets, meta_name), std::nullopt, cat(base_name(where), " (meta.mat)")};
  if (need_val) {
    out.val = read_ground_truth(truth, out.classes, where + inside + kGroundTruth);
    out.note = cat(base_name(where), " (", kGroundTruth, ", meta.mat)");
  }
  return out;
}

// Kaggle's LOC_synset_mapping.txt (and LOC_val_solution.csv) in `dir`, when there.
std::optional<Labels> loc_labels(const fs::path& dir, bool need_val) {
  const fs::path mapping = dir / kSynsetMapping, solution = dir / kValSolution;
  if (!is_file(mapping)) {
    if (is_file(solution)) fail(dir.string(), ": has ", kValSolution, " but no ", kSynsetMapping, " (the class list it needs)");
    return std::nullopt;
  }
  Labels out{read_synset_mapping(read_label_file(mapping), mapping.string()), std::nullopt, kSynsetMapping};
  if (need_val) {
    if (!is_file(solution)) fail(dir.string(), ": has ", kSynsetMapping, " but no ", kValSolution, " (the validation labels)");
    out.val = read_loc_val_solution(read_label_file(solution), out.classes, solution.string());
    out.note = cat(kValSolution, ", ", kSynsetMapping);
  }
  return out;
}

std::optional<Labels> labels_in(const fs::path& dir, bool need_val) {
  if (auto d = devkit_labels(dir, need_val)) return d;
  return loc_labels(dir, need_val);
}

constexpr char kLabelsExpected[] =
    "ILSVRC2012_devkit_t12.tar.gz or its folder ILSVRC2012_devkit_t12/, or LOC_val_solution.csv with "
    "LOC_synset_mapping.txt";

// ------------------------------------------------------------------------------------------------
// The flat validation set

struct FlatImage {
  std::string name;               // the member's name, or the file's path in the folder
  std::string file;               // a folder's: the file to read (a link's target); empty for a tar
  uint64_t offset = 0, size = 0;  // a tar's: where the member's bytes are
};

class FlatValDataset : public Dataset {
 public:
  FlatValDataset(std::shared_ptr<const TarFile> tar, std::vector<FlatImage> images, std::vector<int64_t> labels,
                 ImageNetClasses classes, std::string description)
      : tar_(std::move(tar)),
        images_(std::move(images)),
        labels_(std::move(labels)),
        classes_(std::move(classes)),
        description_(std::move(description)) {}

  size_t size() const override { return images_.size(); }
  int64_t label(size_t index) const override { return labels_.at(index); }
  const std::vector<std::string>& classes() const override { return classes_.wnids; }
  const std::vector<std::string>& class_descriptions() const override { return classes_.descriptions; }
  std::string describe() const override { return description_; }
  Image image(size_t index) const override { return image_scaled(index, 0); }
  Image image_scaled(size_t index, int min_side) const override {
    const FlatImage& im = images_.at(index);
    const std::string name = sample_name(index);
    if (!tar_) {
      const std::vector<uint8_t> bytes = read_file_bytes(im.file);
      return decode_image(bytes.data(), bytes.size(), name, min_side);
    }
    if (im.size > kMaxFileBytes) throw CorruptSample(cat(name, ": ", im.size, " bytes, more than the ", kMaxFileBytes, " accepted for one image"));
    const std::vector<uint8_t> bytes = tar_->read(im.offset, im.size, name);
    return decode_image(bytes.data(), bytes.size(), name, min_side);
  }
  std::string sample_name(size_t index) const override {
    return tar_ ? tar_->path() + ":" + images_.at(index).name : images_.at(index).name;
  }

 private:
  std::shared_ptr<const TarFile> tar_;  // null: images are files
  std::vector<FlatImage> images_;
  std::vector<int64_t> labels_;
  ImageNetClasses classes_;
  std::string description_;
};

// Pairs the images (sorted by name) with their labels: images without one are left out and counted,
// as are labels naming no image; neither is fatal unless no image is left.
std::unique_ptr<Dataset> flat_val_dataset(const std::string& where, std::shared_ptr<const TarFile> tar,
                                          std::vector<FlatImage> images, size_t not_images, Labels labels,
                                          const std::string& what, const DatasetOptions& options) {
  std::sort(images.begin(), images.end(), [](const FlatImage& a, const FlatImage& b) { return a.name < b.name; });
  std::vector<FlatImage> kept;
  std::vector<int64_t> label_of;
  std::set<std::string> seen;
  size_t unlabelled = 0;
  std::string first_unlabelled;
  for (FlatImage& im : images) {
    const std::string key = stem(im.name);
    const auto it = labels.val->label.find(key);
    if (it == labels.val->label.end()) {
      if (unlabelled++ == 0) first_unlabelled = base_name(im.name);
      continue;
    }
    seen.insert(key);
    label_of.push_back(it->second);
    kept.push_back(std::move(im));
  }
  if (not_images > 0)
    dataset_warning(options, cat(where, ": skipped ", not_images, " entr", not_images == 1 ? "y" : "ies",
                                 " that are not .jpg, .jpeg or .png files (or are links out of the folder)"));
  if (unlabelled > 0)
    dataset_warning(options, cat(where, ": left out ", unlabelled, " image", unlabelled == 1 ? "" : "s",
                                 " that ", labels.val->source, " does not label (first: ", first_unlabelled, ")"));
  if (images.empty()) fail(where, ": holds no images (.jpg, .jpeg, .png)");
  if (kept.empty())
    fail(where, ": none of its ", images.size(), " images is labelled by ", labels.val->source,
         " (validation images are named ILSVRC2012_val_00000001.JPEG ...)");
  if (seen.size() < labels.val->label.size()) {
    std::string first_absent;
    for (const auto& [image, label] : labels.val->label)
      if (!seen.count(image) && (first_absent.empty() || image < first_absent)) first_absent = image;
    const size_t absent = labels.val->label.size() - seen.size();
    dataset_warning(options, cat(labels.val->source, ": labels ", absent, " image", absent == 1 ? "" : "s",
                                 " that ", where, " does not hold (first: ", first_absent, "): evaluating on the ",
                                 kept.size(), " it holds"));
  }
  const size_t n = kept.size(), classes = labels.classes.wnids.size();
  std::string description = cat("ImageNet validation set, ", what, " (", n, " images, ", classes,
                                " classes, labels from ", labels.note, ")");
  return std::make_unique<FlatValDataset>(std::move(tar), std::move(kept), std::move(label_of), std::move(labels.classes),
                                          std::move(description));
}

// The images directly inside a folder (hidden names ignored); `not_images` counts other files. As
// for an ImageFolder, a link is followed only to a file inside the folder, and read at its target.
std::vector<FlatImage> flat_folder_images(const fs::path& folder, size_t& not_images) {
  std::vector<FlatImage> out;
  std::error_code ec;
  const fs::path real_folder = fs::canonical(folder, ec);
  if (ec) fail(folder.string(), ": cannot resolve the folder: ", ec.message());
  fs::directory_iterator it(folder, ec), end;
  if (ec) fail(folder.string(), ": cannot list folder: ", ec.message());
  for (; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    fs::path file = it->path();
    if (it->is_symlink(type_ec)) {
      file = fs::canonical(it->path(), type_ec);
      const auto [end_of_folder, end_of_file] = std::mismatch(real_folder.begin(), real_folder.end(), file.begin(), file.end());
      if (type_ec || end_of_folder != real_folder.end() || end_of_file == file.end()) {
        ++not_images;  // a link out of the folder, broken or looping
        continue;
      }
    }
    if (!fs::is_regular_file(file, type_ec)) continue;
    if (!is_image_name(name)) {
      ++not_images;
      continue;
    }
    out.push_back({it->path().string(), file.string(), 0, 0});
  }
  if (ec) fail(folder.string(), ": cannot list folder: ", ec.message());
  return out;
}

// The images at the top level of an indexed tar; false when it holds folders (not a flat set).
bool flat_tar_images(const TarIndex& index, std::vector<FlatImage>& out, size_t& not_images) {
  for (const TarEntry& e : index.entries) {
    if (e.name.empty() || e.name == "/") continue;  // the archive's own top folder ("./")
    if (e.name.find('/') != std::string::npos) return false;
    if (e.name[0] == '.') continue;
    if (!is_image_name(e.name)) {
      ++not_images;
      continue;
    }
    out.push_back({e.name, "", e.offset, e.size});
  }
  return true;
}

bool names_validation_images(const std::vector<FlatImage>& images) {
  return std::any_of(images.begin(), images.end(),
                     [](const FlatImage& im) { return base_name(im.name).rfind(kValPrefix, 0) == 0; });
}

std::unique_ptr<Dataset> open_flat_val(const fs::path& source, const Labels& labels, const std::string& layout,
                                       const DatasetOptions& options) {
  size_t not_images = 0;
  if (is_folder(source)) {
    std::vector<FlatImage> images = flat_folder_images(source, not_images);
    return flat_val_dataset(source.string(), nullptr, std::move(images), not_images, labels,
                            cat(layout, source.string(), " (flat folder)"), options);
  }
  const TarIndex index = index_tar(source.string());
  std::vector<FlatImage> images;
  if (!flat_tar_images(index, images, not_images))
    fail(source.string(), ": holds folders; ImageNet's validation archive holds its images in one flat level");
  return flat_val_dataset(source.string(), std::make_shared<const TarFile>(source.string()), std::move(images), not_images,
                          labels, cat(layout, source.string(), " read in place"), options);
}

// ------------------------------------------------------------------------------------------------
// The training set on the class list

class TrainDataset : public Dataset {
 public:
  TrainDataset(std::unique_ptr<Dataset> base, std::vector<int64_t> to_class, ImageNetClasses classes, std::string description)
      : base_(std::move(base)), to_class_(std::move(to_class)), classes_(std::move(classes)), description_(std::move(description)) {}

  size_t size() const override { return base_->size(); }
  int64_t label(size_t index) const override { return to_class_.at(size_t(base_->label(index))); }
  const std::vector<std::string>& classes() const override { return classes_.wnids; }
  const std::vector<std::string>& class_descriptions() const override { return classes_.descriptions; }
  Image image(size_t index) const override { return base_->image(index); }
  Image image_scaled(size_t index, int min_side) const override { return base_->image_scaled(index, min_side); }
  std::string sample_name(size_t index) const override { return base_->sample_name(index); }
  std::string describe() const override { return description_; }

 private:
  std::unique_ptr<Dataset> base_;
  std::vector<int64_t> to_class_;  // the base's class index -> the class list's
  ImageNetClasses classes_;
  std::string description_;
};

// The training images (an ImageFolder of WNID class folders or class tars) with their classes
// looked up in the class list; a class folder the list does not hold is an error.
std::unique_ptr<Dataset> on_class_list(std::unique_ptr<Dataset> base, const std::string& where,
                                       std::optional<Labels> labels, const std::string& layout) {
  if (!labels) {
    // No class list (the devkit is not there): the class folders are the classes, as ImageFolder.
    std::string description = cat("ImageNet training set, ", layout, base->describe(), "; no class list found (",
                                  kLabelsExpected, "): the classes are the ", base->classes().size(), " class folders");
    ImageNetClasses own;
    own.wnids = base->classes();
    std::vector<int64_t> identity(own.wnids.size());
    for (size_t i = 0; i < identity.size(); ++i) identity[i] = int64_t(i);
    return std::make_unique<TrainDataset>(std::move(base), std::move(identity), std::move(own), std::move(description));
  }
  std::vector<int64_t> to_class;
  for (const std::string& wnid : base->classes()) {
    const int64_t k = labels->classes.find(wnid);
    if (k < 0)
      fail(where, ": class ", wnid, " is not one of the ", labels->classes.wnids.size(), " classes in ", labels->classes.source);
    to_class.push_back(k);
  }
  std::string description = cat("ImageNet training set, ", layout, where, " (", base->size(), " images in ",
                                base->classes().size(), " class", base->classes().size() == 1 ? "" : "es", " of the ",
                                labels->classes.wnids.size(), " in ", labels->note, ")");
  return std::make_unique<TrainDataset>(std::move(base), std::move(to_class), std::move(labels->classes), std::move(description));
}

[[noreturn]] void no_test_split(const std::string& root, const std::string& val) {
  throw SplitAbsent(cat(root, ": ImageNet has no labelled test split (the test images' labels are not public); the validation set is ", val));
}

// ROOT with the official downloads (or their extracted folders) side by side.
std::unique_ptr<Dataset> open_official(const fs::path& root, Split split, const DatasetOptions& options) {
  const std::string layout = "official files: ";
  if (split == Split::Train) {
    const fs::path tar = root / kTrainTar, folder = root / kTrainFolder;
    std::unique_ptr<Dataset> base;
    fs::path where;
    if (is_file(tar)) {
      where = tar;
      base = open_image_folder_indexed(tar.string(), shared_tar_index(tar.string()), Split::Train, options);
    } else if (is_folder(folder)) {
      where = folder;
      base = open_image_folder(folder.string(), Split::Train, options);
    } else {
      throw SplitAbsent(cat(root.string(), ": no ", kTrainTar, " (nor its folder ", kTrainFolder, "/) for the train split"));
    }
    return on_class_list(std::move(base), where.string(), labels_in(root, false), layout);
  }
  const fs::path tar = root / kValTar, folder = root / kValFolder;
  const fs::path source = is_file(tar) ? tar : folder;
  if (!is_file(tar) && !is_folder(folder))
    throw SplitAbsent(cat(root.string(), ": no ", kValTar, " (nor its folder ", kValFolder, "/) for the ", split_name(split), " split"));
  if (split == Split::Test && options.exact_split) no_test_split(root.string(), source.string());
  const std::optional<Labels> labels = labels_in(root, true);
  if (!labels) fail(root.string(), ": ", base_name(source.string()), " has no labels of its own, and none are beside it (", kLabelsExpected, ")");
  return open_flat_val(source, *labels, layout, options);
}

// Kaggle's ROOT: ILSVRC/Data/CLS-LOC/{train,val} with LOC_synset_mapping.txt and LOC_val_solution.csv.
std::unique_ptr<Dataset> open_kaggle(const fs::path& root, Split split, const DatasetOptions& options) {
  const std::string layout = "Kaggle's layout: ";
  const fs::path data = root / kKaggleData;
  if (split == Split::Train) {
    const fs::path train = data / "train";
    if (!is_folder(train)) throw SplitAbsent(cat(root.string(), ": no ", kKaggleData, "/train/ for the train split"));
    if (!is_file(root / kSynsetMapping)) fail(root.string(), ": no ", kSynsetMapping, " (Kaggle's class list)");
    return on_class_list(open_image_folder(train.string(), Split::Train, options), train.string(), loc_labels(root, false), layout);
  }
  const fs::path val = data / "val";
  if (!is_folder(val)) throw SplitAbsent(cat(root.string(), ": no ", kKaggleData, "/val/ for the ", split_name(split), " split"));
  if (split == Split::Test && options.exact_split) no_test_split(root.string(), val.string());
  const std::optional<Labels> labels = loc_labels(root, true);
  if (!labels) fail(root.string(), ": no ", kSynsetMapping, " and ", kValSolution, " (the validation labels)");
  return open_flat_val(val, *labels, layout, options);
}

// Kaggle's ROOT when PATH is ROOT/ILSVRC, ROOT/ILSVRC/Data or ROOT/ILSVRC/Data/CLS-LOC (with
// LOC_synset_mapping.txt in ROOT), so that the labelled val/ is read rather than taken for a split
// folder of an ImageFolder.
std::optional<fs::path> kaggle_root_above(const fs::path& path) {
  std::error_code ec;
  const fs::path p = fs::canonical(path, ec);
  if (ec) return std::nullopt;
  const char* const chain[] = {"CLS-LOC", "Data", "ILSVRC"};  // from the deepest up
  size_t start = 0;
  while (start < 3 && p.filename() != chain[start]) ++start;
  if (start == 3) return std::nullopt;
  fs::path up = p;
  for (size_t i = start; i < 3; ++i, up = up.parent_path())
    if (up.filename() != chain[i]) return std::nullopt;
  if (is_folder(up / kKaggleData) && is_file(up / kSynsetMapping)) return up;
  return std::nullopt;
}

// Labels for a flat validation set given alone: beside a tar; in a folder or the one above it, or
// in Kaggle's ROOT for ROOT/ILSVRC/Data/CLS-LOC/val.
std::optional<Labels> labels_beside(const fs::path& source) {
  std::error_code ec;
  fs::path path = fs::canonical(source, ec);
  if (ec) path = fs::absolute(source);
  std::vector<fs::path> dirs;
  if (is_folder(path)) {
    dirs = {path, path.parent_path()};
    const fs::path data = path.parent_path();
    if (path.filename() == "val" && data.filename() == "CLS-LOC" && data.parent_path().filename() == "Data" &&
        data.parent_path().parent_path().filename() == "ILSVRC")
      dirs.push_back(data.parent_path().parent_path().parent_path());
  } else {
    dirs = {path.parent_path()};
  }
  for (const fs::path& dir : dirs)
    if (auto l = labels_in(dir, true)) return l;
  return std::nullopt;
}

}  // namespace

std::unique_ptr<Dataset> open_imagenet_folder(const std::string& path, Split split, const DatasetOptions& options) {
  const fs::path root(path);
  if (is_file(root / kTrainTar) || is_file(root / kValTar) ||
      ((is_folder(root / kTrainFolder) || is_folder(root / kValFolder)) &&
       (is_file(root / kDevkitArchive) || is_folder(root / kDevkitFolder))))
    return open_official(root, split, options);
  if (is_folder(root / kKaggleData)) return open_kaggle(root, split, options);
  if (const std::optional<fs::path> kaggle = kaggle_root_above(root)) return open_kaggle(*kaggle, split, options);
  // A flat folder of validation images, given alone.
  std::error_code ec;
  bool has_folders = false;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!name.empty() && name[0] != '.' && it->is_directory(type_ec)) has_folders = true;
  }
  if (has_folders) return nullptr;
  size_t not_images = 0;
  std::vector<FlatImage> images = flat_folder_images(root, not_images);
  if (!names_validation_images(images)) return nullptr;
  const std::optional<Labels> labels = labels_beside(root);
  if (!labels) fail(path, ": a flat folder of ImageNet validation images, but no labels in it or beside it (", kLabelsExpected, ")");
  return flat_val_dataset(path, nullptr, std::move(images), not_images, *labels, cat(path, " (flat folder)"), options);
}

std::unique_ptr<Dataset> open_imagenet_val_tar(const std::string& path, const TarIndex& index, const DatasetOptions& options) {
  std::vector<FlatImage> images;
  size_t not_images = 0;
  if (!flat_tar_images(index, images, not_images) || !names_validation_images(images)) return nullptr;
  const std::optional<Labels> labels = labels_beside(path);
  if (!labels) fail(path, ": a flat archive of ImageNet validation images, but no labels beside it (", kLabelsExpected, ")");
  return flat_val_dataset(path, std::make_shared<const TarFile>(path), std::move(images), not_images, *labels,
                          cat(path, " read in place"), options);
}

}  // namespace alexnet
