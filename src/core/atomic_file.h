// Writing files so that a reader (or a run that dies mid-write) only ever sees the old content or the
// complete new one: write PATH.tmp.<pid>, check every write, fsync, rename over PATH, fsync the folder.
// A full disk or an unwritable folder throws alexnet::Error naming PATH and leaves PATH as it was.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace alexnet {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // creates the temporary file
  ~AtomicFile();                          // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  // fsync, close, rename over the final path, fsync the folder (best effort).
  void commit();

 private:
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole file at once.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Appends one line (and '\n') to a log file and flushes it; throws alexnet::Error naming PATH when
// it cannot (a full disk). Lines of logs are not atomic: a reader skips a torn last line.
void append_line(const std::string& path, std::string_view line);

// The whole file; throws alexnet::Error naming PATH when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace alexnet
