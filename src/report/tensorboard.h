// TensorBoard event files, written by our own code: `tensorboard --logdir runs/` shows a run's
// curves while it trains, and runs side by side.
//
// An events file is a sequence of TFRecords, each framing one serialised Event message
// (report/tensorboard.proto):
//   uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes,
//   length bytes of data,          uint32 masked CRC-32C of the data.
// The first event holds file_version "brain.Event:2". Every event is flushed to the file as it is
// written, so a reader sees each record as soon as it is logged; a record cut short by a crash is
// the file's last, and readers stop there.
//
// Resumed runs: a new events file is started in the same directory, and its first record at step s
// is preceded by a SessionLog START at s, which tells TensorBoard to drop what earlier files hold at
// step s and later (the steps the interrupted run logged after its last checkpoint). The last
// attempt at a step wins, as it does for metrics.jsonl.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "image/image.h"

namespace alexnet::report {

// TFRecord's checksums are CRC-32C (core/crc32c.h) in this masked form: ((crc >> 15) | (crc << 17)) + 0xA282EAD8.
uint32_t mask_crc32c(uint32_t crc);
// One TFRecord: the framing above around `data`.
std::string tfrecord(std::string_view data);

// Whether event files can be written (the build found protobuf); without it TensorBoardWriter
// cannot be constructed and MetricsWriter writes metrics.jsonl and metrics.csv only.
bool tensorboard_built();

// Appends events to a new file DIR/events.out.tfevents.<seconds>.<host>.<pid>.<n>. Each call writes
// one event and flushes it. Throws alexnet::Error naming the file when it cannot be created or written.
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // A session (re)starts at `step`: readers drop what they hold at `step` and later.
  void start(int64_t step);
  // Scalars, as TensorBoard's float32 simple values, in one event. Non-finite values are left out
  // (metrics.jsonl writes them as null); nothing is written when none is left.
  void scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  // An RGB picture, as a PNG.
  void image(const std::string& tag, int64_t step, const Image& image);
  // The run's settings for the hparams dashboard: every member of a JSON object; numbers, strings and
  // booleans as they are, anything else as its JSON text.
  void hparams(const nlohmann::json& settings);

  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);  // a serialised Event
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace alexnet::report
