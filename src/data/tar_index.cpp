// The tar index (tar_index.h): POSIX ustar headers with the GNU long-name ('L') and pax ('x')
// extensions, which are what GNU tar, bsdtar and Python's tarfile write.
#include "data/tar_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "core/error.h"
#include "data/cache_dir.h"
#include "data/readers_internal.h"

namespace alexnet {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kBlock = 512;
// The longest name a long-name or pax record may give, and the largest pax header read.
constexpr uint64_t kMaxExtendedHeader = 1 << 20;
// A tar with fewer members is indexed in well under a millisecond: its index is not cached.
constexpr size_t kMinCachedEntries = 256;
constexpr char kCacheMagic[8] = {'A', 'X', 'T', 'A', 'R', 'I', 'X', '1'};

std::string field(const uint8_t* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

// A numeric field: octal digits (space or NUL terminated), or GNU base-256 when the high bit is set.
bool parse_number(const uint8_t* p, size_t n, uint64_t& out) {
  out = 0;
  if (p[0] & 0x80) {
    if (p[0] != 0x80) return false;  // negative or too large
    for (size_t i = 1; i < n; ++i) {
      if (out >> 56) return false;
      out = (out << 8) | p[i];
    }
    return true;
  }
  size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (out >> 60) return false;
    out = out * 8 + uint64_t(p[i] - '0');
  }
  for (; i < n; ++i)
    if (p[i] != ' ' && p[i] != 0) return false;
  return true;
}

bool checksum_ok(const uint8_t* h) {
  uint64_t stored = 0;
  if (!parse_number(h + 148, 8, stored)) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? uint64_t(' ') : uint64_t(h[i]);
  return sum == stored;
}

bool all_zero(const uint8_t* h) {
  for (size_t i = 0; i < kBlock; ++i)
    if (h[i]) return false;
  return true;
}

class Reader {
 public:
  Reader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  // Reads exactly n bytes at offset, or returns false at the end of the file.
  bool read_at(uint64_t offset, uint8_t* out, uint64_t n) const {
    uint64_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, out + done, size_t(n - done), off_t(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(name_, ": cannot read: ", std::strerror(errno));
      }
      if (r == 0) return false;
      done += uint64_t(r);
    }
    return true;
  }

  // Indexes the tar that occupies [begin, end) of the file. `prefix` is put before each name;
  // `where` names the tar in messages. Nested tars are followed when `nest` is set.
  void index(uint64_t begin, uint64_t end, const std::string& prefix, const std::string& where, bool nest,
             TarIndex& out) const {
    uint64_t pos = begin;
    std::string long_name, pax_path, last = "(the first header)";
    uint64_t pax_size = 0;
    bool have_pax_size = false;
    uint8_t h[kBlock];
    while (pos + kBlock <= end) {
      if (!read_at(pos, h, kBlock)) break;
      if (all_zero(h)) return;  // the end-of-archive blocks
      if (!checksum_ok(h)) fail(where, ": broken tar header after member '", last, "'");
      uint64_t size = 0;
      if (!parse_number(h + 124, 12, size)) fail(where, ": broken size field in the header after member '", last, "'");
      const char type = char(h[156]);
      if (have_pax_size) size = pax_size;
      const uint64_t data = pos + kBlock;
      // data <= end here; comparing with end - data cannot overflow, whatever size a header claims.
      const uint64_t left = end - data;
      const uint64_t padded = size > left ? left : (size + kBlock - 1) / kBlock * kBlock;
      const auto past_end = [&](const std::string& member) {
        fail(where, ": member '", member, "' is cut short: ", size, " bytes announced, ", left, " left in the archive");
      };
      if (type == 'L' || type == 'x') {
        if (size > kMaxExtendedHeader) fail(where, ": extended header of ", size, " bytes after member '", last, "'");
        if (size > left) past_end(type == 'L' ? "(long name)" : "(pax header)");
        std::string text(size_t(size), '\0');
        if (!read_at(data, reinterpret_cast<uint8_t*>(text.data()), size)) past_end("(extended header)");
        if (type == 'L') {
          long_name = text.substr(0, text.find('\0'));
        } else {
          parse_pax(text, where, pax_path, pax_size, have_pax_size);
        }
        pos = data + padded;
        continue;
      }
      std::string name;
      if (!pax_path.empty()) {
        name = pax_path;
      } else if (!long_name.empty()) {
        name = long_name;
      } else {
        const std::string ustar_prefix = std::memcmp(h + 257, "ustar\0", 6) == 0 ? field(h + 345, 155) : "";
        name = ustar_prefix.empty() ? field(h, 100) : ustar_prefix + "/" + field(h, 100);
      }
      long_name.clear();
      pax_path.clear();
      have_pax_size = false;
      name = strip_leading_dot_slash(name);
      last = name;
      const bool regular = type == '0' || type == '\0' || type == '7';
      if (size > left) past_end(name);  // a link or folder claiming data beyond the end, too
      pos = data + padded;
      if (name.empty() || climbs_out(name)) continue;
      if (type == '5') {
        if (name.back() != '/') name += '/';
        out.entries.push_back({prefix + name, 0, 0});
        continue;
      }
      if (!regular) continue;  // links, devices, FIFOs, GNU volume headers: never kept
      if (nest && size >= kBlock && ends_with_tar(name)) {
        uint8_t inner[kBlock];
        if (read_at(data, inner, kBlock) && is_uncompressed_tar(inner, kBlock)) {
          const std::string folder = name.substr(0, name.size() - 4);
          out.entries.push_back({prefix + folder + "/", 0, 0});
          index(data, data + size, prefix + folder + "/", where + ":" + name, false, out);
          ++out.nested_tars;
          continue;
        }
      }
      out.entries.push_back({prefix + name, data, size});
    }
    // Running out of blocks without the end marker: a tar cut at a member boundary, accepted (as GNU
    // tar does) since every member is whole; a part of a header is not.
    if (pos < end) fail(where, ": cut short inside the header after member '", last, "'");
  }

