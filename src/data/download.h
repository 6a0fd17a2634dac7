// Fetching the official CIFAR archives over HTTP(S) into a local cache, checked by MD5.
//
// A download is written to NAME.part.<pid>, checked, and only then renamed to NAME, so a file under
// its final name is always complete and verified; an interrupted or corrupt download leaves nothing
// behind that could later be taken for the real thing. A file already in the cache whose checksum
// matches is used as it is, without touching the network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "data/cache_dir.h"

namespace alexnet {

// MD5 (RFC 1321), for checking downloads against published checksums (not for security).
class Md5 {
 public:
  Md5();
  void update(const void* data, size_t size);
  // The digest as 32 lowercase hex digits. Call once, after the last update.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);  // one 64-byte block
  uint32_t state_[4];
  uint64_t length_ = 0;          // bytes seen
  uint8_t buffer_[64];
  size_t buffered_ = 0;
};

std::string md5_hex(const void* data, size_t size);
// Throws alexnet::Error naming the path when the file cannot be read.
std::string md5_file_hex(const std::string& path);

// Called as bytes arrive: received so far, total (0 while unknown), and done = true once at the end.
using DownloadProgress = std::function<void(uint64_t received, uint64_t total, bool done)>;

// A progress line on stderr, "LABEL: 12.3 / 162.6 MB (7%)", redrawn in place a few times a second.
DownloadProgress stderr_progress(const std::string& label);

// Downloads URL to DEST unless DEST already exists with the expected MD5 (32 hex digits). Throws
// alexnet::Error naming the URL or file for an HTTP error status, a refused or dropped connection, a
// checksum mismatch or a write failure; in every case DEST is left as it was and no partial file
// stays behind. Only http:// and https:// URLs (and redirects) are followed.
void download_file(const std::string& url, const std::string& dest, const std::string& expected_md5,
                   const DownloadProgress& progress = {});

enum class CifarKind { Cifar10, Cifar100 };

// "cifar10" / "cifar-10" and "cifar100" / "cifar-100"; throws alexnet::Error for anything else.
CifarKind parse_cifar_kind(const std::string& name);

struct CifarArchiveInfo {
  const char* url;   // the official location
  const char* md5;   // its published checksum
  const char* file;  // the file name in the cache
};
CifarArchiveInfo cifar_archive_info(CifarKind kind);

// Makes sure the official archive (cifar-10-binary.tar.gz or cifar-100-binary.tar.gz) is in
// CACHE_DIR (empty: default_cache_dir()) and returns its path, ready for open_dataset. The URL is
// `url` when given, else $ALEXNET_CIFAR_URL when set, else the official one; the checksum is always
// the official one. `progress` empty: a line on stderr.
std::string download_cifar(CifarKind kind, const std::string& cache_dir = "", const DownloadProgress& progress = {},
                           const std::string& url = "");

}  // namespace alexnet
