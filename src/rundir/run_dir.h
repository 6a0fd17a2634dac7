// A run directory (`alexnet train --out RUN`): the one place that names its files, reads and writes
// the small ones, and keeps it to one writer at a time.
//
//   config.json                        the run's settings (train/config.h's table, as JSON)
//   last.safetensors, best.safetensors weights (train/checkpoint.h writes and reads them)
//   ema.safetensors                    the moving average of the weights (--ema)
//   state-<step>.safetensors           the optimiser and loop state of last.safetensors
//   metrics.jsonl, metrics.csv         the metrics (report/metrics.h)
//   confusion.json                     the last validation's confusion matrix and class names
//   eval.json                          an `alexnet eval --json` result kept beside the run (the demo)
//   report.html, *.png                 the report (report/run_report.h)
//   .lock                              held (flock) by the process writing the run; names it
// Files are written atomically (core/atomic_file.h): PATH.tmp.<pid>, then renamed over PATH.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alexnet::rundir {

inline constexpr char kConfig[] = "config.json";
inline constexpr char kLast[] = "last.safetensors";
inline constexpr char kBest[] = "best.safetensors";
inline constexpr char kEma[] = "ema.safetensors";
inline constexpr char kMetricsJsonl[] = "metrics.jsonl";
inline constexpr char kMetricsCsv[] = "metrics.csv";
inline constexpr char kConfusion[] = "confusion.json";
inline constexpr char kEval[] = "eval.json";
inline constexpr char kReport[] = "report.html";
inline constexpr char kLock[] = ".lock";

// "state-<step>.safetensors"; whether `name` is such a name (and its step).
std::string state_name(int64_t step);
std::optional<int64_t> state_step(const std::string& name);

// dir/name.
std::string file(const std::string& dir, const std::string& name);

// The last validation's confusion matrix: [true class][predicted class] counts, and the class names
// (may be empty).
struct Confusion {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> matrix;
  std::vector<std::string> class_descriptions = {};  // human-readable names per class (ImageNet's), or empty
};
void write_confusion(const std::string& dir, const Confusion& c);
// nullopt when the run has none; throws alexnet::Error naming the file when it is malformed.
std::optional<Confusion> read_confusion(const std::string& dir);

void write_config(const std::string& dir, const std::string& config_json);
// nullopt when the run has none.
std::optional<std::string> read_config(const std::string& dir);

// Throws the error Writer::open would when another process is writing `dir` (nothing when it is free
// or not a run directory): a resume asks before it reads the checkpoint the writer is replacing.
void check_no_writer(const std::string& dir);

// The right to write a run directory, held from open_for_writing until destroyed (or the process
// ends, however it ends: the lock is the kernel's, so kill -9 leaves none behind). Opening creates the
// folder, takes the lock, and removes what dead writers left: temporary files, and the state files of
// steps that no checkpoint points at (a full disk between the two writes of a checkpoint).
class Writer {
 public:
  // Throws alexnet::Error when the folder cannot be made, or when another process holds it ("RUN is
  // being written by process PID on HOST ...").
  static Writer open(const std::string& dir, std::optional<int64_t> keep_state_step = std::nullopt);
  Writer(Writer&& other) noexcept;
  Writer& operator=(Writer&&) = delete;
  ~Writer();
  const std::string& dir() const { return dir_; }

 private:
  Writer(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  std::string dir_;
  int fd_ = -1;
};

}  // namespace alexnet::rundir