 private:
  static bool ends_with_tar(const std::string& name) {
    return name.size() > 4 && name.compare(name.size() - 4, 4, ".tar") == 0;
  }

  // Pax records: "<length> <key>=<value>\n".
  static void parse_pax(const std::string& text, const std::string& where, std::string& path, uint64_t& size,
                        bool& have_size) {
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t space = text.find(' ', pos);
      if (space == std::string::npos) break;
      size_t len = 0;
      for (size_t i = pos; i < space; ++i) {
        if (text[i] < '0' || text[i] > '9' || len > text.size()) fail(where, ": broken pax header");
        len = len * 10 + size_t(text[i] - '0');
      }
      if (len <= space - pos || pos + len > text.size()) fail(where, ": broken pax header");
      const std::string record = text.substr(space + 1, pos + len - space - 2);  // less the '\n'
      const size_t eq = record.find('=');
      if (eq != std::string::npos) {
        const std::string key = record.substr(0, eq), value = record.substr(eq + 1);
        if (key == "path") path = value;
        if (key == "size") {
          uint64_t v = 0;
          for (char c : value) {
            if (c < '0' || c > '9' || (v >> 58)) fail(where, ": broken pax size '", value, "'");
            v = v * 10 + uint64_t(c - '0');
          }
          size = v;
          have_size = true;
        }
      }
      pos += len;
    }
  }

  int fd_;
  std::string name_;
};

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
}

bool get_u64(std::istream& in, uint64_t& v) {
  uint8_t b[8];
  if (!in.read(reinterpret_cast<char*>(b), 8)) return false;
  v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return true;
}

// The cached index for `key` (resolved path, size, time), or false when absent, stale or damaged.
bool read_cache(const std::string& file, const std::string& key, uint64_t archive_size, TarIndex& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, kCacheMagic, 8) != 0) return false;
  uint64_t key_len = 0, size = 0, mtime = 0, count = 0, nested = 0;
  if (!get_u64(in, key_len) || key_len > 1 << 16) return false;
  std::string stored(size_t(key_len), '\0');
  if (!in.read(stored.data(), std::streamsize(key_len)) || stored != key) return false;
  if (!get_u64(in, size) || !get_u64(in, mtime) || !get_u64(in, count) || !get_u64(in, nested)) return false;
  if (size != out.archive_size || int64_t(mtime) != out.archive_mtime_ns || count > (uint64_t(1) << 32)) return false;
  std::vector<TarEntry> entries;
  entries.reserve(size_t(count));
  for (uint64_t i = 0; i < count; ++i) {
    TarEntry e;
    uint64_t len = 0;
    if (!get_u64(in, len) || len > kMaxExtendedHeader) return false;
    e.name.resize(size_t(len));
    if (!in.read(e.name.data(), std::streamsize(len)) || !get_u64(in, e.offset) || !get_u64(in, e.size)) return false;
    if (e.offset + e.size > archive_size || e.offset + e.size < e.offset) return false;
    entries.push_back(std::move(e));
  }
  char tail[4];
  if (!in.read(tail, 4) || std::memcmp(tail, "END\n", 4) != 0) return false;
  out.entries = std::move(entries);
  out.nested_tars = size_t(nested);
  return true;
}

