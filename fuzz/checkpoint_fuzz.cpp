// libFuzzer harness: safetensors files as checkpoints, the way `alexnet eval`/`predict --checkpoint`,
// `train --init` and `train --resume` read them. The first byte picks the path, the rest is the file:
//   0: a checkpoint to evaluate: metadata -> model -> every weight checked, then loaded;
//   1: --init weights for a fixed small `cifar` model: the tensors that match are loaded;
//   2: last.safetensors of a run directory whose state file is valid (resume);
//   3: the state file (momentum, schedule) of a run directory whose last.safetensors is valid.
// Anything may throw alexnet::Error; nothing may crash, leak, hang, or allocate for more parameters
// than the file holds.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "model/weights.h"
#include "train/checkpoint.h"
#include "train/config.h"

using namespace alexnet;
namespace fs = std::filesystem;

namespace {

const std::string& work_dir() {
  static const std::string dir = [] {
    std::string t = (fs::temp_directory_path() / "checkpoint_fuzz_XXXXXX").string();
    if (!mkdtemp(t.data())) __builtin_trap();
    return t;
  }();
  return dir;
}

void write(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
}

ModelInfo small_model() {
  ModelInfo m;
  m.variant = "cifar";
  m.options.num_classes = 3;
  m.options.width = 0.1;
  return m;
}

// A valid run directory of the small model at step 1, written once.
const std::string& valid_run() {
  static const std::string dir = [] {
    const std::string d = work_dir() + "/valid";
    fs::create_directories(d);
    const ModelInfo m = small_model();
    const ParamTable table = make_param_table(m.spec());
    std::vector<float> params(table.total, 0.01f), momentum(table.total, 0.f);
    LoopState state;
    state.step = 1;
    save_last_checkpoint(d, table, params, momentum, m, TrainConfig{}.to_json(), state);
    return d;
  }();
  return dir;
}

void check_resume(const std::string& dir) {
  const ResumePoint r = load_last_checkpoint(dir);
  if (r.params.size() != make_param_table(r.model.spec()).total) __builtin_trap();
  if (r.momentum.size() != r.params.size()) __builtin_trap();
  if (r.state.step < 0) __builtin_trap();
  TrainConfig::from_json(r.config_json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 4;
  ++data, --size;
  try {
    if (mode == 0 || mode == 1) {
      const std::string path = work_dir() + "/input.safetensors";
      write(path, data, size);
      const TensorFile file = read_safetensors(path);
      if (mode == 0) {
        const ModelInfo m = ModelInfo::from_metadata(file.metadata, path);
        const ParamTable table = make_param_table(m.spec());
        check_weights(file, table);
        std::vector<float> params(table.total);  // no bigger than the file: check_weights passed
        load_weights(file, table, params);
        if (auto it = file.metadata.find("config"); it != file.metadata.end()) TrainConfig::from_json(it->second);
      } else {
        const ParamTable table = make_param_table(small_model().spec());
        std::vector<float> params(table.total);
        const PartialLoad loaded = load_matching_weights(file, table, params);
        if (loaded.loaded.size() + loaded.skipped.size() != table.entries.size()) __builtin_trap();
      }
    } else {
      const std::string dir = work_dir() + "/run";
      // The harness's own copy may be interrupted by libFuzzer's timer signal (EINTR): retry it.
      for (std::error_code ec;;) {
        fs::remove_all(dir);
        fs::copy(valid_run(), dir, ec);
        if (!ec) break;
        if (ec != std::errc::interrupted) __builtin_trap();
      }
      if (mode == 2) {
        write(dir + "/last.safetensors", data, size);
      } else {
        write(dir + "/state-1.safetensors", data, size);
      }
      check_resume(dir);
    }
  } catch (const Error&) {
  }
  return 0;
}
