#include "data/download.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include <curl/curl.h>

#include "core/error.h"

namespace alexnet {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// MD5, as RFC 1321 describes it: 64-byte blocks, four rounds of sixteen steps, little-endian words.

namespace {

constexpr uint32_t kShift[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

// The step constants: the integer part of 2^32 * |sin(i + 1)|, as the RFC defines them.
struct SineTable {
  uint32_t k[64];
  SineTable() {
    for (int i = 0; i < 64; ++i) k[i] = uint32_t(std::floor(std::fabs(std::sin(double(i + 1))) * 4294967296.0));
  }
};
const SineTable kSine;

uint32_t rotate_left(uint32_t x, uint32_t n) { return (x << n) | (x >> (32 - n)); }

}  // namespace

Md5::Md5() : state_{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u}, buffer_{} {}

void Md5::block(const uint8_t* p) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i)
    m[i] = uint32_t(p[i * 4]) | uint32_t(p[i * 4 + 1]) << 8 | uint32_t(p[i * 4 + 2]) << 16 | uint32_t(p[i * 4 + 3]) << 24;
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (int i = 0; i < 64; ++i) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const uint32_t next = b + rotate_left(a + f + kSine.k[i] + m[g], kShift[i]);
    a = d;
    d = c;
    c = b;
    b = next;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

void Md5::update(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  length_ += size;
  if (buffered_ > 0) {
    const size_t take = std::min(size, size_t(64) - buffered_);
    std::memcpy(buffer_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    size -= take;
    if (buffered_ < 64) return;
    block(buffer_);
    buffered_ = 0;
  }
  for (; size >= 64; p += 64, size -= 64) block(p);
  std::memcpy(buffer_, p, size);
  buffered_ = size;
}

std::string Md5::hex_digest() {
  const uint64_t bits = length_ * 8;
  const uint8_t one = 0x80, zero = 0;
  update(&one, 1);
  while (buffered_ != 56) update(&zero, 1);
  uint8_t tail[8];
  for (int i = 0; i < 8; ++i) tail[i] = uint8_t(bits >> (8 * i));
  update(tail, 8);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (uint32_t word : state_)
    for (int i = 0; i < 4; ++i) {
      const uint8_t byte = uint8_t(word >> (8 * i));
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  return out;
}

std::string md5_hex(const void* data, size_t size) {
  Md5 md5;
  md5.update(data, size);
  return md5.hex_digest();
}

std::string md5_file_hex(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  Md5 md5;
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[1 << 20]);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.get(), 1 << 20);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      fail(path, ": cannot read: ", std::strerror(e));
    }
    if (n == 0) break;
    md5.update(buffer.get(), size_t(n));
  }
  ::close(fd);
  return md5.hex_digest();
}

// ---------------------------------------------------------------------------------------------
// Progress

DownloadProgress stderr_progress(const std::string& label) {
  struct State {
    std::chrono::steady_clock::time_point last{};
    bool drawn = false;
  };
  auto state = std::make_shared<State>();
  return [label, state](uint64_t received, uint64_t total, bool done) {
    const auto now = std::chrono::steady_clock::now();
    if (!done && state->drawn && now - state->last < std::chrono::milliseconds(250)) return;
    state->last = now;
    state->drawn = true;
    const double mb = 1e-6;
    if (total > 0) {
      std::fprintf(stderr, "\r%s: %.1f / %.1f MB (%d%%)", label.c_str(), double(received) * mb, double(total) * mb,
                   int(100.0 * double(received) / double(total)));
    } else {
      std::fprintf(stderr, "\r%s: %.1f MB", label.c_str(), double(received) * mb);
    }
    if (done) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

// ---------------------------------------------------------------------------------------------
// Downloading

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("cannot initialise libcurl");
  });
}

