// The report of a training run directory: pictures (loss.png, accuracy.png, filters.png,
// confusion.png) and report.html, a self-contained page (no network, no scripts, styles inline)
// that shows them with the configuration and a table of epochs. docs/report.md describes the files.
//
// Bad input policy:
//  * metrics.jsonl missing or unreadable: alexnet::Error naming the file (there is nothing to report).
//  * a line of metrics.jsonl that is not a JSON object, has no "kind", or lacks the numbers its kind
//    needs: skipped, with a note "metrics.jsonl:LINE: why". Lines of other kinds are ignored silently
//    (later versions may add kinds). An empty file gives a report that says so.
//  * config.json, last.safetensors, confusion.json: optional. Missing ones leave their section out;
//    unreadable or malformed ones leave it out with a note. Notes are listed in the page and returned.
//  * a picture or report.html that cannot be written: alexnet::Error naming the path.
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
};

// An epoch line: {"kind":"epoch","epoch":1,"train_loss":..,"train_acc":..,"val_loss":..,"val_top1":..,
// "val_top5":..}: every numeric field but "epoch" is kept (nulls and non-numbers are left out).
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

struct ReportResult {
  std::string html_path;             // RUN_DIR/report.html
  std::vector<std::string> pictures; // the PNG files written, full paths
  std::vector<std::string> notes;    // everything skipped or left out, one line each
};

// (Re)draws the pictures from RUN_DIR's files and writes RUN_DIR/report.html.
ReportResult write_report_html(const std::string& run_dir);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& s);

}  // namespace alexnet::report
