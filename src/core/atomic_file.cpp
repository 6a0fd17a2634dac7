#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <cstring>

#include "core/error.h"

namespace alexnet {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_(cat(path_, ".tmp.", ::getpid())) {
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, ": cannot create ", temp_, ": ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path_, ": cannot write: ", std::strerror(errno));
    }
    p += n;
    size -= size_t(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail(path_, ": cannot flush to disk: ", std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(path_, ": cannot close ", temp_, ": ", std::strerror(errno));
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail(path_, ": cannot rename ", temp_, " over it: ", std::strerror(errno));
  committed_ = true;
  // Make the rename durable too. Best effort: the file is complete and in place already, and some
  // file systems refuse fsync on a folder.
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

void append_line(const std::string& path, std::string_view line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
  out.flush();
  if (!out) fail(path, ": cannot write (", std::strerror(errno), ")");
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read: ", std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) fail(path, ": cannot read: ", std::strerror(errno));
  return out.str();
}

}  // namespace alexnet
