#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
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
  if (r.step_in_epoch % o_.print_freq != 0 && !epoch_end) {
    if (tty_ && o_.print) {
      const int64_t done = r.step_in_epoch + 1;
      const int width = 30, filled = int(width * done / o_.steps_per_epoch);
      std::printf("\r\033[Kepoch %lld [%s%s] %lld/%lld loss %.4f", (long long)r.epoch + 1,
                  std::string(size_t(filled), '=').c_str(), std::string(size_t(width - filled), ' ').c_str(),
                  (long long)done, (long long)o_.steps_per_epoch, r.loss);
      std::fflush(stdout);
    }
    return std::nullopt;
  }
  const double now = now_seconds();
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
    const double eta = (now - run_start_) / double(r.step + 1 - o_.first_step) * double(o_.total_steps - r.step - 1);
    if (tty_) std::printf("\r\033[K");
    std::printf("Epoch [%lld], Step [%lld], Loss: %.4f | step %lld/%lld, mean loss %.4f, lr %.5g | %.1f img/s, "
                "waiting for data %.0f%% | ETA %s\n",
                (long long)r.epoch + 1, (long long)r.step_in_epoch, r.loss, (long long)r.step + 1,
                (long long)o_.total_steps, rec.loss, r.lr, rec.img_s,
                100 * window_wait_ / std::max(1e-9, window_wait_ + window_compute_), format_duration(eta).c_str());
    std::fflush(stdout);
    const double chance = std::log(double(o_.num_classes));
    const int64_t trained = r.step + 1 - o_.first_step;
    if (!warned_stuck_ && trained >= 300 && std::abs(rec.loss - chance) < 0.02 * chance) {
      warned_stuck_ = true;
      std::fprintf(stderr, "warning: the loss has stayed near ln(%d) = %.3f (chance) for %lld steps: the network is "
                           "not learning yet. AlexNet without normalisation often needs a smaller learning rate, a "
                           "warm-up of an epoch or more steps to leave this plateau.\n",
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
  if (print_) std::fprintf(stderr, "%s\n", text.c_str());
}

void RunConsole::validation(int64_t epoch, const EvalResult& r, double best_top1) const {
  if (!print_) return;
  std::printf("epoch %lld validation: loss %.4f, top-1 %.2f%%, top-5 %.2f%% (best top-1 %.2f%%) on %lld images\n",
              (long long)epoch, r.loss, r.top1 * 100, r.top5 * 100, best_top1 * 100, (long long)r.n);
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
