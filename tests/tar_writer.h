// Writing tar and tar.gz archives for tests (libarchive): the one tar writer of the test suite.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace alexnet::testing {

struct TarMember {
  std::string name;           // the path inside the archive
  std::vector<uint8_t> data;  // a regular file's bytes
  bool folder = false;        // a directory entry instead (data ignored)
};

// The archive's bytes: ustar, gzip-compressed when `gzip`. Throws std::runtime_error when libarchive fails.
inline std::vector<uint8_t> tar_bytes(const std::vector<TarMember>& members, bool gzip) {
  size_t total = size_t(1) << 16;
  for (const TarMember& m : members) total += m.data.size() + m.name.size() + 2048;
  std::vector<uint8_t> out(total);
  size_t used = 0;
  archive* a = archive_write_new();
  auto check = [&](int rc, const char* what) {
    if (rc < ARCHIVE_WARN) {
      const std::string message = std::string(what) + ": " + (archive_error_string(a) ? archive_error_string(a) : "?");
      archive_write_free(a);
      throw std::runtime_error(message);
    }
  };
  check(archive_write_set_format_ustar(a), "tar format");
  if (gzip) check(archive_write_add_filter_gzip(a), "gzip filter");
  check(archive_write_set_bytes_in_last_block(a, 1), "last block");
  check(archive_write_open_memory(a, out.data(), out.size(), &used), "open");
  for (const TarMember& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.folder ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, m.folder ? 0755 : 0644);
    archive_entry_set_size(e, m.folder ? 0 : la_int64_t(m.data.size()));
    const int rc = archive_write_header(a, e);
    archive_entry_free(e);
    check(rc, "header");
    if (!m.folder && !m.data.empty() && archive_write_data(a, m.data.data(), m.data.size()) != la_ssize_t(m.data.size()))
      check(ARCHIVE_FATAL, "data");
  }
  check(archive_write_close(a), "close");
  archive_write_free(a);
  out.resize(used);
  return out;
}

inline void write_tar(const std::string& path, const std::vector<TarMember>& members, bool gzip) {
  const std::vector<uint8_t> bytes = tar_bytes(members, gzip);
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace alexnet::testing
