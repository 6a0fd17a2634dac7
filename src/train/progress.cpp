#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <string>

#include "core/error.h"

namespace alexnet {

namespace {
double now_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = long(s + 0.5);
  if (t >= 3600) return cat(t / 3600, "h", (t % 3600) / 60, "m");
  if (t >= 60) return cat(t / 60, "m", t % 60, "s");
  return cat(t, "s");
}

std::string wrap_columns(const std::vector<std::string>& words, size_t indent, size_t column) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (i > 0 && column + 1 + word.size() > 100) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
    } else if (i > 0) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out;
}

std::string wrap_columns(const std::string& text, size_t indent, size_t column) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return wrap_columns(words, indent, column);
}

namespace {
// Three significant digits, the exponent without a leading zero: 0.05, 0.0125, 1.23e-5.
std::string short_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  std::string s = buf;
  for (const char* e : {"e-0", "e+0"})
    if (const size_t at = s.find(e); at != std::string::npos) s.erase(at + 2, 1);
  return s;
}
}  // namespace

std::string format_step_line(const ProgressFigures& f) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "Epoch [%lld], Step [%lld], Loss: %.4f | avg %.3f, lr %s | %.0f img/s, %.0f%% wait, ETA %s",
                (long long)f.epoch + 1, (long long)f.step_in_epoch, f.loss, f.mean_loss, short_number(f.lr).c_str(), f.img_s,
                100 * f.wait_share, format_duration(f.eta_seconds).c_str());
  return buf;
}

std::string format_progress_bar(const ProgressFigures& f) {
  constexpr int kWidth = 24;
  const int filled = int(kWidth * std::clamp<int64_t>(f.done_in_epoch, 0, f.steps_per_epoch) /
                         std::max<int64_t>(1, f.steps_per_epoch));
  char buf[256];
  std::snprintf(buf, sizeof buf, "epoch %lld [%s%s] %lld/%lld loss %.4f | %.0f img/s, ETA %s", (long long)f.epoch + 1,
                std::string(size_t(filled), '=').c_str(), std::string(size_t(kWidth - filled), ' ').c_str(),
                (long long)f.done_in_epoch, (long long)f.steps_per_epoch, f.loss, f.img_s,
                format_duration(f.eta_seconds).c_str());
  return buf;
}

Progress::Progress(ProgressOptions options, EpochSums epoch)
    : o_(options), tty_(::isatty(STDOUT_FILENO)), epoch_(epoch) {
  window_start_ = run_start_ = now_seconds();
}

