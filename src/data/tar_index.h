// Reading an uncompressed tar in place: its headers are read once into an index (member name,
// offset, size) and each member is later read by seeking (pread), so that an archive of any size is
// opened in memory proportional to its number of members, not its bytes (docs/data-formats.md).
//
// A member whose name ends in ".tar" and that is itself a tar (ImageNet's ILSVRC2012_img_train.tar
// holds one tar per class) is indexed too, one level deep: its members are listed as
// "<member name less .tar>/<inner name>", so n01440764.tar's n01440764_10026.JPEG becomes
// n01440764/n01440764_10026.JPEG, a class folder like any other.
//
// The index is cached under $ALEXNET_CACHE/tar-index (default ~/.cache/alexnet), keyed by the
// archive's resolved path, size and modification time; an archive whose size or time changed is
// indexed again. Archives of fewer than 256 members are not cached (indexing them costs less than
// reading a cache file). A cache that cannot be written is not an error (the archive is indexed each time).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace alexnet {

struct TarEntry {
  std::string name;     // '/'-separated, leading "./" removed; a folder's ends in '/'
  uint64_t offset = 0;  // of the member's first data byte in the archive file
  uint64_t size = 0;    // data bytes (0 for a folder)
};

struct TarIndex {
  std::vector<TarEntry> entries;  // in archive order
  uint64_t archive_size = 0;
  int64_t archive_mtime_ns = 0;
  bool from_cache = false;        // read from the cache rather than from the archive's headers
  std::string cache_file;         // where the index is (or would be) cached; empty when none
  size_t nested_tars = 0;         // members that were tars and were indexed inside
};

// True when the first bytes (at least 512) are an uncompressed tar header (ustar or GNU magic).
bool is_uncompressed_tar(const uint8_t* head, size_t n);

// Indexes PATH, or reads its index from the cache when the cached one matches the archive's size
// and modification time. Links, ".." names and anything that is not a file or a folder are left out.
// Throws alexnet::Error naming the archive (and the member) when a header is broken or a member's
// data runs past the end of the archive or of the tar holding it.
TarIndex index_tar(const std::string& path);
// index_tar's index, shared: while a dataset opened from PATH holds it, opening PATH again (each
// split of `info` and `eval --split auto`, training's test split) reuses it when the archive's size
// and modification time are unchanged, instead of reading and holding it once more. Thread-safe.
std::shared_ptr<const TarIndex> shared_tar_index(const std::string& path);

// The cache file for PATH's index (under $ALEXNET_CACHE/tar-index); empty when no cache folder can
// be named.
std::string tar_index_cache_file(const std::string& path);

// An open archive whose members are read by offset; thread-safe (pread).
class TarFile {
 public:
  explicit TarFile(const std::string& path);  // throws alexnet::Error when it cannot be opened
  ~TarFile();
  TarFile(const TarFile&) = delete;
  TarFile& operator=(const TarFile&) = delete;
  // Reads `size` bytes at `offset`; throws alexnet::Error naming `what` when they are not all there.
  std::vector<uint8_t> read(uint64_t offset, uint64_t size, const std::string& what) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace alexnet
