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
#include "rundir/run_dir.h"
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

// The colour of a smoothed curve and of the raw values behind it (the charts' first palette colour).
constexpr Rgb kPalette0{31, 119, 180};

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

// A chart of the run, drawn twice from the same data: inline SVG in report.html and a PNG beside it.
struct Chart {
  std::string file;  // the PNG's name
  std::string title;
  std::vector<Series> series;
  CurveOptions options;
};

bool has_point(const std::vector<Series>& series) {
  for (const Series& s : series)
    for (size_t i = 0; i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) return true;
  return false;
}

// TensorBoard's smoothing: an exponential moving average with weight `w` on the past, divided by
// (1 - w^n) so that the first points are not pulled towards 0. Non-finite values are skipped.
std::vector<double> smoothed(const std::vector<double>& y, double w) {
  std::vector<double> out(y.size(), kNaN);
  double last = 0, weight = 1;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) continue;
    last = last * w + (1 - w) * y[i];
    weight *= w;
    out[i] = last / (1 - weight);
  }
  return out;
}

// The charts of a run's metrics. With print-step lines the x axis is the global step from 0 (epoch
// values sit at the step their epoch ended), so a one-epoch run spans its steps; without them, the
// epoch from 0.
std::vector<Chart> run_charts(const RunMetrics& m) {
  const bool by_step = !m.steps.empty();
  const std::string x_label = by_step ? "step" : "epoch";
  auto epoch_x = [&](const EpochRecord& e) { return by_step ? epoch_end_step(e, m.steps) : double(e.epoch); };
  auto epoch_series = [&](const char* key, const std::string& name) {
    Series s{name, {}, {}, std::nullopt, true};
    for (const EpochRecord& e : m.epochs)
      if (auto v = e.get(key); v && std::isfinite(epoch_x(e))) s.x.push_back(epoch_x(e)), s.y.push_back(*v);
    return s;
  };
  auto step_series = [&](double StepRecord::*field, const std::string& name) {
    Series s{name, {}, {}, std::nullopt, false};
    for (const StepRecord& r : m.steps) s.x.push_back(r.step), s.y.push_back(r.*field);
    return s;
  };
  std::vector<Chart> charts;
  auto add = [&](Chart c) {
    c.series.erase(std::remove_if(c.series.begin(), c.series.end(), [](const Series& s) { return s.x.empty(); }),
                   c.series.end());
    if (!has_point(c.series)) return;
    c.options.x_label = x_label;
    c.options.x_min = 0;
    charts.push_back(std::move(c));
  };

  // Loss: the print steps faint, their smoothed curve, and the epochs' means and validation losses.
  {
    Chart c{"loss.png", "loss", {}, {}};
    if (by_step) {
      Series raw = step_series(&StepRecord::loss, "training loss (print steps)");
      raw.faint = true;
      Series smooth{"smoothed (0.6)", raw.x, smoothed(raw.y, 0.6), kPalette0, false};
      raw.color = kPalette0;
      c.series.push_back(std::move(raw));
      c.series.push_back(std::move(smooth));
    }
    c.series.push_back(epoch_series("train_loss", "training loss (epoch mean)"));
    c.series.push_back(epoch_series("val_loss", "validation loss"));
    c.series.push_back(epoch_series("ema_loss", "weight average, validation"));
    c.options.y_label = "loss";
    add(std::move(c));
  }
  // Accuracy: fractions on 0..1, percentages on 0..100.
  {
    Chart c{"accuracy.png", "accuracy", {}, {}};
    const std::pair<const char*, const char*> keys[] = {{"train_acc", "training accuracy"},
                                                        {"val_top1", "validation top-1"},
                                                        {"val_top5", "validation top-5"},
                                                        {"ema_top1", "weight average top-1"}};
    double largest = 0;
    for (const auto& [key, name] : keys) {
      c.series.push_back(epoch_series(key, name));
      for (double v : c.series.back().y)
        if (std::isfinite(v)) largest = std::max(largest, v);
    }
    c.options.y_label = "accuracy";
    c.options.y_min = 0;
    if (largest <= 1) c.options.y_max = 1;
    else if (largest <= 100) c.options.y_max = 100;
    add(std::move(c));
  }
  if (by_step) {
    Chart lr{"lr.png", "learning rate", {step_series(&StepRecord::lr, "learning rate")}, {}};
    lr.options.y_label = "learning rate";
    lr.options.y_min = 0;
    add(std::move(lr));
    Chart speed{"throughput.png", "throughput", {step_series(&StepRecord::img_s, "images/s")}, {}};
    speed.options.y_label = "images/s";
    speed.options.y_min = 0;
    add(std::move(speed));
  }
  return charts;
}

