#include "cli/common.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "rundir/run_dir.h"
#include "train/progress.h"

namespace alexnet::cli {

namespace {
std::vector<std::string>& arguments() {
  static std::vector<std::string> a;
  return a;
}
}  // namespace

void set_program_arguments(int argc, char** argv) { arguments().assign(argv, argv + argc); }
const std::vector<std::string>& program_arguments() { return arguments(); }

std::string resolve_data_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("ALEXNET_DATA"); env && *env) return env;
  if (std::filesystem::exists("data")) return "data";
  return "";
}

CLI::Validator model_check() {
  const CLI::Validator known = one_of(net_variants());
  return CLI::Validator(
      [known](std::string& value) {
        // pytorch/examples' `-a alexnet` is torchvision.models.alexnet.
        if (value == "alexnet") {
          std::fprintf(stderr, "note: --model alexnet is torchvision's AlexNet: --model torchvision\n");
          value = "torchvision";
        }
        return known(value);
      },
      "");
}

void ModelFlags::add(CLI::App* cmd, bool with_dropout) {
  cmd->add_option("-a,--arch,--model", model, "Network variant: seed (the article's AlexNet, 224x224), paper (2012 "
                                              "paper: groups=2 + LRN, 227x227), torchvision (torchvision.models."
                                              "alexnet), cifar (small AlexNet for 32x32)")
      ->capture_default_str()
      ->transform(model_check());
  cmd->add_option("--num-classes", num_classes, "Number of output classes")
      ->capture_default_str()
      ->check(number_check(1, 1000000));
  cmd->add_option("--width", width, "Channel width multiplier (1 = the published network)")
      ->capture_default_str()
      ->check(number_check(0.001, 16.0));
  cmd->add_option("--input-size", input_size, "Input width and height, square (0 = the variant's own: 224, 227 or 32)")
      ->capture_default_str()
      ->check(number_check(0, 4096));
  if (with_dropout)
    cmd->add_option("--dropout", dropout, "Dropout probability of the classifier (negative = the variant's 0.5)")
        ->capture_default_str()
        ->check(number_check(-1.0, 0.99));
}

NetSpec ModelFlags::spec() const {
  NetOptions o;
  o.num_classes = num_classes;
  o.width = width;
  o.input_size = input_size;
  o.dropout = dropout;
  return make_net_spec(model, o);
}

void DeviceFlags::add(CLI::App* cmd) {
  cmd->add_option("--device", device, "Where to compute: auto (cuda when the build has it and a GPU is visible, else "
                                      "cpu), cpu or cuda")
      ->capture_default_str()
      ->check(one_of({"auto", "cpu", "cuda"}));
  cmd->add_option("--precision", precision, "Arithmetic: auto (bf16 on a GPU and on CPUs with native bf16, else fp32), "
                                            "fp32, bf16 (bf16 compute, fp32 master weights) or tf32 (cuda). "
                                            "`alexnet info` shows what auto picks here")
      ->capture_default_str()
      ->check(one_of({"auto", "fp32", "bf16", "tf32"}));
  cmd->add_option("--threads", threads, "CPU threads (0 = all cores, or OMP_NUM_THREADS)")
      ->capture_default_str()
      ->check(number_check(0, 4096));
  cmd->add_option("--backend", backend, "Override the backend: reference (plain loops, slow: for checking), onednn, cuda")
      ->check(one_of({"reference", "onednn", "cuda"}));
}

ComputeChoice DeviceFlags::resolve_and_say() const {
  ComputeChoice c = resolve();
  std::fprintf(stderr, "%s\n%s\n", wrap_columns(c.device_note, 2).c_str(), wrap_columns(c.precision_note, 2).c_str());
  return c;
}

int DeviceFlags::apply_threads() const {
  if (threads > 0) omp_set_num_threads(threads);
  return omp_get_max_threads();
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {
int json_fd = -1;  // the original stdout once keep_stdout_for_json ran
}  // namespace

void keep_stdout_for_json() {
  if (json_fd >= 0) return;
  std::fflush(stdout);
  json_fd = ::dup(STDOUT_FILENO);
  if (json_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) fail("--json: cannot redirect stdout (", std::strerror(errno), ")");
}

void print_json_line(const std::string& json) {
  std::fflush(stderr);
  std::fflush(stdout);
  if (json_fd < 0) {
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    return;
  }
  const std::string line = json + "\n";
  for (size_t at = 0; at < line.size();) {
    const ssize_t n = ::write(json_fd, line.data() + at, line.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("--json: cannot write to stdout (", std::strerror(errno), ")");
    at += size_t(n);
  }
}

namespace {

// A bound as people write it: 1, 0.99, 4096, 1e+06 (whole numbers without a fraction).
std::string number_text(double x) {
  if (std::abs(x) < 1e15 && x == std::floor(x)) return std::to_string(int64_t(x));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

}  // namespace

CLI::Validator number_check(double min, double max, bool whole, bool min_exclusive) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const char* s = text.c_str();
        char* end = nullptr;
        errno = 0;
        double x = 0;
        if (whole) {
          const long long v = std::strtoll(s, &end, 10);
          x = double(v);
        } else {
          x = std::strtod(s, &end);
        }
        const bool parsed = !text.empty() && end && *end == '\0' && !std::isspace(static_cast<unsigned char>(s[0]));
        if (!parsed || (!whole && !std::isfinite(x))) {
          if (whole && !text.empty() && std::isfinite(std::strtod(s, &end)) && *end == '\0')
            return "'" + text + "' is not a whole number";
          return "'" + text + "' is not a number";
        }
        const bool low_ok = min_exclusive ? x > min : x >= min;
        if (errno == ERANGE || !low_ok || x > max) {
          // A type's own limit (a float's largest value, say) is no news below the range.
          const bool too_high = errno == ERANGE ? x > 0 : x > max;
          const bool say_max = std::isfinite(max) && (too_high || max < 2147483647.0);
          const std::string low = (min_exclusive ? "more than " : "at least ") + number_text(min);
          std::string rule;
          if (!std::isfinite(min)) rule = "at most " + number_text(max);
          else if (!say_max) rule = low;
          else if (min_exclusive) rule = low + ", at most " + number_text(max);
          else rule = "from " + number_text(min) + " to " + number_text(max);
          return "must be " + rule + ", not " + text;
        }
        return std::string();
      },
      "");
}