struct Transfer {
  std::FILE* file = nullptr;
  Md5 md5;
  uint64_t received = 0;
  int write_errno = 0;
  const DownloadProgress* progress = nullptr;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (std::fwrite(data, 1, n, t->file) != n) {
    t->write_errno = errno ? errno : EIO;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  t->md5.update(data, n);
  t->received += n;
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->progress && now > 0) (*t->progress)(uint64_t(now), uint64_t(std::max<curl_off_t>(total, 0)), false);
  return 0;
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// Removes the partial file unless told it has been renamed.
struct PartialFile {
  std::string path;
  bool keep = false;
  ~PartialFile() {
    if (!keep) std::remove(path.c_str());
  }
};

std::string lowercase(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void download_file(const std::string& url, const std::string& dest, const std::string& expected_md5,
                   const DownloadProgress& progress) {
  const std::string want = lowercase(expected_md5);
  if (want.size() != 32 || want.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail("download of ", url, ": expected MD5 '", expected_md5, "' is not 32 hex digits");

  std::error_code ec;
  if (fs::is_regular_file(dest, ec)) {
    if (md5_file_hex(dest) == want) return;
    std::fprintf(stderr, "warning: %s exists but its checksum is wrong; downloading it again\n", dest.c_str());
  }
  const fs::path parent = fs::path(dest).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) fail(parent.string(), ": cannot create folder: ", ec.message());
  }

  init_curl_once();
  PartialFile part{cat(dest, ".part.", ::getpid())};
  Transfer transfer;
  transfer.progress = &progress;
  transfer.file = std::fopen(part.path.c_str(), "wb");
  if (!transfer.file) fail(part.path, ": cannot write: ", std::strerror(errno));

  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    std::fclose(transfer.file);
    fail("cannot initialise libcurl");
  }
  char error_text[CURL_ERROR_SIZE] = {};
  const std::string agent = cat("alexnet/", ALEXNET_VERSION);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // give up after a minute without a byte
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  const CURLcode result = curl_easy_perform(c);
  const bool flushed = std::fflush(transfer.file) == 0 && ::fsync(::fileno(transfer.file)) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(transfer.file) == 0;
  if (result != CURLE_OK) {
    if (result == CURLE_WRITE_ERROR && transfer.write_errno != 0)
      fail(part.path, ": cannot write download of ", url, ": ", std::strerror(transfer.write_errno));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    const std::string detail = error_text[0] ? error_text : curl_easy_strerror(result);
    if (result == CURLE_HTTP_RETURNED_ERROR) fail("download of ", url, " failed: HTTP status ", status, " (", detail, ")");
    fail("download of ", url, " failed after ", transfer.received, " bytes: ", detail);
  }
  if (!flushed || !closed) fail(part.path, ": cannot write download of ", url, ": ", std::strerror(flush_errno));
  if (progress) progress(transfer.received, transfer.received, true);

  const std::string got = transfer.md5.hex_digest();
  if (got != want)
    fail("download of ", url, ": checksum mismatch (MD5 ", got, ", expected ", want, ", ", transfer.received,
         " bytes); nothing was saved");
  if (std::rename(part.path.c_str(), dest.c_str()) != 0)
    fail(dest, ": cannot rename the finished download into place: ", std::strerror(errno));
  part.keep = true;
}

// ---------------------------------------------------------------------------------------------
// CIFAR

CifarKind parse_cifar_kind(const std::string& name) {
  if (name == "cifar10" || name == "cifar-10") return CifarKind::Cifar10;
  if (name == "cifar100" || name == "cifar-100") return CifarKind::Cifar100;
  fail("unknown dataset '", name, "' to download (expected cifar10 or cifar100)");
}

CifarArchiveInfo cifar_archive_info(CifarKind kind) {
  if (kind == CifarKind::Cifar10)
    return {"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
            "cifar-10-binary.tar.gz"};
  return {"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8",
          "cifar-100-binary.tar.gz"};
}

std::string download_cifar(CifarKind kind, const std::string& cache_dir, const DownloadProgress& progress,
                           const std::string& url) {
  const CifarArchiveInfo info = cifar_archive_info(kind);
  const std::string dir = cache_dir.empty() ? default_cache_dir() : cache_dir;
  const std::string dest = (fs::path(dir) / info.file).string();
  std::string source = url;
  if (source.empty()) {
    const char* env = std::getenv("ALEXNET_CIFAR_URL");
    source = env && *env ? env : info.url;
  }
  download_file(source, dest, info.md5, progress ? progress : stderr_progress(cat("downloading ", info.file)));
  return dest;
}

}  // namespace alexnet
