// libFuzzer harness: safetensors files as checkpoints, the way `alexnet eval`/`predict --checkpoint`,
// `train --init` and `train --resume` read them. The first byte picks the path, the rest is the file:
//   0: a checkpoint to evaluate: metadata -> model -> every weight checked, then loaded;
//   1: --init weights for a fixed small `cifar` model: the tensors that match are loaded;
//   2: last.safetensors of a run directory whose state file is valid (resume);
//   3: the state file (momentum, schedule) of a run directory whose last.safetensors is valid.
// With bit 2 of the first byte set, the file's checksum (alexnet.crc32c) is first set to what its bytes
// give, computed here on our own, so that mutated files also reach the parsing behind the check.
// Anything may throw alexnet::Error; nothing may crash, leak, hang, or allocate for more parameters
// than the file holds.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/crc32c.h"
#include "model/weights.h"
#include "tensor/safetensors.h"
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

// The file with its checksum made to match its contents: the metadata but the checksum as key NUL
// value NUL in key order, then the tensors' byte ranges in offset order. As given when the header
// does not parse (the reader refuses it before any checksum).
std::string with_valid_checksum(const uint8_t* data, size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  if (size < 8) return file;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | data[i];
  if (n > size - 8) return file;
  nlohmann::ordered_json header = nlohmann::ordered_json::parse(file.substr(8, size_t(n)), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return file;
  std::map<std::string, std::string> meta;
  if (auto m = header.find("__metadata__"); m != header.end() && m->is_object())
    for (const auto& [k, v] : m->items())
      if (v.is_string() && k != kChecksumKey) meta[k] = v.get<std::string>();
  uint32_t crc = 0;
  for (const auto& [k, v] : meta) crc = crc32c(v.c_str(), v.size() + 1, crc32c(k.c_str(), k.size() + 1, crc));
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [k, v] : header.items()) {
    if (k == "__metadata__" || !v.is_object()) continue;
    auto o = v.find("data_offsets");
    if (o != v.end() && o->is_array() && o->size() == 2 && (*o)[0].is_number_unsigned() && (*o)[1].is_number_unsigned())
      ranges.emplace_back((*o)[0].get<uint64_t>(), (*o)[1].get<uint64_t>());
  }
  std::sort(ranges.begin(), ranges.end());
  const uint64_t start = 8 + n;
  for (const auto& [b, e] : ranges)
    if (b <= e && e <= size - start) crc = crc32c(data + start + b, size_t(e - b), crc);
  char text[9];
  std::snprintf(text, sizeof text, "%08x", crc);
  if (!header.contains("__metadata__") || !header["__metadata__"].is_object()) header["__metadata__"] = nlohmann::ordered_json::object();
  header["__metadata__"][kChecksumKey] = text;
  std::string h;
  try {
    h = header.dump();
  } catch (const nlohmann::json::exception&) {  // not UTF-8
    return file;
  }
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
  return out + h + file.substr(size_t(start));
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
  const bool fix_checksum = data[0] & 4;
  ++data, --size;
  const std::string fixed = fix_checksum ? with_valid_checksum(data, size) : std::string();
  if (fix_checksum) data = reinterpret_cast<const uint8_t*>(fixed.data()), size = fixed.size();
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