CLI::Validator one_of(std::vector<std::string> choices) {
  return CLI::Validator(
      [choices](std::string& value) -> std::string {
        for (const std::string& c : choices)
          if (value == c) return std::string();
        std::string list;
        for (size_t i = 0; i < choices.size(); ++i)
          list += (i ? (i + 1 == choices.size() ? " or " : ", ") : "") + choices[i];
        return "'" + value + "' is not one of " + list;
      },
      "");
}

std::string resolve_checkpoint(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  for (const char* name : {rundir::kBest, rundir::kLast}) {
    const fs::path file = fs::path(path) / name;
    if (fs::is_regular_file(file, ec)) {
      std::fprintf(stderr, "checkpoint: %s (the run's %s)\n", file.c_str(),
                   name == rundir::kBest ? "best" : "last: it has no best.safetensors");
      return file.string();
    }
  }
  fail(path, ": a directory without best.safetensors or last.safetensors (not a run directory of alexnet train)");
}

std::string flag_hint(const CLI::App& app, const std::vector<std::string>& args) {
  // What PyTorch's scripts (pytorch/examples' imagenet, torchvision's references) call our flags.
  static const std::map<std::string, std::string> pytorch = {
      {"--learning-rate", "--lr"},          {"--learning_rate", "--lr"},     {"--batch_size", "-b/--batch-size"},
      {"--bs", "-b/--batch-size"},          {"--num-workers", "-j/--workers"}, {"--num_workers", "-j/--workers"},
      {"--epoch", "--epochs"},              {"--n-epochs", "--epochs"},       {"--num-epochs", "--epochs"},
      {"--weight_decay", "--wd/--weight-decay"}, {"--lr-scheduler", "--schedule"}, {"--lr_scheduler", "--schedule"},
      {"--lr-step-size", "--step-size"},    {"--lr-gamma", "--gamma"},        {"--lr-warmup-epochs", "--warmup-epochs"},
      {"--data-path", "--data"},            {"--data-dir", "--data"},         {"--data_dir", "--data"},
      {"--dataset", "--data"},              {"--output-dir", "--out"},        {"--output_dir", "--out"},
      {"--save-dir", "--out"},              {"--log-interval", "-p/--print-freq"}, {"--pretrained", "--init FILE"},
      {"--weights", "--init FILE (train) or --weights (predict, export)"},
      {"--gpu", "--gpus N,... or --device cuda"}, {"--cuda", "--device cuda"}, {"--cpu", "--device cpu"},
      {"--evaluate", "alexnet eval --checkpoint FILE"}, {"-e", "alexnet eval --checkpoint FILE"},
      {"--world-size", "mpirun -np N alexnet train (docs/parallel.md)"}, {"--dist-url", "mpirun -np N alexnet train"},
      {"--image-size", "--input-size"},     {"--img-size", "--input-size"},   {"--amp", "--precision bf16"},
      {"--label-smoothing-factor", "--label-smoothing"}, {"--resume-from", "--resume RUN_DIR"},
  };
  const CLI::App* cmd = nullptr;
  for (size_t i = 1; i < args.size() && !cmd; ++i)
    if (args[i].rfind('-', 0) != 0)
      for (const CLI::App* sub : app.get_subcommands([&](const CLI::App* a) { return a->get_name() == args[i]; }))
        cmd = sub;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (cmd && cmd->get_option_no_throw(name)) continue;
    if (const auto it = pytorch.find(name); it != pytorch.end()) return cat("; did you mean ", it->second, "?");
    std::string dashed = name;
    std::replace(dashed.begin() + 2 * (dashed.rfind("--", 0) == 0), dashed.end(), '_', '-');
    if (dashed != name && cmd && cmd->get_option_no_throw(dashed)) return cat("; did you mean ", dashed, "?");
  }
  return "";
}

}  // namespace alexnet::cli
