// The report of a training run directory: pictures (loss.png, accuracy.png, lr.png, throughput.png,
// filters.png, confusion.png) and report.html, a self-contained page (no network, no scripts, styles
// inline) with the test results of eval.json, the same charts as inline SVG, the filters, the
// confusion matrix, the configuration and a table of epochs. docs/report.md describes the files.
//
// Bad input policy:
//  * metrics.jsonl missing or unreadable: alexnet::Error naming the file (there is nothing to report).
//  * a line of metrics.jsonl that is not a JSON object, has no "kind", or lacks the numbers its kind
//    needs: skipped, with a note "metrics.jsonl:LINE: why". Lines of other kinds are ignored silently
//    (later versions may add kinds). An empty file gives a report that says so.
//  * config.json, last.safetensors, confusion.json, eval.json: optional. Missing ones leave their section out;
//    unreadable or malformed ones leave it out with a note. Notes are listed in the page and returned.
//  * a picture or report.html that cannot be written: alexnet::Error naming the path.
#pragma once

#include "report/metrics.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace alexnet::report {

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
