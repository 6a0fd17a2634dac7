// A run's metrics, written while it trains and read back for its report: one place for the format.
//
//   metrics.jsonl  one JSON object per line: {"kind":"step",...} at every printed step (the mean loss of
//                  the last print-frequency steps, the learning rate, throughput, time waiting for data
//                  and computing), {"kind":"epoch",...} at the end of every epoch (training loss and
//                  accuracy, and validation loss/top-1/top-5 when it validated)
//   metrics.csv    the same records as a table for spreadsheets:
//                  kind,epoch,step,loss,lr,img_s,train_acc,val_loss,val_top1,val_top5
//   events.out.tfevents.*  the same numbers as TensorBoard scalars (report/tensorboard.h), one new
//                  file per writer; with the run's settings (config.json) for the hparams dashboard
// Lines and events are appended and flushed one at a time; a resumed run appends to the same files
// (a new events file beside the old), and the reader (metrics.jsonl's and TensorBoard's) lets the
// last record of a step (or epoch) win.
//
// TensorBoard tags: a step record's numbers are train/loss, train/lr, train/img_s, train/data_wait_s,
// train/compute_s and train/data_wait_share (data_wait_s / (data_wait_s + compute_s)) at its step;
// an epoch record's are epoch/KEY for every KEY but "step" (epoch/train_loss, epoch/val_top1, ...) at
// the step the epoch ended (its "step" value, else the last step written). Numbers metrics.jsonl
// writes as null are left out.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

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

class TensorBoardWriter;

// Appends records to RUN_DIR/metrics.jsonl and RUN_DIR/metrics.csv (the CSV header when the file is
// new) and to a new TensorBoard events file in RUN_DIR (when the build has protobuf, and
// `tensorboard` is true). The run's first events file starts with the settings of RUN_DIR/config.json
// when it is there (the hparams dashboard shows a run's first); the first record's step starts a
// session (report/tensorboard.h: a resumed run's records replace the interrupted attempt's from there on).
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& run_dir, bool tensorboard = true);
  ~MetricsWriter();
  void write(const StepRecord& r);
  void write(const EpochRecord& r);

  // Pictures for TensorBoard's images tab (nothing without an events file): the first convolution's
  // weight as the report draws it (images/filters, each kernel 4x; a weight that is not [K, 3, R, S]
  // is left out and false returned), and a confusion matrix [C][C] of counts (images/confusion,
  // row-normalised as confusion.png; `classes` holds C names, else indices are written).
  bool write_filters(int64_t step, const Tensor& weight);
  void write_confusion(int64_t step, const std::vector<std::vector<int64_t>>& counts,
                       const std::vector<std::string>& classes);

  // The events file, empty when there is none.
  std::string tensorboard_path() const;

 private:
  void begin(int64_t step);  // the session's START before the first record
  std::string jsonl_, csv_;
  std::unique_ptr<TensorBoardWriter> tb_;
  bool started_ = false;
  int64_t last_step_ = -1;  // of the last record written, for epoch records without a "step"
};

}  // namespace alexnet::report
