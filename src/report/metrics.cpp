#include "report/metrics.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "report/charts.h"
#include "report/tensorboard.h"
#include "rundir/run_dir.h"

namespace alexnet::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMaxLineNotes = 20;  // then one "... and N more" note

// A finite number at obj[key], or NaN when absent, null or not a number.
double number_or_nan(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return kNaN;
  return it->get<double>();
}

// A number for JSON: NaN and infinities (which JSON cannot hold) become null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// A number for the CSV: empty when unknown.
std::string cell(double v) { return std::isfinite(v) ? cat(v) : std::string(); }

const char kCsvHeader[] = "kind,epoch,step,loss,lr,img_s,train_acc,val_loss,val_top1,val_top5";

}  // namespace

MetricsWriter::MetricsWriter(const std::string& run_dir, bool tensorboard)
    : jsonl_(rundir::file(run_dir, rundir::kMetricsJsonl)), csv_(rundir::file(run_dir, rundir::kMetricsCsv)) {
  if (!fs::exists(csv_)) append_line(csv_, kCsvHeader);
  if (!tensorboard || !tensorboard_built()) return;
  // The hparams dashboard shows a run's first settings: they are written once, by the run's first writer.
  bool first = true;
  for (const auto& e : fs::directory_iterator(run_dir))
    first = first && e.path().filename().string().rfind("events.out.tfevents.", 0) != 0;
  tb_ = std::make_unique<TensorBoardWriter>(run_dir);
  if (const fs::path config = rundir::file(run_dir, rundir::kConfig); first && fs::exists(config)) {
    const json settings = json::parse(read_text_file(config.string()), nullptr, /*allow_exceptions=*/false);
    if (settings.is_object()) tb_->hparams(settings);  // a broken config.json is the report's to note
  }
}

MetricsWriter::~MetricsWriter() = default;

std::string MetricsWriter::tensorboard_path() const { return tb_ ? tb_->path() : std::string(); }

void MetricsWriter::begin(int64_t step) {
  if (started_) return;
  started_ = true;
  if (tb_) tb_->start(step);
}

void MetricsWriter::write(const StepRecord& r) {
  const json line{{"kind", "step"}, {"epoch", r.epoch},        {"step", number(r.step)},
                  {"loss", number(r.loss)},  {"lr", number(r.lr)}, {"img_s", number(r.img_s)},
                  {"data_wait_s", number(r.data_wait_s)}, {"compute_s", number(r.compute_s)}};
  append_line(jsonl_, line.dump());
  append_line(csv_, cat("step,", r.epoch, ",", cell(r.step), ",", cell(r.loss), ",", cell(r.lr), ",", cell(r.img_s), ",,,,"));
  if (!std::isfinite(r.step)) return;  // the reader skips such a line too
  const auto step = int64_t(r.step);
  begin(step);
  last_step_ = step;
  if (tb_)
    tb_->scalars(step, {{"train/loss", r.loss},
                        {"train/lr", r.lr},
                        {"train/img_s", r.img_s},
                        {"train/data_wait_s", r.data_wait_s},
                        {"train/compute_s", r.compute_s},
                        {"train/data_wait_share", r.data_wait_s / (r.data_wait_s + r.compute_s)}});
}

void MetricsWriter::write(const EpochRecord& r) {
  json line{{"kind", "epoch"}, {"epoch", r.epoch}};
  for (const auto& [key, value] : r.values) line[key] = number(value);
  append_line(jsonl_, line.dump());
  auto v = [&](const char* key) { return cell(r.get(key).value_or(kNaN)); };
  append_line(csv_, cat("epoch,", r.epoch, ",", v("step"), ",", v("train_loss"), ",,,", v("train_acc"), ",", v("val_loss"),
                        ",", v("val_top1"), ",", v("val_top5")));
  const std::optional<double> at = r.get("step");
  const int64_t step = at && std::isfinite(*at) ? int64_t(*at) : last_step_ >= 0 ? last_step_ : r.epoch;
  begin(step);
  last_step_ = step;
  if (!tb_) return;
  std::vector<std::pair<std::string, double>> values;
  for (const auto& [key, value] : r.values)
    if (key != "step") values.emplace_back("epoch/" + key, value);
  tb_->scalars(step, values);
}