std::optional<report::StepRecord> Progress::step(const StepReport& r) {
  recent_.push_back(r.loss);
  if (int(recent_.size()) > o_.print_freq) recent_.pop_front();
  window_compute_ += r.compute_seconds, window_wait_ += r.wait_seconds;
  window_samples_ += r.samples;
  epoch_.loss += r.loss, ++epoch_.steps;
  epoch_.correct += r.correct, epoch_.samples += r.samples;

  const bool epoch_end = r.ends_epoch();
  const bool line = r.step_in_epoch % o_.print_freq == 0 || epoch_end;
  if (!line && !(tty_ && o_.print)) return std::nullopt;
  const double now = now_seconds();
  // Time left at the pace since this process started training.
  const double eta = (now - run_start_) / double(r.step + 1 - o_.first_step) * double(o_.total_steps - r.step - 1);
  ProgressFigures fig;
  fig.epoch = r.epoch, fig.step_in_epoch = r.step_in_epoch;
  fig.done_in_epoch = r.step_in_epoch + 1, fig.steps_per_epoch = o_.steps_per_epoch;
  fig.loss = r.loss, fig.lr = r.lr, fig.eta_seconds = eta;
  fig.img_s = double(window_samples_) / std::max(1e-9, now - window_start_);
  if (!line) {
    std::printf("\r\033[K%s", format_progress_bar(fig).c_str());
    std::fflush(stdout);
    return std::nullopt;
  }
  report::StepRecord rec;
  rec.epoch = r.epoch + 1;
  rec.step = double(r.step + 1);
  double sum = 0;
  for (float l : recent_) sum += l;
  rec.loss = sum / double(recent_.size());
  rec.lr = r.lr;
  rec.img_s = double(window_samples_) / std::max(1e-9, now - window_start_);
  rec.data_wait_s = window_wait_;
  rec.compute_s = window_compute_;
  if (o_.print) {
    fig.mean_loss = rec.loss;
    fig.wait_share = window_wait_ / std::max(1e-9, window_wait_ + window_compute_);
    if (tty_) std::printf("\r\033[K");
    std::printf("%s\n", format_step_line(fig).c_str());
    std::fflush(stdout);
    const double chance = std::log(double(o_.num_classes));
    const int64_t trained = r.step + 1 - o_.first_step;
    if (!warned_stuck_ && trained >= 300 && std::abs(rec.loss - chance) < 0.02 * chance) {
      warned_stuck_ = true;
      std::fprintf(stderr, "warning: the loss has stayed near ln(%d) = %.3f (chance) for %lld steps: the network is\n"
                           "  not learning yet. AlexNet without normalisation often needs a smaller learning rate, a\n"
                           "  warm-up of an epoch or more steps to leave this plateau.\n",
                   o_.num_classes, chance, (long long)trained);
    }
  }
  window_compute_ = window_wait_ = 0;
  window_samples_ = 0;
  window_start_ = now;
  return rec;
}

report::EpochRecord Progress::end_epoch(const StepReport& last) {
  report::EpochRecord e;
  e.epoch = last.epoch + 1;
  const double loss = epoch_.loss / double(std::max<int64_t>(1, epoch_.steps));
  const double acc = double(epoch_.correct) / double(std::max<int64_t>(1, epoch_.samples));
  e.values = {{"step", double(last.step + 1)}, {"train_loss", loss}, {"train_acc", acc}};
  if (o_.print) {
    std::printf("epoch %lld done: train loss %.4f, train top-1 %.2f%% (training mode)\n", (long long)e.epoch, loss, acc * 100);
    std::fflush(stdout);
  }
  epoch_ = {};
  return e;
}

void RunConsole::note(const std::string& text) const {
  if (!print_) return;
  size_t at = 0;  // each line wrapped at 100 columns, its continuation indented
  while (at <= text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, end - at);
    std::fprintf(stderr, "%s\n", line.size() > 100 ? wrap_columns(line, 2).c_str() : line.c_str());
    at = end + 1;
  }
}

void RunConsole::validation(int64_t epoch, const EvalResult& r, double best_top1) const {
  if (!print_) return;
  std::printf("epoch %lld validation: loss %.4f, top-1 %.2f%%, top-5 %.2f%% (best top-1 %.2f%%) on %lld images%s\n",
              (long long)epoch, r.loss, r.top1 * 100, r.top5 * 100, best_top1 * 100, (long long)r.n,
              r.skipped_note().c_str());
  std::fflush(stdout);
}

void RunConsole::weight_average(int64_t epoch, const EvalResult& r) const {
  if (!print_) return;
  std::printf("epoch %lld weight average: loss %.4f, top-1 %.2f%%, top-5 %.2f%%\n", (long long)epoch, r.loss, r.top1 * 100,
              r.top5 * 100);
  std::fflush(stdout);
}

void RunConsole::lr_reduced(float lr) const {
  if (!print_) return;
  std::printf("validation loss stopped improving: learning rate now %g\n", lr);
  std::fflush(stdout);
}

void RunConsole::stopped(int sig, int64_t steps, const std::string& run_dir) const {
  note(cat("\n", sig == SIGINT ? "interrupted" : "terminated", ": stopped after step ", steps, "; checkpoint saved in ", run_dir,
           " (continue with --resume ", run_dir, ")"));
}

}  // namespace alexnet
