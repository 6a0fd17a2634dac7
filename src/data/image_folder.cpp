// ImageFolder, as torchvision reads it: ROOT/<class>/<any depth>/<image>. The class index is the
// position of the class folder's name in byte order; samples are in path order.
//
// Finding ROOT inside what PATH holds (a folder or a tar's members):
//   1. At each level, a folder named train, val or test makes this the split level: the split picks
//      one of them, and that folder is ROOT.
//   2. Otherwise a level holding a single folder and no images, whose folder in turn holds no images
//      directly (it is not a class), is stepped into: "cifar10/" at the top of a tar is skipped.
//   3. Otherwise this level is ROOT.
// Names starting with '.' are ignored (".DS_Store", "._x.jpg" from macOS tar, ".ipynb_checkpoints").
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "data/image_codec.h"
#include "data/readers.h"
#include "data/readers_internal.h"
#include "data/tar_index.h"

namespace alexnet {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxLeadingFolders = 16;

bool is_hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

bool has_image_extension(const std::string& name) {
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

// What ImageFolder needs to know about a tree of files, whether on disk or in an archive. Paths are
// relative, '/'-separated, "" for the top.
class Tree {
 public:
  virtual ~Tree() = default;
  // The folders and files directly inside `dir`, each sorted, hidden names left out.
  virtual void list(const std::string& dir, std::vector<std::string>& folders, std::vector<std::string>& files) const = 0;
  // Every file below `dir` at any depth, as paths relative to the top, sorted; hidden names left out.
  virtual std::vector<std::string> walk(const std::string& dir) const = 0;
  // For messages: "PATH" or "PATH:dir".
  virtual std::string where(const std::string& dir) const = 0;
};

// A folder on disk. Links are followed only when what they point at is inside the folder (after
// resolving every link on the way); links pointing out of it, dangling links, link loops and
// anything that is neither a folder nor a regular file (FIFOs, sockets, devices) are left out and
// counted. A folder reached twice through links is walked once.
class DiskTree : public Tree {
 public:
  explicit DiskTree(std::string root) : root_(std::move(root)) {
    std::error_code ec;
    real_root_ = fs::canonical(root_, ec);
    if (ec) fail(root_, ": cannot resolve the folder: ", ec.message());
  }

  void list(const std::string& dir, std::vector<std::string>& folders, std::vector<std::string>& files) const override {
    folders.clear();
    files.clear();
    for_each_entry(dir, [&](const std::string& name, Kind kind, const fs::path&) {
      (kind == Kind::Folder ? folders : files).push_back(name);
    });
    std::sort(folders.begin(), folders.end());
    std::sort(files.begin(), files.end());
  }

  std::vector<std::string> walk(const std::string& dir) const override {
    std::vector<std::string> out;
    std::set<std::string> visited;  // resolved folders already walked: link loops end here
    std::error_code ec;
    const fs::path start = fs::canonical(full(dir), ec);
    if (ec) fail(where(dir), ": cannot resolve folder: ", ec.message());
    walk_into(dir, start, 0, visited, out);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string where(const std::string& dir) const override { return dir.empty() ? root_ : join(root_, dir); }
  std::string full(const std::string& dir) const { return dir.empty() ? root_ : root_ + "/" + dir; }

  // The file to open for a relative path found by walk(): resolved, so that no link is followed
  // again when it is read (a link's target, inside the folder).
  std::string resolved(const std::string& path) const {
    auto it = resolved_.find(path);
    return it == resolved_.end() ? full(path) : it->second;
  }
  size_t links_skipped() const { return skipped_.size(); }
  const std::string& first_link_skipped() const { return first_link_skipped_; }

 private:
  enum class Kind { Folder, File };
  static constexpr int kMaxDepth = 64;

  bool inside(const fs::path& p) const {
    auto r = real_root_.begin();
    auto q = p.begin();
    for (; r != real_root_.end(); ++r, ++q)
      if (q == p.end() || *q != *r) return false;
    return true;
  }

  void skip(const std::string& dir, const std::string& name) const {
    const std::string path = join(dir, name);
    if (skipped_.empty() || path < first_link_skipped_) first_link_skipped_ = path;
    skipped_.insert(path);  // a level is listed more than once: count each entry once
  }

  // Calls f(name, kind, resolved path) for each usable entry of `dir` (relative); hidden names and
  // what the rules above leave out are skipped.
  template <typename F>
  void for_each_entry(const std::string& dir, F&& f) const {
    std::error_code ec;
    fs::directory_iterator it(full(dir), ec), end;
    if (ec) fail(where(dir), ": cannot list folder: ", ec.message());
    for (; it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (is_hidden(name)) continue;
      std::error_code type_ec;
      const fs::file_status own = it->symlink_status(type_ec);
      if (type_ec) continue;
      fs::path target = it->path();
      fs::file_status st = own;
      if (fs::is_symlink(own)) {
        target = fs::canonical(it->path(), type_ec);  // fails for dangling links and loops
        if (type_ec || !inside(target)) {
          skip(dir, name);
          continue;
        }
        st = fs::status(target, type_ec);
        if (type_ec) {
          skip(dir, name);
          continue;
        }
      }
      if (fs::is_directory(st)) {
        f(name, Kind::Folder, target);
      } else if (fs::is_regular_file(st)) {
        f(name, Kind::File, target);
      } else {
        skip(dir, name);  // FIFO, socket, device: reading one could block or never end
      }
    }
    if (ec) fail(where(dir), ": cannot list folder: ", ec.message());
  }

  void walk_into(const std::string& dir, const fs::path& real, int depth, std::set<std::string>& visited,
                 std::vector<std::string>& out) const {
    if (!visited.insert(real.string()).second) return;
    if (depth > kMaxDepth) fail(where(dir), ": folders nested more than ", kMaxDepth, " deep");
    for_each_entry(dir, [&](const std::string& name, Kind kind, const fs::path& target) {
      const std::string rel = join(dir, name);
      if (kind == Kind::Folder) {
        std::error_code ec;
        const fs::path sub = fs::is_symlink(fs::symlink_status(full(rel), ec)) ? target : real / name;
        walk_into(rel, sub, depth + 1, visited, out);
        return;
      }
      out.push_back(rel);
      resolved_[rel] = target == it_path(dir, name) ? (real / name).string() : target.string();
    });
  }

  fs::path it_path(const std::string& dir, const std::string& name) const { return fs::path(full(dir)) / name; }

  std::string root_;
  fs::path real_root_;
  mutable std::map<std::string, std::string> resolved_;  // relative path -> file to open, for links
  mutable std::set<std::string> skipped_;
  mutable std::string first_link_skipped_;
};

// An archive's member names as a tree: the names, made canonical (empty components dropped, a
// folder's trailing '/' removed), in one buffer, sorted, so that a folder is one range of them and
// listing or walking it is a binary search and a scan. About 50 bytes a member, nothing per folder:
// ImageNet's 1.28 million training images fit in some 60 MB.
class ArchiveTree : public Tree {
 public:
  ArchiveTree(const std::vector<ArchiveMember>& members, std::string archive)
      : ArchiveTree(members.size(), [&](size_t i) -> const std::string& { return members[i].name; }, std::move(archive)) {}

  // Members given by name alone: name(i) for i < count.
  template <typename Name>
  ArchiveTree(size_t count, const Name& member_name, std::string archive) : archive_(std::move(archive)) {
    entries_.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const std::string& name = member_name(i);
      const bool folder = !name.empty() && name.back() == '/';
      const size_t at = text_.size();
      for (size_t start = 0; start <= name.size();) {
        size_t slash = name.find('/', start);
        if (slash == std::string::npos) slash = name.size();
        if (slash > start) {
          if (text_.size() > at) text_ += '/';
          text_.append(name, start, slash - start);
        }
        start = slash + 1;
      }
      if (text_.size() == at) continue;
      entries_.push_back({at, uint32_t(text_.size() - at), folder, i});
    }
    // Sorted by name (archives usually are already); of two members with one name the first in the
    // archive is kept.
    const auto by_name = [&](const Entry& a, const Entry& b) { return name(a) < name(b); };
    if (!std::is_sorted(entries_.begin(), entries_.end(), by_name)) std::stable_sort(entries_.begin(), entries_.end(), by_name);
    entries_.erase(std::unique(entries_.begin(), entries_.end(),
                               [&](const Entry& a, const Entry& b) { return name(a) == name(b) && a.folder == b.folder; }),
                   entries_.end());
  }

  void list(const std::string& dir, std::vector<std::string>& folders, std::vector<std::string>& files) const override {
    folders.clear();
    files.clear();
    const std::string prefix = dir.empty() ? "" : dir + "/";
    for (size_t k = first_at_or_after(prefix); k < entries_.size();) {
      const std::string_view n = name(entries_[k]);
      if (n.compare(0, prefix.size(), prefix) != 0) break;
      const std::string_view rest = n.substr(prefix.size());
      const size_t slash = rest.find('/');
      if (slash == std::string_view::npos) {
        if (!is_hidden(std::string(rest))) (entries_[k].folder ? folders : files).emplace_back(rest);
        ++k;
        continue;
      }
      // A folder with members below it: record it, then skip past all of them ('0' follows '/').
      const std::string part(rest.substr(0, slash));
      if (!is_hidden(part)) folders.push_back(part);
      k = first_at_or_after(prefix + part + "0");
    }
    std::sort(folders.begin(), folders.end());
    folders.erase(std::unique(folders.begin(), folders.end()), folders.end());
    std::sort(files.begin(), files.end());
  }

  std::vector<std::string> walk(const std::string& dir) const override {
    std::vector<std::string> out;
    const std::string prefix = dir.empty() ? "" : dir + "/";
    for (size_t k = first_at_or_after(prefix); k < entries_.size(); ++k) {
      const std::string_view n = name(entries_[k]);
      if (n.compare(0, prefix.size(), prefix) != 0) break;
      if (entries_[k].folder) continue;
      // Leave out anything with a hidden component below `dir`.
      const std::string_view rest = n.substr(prefix.size());
      bool hidden = !rest.empty() && rest[0] == '.';
      for (size_t slash = rest.find('/'); !hidden && slash != std::string_view::npos; slash = rest.find('/', slash + 1))
        hidden = slash + 1 < rest.size() && rest[slash + 1] == '.';
      if (!hidden) out.emplace_back(n);
    }
    return out;
  }

  std::string where(const std::string& dir) const override { return dir.empty() ? archive_ : archive_ + ":" + dir; }

  // The archive index of the member (a file) at `path`, a path walk() gave.
  size_t member_index(const std::string& path) const {
    const size_t k = first_at_or_after(path);
    ALEXNET_ASSERT(k < entries_.size() && name(entries_[k]) == path && !entries_[k].folder, path);
    return entries_[k].index;
  }

 private:
  struct Entry {
    size_t offset;  // of the canonical name in text_
    uint32_t size;
    bool folder;    // the member was a folder entry ("dir/")
    size_t index;   // in the archive
  };
  std::string_view name(const Entry& e) const { return std::string_view(text_).substr(e.offset, e.size); }
  // The first entry whose name is >= key (files before a folder entry of the same name).
  size_t first_at_or_after(const std::string& key) const {
    return size_t(std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [&](const Entry& e, const std::string& k) { return name(e) < std::string_view(k); }) -
                  entries_.begin());
  }

  std::string archive_;
  std::string text_;            // every canonical name, one after the other
  std::vector<Entry> entries_;  // sorted by name
};

struct Layout {
  std::string root;                       // relative path of ROOT
  std::string split_note;                 // "train/" or "no split folders" for describe()
  std::vector<std::string> classes;       // sorted
  std::vector<std::string> paths;         // every image, relative to the top
  std::vector<int64_t> labels;            // per path
  size_t skipped = 0;                     // files that are not .jpg/.jpeg/.png
  std::string first_skipped;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool holds_images(const std::vector<std::string>& files) { return std::any_of(files.begin(), files.end(), has_image_extension); }

Layout find_layout(const Tree& tree, Split split, bool exact) {
  Layout layout;
  std::vector<std::string> folders, files, inner_folders, inner_files;
  std::string level;
  bool split_found = false;
  for (int depth = 0; depth <= kMaxLeadingFolders; ++depth) {
    tree.list(level, folders, files);
    if (contains(folders, "train") || contains(folders, "val") || contains(folders, "test")) {
      std::vector<std::string> wanted = split == Split::Train  ? std::vector<std::string>{"train"}
                                        : split == Split::Val ? std::vector<std::string>{"val", "test"}
                                                              : std::vector<std::string>{"test", "val"};
      if (exact) wanted.resize(1);
      std::string chosen;
      for (const std::string& w : wanted)
        if (chosen.empty() && contains(folders, w)) chosen = w;
      if (chosen.empty()) {
        std::string present;
        for (const char* s : {"train", "val", "test"})
          if (contains(folders, s)) present += cat(present.empty() ? "" : ", ", s, "/");
        throw SplitAbsent(cat(tree.where(level), ": has ", present, " but no ", wanted.size() == 1 ? wanted[0] + "/" : wanted[0] + "/ or " + wanted[1] + "/",
             " folder for the ", split_name(split), " split"));
      }
      level = join(level, chosen);
      layout.split_note = chosen + "/";
      split_found = true;
      break;
    }
    if (folders.size() == 1 && !holds_images(files)) {
      tree.list(join(level, folders[0]), inner_folders, inner_files);
      if (!inner_folders.empty() && !holds_images(inner_files)) {
        level = join(level, folders[0]);
        continue;
      }
    }
    break;
  }
  if (!split_found) layout.split_note = "no train/val/test folders";
  layout.root = level;

  tree.list(level, folders, files);
  if (folders.empty())
    fail(tree.where(level), ": no class folders (an ImageFolder is ROOT/<class>/<image>.jpg|.jpeg|.png)");
  layout.classes = folders;
  for (size_t c = 0; c < folders.size(); ++c) {
    const std::string class_dir = join(level, folders[c]);
    size_t images = 0;
    for (std::string& path : tree.walk(class_dir)) {
      if (!has_image_extension(path)) {
        if (layout.skipped++ == 0) layout.first_skipped = path;
        continue;
      }
      layout.paths.push_back(std::move(path));
      layout.labels.push_back(int64_t(c));
      ++images;
    }
    if (images == 0) fail(tree.where(class_dir), ": class folder has no images (.jpg, .jpeg, .png)");
  }
  return layout;
}

void warn_skipped(const Layout& layout, const Tree& tree, const DatasetOptions& options) {
  if (layout.skipped == 0) return;
  dataset_warning(options, cat(tree.where(layout.root), ": skipped ", layout.skipped, " file",
                               layout.skipped == 1 ? "" : "s", " that are not .jpg, .jpeg or .png (first: ",
                               layout.first_skipped, ")"));
}

class FolderDataset : public Dataset {
 public:
  FolderDataset(std::string top, Layout layout, std::vector<std::string> files, std::string description)
      : top_(std::move(top)), layout_(std::move(layout)), files_(std::move(files)), description_(std::move(description)) {}

