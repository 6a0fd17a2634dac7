#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/weights.h"
#include "rundir/run_dir.h"

namespace alexnet {

namespace fs = std::filesystem;
using nlohmann::json;

std::map<std::string, std::string> ModelInfo::metadata() const {
  std::map<std::string, std::string> meta = {{"format", "alexnet-weights-1"},
                                             {"model", variant},
                                             {"num_classes", std::to_string(options.num_classes)},
                                             {"width", json(options.width).dump()},
                                             {"hidden", std::to_string(options.hidden)},
                                             {"input_size", std::to_string(spec().input_size)},
                                             {"dropout", json(options.dropout).dump()},
                                             {"classes", json(classes).dump()},
                                             {"mean", json(mean).dump()},
                                             {"std", json(std).dump()},
                                             {"eval_preset", eval_preset},
                                             {"small_images", small_images ? "true" : "false"}};
  // Only where the data has them (ImageNet's names), so that other checkpoints stay as they were.
  if (!class_descriptions.empty()) meta["class_descriptions"] = json(class_descriptions).dump();
  return meta;
}

TransformConfig ModelInfo::transform(const std::string& preset) const {
  TransformConfig t;
  t.preset = preset;
  t.input_size = spec().input_size;
  t.mean = mean;
  t.std = std;
  t.small_images = small_images;
  return t;
}

ModelInfo ModelInfo::from_metadata(const std::map<std::string, std::string>& meta, const std::string& path) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end())
      fail(path, ": no '", key, "' in the file's metadata: not a checkpoint written by alexnet train "
                 "(for plain weights use --model/--num-classes with --weights)");
    return it->second;
  };
  ModelInfo m;
  try {
    m.variant = get("model");
    m.options.num_classes = std::stoi(get("num_classes"));
    m.options.width = json::parse(get("width")).get<double>();
    m.options.hidden = std::stoi(get("hidden"));
    m.options.input_size = std::stoi(get("input_size"));
    m.options.dropout = json::parse(get("dropout")).get<float>();
    m.classes = json::parse(get("classes")).get<std::vector<std::string>>();
    m.mean = json::parse(get("mean")).get<std::array<float, 3>>();
    m.std = json::parse(get("std")).get<std::array<float, 3>>();
    m.eval_preset = get("eval_preset");
    if (auto it = meta.find("class_descriptions"); it != meta.end()) {
      m.class_descriptions = json::parse(it->second).get<std::vector<std::string>>();
      if (m.class_descriptions.size() != m.classes.size())
        fail(path, ": metadata 'class_descriptions' holds ", m.class_descriptions.size(), " names for ", m.classes.size(), " classes");
    }
    // Checkpoints written before "small_images" was recorded: large images were normalised with
    // ImageNet's statistics, small ones with the seed's 0.5.
    if (auto it = meta.find("small_images"); it != meta.end()) {
      if (it->second != "true" && it->second != "false") fail(path, ": metadata 'small_images' is '", it->second, "' (true or false)");
      m.small_images = it->second == "true";
    } else {
      m.small_images = m.mean == std::array<float, 3>{0.5f, 0.5f, 0.5f};
    }
    for (float v : m.mean)
      if (!std::isfinite(v)) fail(path, ": metadata 'mean' holds ", v);
    for (float v : m.std)
      if (!(v > 0) || !std::isfinite(v)) fail(path, ": metadata 'std' holds ", v, " (must be positive)");
    if (m.options.num_classes < 1 || m.options.num_classes > 1000000)
      fail(path, ": metadata 'num_classes' is ", m.options.num_classes, " (1 to 1000000)");
    if (m.options.hidden < 0 || m.options.hidden > 65536) fail(path, ": metadata 'hidden' is ", m.options.hidden, " (0 to 65536)");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(path, ": malformed checkpoint metadata (", e.what(), ")");
  }
  return m;
}

void save_weights_file(const std::string& path, const ParamTable& table, std::span<const float> params,
                       const ModelInfo& model, const std::string& config_json, int64_t step) {
  auto meta = model.metadata();
  meta["config"] = config_json;
  meta["step"] = std::to_string(step);
  save_weights(path, table, params, meta);
}

using rundir::state_name;

std::string new_run_id() {
  std::random_device device;
  const uint64_t id = (uint64_t(device()) << 32 ^ uint64_t(device())) ^
                      uint64_t(std::chrono::system_clock::now().time_since_epoch().count()) * 0x9E3779B97F4A7C15ull;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", (unsigned long long)id);
  return text;
}