bool MetricsWriter::write_filters(int64_t step, const Tensor& weight) {
  if (weight.shape().size() != 4 || weight.shape()[1] != 3) return false;
  begin(step);
  if (tb_) tb_->image("images/filters", step, draw_filters(weight, 4, FilterNorm::PerFilter));
  return true;
}

void MetricsWriter::write_confusion(int64_t step, const std::vector<std::vector<int64_t>>& counts,
                                    const std::vector<std::string>& classes) {
  std::vector<std::vector<double>> matrix;
  for (const auto& row : counts) matrix.emplace_back(row.begin(), row.end());
  begin(step);
  if (tb_) tb_->image("images/confusion", step, draw_confusion(matrix, classes.size() == counts.size() ? classes
                                                                                                    : std::vector<std::string>{}));
}

std::optional<double> EpochRecord::get(const std::string& key) const {
  const auto it = values.find(key);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

RunMetrics read_metrics(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  if (!fs::exists(path)) fail(path, ": no such file (a run directory's metrics.jsonl is written by `alexnet train`)");
  const std::string text = read_text_file(path);

  RunMetrics m;
  size_t skipped = 0;
  auto skip = [&](size_t line_no, const std::string& why) {
    if (++skipped <= kMaxLineNotes) m.notes.push_back(cat(name, ":", line_no, ": skipped: ", why));
  };
  std::istringstream lines(text);
  std::string line;
  for (size_t line_no = 1; std::getline(lines, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const json obj = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) {
      skip(line_no, "not valid JSON");
      continue;
    }
    if (!obj.is_object()) {
      skip(line_no, "not a JSON object");
      continue;
    }
    const auto kind = obj.find("kind");
    if (kind == obj.end() || !kind->is_string()) {
      skip(line_no, "no \"kind\" string");
      continue;
    }
    if (*kind == "step") {
      const double step = number_or_nan(obj, "step"), epoch = number_or_nan(obj, "epoch");
      if (!std::isfinite(step)) {
        skip(line_no, "a step line without a numeric \"step\"");
        continue;
      }
      StepRecord r;
      r.step = step;
      r.epoch = std::isfinite(epoch) ? int64_t(epoch) : 0;
      r.loss = number_or_nan(obj, "loss");
      r.lr = number_or_nan(obj, "lr");
      r.img_s = number_or_nan(obj, "img_s");
      r.data_wait_s = number_or_nan(obj, "data_wait_s");
      r.compute_s = number_or_nan(obj, "compute_s");
      while (!m.steps.empty() && m.steps.back().step >= r.step) m.steps.pop_back();  // a resumed run
      m.steps.push_back(r);
    } else if (*kind == "epoch") {
      const double epoch = number_or_nan(obj, "epoch");
      if (!std::isfinite(epoch)) {
        skip(line_no, "an epoch line without a numeric \"epoch\"");
        continue;
      }
      EpochRecord r;
      r.epoch = int64_t(epoch);
      for (const auto& [key, value] : obj.items())
        if (key != "epoch" && key != "kind" && value.is_number()) r.values[key] = value.get<double>();
      while (!m.epochs.empty() && m.epochs.back().epoch >= r.epoch) m.epochs.pop_back();
      m.epochs.push_back(std::move(r));
    }
  }
  if (skipped > kMaxLineNotes) m.notes.push_back(cat(name, ": ", skipped - kMaxLineNotes, " more lines skipped"));
  if (m.steps.empty() && m.epochs.empty()) m.notes.push_back(cat(name, ": no step or epoch records yet"));
  return m;
}

}  // namespace alexnet::report
