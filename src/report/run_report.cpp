#include "report/run_report.h"

#include "core/atomic_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "report/charts.h"
#include "tensor/safetensors.h"

namespace alexnet::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// "0.8123", "2.104", "12345": four significant digits, integers as integers.
std::string format_number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  if (v == std::round(v) && std::abs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The accuracy fields of an epoch line, in the order they are drawn.
const char* const kAccuracyKeys[] = {"train_acc", "val_top1", "val_top5"};

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// The x (global step) at which an epoch ended: its own "step" field, else the last print-step line
// of that epoch; NaN when neither is known.
double epoch_end_step(const EpochRecord& e, const std::vector<StepRecord>& steps) {
  if (auto s = e.get("step")) return *s;
  double x = kNaN;
  for (const StepRecord& s : steps)
    if (s.epoch == e.epoch) x = s.step;
  return x;
}

// loss.png: the print-step training loss against the step, with the epochs' train and validation
// losses as marked points at the step each epoch ended. Without step lines, everything is per epoch.
bool draw_loss(const RunMetrics& m, const std::string& path) {
  const bool by_step = !m.steps.empty();
  std::vector<Series> series;
  if (by_step) {
    Series s{"train loss (print steps)", {}, {}, std::nullopt, false};
    for (const StepRecord& r : m.steps) s.x.push_back(r.step), s.y.push_back(r.loss);
    series.push_back(std::move(s));
  }
  for (const char* key : {"train_loss", "val_loss"}) {
    Series s{std::string(key) == "train_loss" ? "train loss (epoch)" : "validation loss", {}, {}, std::nullopt, true};
    for (const EpochRecord& e : m.epochs)
      if (auto v = e.get(key)) {
        const double x = by_step ? epoch_end_step(e, m.steps) : double(e.epoch);
        if (std::isfinite(x)) s.x.push_back(x), s.y.push_back(*v);
      }
    if (!s.x.empty()) series.push_back(std::move(s));
  }
  bool any = false;
  for (const Series& s : series)
    for (size_t i = 0; i < s.y.size(); ++i) any = any || (std::isfinite(s.x[i]) && std::isfinite(s.y[i]));
  if (!any) return false;
  CurveOptions o;
  o.x_label = by_step ? "step" : "epoch";
  o.y_label = "loss";
  write_curves_png(path, "loss", series, o);
  return true;
}

// accuracy.png: train accuracy and validation top-1 / top-5 per epoch. Fractions get a 0..1 axis,
// percentages 0..100.
bool draw_accuracy(const RunMetrics& m, const std::string& path) {
  std::vector<Series> series;
  double largest = 0;
  for (const char* key : kAccuracyKeys) {
    const std::string k = key;
    Series s{k == "train_acc" ? "train accuracy" : k == "val_top1" ? "validation top-1" : "validation top-5",
             {}, {}, std::nullopt, true};
    for (const EpochRecord& e : m.epochs)
      if (auto v = e.get(key); v && std::isfinite(*v)) s.x.push_back(double(e.epoch)), s.y.push_back(*v), largest = std::max(largest, *v);
    if (!s.x.empty()) series.push_back(std::move(s));
  }
  if (series.empty()) return false;
  CurveOptions o;
  o.x_label = "epoch";
  o.y_label = "accuracy";
  o.y_min = 0;
  if (largest <= 1) o.y_max = 1;
  else if (largest <= 100) o.y_max = 100;
  write_curves_png(path, "accuracy", series, o);
  return true;
}

struct Confusion {
  std::vector<std::string> classes;
  std::vector<std::vector<double>> matrix;
};

// confusion.json: {"classes": [names...] (optional), "matrix": [[counts...], ...]}.
Confusion read_confusion(const std::string& path) {
  const json doc = json::parse(read_text_file(path), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail(path, ": not a JSON object");
  Confusion c;
  const auto matrix = doc.find("matrix");
  if (matrix == doc.end() || !matrix->is_array()) fail(path, ": no \"matrix\" array");
  for (const json& row : *matrix) {
    if (!row.is_array()) fail(path, ": \"matrix\" row ", c.matrix.size(), " is not an array");
    std::vector<double> values;
    for (const json& v : row) {
      if (!v.is_number()) fail(path, ": \"matrix\" row ", c.matrix.size(), " holds a non-number");
      values.push_back(v.get<double>());
    }
    c.matrix.push_back(std::move(values));
  }
  if (const auto classes = doc.find("classes"); classes != doc.end()) {
    if (!classes->is_array()) fail(path, ": \"classes\" is not an array");
    for (const json& n : *classes) c.classes.push_back(n.is_string() ? n.get<std::string>() : n.dump());
  }
  return c;
}

const char* kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td.key, th.key { text-align: left; font-family: monospace; }
td.text { text-align: left; font-family: monospace; white-space: pre-wrap; word-break: break-all; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0.3em 0.3em 0; }
.figures { display: flex; flex-wrap: wrap; align-items: flex-start; }
ul.notes { color: #8a4b00; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.summary dt { color: #666; }
dl.summary dd { margin: 0; }
)";

}  // namespace

ReportResult write_report_html(const std::string& run_dir) {
  if (!fs::is_directory(run_dir)) fail(run_dir, ": not a directory (expected a training run directory)");
  const fs::path dir(run_dir);
  ReportResult result;
  result.html_path = (dir / "report.html").string();

  RunMetrics m = read_metrics((dir / "metrics.jsonl").string());
  std::vector<std::string>& notes = result.notes;
  notes = m.notes;

  // config.json
  json config;
  if (const fs::path p = dir / "config.json"; fs::exists(p)) {
    try {
      config = json::parse(read_text_file(p.string()), nullptr, false);
      if (config.is_discarded() || !config.is_object()) {
        notes.push_back("config.json: not a JSON object; configuration left out");
        config = json();
      }
    } catch (const Error& e) {
      notes.push_back(cat(e.what(), "; configuration left out"));
    }
  } else {
    notes.push_back("config.json: not found; configuration left out");
  }

  // Pictures. Each one's name goes into the page only when it was drawn now.
  std::vector<std::pair<std::string, std::string>> curves;  // file, caption
  if (draw_loss(m, (dir / "loss.png").string())) curves.emplace_back("loss.png", "Loss");
  if (draw_accuracy(m, (dir / "accuracy.png").string())) curves.emplace_back("accuracy.png", "Accuracy");

  bool have_filters = false;
  std::string filters_caption;
  if (const fs::path p = dir / "last.safetensors"; fs::exists(p)) {
    try {
      const TensorFile weights = read_safetensors(p.string());
      const Tensor& w = weights.get("features.0.weight");
      write_filters_png((dir / "filters.png").string(), w, 4, FilterNorm::PerFilter);
      have_filters = true;
      filters_caption = cat("features.0.weight ", shape_str(w.shape()), " from last.safetensors");
      if (auto s = weights.metadata.find("step"); s != weights.metadata.end()) filters_caption += cat(" (step ", s->second, ")");
      filters_caption += "; each kernel scaled to its own range, 4x";
    } catch (const Error& e) {
      notes.push_back(cat(e.what(), "; filters left out"));
    }
  }

  bool have_confusion = false;
  if (const fs::path p = dir / "confusion.json"; fs::exists(p)) {
    try {
      const Confusion c = read_confusion(p.string());
      write_confusion_png((dir / "confusion.png").string(), c.matrix, c.classes);
      have_confusion = true;
    } catch (const Error& e) {
      notes.push_back(cat("confusion.json: ", e.what(), "; confusion matrix left out"));
    }
  }
  for (const auto& [file, caption] : curves) result.pictures.push_back((dir / file).string());
  if (have_filters) result.pictures.push_back((dir / "filters.png").string());
  if (have_confusion) result.pictures.push_back((dir / "confusion.png").string());

  // The page.
  const std::string run_name = fs::absolute(dir).lexically_normal().filename().string().empty()
                                   ? fs::absolute(dir).lexically_normal().parent_path().filename().string()
                                   : fs::absolute(dir).lexically_normal().filename().string();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
    << html_escape(cat("Training run ", run_name)) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  h << "<h1>Training run " << html_escape(run_name) << "</h1>\n";
  if (config.is_object() && config.contains("model"))
    h << "<p class=\"sub\">model " << html_escape(config["model"].is_string() ? config["model"].get<std::string>()
                                                                                 : config["model"].dump())
      << "</p>\n";

  // Summary.
  h << "<h2>Summary</h2>\n<dl class=\"summary\">\n";
  auto summary = [&h](const std::string& label, const std::string& value) {
    h << "<dt>" << html_escape(label) << "</dt><dd>" << html_escape(value) << "</dd>\n";
  };
  summary("epochs logged", std::to_string(m.epochs.size()));
  if (!m.steps.empty()) {
    summary("last step", format_number(m.steps.back().step));
    summary("last training loss", format_number(m.steps.back().loss));
    summary("last learning rate", format_number(m.steps.back().lr));
    std::vector<double> img_s;
    for (const StepRecord& r : m.steps) img_s.push_back(r.img_s);
    if (const double med = median(img_s); std::isfinite(med)) summary("median throughput", format_number(med) + " images/s");
  }
  if (!m.epochs.empty()) {
    const EpochRecord& last = m.epochs.back();
    for (const char* key : {"val_loss", "val_top1", "val_top5"})
      if (auto v = last.get(key)) summary(cat("last ", key, " (epoch ", last.epoch, ")"), format_number(*v));
    const EpochRecord* best = nullptr;
    for (const EpochRecord& e : m.epochs)
      if (auto v = e.get("val_top1"); v && std::isfinite(*v) && (!best || *v > *best->get("val_top1"))) best = &e;
    if (best) summary(cat("best val_top1"), cat(format_number(*best->get("val_top1")), " (epoch ", best->epoch, ")"));
  }
  h << "</dl>\n";

  if (!curves.empty()) {
    h << "<h2>Curves</h2>\n<div class=\"figures\">\n";
    for (const auto& [file, caption] : curves)
      h << "<img src=\"" << file << "\" alt=\"" << caption << "\" title=\"" << caption << "\">\n";
    h << "</div>\n";
  }
  if (have_confusion)
    h << "<h2>Confusion matrix</h2>\n<p>Rows are true classes, columns predictions; each row sums to 100%.</p>\n"
      << "<img src=\"confusion.png\" alt=\"Confusion matrix\">\n";
  if (have_filters)
    h << "<h2>First-layer filters</h2>\n<p>" << html_escape(filters_caption) << "</p>\n"
      << "<img src=\"filters.png\" alt=\"First-layer filters\">\n";

  // Epoch table: the usual columns first, then any others in name order.
  if (!m.epochs.empty()) {
    std::vector<std::string> columns;
    std::set<std::string> seen;
    for (const char* key : {"train_loss", "train_acc", "val_loss", "val_top1", "val_top5", "lr"})
      for (const EpochRecord& e : m.epochs)
        if (e.values.count(key) && seen.insert(key).second) columns.push_back(key);
    std::set<std::string> others;
    for (const EpochRecord& e : m.epochs)
      for (const auto& [key, v] : e.values)
        if (!seen.count(key)) others.insert(key);
    columns.insert(columns.end(), others.begin(), others.end());
    h << "<h2>Epochs</h2>\n<table>\n<tr><th>epoch</th>";
    for (const std::string& c : columns) h << "<th>" << html_escape(c) << "</th>";
    h << "</tr>\n";
    for (const EpochRecord& e : m.epochs) {
      h << "<tr><td>" << e.epoch << "</td>";
      for (const std::string& c : columns) {
        const auto v = e.get(c);
        h << "<td>" << (v ? format_number(*v) : "&ndash;") << "</td>";
      }
      h << "</tr>\n";
    }
    h << "</table>\n";
  }

  if (config.is_object()) {
    h << "<h2>Configuration</h2>\n<table>\n";
    for (const auto& [key, value] : config.items())
      h << "<tr><td class=\"key\">" << html_escape(key) << "</td><td class=\"text\">"
        << html_escape(value.is_string() ? value.get<std::string>() : value.dump()) << "</td></tr>\n";
    h << "</table>\n";
  }

  if (!notes.empty()) {
    h << "<h2>Notes</h2>\n<ul class=\"notes\">\n";
    for (const std::string& n : notes) h << "<li>" << html_escape(n) << "</li>\n";
    h << "</ul>\n";
  }
  std::string sources = "metrics.jsonl";
  if (config.is_object()) sources += ", config.json";
  if (have_filters) sources += ", last.safetensors";
  if (have_confusion) sources += ", confusion.json";
  h << "<p class=\"sub\">Written by alexnet " << ALEXNET_VERSION << " from " << sources << " in this directory.</p>\n"
    << "</body>\n</html>\n";
  write_file_atomic(result.html_path, h.str());  // a browser never loads half a page
  return result;
}

}  // namespace alexnet::report
