// Runs the `alexnet` program from tests and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "tensor/safetensors.h"

namespace alexnet::testing {

struct RunResult {
  int exit_code = -1;  // the process's exit status; 128+signal when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing stdout and stderr together.
inline RunResult run_command(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline RunResult run_alexnet(const std::string& args) { return run_command(std::string(ALEXNET_BINARY) + " " + args); }

// The first Python that can `import <modules>` among $ALEXNET_PYTHON, $ALEXNET_VENV/bin/python3, the
// test venv scripts/setup.sh makes (/opt/alexnet-venv) and python3; "" when none can, with the reason
// in `why` (the caller skips, saying it).
inline std::string python_with(const std::string& modules, std::string* why = nullptr) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ALEXNET_PYTHON")) candidates.emplace_back(env);
  if (const char* venv = std::getenv("ALEXNET_VENV")) candidates.push_back(std::string(venv) + "/bin/python3");
  candidates.emplace_back("/opt/alexnet-venv/bin/python3");
  candidates.emplace_back("python3");
  for (const std::string& py : candidates)
    if (run_command("'" + py + "' -c 'import " + modules + "'").exit_code == 0) return py;
  if (why)
    *why = modules + " cannot be imported by $ALEXNET_PYTHON, $ALEXNET_VENV/bin/python3, /opt/alexnet-venv/bin/python3 "
                     "or python3 (scripts/setup.sh installs it from PyPI)";
  return "";
}

// What `alexnet predict --json` printed (one object per picture and line; a line holding an array of
// them is read too): picture -> class index -> probability. Other lines are passed over.
inline std::map<std::string, std::map<int, double>> predictions_of(const std::string& output) {
  std::map<std::string, std::map<int, double>> out;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || (line[0] != '[' && line[0] != '{')) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.is_object()) j = nlohmann::json::array({j});
    for (const auto& entry : j)
      if (entry.is_object() && entry.contains("top"))
        for (const auto& t : entry["top"])
          out[entry["image"].get<std::string>()][t["index"].get<int>()] = t["probability"].get<double>();
  }
  return out;
}

// The output with the program's wrapped lines joined again (a break and the continuation's two-space
// indent become one space), to find a phrase that a 100-column terminal would see broken.
inline std::string unwrapped(std::string text) {
  for (size_t at = 0; (at = text.find("\n  ", at)) != std::string::npos;) text.replace(at, 3, " ");
  return text;
}

// A tiny learnable tensor dataset: n images of 4 classes, 32x32 (class i%4 shifts the mean by 0.5*i%4).
inline void write_toy_dataset(const std::string& path, int n = 48) {
  Tensor images(DType::F32, {n, 3, 32, 32});
  Tensor labels(DType::I64, {n});
  Rng rng(11);
  for (int i = 0; i < n; ++i) {
    labels.data<int64_t>()[i] = i % 4;
    for (int k = 0; k < 3 * 32 * 32; ++k) images.data<float>()[size_t(i) * 3 * 32 * 32 + k] = float(rng.normal() + 0.5 * (i % 4));
  }
  TensorFile f;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  write_safetensors(path, f);
}

// A fresh temporary directory, removed at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "alexnet-test-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // The names of every file left in the folder, recursively.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(path_))
      if (e.is_regular_file()) out.push_back(e.path().filename().string());
    return out;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace alexnet::testing