  size_t size() const override { return layout_.paths.size(); }
  int64_t label(size_t index) const override { return layout_.labels.at(index); }
  const std::vector<std::string>& classes() const override { return layout_.classes; }
  std::string describe() const override { return description_; }
  Image image(size_t index) const override { return image_scaled(index, 0); }
  Image image_scaled(size_t index, int min_side) const override {
    const std::vector<uint8_t> bytes = read_file_bytes(files_.at(index));
    return decode_image(bytes.data(), bytes.size(), sample_name(index), min_side);
  }
  std::string sample_name(size_t index) const override { return top_ + "/" + layout_.paths.at(index); }

 private:
  std::string top_;
  Layout layout_;
  std::vector<std::string> files_;  // per sample: the resolved file to read
  std::string description_;
};

// The image bytes of the chosen split, kept in memory; decoded on request.
class ArchiveFolderDataset : public Dataset {
 public:
  ArchiveFolderDataset(std::string archive, std::vector<std::string> classes, std::vector<ArchiveMember> samples,
                       std::vector<int64_t> labels, std::string description)
      : archive_(std::move(archive)),
        classes_(std::move(classes)),
        samples_(std::move(samples)),
        labels_(std::move(labels)),
        description_(std::move(description)) {}

  size_t size() const override { return samples_.size(); }
  int64_t label(size_t index) const override { return labels_.at(index); }
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string describe() const override { return description_; }
  Image image(size_t index) const override { return image_scaled(index, 0); }
  Image image_scaled(size_t index, int min_side) const override {
    const ArchiveMember& m = samples_.at(index);
    return decode_image(m.data.data(), m.data.size(), archive_ + ":" + m.name, min_side);
  }
  std::string sample_name(size_t index) const override { return archive_ + ":" + samples_.at(index).name; }

