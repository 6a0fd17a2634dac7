#include "cli/common.h"

#include <cstdlib>
#include <filesystem>

#include <omp.h>

#include <chrono>
#include <cstdio>

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

void ModelFlags::add(CLI::App* cmd, bool with_dropout) {
  cmd->add_option("--model", model, "Network variant: seed (the article's AlexNet, 224x224), paper (2012 paper: "
                                    "groups=2 + LRN, 227x227), torchvision (torchvision.models.alexnet), "
                                    "cifar (small AlexNet for 32x32)")
      ->capture_default_str()
      ->check(CLI::IsMember(net_variants()));
  cmd->add_option("--num-classes", num_classes, "Number of output classes")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--width", width, "Channel width multiplier (1 = the published network)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 16.0));
  cmd->add_option("--input-size", input_size, "Input height and width (0 = the variant's own: 224, 227 or 32)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  if (with_dropout)
    cmd->add_option("--dropout", dropout, "Dropout probability of the classifier (negative = the variant's 0.5)")
        ->capture_default_str()
        ->check(CLI::Range(-1.0, 0.99));
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
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--precision", precision, "Arithmetic: auto (bf16 on a GPU and on CPUs with native bf16, else fp32), "
                                            "fp32, bf16 (bf16 compute, fp32 master weights) or tf32 (cuda). "
                                            "`alexnet info` shows what auto picks here")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "tf32"}));
  cmd->add_option("--threads", threads, "CPU threads (0 = all cores, or OMP_NUM_THREADS)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--backend", backend, "Override the backend: reference (plain loops, slow: for checking), onednn, cuda")
      ->check(CLI::IsMember({"reference", "onednn", "cuda"}));
}

ComputeChoice DeviceFlags::resolve_and_say() const {
  ComputeChoice c = resolve();
  std::fprintf(stderr, "%s\n%s\n", c.device_note.c_str(), c.precision_note.c_str());
  return c;
}

int DeviceFlags::apply_threads() const {
  if (threads > 0) omp_set_num_threads(threads);
  return omp_get_max_threads();
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void print_json_line(const std::string& json) {
  std::fflush(stderr);
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

}  // namespace alexnet::cli
