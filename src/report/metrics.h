// A run's metrics, written while it trains and read back for its report: one place for the format.
//
//   metrics.jsonl  one JSON object per line: {"kind":"step",...} at every printed step (the mean loss of
//                  the last print-frequency steps, the learning rate, throughput, time waiting for data
//                  and computing), {"kind":"epoch",...} at the end of every epoch (training loss and
//                  accuracy, and validation loss/top-1/top-5 when it validated)
//   metrics.csv    the same records as a table for spreadsheets:
//                  kind,epoch,step,loss,lr,img_s,train_acc,val_loss,val_top1,val_top5
// Lines are appended and flushed one at a time; a resumed run appends to the same files, and the
// reader lets the last record of a step (or epoch) win.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace alexnet::report {

// A print-step line: {"kind":"step","epoch":1,"step":100,"loss":2.1,"lr":0.01,"img_s":50.2,...}.
// `step` is the global step count. Missing or null numbers are NaN.
struct StepRecord {
  int64_t epoch = 0;
  double step = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();
  double lr = std::numeric_limits<double>::quiet_NaN();
  double img_s = std::numeric_limits<double>::quiet_NaN();
  double data_wait_s = std::numeric_limits<double>::quiet_NaN();  // of the interval: waiting for the loader
  double compute_s = std::numeric_limits<double>::quiet_NaN();    // ... and computing
};

// An epoch line: {"kind":"epoch","epoch":1,"train_loss":..,"train_acc":..,"val_loss":..,"val_top1":..,
// "val_top5":..,"ema_top1":..}: every numeric field but "epoch" is kept (nulls and non-numbers are left out).
struct EpochRecord {
  int64_t epoch = 0;
  std::map<std::string, double> values;
  std::optional<double> get(const std::string& key) const;
};

struct RunMetrics {
  std::vector<StepRecord> steps;    // in step order
  std::vector<EpochRecord> epochs;  // in epoch order
  std::vector<std::string> notes;   // skipped lines, "metrics.jsonl:LINE: why"
};

// Reads metrics.jsonl. A resumed run may log a step (or epoch) again: a record whose step (epoch) is
// not after the previous one drops the earlier records from that step (epoch) on, so the last
// attempt wins. Throws alexnet::Error naming the file when it is missing or unreadable.
RunMetrics read_metrics(const std::string& path);

// Appends records to RUN_DIR/metrics.jsonl and RUN_DIR/metrics.csv (the CSV header when the file is new).
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& run_dir);
  void write(const StepRecord& r) const;
  void write(const EpochRecord& r) const;

 private:
  std::string jsonl_, csv_;
};

}  // namespace alexnet::report