 private:
  std::string archive_;
  std::vector<std::string> classes_;
  std::vector<ArchiveMember> samples_;
  std::vector<int64_t> labels_;
  std::string description_;
};

// Images of an uncompressed tar read in place: each image() reads its member's bytes by offset.
class IndexedTarDataset : public Dataset {
 public:
  // members: each sample's entry in the index (names, offsets and sizes are the index's, not copied).
  IndexedTarDataset(std::shared_ptr<const TarFile> file, std::shared_ptr<const TarIndex> index, std::vector<std::string> classes,
                    std::vector<uint32_t> members, std::vector<int64_t> labels, std::string description)
      : file_(std::move(file)),
        index_(std::move(index)),
        classes_(std::move(classes)),
        members_(std::move(members)),
        labels_(std::move(labels)),
        description_(std::move(description)) {}

  size_t size() const override { return members_.size(); }
  int64_t label(size_t index) const override { return labels_.at(index); }
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string describe() const override { return description_; }
  Image image(size_t index) const override { return image_scaled(index, 0); }
  Image image_scaled(size_t index, int min_side) const override {
    const TarEntry& s = index_->entries[members_.at(index)];
    const std::string name = sample_name(index);
    if (s.size > kMaxFileBytes) throw CorruptSample(cat(name, ": ", s.size, " bytes, more than the ", kMaxFileBytes, " accepted for one image"));
    const std::vector<uint8_t> bytes = file_->read(s.offset, s.size, name);
    return decode_image(bytes.data(), bytes.size(), name, min_side);
  }
  std::string sample_name(size_t index) const override { return file_->path() + ":" + index_->entries[members_.at(index)].name; }