// eval.json, as `alexnet eval --json` prints it: {"n":..,"top1":..,"top5":..,"loss":..,
// "per_class":[{"class":"cat","n":..,"top1":..},...]}.
struct EvalSummary {
  double n = kNaN, top1 = kNaN, top5 = kNaN, loss = kNaN;
  struct Class {
    std::string name;
    double n = kNaN, top1 = kNaN;
  };
  std::vector<Class> per_class;
};

EvalSummary read_eval(const std::string& path) {
  const json doc = json::parse(read_text_file(path), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail("not a JSON object");
  auto number = [](const json& obj, const char* key) {
    const auto it = obj.find(key);
    return it != obj.end() && it->is_number() ? it->get<double>() : kNaN;
  };
  EvalSummary e;
  e.n = number(doc, "n"), e.top1 = number(doc, "top1"), e.top5 = number(doc, "top5"), e.loss = number(doc, "loss");
  if (!std::isfinite(e.top1)) fail("no numeric \"top1\"");
  if (const auto pc = doc.find("per_class"); pc != doc.end() && pc->is_array())
    for (const json& c : *pc) {
      if (!c.is_object()) continue;
      const auto name = c.find("class");
      e.per_class.push_back({name != c.end() && name->is_string() ? name->get<std::string>() : "?", number(c, "n"),
                             number(c, "top1")});
    }
  return e;
}

// "81.25%" for 0.8125.
std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100);
  return buf;
}