void save_last_checkpoint(const std::string& run_dir, const ParamTable& table, std::span<const float> params,
                          std::span<const float> momentum, const ModelInfo& model, const std::string& config_json,
                          const LoopState& state, std::span<const float> ema) {
  TensorFile st;
  auto add = [&](const char* name, std::span<const float> values) {
    Tensor t(DType::F32, {int64_t(values.size())});
    std::memcpy(t.raw(), values.data(), values.size_bytes());
    st.tensors.emplace(name, std::move(t));
  };
  add("momentum", momentum);
  if (!ema.empty()) add("ema", ema);
  st.metadata = {{"step", std::to_string(state.step)},
                 {"run_id", state.run_id},
                 {"best_top1", json(state.best_top1).dump()},
                 {"schedule", json{{"reductions", state.schedule.reductions},
                                   {"best", state.schedule.best},
                                   {"bad_epochs", state.schedule.bad_epochs}}
                                  .dump()},
                 {"epoch_sums", json{{"loss", state.epoch.loss},
                                     {"steps", state.epoch.steps},
                                     {"correct", state.epoch.correct},
                                     {"samples", state.epoch.samples}}
                                    .dump()}};
  const std::string state_file = state_name(state.step);
  write_safetensors(rundir::file(run_dir, state_file), st);
  auto meta = model.metadata();
  meta["config"] = config_json;
  meta["step"] = std::to_string(state.step);
  meta["run_id"] = state.run_id;
  save_weights(rundir::file(run_dir, rundir::kLast), table, params, meta);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (rundir::state_step(name) && name != state_file) fs::remove(entry.path(), ec);
  }
}

namespace {
// The metadata's "step": a whole number of steps, 0 or more.
int64_t parse_step(const std::string& text, const std::string& path) {
  size_t used = 0;
  int64_t step = -1;
  try {
    step = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || step < 0) fail(path, ": metadata 'step' is '", text, "', not a step number");
  return step;
}
}  // namespace

ResumePoint load_last_checkpoint(const std::string& run_dir, const ParamTable* expect) {
  if (!fs::is_directory(run_dir)) fail(run_dir, ": no such run directory");
  const std::string last = rundir::file(run_dir, rundir::kLast);
  if (!fs::exists(last)) fail(run_dir, ": not a run directory (no last.safetensors)");
  const TensorFile weights = read_safetensors(last);
  ResumePoint r;
  r.model = ModelInfo::from_metadata(weights.metadata, last);
  auto cfg = weights.metadata.find("config");
  auto step = weights.metadata.find("step");
  if (cfg == weights.metadata.end() || step == weights.metadata.end()) fail(last, ": no training config/step in the metadata");
  r.config_json = cfg->second;
  r.state.step = parse_step(step->second, last);
  if (auto id = weights.metadata.find("run_id"); id != weights.metadata.end()) r.state.run_id = id->second;
  const ParamTable table = make_param_table(r.model.spec());
  if (expect && expect->total != table.total) fail(last, ": checkpoint of another model");
  check_weights(weights, table);  // the file holds every tensor: the table is no bigger than the file
  r.params.resize(table.total);
  load_weights(weights, table, r.params);

  const std::string state_path = rundir::file(run_dir, state_name(r.state.step));
  if (!fs::exists(state_path)) fail(run_dir, ": the optimiser state of step ", r.state.step, " (", state_name(r.state.step), ") is missing");
  const TensorFile st = read_safetensors(state_path);
  // The state of this checkpoint: its step, and its run (files copied from another run are refused).
  auto st_step = st.metadata.find("step"), st_id = st.metadata.find("run_id");
  if (st_step == st.metadata.end() || parse_step(st_step->second, state_path) != r.state.step)
    fail(state_path, ": holds the state of step ", st_step == st.metadata.end() ? "?" : st_step->second, ", not of step ",
         r.state.step, " as ", rundir::kLast, " says");
  if ((st_id == st.metadata.end() ? std::string() : st_id->second) != r.state.run_id)
    fail(state_path, ": the optimiser state of another run (run id ", st_id == st.metadata.end() ? "none" : st_id->second,
         "; ", rundir::kLast, " is of run ", r.state.run_id.empty() ? "none" : r.state.run_id, ")");
  const Tensor& m = st.get("momentum", DType::F32, {int64_t(table.total)});
  r.momentum.assign(m.data<float>(), m.data<float>() + m.numel());
  if (st.tensors.count("ema")) {
    const Tensor& e = st.get("ema", DType::F32, {int64_t(table.total)});
    r.ema.assign(e.data<float>(), e.data<float>() + e.numel());
  }
  try {
    r.state.best_top1 = json::parse(st.metadata.at("best_top1")).get<double>();
    const json s = json::parse(st.metadata.at("schedule"));
    r.state.schedule.reductions = s.at("reductions").get<int>();
    r.state.schedule.best = s.at("best").get<double>();
    r.state.schedule.bad_epochs = s.at("bad_epochs").get<int>();
    if (auto it = st.metadata.find("epoch_sums"); it != st.metadata.end()) {  // (absent in older runs)
      const json e = json::parse(it->second);
      r.state.epoch = {e.at("loss").get<double>(), e.at("steps").get<int64_t>(), e.at("correct").get<int64_t>(),
                       e.at("samples").get<int64_t>()};
    }
  } catch (const std::exception& e) {
    fail(state_path, ": malformed optimiser state (", e.what(), ")");
  }
  return r;
}


}  // namespace alexnet