 private:
  std::shared_ptr<const TarFile> file_;
  std::shared_ptr<const TarIndex> index_;
  std::vector<std::string> classes_;
  std::vector<uint32_t> members_;
  std::vector<int64_t> labels_;
  std::string description_;
};

std::string describe_folder(const char* what, const std::string& where, const Layout& layout) {
  return cat("ImageFolder ", what, " ", where, " (", layout.split_note, ", ", layout.classes.size(), " classes, ",
             layout.paths.size(), " images)");
}

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const std::string& root, Split split, const DatasetOptions& options) {
  DiskTree tree(root);
  Layout layout = find_layout(tree, split, options.exact_split);
  warn_skipped(layout, tree, options);
  if (tree.links_skipped() > 0)
    dataset_warning(options, cat(root, ": left out ", tree.links_skipped(), " entr", tree.links_skipped() == 1 ? "y" : "ies",
                                 " that are links out of the folder, broken links or link loops, or neither files nor "
                                 "folders (first: ", tree.first_link_skipped(), ")"));
  std::vector<std::string> files;
  files.reserve(layout.paths.size());
  for (const std::string& path : layout.paths) files.push_back(tree.resolved(path));
  std::string description = describe_folder("folder", root, layout);
  return std::make_unique<FolderDataset>(root, std::move(layout), std::move(files), std::move(description));
}

std::unique_ptr<Dataset> open_image_folder_archive(std::vector<ArchiveMember> members, const std::string& archive_name,
                                                   Split split, const DatasetOptions& options) {
  if (members.empty()) fail(archive_name, ": archive holds no files");
  ArchiveTree tree(members, archive_name);
  Layout layout = find_layout(tree, split, options.exact_split);
  warn_skipped(layout, tree, options);

  std::vector<ArchiveMember> samples;
  samples.reserve(layout.paths.size());
  for (const std::string& path : layout.paths) samples.push_back(std::move(members[tree.member_index(path)]));
  std::string description = describe_folder("archive", archive_name, layout);
  return std::make_unique<ArchiveFolderDataset>(archive_name, std::move(layout.classes), std::move(samples),
                                                std::move(layout.labels), std::move(description));
}

std::unique_ptr<Dataset> open_image_folder_indexed(const std::string& path, std::shared_ptr<const TarIndex> index,
                                                   Split split, const DatasetOptions& options) {
  ALEXNET_ASSERT(index != nullptr);
  if (index->entries.empty()) fail(path, ": archive holds no files");
  if (index->entries.size() > std::numeric_limits<uint32_t>::max())
    fail(path, ": holds ", index->entries.size(), " members, more than the ", std::numeric_limits<uint32_t>::max(), " read in place");
  std::vector<uint32_t> members;
  Layout layout;
  {
    const ArchiveTree tree(index->entries.size(), [&](size_t i) -> const std::string& { return index->entries[i].name; }, path);
    layout = find_layout(tree, split, options.exact_split);
    warn_skipped(layout, tree, options);
    members.reserve(layout.paths.size());
    for (const std::string& p : layout.paths) members.push_back(uint32_t(tree.member_index(p)));
  }
  std::string description = describe_folder("archive", path, layout);
  description.insert(description.size() - 1, cat(", read in place", index->nested_tars ? cat(" from ", index->nested_tars, " class tars") : ""));
  std::vector<std::string>().swap(layout.paths);  // the index names them
  return std::make_unique<IndexedTarDataset>(std::make_shared<const TarFile>(path), std::move(index), std::move(layout.classes),
                                             std::move(members), std::move(layout.labels), std::move(description));
}

}  // namespace alexnet
