#include "rundir/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace alexnet::rundir {

namespace fs = std::filesystem;
using nlohmann::json;

std::string state_name(int64_t step) { return "state-" + std::to_string(step) + ".safetensors"; }

std::optional<int64_t> state_step(const std::string& name) {
  constexpr std::string_view prefix = "state-", suffix = ".safetensors";
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) return {};
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return {};
  return std::stoll(digits);
}

std::string file(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

void write_confusion(const std::string& dir, const Confusion& c) {
  json j{{"classes", c.classes}, {"matrix", c.matrix}};
  if (!c.class_descriptions.empty()) j["class_descriptions"] = c.class_descriptions;
  write_file_atomic(file(dir, kConfusion), j.dump() + "\n");
}

std::optional<Confusion> read_confusion(const std::string& dir) {
  const std::string path = file(dir, kConfusion);
  if (!fs::exists(path)) return {};
  Confusion c;
  try {
    const json j = json::parse(read_text_file(path));
    if (j.contains("classes")) c.classes = j.at("classes").get<std::vector<std::string>>();
    if (j.contains("class_descriptions")) c.class_descriptions = j.at("class_descriptions").get<std::vector<std::string>>();
    c.matrix = j.at("matrix").get<std::vector<std::vector<int64_t>>>();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(path, ": malformed (", e.what(), ")");
  }
  for (const auto& row : c.matrix)
    if (row.size() != c.matrix.size()) fail(path, ": the matrix is not square");
  return c;
}

void write_config(const std::string& dir, const std::string& config_json) {
  write_file_atomic(file(dir, kConfig), config_json + "\n");
}

std::optional<std::string> read_config(const std::string& dir) {
  const std::string path = file(dir, kConfig);
  if (!fs::exists(path)) return {};
  return read_text_file(path);
}

namespace {

// A file a writer of this folder left half-written: NAME.tmp.<pid>.
bool is_temporary(const std::string& name) {
  const size_t at = name.rfind(".tmp.");
  return at != std::string::npos && at > 0 && at + 5 < name.size() &&
         name.find_first_not_of("0123456789", at + 5) == std::string::npos;
}

void remove_leftovers(const std::string& dir, std::optional<int64_t> keep_state_step) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const std::optional<int64_t> step = state_step(name);
    if (is_temporary(name) || (step && keep_state_step && *step != *keep_state_step)) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    }
  }
}

}  // namespace

namespace {

// Takes the lock on an open lock file, or throws naming the process that holds it (closing fd).
void lock_or_fail(int fd, const std::string& dir) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return;
  const int err = errno;
  char holder[256] = {};
  const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
  ::close(fd);
  std::string who = n > 0 ? std::string(holder, size_t(n)) : std::string("another process");
  while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
  if (err == EWOULDBLOCK)
    fail(dir, " is being written by ", who, ": one training run writes a run directory at a time (wait for it "
              "to end, stop it, or pass another --out)");
  fail(file(dir, kLock), ": cannot lock the run directory (", std::strerror(err), ")");
}

}  // namespace

void check_no_writer(const std::string& dir) {
  const int fd = ::open(file(dir, kLock).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // no lock file: never written by a process that locks, or not a run directory
  lock_or_fail(fd, dir);
  ::close(fd);
}

Writer Writer::open(const std::string& dir, std::optional<int64_t> keep_state_step) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create the run directory (", ec.message(), ")");
  const std::string lock_path = file(dir, kLock);
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(lock_path, ": cannot open the run directory's lock (", std::strerror(errno), ")");
  lock_or_fail(fd, dir);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string me = "process " + std::to_string(::getpid()) + " on " + host + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != ssize_t(me.size())) {
    // the lock holds without the name: only the message of a second writer is poorer
  }
  remove_leftovers(dir, keep_state_step);
  return Writer(dir, fd);
}

Writer::Writer(Writer&& other) noexcept : dir_(std::move(other.dir_)), fd_(other.fd_) { other.fd_ = -1; }

Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace alexnet::rundir
