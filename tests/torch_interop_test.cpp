// The `alexnet` program against PyTorch itself: its layer tables against the modules written from
// each variant's source (tools/check_tables.py), weights moving both ways (tools/torch_interop.py)
// and the full-size networks' logits and SGD steps (tools/check_full_size.py). The checks are Python
// scripts run with Debian's PyTorch; they are skipped, saying why, when /usr/bin/python3 (or
// $ALEXNET_PYTHON) cannot import torch. Each script prints its own per-tensor table, shown on failure.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "test_cli_util.h"

namespace alexnet {
namespace {

std::string python() {
  const char* env = std::getenv("ALEXNET_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

bool python_has(const std::string& module) {
  const std::string cmd = python() + " -c 'import " + module + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Runs a script of tools/ with the alexnet binary under test; stdout and stderr together.
testing::RunResult run_script(const std::string& script, const std::string& args = "") {
  const std::string cmd = python() + " " + ALEXNET_SOURCE_DIR + "/tools/" + script + " --alexnet " +
                          ALEXNET_BINARY + " " + args + " 2>&1";
  testing::RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

#define SKIP_WITHOUT_TORCH()                                                                            \
  if (!python_has("torch"))                                                                             \
  GTEST_SKIP() << python() << " cannot import torch (Debian: apt install python3-torch); "              \
                             "the PyTorch comparison is not run"

// Our layer tables against the PyTorch modules written from each variant's source (tools/alexnet_torch.py
// builds them without reading our table): every layer, hyper-parameter, output shape and parameter.
TEST(TorchInterop, LayerTablesMatchTheModulesFromTheirSources) {
  SKIP_WITHOUT_TORCH();
  const testing::RunResult r = run_script("check_tables.py");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("16 of 16 checks passed"), std::string::npos) << r.output;
}

TEST(TorchInterop, WeightsMoveBothWays) {
  SKIP_WITHOUT_TORCH();
  if (!python_has("torchvision"))
    std::printf("note: %s cannot import torchvision; the torchvision.models.alexnet checks are skipped\n",
                python().c_str());
  const testing::RunResult r = run_script("torch_interop.py");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("checks passed"), std::string::npos) << r.output;
}

TEST(TorchInterop, FullSizeLogitsAndSgdStepsMatchPyTorch) {
  SKIP_WITHOUT_TORCH();
  const testing::RunResult r = run_script("check_full_size.py");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("checks passed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace alexnet