// Written to a temporary name and renamed, so a cache file under its name is always whole.
void write_cache(const std::string& file, const std::string& key, const TarIndex& index) {
  std::string bytes(kCacheMagic, 8);
  put_u64(bytes, key.size());
  bytes += key;
  put_u64(bytes, index.archive_size);
  put_u64(bytes, uint64_t(index.archive_mtime_ns));
  put_u64(bytes, index.entries.size());
  put_u64(bytes, index.nested_tars);
  for (const TarEntry& e : index.entries) {
    put_u64(bytes, e.name.size());
    bytes += e.name;
    put_u64(bytes, e.offset);
    put_u64(bytes, e.size);
  }
  bytes += "END\n";
  std::error_code ec;
  fs::create_directories(fs::path(file).parent_path(), ec);
  const std::string part = file + ".part." + std::to_string(::getpid());
  {
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) {
      out.close();
      fs::remove(part, ec);
      return;
    }
  }
  fs::rename(part, file, ec);
  if (ec) fs::remove(part, ec);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

bool is_uncompressed_tar(const uint8_t* head, size_t n) {
  if (n < kBlock) return false;
  return std::memcmp(head + 257, "ustar", 5) == 0 && checksum_ok(head);
}

std::string tar_index_cache_file(const std::string& path) {
  std::string cache;
  try {
    cache = default_cache_dir();
  } catch (const Error&) {
    return "";
  }
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(path, ec);
  const std::string key = ec ? path : resolved.string();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(key)));
  return (fs::path(cache) / "tar-index" / (base_name(key) + "-" + hex + ".index")).string();
}

TarIndex index_tar(const std::string& path) {
  struct stat st {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    fail(path, ": cannot open archive: ", std::strerror(errno));
  }
  TarIndex index;
  index.archive_size = uint64_t(st.st_size);
  index.archive_mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + int64_t(st.st_mtim.tv_nsec);
  index.cache_file = tar_index_cache_file(path);
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(path, ec);
  const std::string key = ec ? path : resolved.string();
  if (!index.cache_file.empty() && read_cache(index.cache_file, key, index.archive_size, index)) {
    ::close(fd);
    index.from_cache = true;
    return index;
  }
  try {
    Reader(fd, path).index(0, index.archive_size, "", path, true, index);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (!index.cache_file.empty() && index.entries.size() >= kMinCachedEntries) write_cache(index.cache_file, key, index);
  return index;
}

std::shared_ptr<const TarIndex> shared_tar_index(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const TarIndex>> held;  // by the path as given
  struct stat st {};
  const bool known = ::stat(path.c_str(), &st) == 0;
  const int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + int64_t(st.st_mtim.tv_nsec);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = held.find(path);
    if (it != held.end()) {
      std::shared_ptr<const TarIndex> index = it->second.lock();
      if (index && known && index->archive_size == uint64_t(st.st_size) && index->archive_mtime_ns == mtime) return index;
      held.erase(it);
    }
  }
  auto index = std::make_shared<const TarIndex>(index_tar(path));
  std::lock_guard<std::mutex> lock(mutex);
  held[path] = index;
  return index;
}

TarFile::TarFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(path, ": cannot open archive: ", std::strerror(errno));
}

TarFile::~TarFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<uint8_t> TarFile::read(uint64_t offset, uint64_t size, const std::string& what) const {
  std::vector<uint8_t> out(static_cast<size_t>(size));
  if (!Reader(fd_, path_).read_at(offset, out.data(), size))
    fail(what, ": the archive ends before the member's ", size, " bytes (was it changed after it was indexed?)");
  return out;
}

}  // namespace alexnet