// The upscaling of the filter grid: at least 4, and enough for a grid about 480 pixels wide.
int filter_scale(const Tensor& w) {
  if (w.shape().size() != 4) return 4;
  const FilterGrid g = filter_grid(w.shape()[0], w.shape()[2], w.shape()[3], 1);
  const int64_t kernel_columns = std::max<int64_t>(1, int64_t(g.columns) * w.shape()[3]);
  return int(std::clamp<int64_t>((480 + kernel_columns - 1) / kernel_columns, 4, 16));
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
img.pixels { image-rendering: pixelated; }
svg.chart { max-width: 100%; height: auto; margin: 0.3em 0.3em 0.3em 0; }
.headline { font-size: 1.25em; margin: 0.4em 0; }
.headline b { font-size: 1.3em; }
.png { color: #666; font-size: 0.85em; }
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
  result.html_path = rundir::file(run_dir, rundir::kReport);

  RunMetrics m = read_metrics(rundir::file(run_dir, rundir::kMetricsJsonl));
  std::vector<std::string>& notes = result.notes;
  notes = m.notes;

  // config.json
  json config;
  if (const fs::path p = rundir::file(run_dir, rundir::kConfig); fs::exists(p)) {
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

  // eval.json: the held-out test, when `alexnet eval --json` wrote it there.
  std::optional<EvalSummary> eval;
  if (const fs::path p = rundir::file(run_dir, rundir::kEval); fs::exists(p)) {
    try {
      eval = read_eval(p.string());
    } catch (const Error& e) {
      notes.push_back(cat("eval.json: ", e.what(), "; test results left out"));
    }
  }

  // Pictures. Each one's name goes into the page only when it was drawn now.
  const std::vector<Chart> charts = run_charts(m);
  for (const Chart& c : charts) write_curves_png((dir / c.file).string(), c.title, c.series, c.options);

  bool have_filters = false;
  std::string filters_caption;
  if (const fs::path p = rundir::file(run_dir, rundir::kLast); fs::exists(p)) {
    try {
      const TensorFile weights = read_safetensors(p.string());
      const Tensor& w = weights.get("features.0.weight");
      const int scale = filter_scale(w);
      write_filters_png((dir / "filters.png").string(), w, scale, FilterNorm::PerFilter);
      have_filters = true;
      filters_caption = cat("features.0.weight ", shape_str(w.shape()), " from last.safetensors");
      if (auto s = weights.metadata.find("step"); s != weights.metadata.end()) filters_caption += cat(" (step ", s->second, ")");
      filters_caption += cat("; each kernel scaled to its own range, ", scale, "x");
    } catch (const Error& e) {
      notes.push_back(cat(e.what(), "; filters left out"));
    }
  }

  bool have_confusion = false;
  try {
    if (const std::optional<rundir::Confusion> c = rundir::read_confusion(run_dir)) {
      std::vector<std::vector<double>> counts;
      for (const auto& row : c->matrix) counts.emplace_back(row.begin(), row.end());
      write_confusion_png((dir / "confusion.png").string(), counts, c->classes);
      have_confusion = true;
    }
  } catch (const Error& e) {
    notes.push_back(cat(e.what(), "; confusion matrix left out"));
  }
  for (const Chart& c : charts) result.pictures.push_back((dir / c.file).string());
  if (have_filters) result.pictures.push_back((dir / "filters.png").string());
  if (have_confusion) result.pictures.push_back((dir / "confusion.png").string());

  bool validated = false;
  for (const EpochRecord& e : m.epochs) validated = validated || e.get("val_top1").has_value();

  // The page.
  fs::path run_path = fs::absolute(dir).lexically_normal();
  if (run_path.filename().empty()) run_path = run_path.parent_path();  // "runs/cifar/"
  const std::string run_name = run_path.filename().string();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
    << html_escape(cat("Training run ", run_name)) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  h << "<h1>Training run " << html_escape(run_name) << "</h1>\n";
  if (config.is_object() && config.contains("model"))
    h << "<p class=\"sub\">model " << html_escape(config["model"].is_string() ? config["model"].get<std::string>()
                                                                                 : config["model"].dump())
      << "</p>\n";

  if (eval) {
    h << "<h2 id=\"test\">Test</h2>\n<p class=\"headline\">top-1 <b>" << percent(eval->top1) << "</b>, top-5 <b>"
      << percent(eval->top5) << "</b>";
    if (std::isfinite(eval->n)) h << " on " << format_number(eval->n) << " images";
    if (std::isfinite(eval->loss)) h << " (loss " << format_number(eval->loss) << ")";
    h << "</p>\n<p class=\"sub\">From eval.json (<code>alexnet eval --json</code>).</p>\n";
    if (!eval->per_class.empty()) {
      h << "<table>\n<tr><th class=\"key\">class</th><th>images</th><th>top-1</th></tr>\n";
      for (const EvalSummary::Class& c : eval->per_class)
        h << "<tr><td class=\"key\">" << html_escape(c.name) << "</td><td>" << format_number(c.n) << "</td><td>"
          << percent(c.top1) << "</td></tr>\n";
      h << "</table>\n";
    }
  }

  // Summary.
  h << "<h2 id=\"summary\">Summary</h2>\n<dl class=\"summary\">\n";
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
  if (!validated && !m.epochs.empty()) {
    const bool no_split = config.is_object() && config.contains("val_split") && config["val_split"].is_number() &&
                          config["val_split"].get<double>() == 0;
    summary("validation", no_split ? "none (--val-split 0): no validation curves" : "none logged");
  }
  h << "</dl>\n";

  if (!charts.empty()) {
    h << "<h2 id=\"curves\">Curves</h2>\n<div class=\"figures\">\n";
    for (const Chart& c : charts) h << curves_svg(c.title, c.series, c.options);
    h << "</div>\n<p class=\"png\">The same charts as pictures:";
    for (const Chart& c : charts) h << " <a href=\"" << c.file << "\">" << c.file << "</a>";
    h << "</p>\n";
  }
  if (have_confusion)
    h << "<h2 id=\"confusion\">Confusion matrix</h2>\n<p>Rows are true classes, columns predictions; each row sums to 100%.</p>\n"
      << "<img src=\"confusion.png\" alt=\"Confusion matrix\">\n";
  if (have_filters)
    h << "<h2 id=\"filters\">First-layer filters</h2>\n<p>" << html_escape(filters_caption) << "</p>\n"
      << "<img class=\"pixels\" src=\"filters.png\" alt=\"First-layer filters\">\n";

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
    h << "<h2 id=\"epochs\">Epochs</h2>\n<table>\n<tr><th>epoch</th>";
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
    h << "<h2 id=\"configuration\">Configuration</h2>\n<table>\n";
    for (const auto& [key, value] : config.items())
      h << "<tr><td class=\"key\">" << html_escape(key) << "</td><td class=\"text\">"
        << html_escape(value.is_string() ? value.get<std::string>() : value.dump()) << "</td></tr>\n";
    h << "</table>\n";
  }

  if (!notes.empty()) {
    h << "<h2 id=\"notes\">Notes</h2>\n<ul class=\"notes\">\n";
    for (const std::string& n : notes) h << "<li>" << html_escape(n) << "</li>\n";
    h << "</ul>\n";
  }
  std::string sources = rundir::kMetricsJsonl;
  if (config.is_object()) sources += ", config.json";
  if (have_filters) sources += ", last.safetensors";
  if (have_confusion) sources += ", confusion.json";
  if (eval) sources += ", eval.json";
  bool have_events = false;
  for (const auto& e : fs::directory_iterator(dir))
    have_events = have_events || e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  if (have_events)
    h << "<p class=\"sub\">The same numbers in TensorBoard: <code>tensorboard --logdir "
      << html_escape(run_path.parent_path().string()) << "</code></p>\n";
  h << "<p class=\"sub\">Written by alexnet " << ALEXNET_VERSION << " from " << sources << " in this directory.</p>\n"
    << "</body>\n</html>\n";
  write_file_atomic(result.html_path, h.str());  // a browser never loads half a page
  return result;
}

}  // namespace alexnet::report
