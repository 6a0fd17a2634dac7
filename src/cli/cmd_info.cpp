// alexnet info: the build, the machine and the backends compiled in.
#include <omp.h>

#include <dnnl.hpp>
#include <map>
#include <memory>

#include "backend/capabilities.h"
#include "data/readers.h"
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "train/progress.h"
#include "model/spec_json.h"
#include "cli/data_flags.h"

namespace alexnet::cli {

namespace {

struct InfoFlags {
  bool json = false;
  std::string data;
  DataLimitFlags limits;
  ModelFlags model;
  int hidden = 0;
  CLI::App* cmd = nullptr;
};

// info --model NAME: the network table, its shapes and parameters (the JSON other programs build from).
void run_model_info(const InfoFlags& f) {
  NetOptions o;
  o.num_classes = f.model.num_classes;
  o.width = f.model.width;
  o.hidden = f.hidden;
  o.input_size = f.model.input_size;
  o.dropout = f.model.dropout;
  const NetSpec spec = make_net_spec(f.model.model, o);
  const nlohmann::json j = net_spec_json(spec);
  std::printf("%s: input %dx%dx%d, %d classes, %zu parameters\n", spec.variant.c_str(), spec.in_channels,
              spec.input_size, spec.input_size, spec.num_classes, j["num_params"].get<size_t>());
  for (size_t i = 0; i < spec.layers.size(); ++i)
    std::printf("  %-44s -> %s\n", layer_str(spec.layers[i]).c_str(), j["layers"][i]["output"].dump().c_str());
  if (f.json) print_json_line(j.dump());
}

// info --data PATH: what a dataset holds, whatever its layout: train only, test only, train + val,
// train + test, or one set used whole for every split.
void run_data_info(const InfoFlags& f) {
  f.limits.apply();
  const DatasetSplits d = open_dataset_splits(f.data);
  const Dataset& main = d.train ? *d.train : d.test ? *d.test : *d.val;
  nlohmann::json splits = nlohmann::json::object();
  std::printf("%s\n", main.describe().c_str());
  if (d.whole) {
    splits["all"] = main.size();
    std::printf("  one set of %zu images, used whole for every split (no train/val/test folders; train --val-split "
                "holds part of it out)\n", main.size());
  } else {
    const std::pair<const char*, const Dataset*> parts[] = {{"train", d.train.get()}, {"val", d.val.get()}, {"test", d.test.get()}};
    for (const auto& [name, set] : parts) {
      if (!set) continue;
      splits[name] = set->size();
      std::printf("  %-6s %zu images (%s)\n", (std::string(name) + ":").c_str(), set->size(), set->describe().c_str());
    }
    if (!d.train) std::printf("  no train split: eval and info work on it, train needs a train/ part\n");
    if (d.train && !d.val && !d.test) std::printf("  no val or test split (train --val-split holds one out)\n");
  }
  const auto& classes = main.classes();
  const auto& descriptions = main.class_descriptions();  // ImageNet's human-readable names, else empty
  // The first classes by name; ImageNet's thousand would fill the screen.
  constexpr size_t kShown = 24;
  std::printf("  %zu classes:", classes.size());
  for (size_t k = 0; k < classes.size() && k < kShown; ++k)
    std::printf(k < descriptions.size() ? " %s (%s)" : " %s", classes[k].c_str(), k < descriptions.size() ? descriptions[k].c_str() : "");
  if (classes.size() > kShown) std::printf(" ... and %zu more (--json lists them all)", classes.size() - kShown);
  std::printf("\n");
  // Image sizes, from a sample of up to 64 images spread over the set.
  std::map<std::string, int> sizes;
  if (main.has_float_images()) {
    const auto [h, w] = main.float_image_size();
    sizes[std::to_string(w) + "x" + std::to_string(h) + " float"] = int(main.size());
  } else {
    const size_t n = main.size(), step = std::max<size_t>(1, n / 64);
    for (size_t i = 0; i < n; i += step) {
      try {
        const Image im = main.image(i);
        sizes[std::to_string(im.width) + "x" + std::to_string(im.height)]++;
      } catch (const CorruptSample& e) {
        std::printf("  warning: %s\n", e.what());
      }
    }
  }
  std::printf("  image sizes (width x height, %s):", main.has_float_images() ? "all" : "sample");
  for (const auto& [size, count] : sizes) std::printf(" %s (%d)", size.c_str(), count);
  std::printf("\n");
  if (f.json)
    print_json_line(nlohmann::json{{"format", main.describe()},
                                   {"num_images", main.size()},
                                   {"splits", splits},
                                   {"num_classes", classes.size()},
                                   {"classes", classes},
                                   {"class_descriptions", descriptions},
                                   {"image_sizes", sizes}}
                        .dump());
}

void run_info(const InfoFlags& f) {
  if (!f.data.empty()) return run_data_info(f);
  if (f.cmd->get_option("--model")->count() > 0) return run_model_info(f);
  const dnnl_version_t* v = dnnl_version();
  const CpuCapabilities cpu = cpu_capabilities();
  const GpuCapabilities gpu = gpu_capabilities();
  // What `auto` picks here, and the reasons, as a run would print them.
  const ComputeChoice chosen = choose_compute("auto", "", "auto");
  const ComputeChoice cpu_choice = choose_compute("cpu", "", "auto");
  const std::string onednn = cat(v->major, ".", v->minor, ".", v->patch);
  nlohmann::json out{{"version", ALEXNET_VERSION},
                     {"onednn", onednn},
                     {"cpu_isa", cpu.isa},
                     {"cpu_isa_limited", cpu.isa_limited},
                     {"cpu_native_bf16", cpu.native_bf16},
                     {"threads", omp_get_max_threads()},
                     {"cuda", gpu.compiled},
                     {"gpus", gpu.count},
                     {"auto_device", chosen.device == Device::CUDA ? "cuda" : "cpu"},
                     {"auto_precision", precision_name(chosen.precision)},
                     {"auto_cpu_precision", precision_name(cpu_choice.precision)},
                     {"models", net_variants()}};
  std::printf("alexnet %s\n", ALEXNET_VERSION);
  std::printf("  CPU backend: oneDNN %s, instruction set %s%s, %d threads\n", onednn.c_str(), cpu.isa.c_str(),
              cpu.isa_limited ? " (limited by ONEDNN_MAX_CPU_ISA)" : "", omp_get_max_threads());
  std::printf("    bf16: %s\n", cpu.native_bf16 ? "native (--precision bf16 runs here)"
                                                 : "not native on this CPU (--precision bf16 is refused; fp32 is used)");
  if (gpu.compiled) {
    std::printf("  CUDA backend: compiled in\n");
    for (const std::string& line : gpu.lines) std::printf("    %s\n", line.c_str());
    out["cuda_devices"] = gpu.lines;
  } else {
    std::printf("  CUDA backend: not compiled in\n");
  }
  std::printf("  auto picks: %s\n", wrap_columns(chosen.device_note + "; " + chosen.precision_note, 4, 14).c_str());
  if (chosen.device == Device::CUDA)
    std::printf("    with --device cpu: %s\n", wrap_columns(cpu_choice.precision_note, 6, 23).c_str());
  std::printf("  models: seed, paper, torchvision, cifar\n");
  if (f.json) print_json_line(out.dump());
}

}  // namespace

void add_info(CLI::App& app) {
  auto f = std::make_shared<InfoFlags>();
  CLI::App* cmd = app.add_subcommand("info", "Show the build, the backends and the machine, describe a dataset (--data) or "
                                              "print a network's layer table (--model)");
  f->cmd = cmd;
  cmd->add_flag("--json", f->json, "Print one JSON object on stdout; everything else goes to stderr");
  cmd->add_option("--data", f->data, "Describe this dataset instead: format, splits, images, classes, image sizes");
  f->limits.add(cmd);
  f->model.add(cmd, true);
  cmd->add_option("--hidden", f->hidden, "With --model: fully connected hidden size (0 = the variant's, times --width)")
      ->capture_default_str()
      ->check(number_check(0, 1 << 20));
  cmd->callback([f] {
    if (f->json) keep_stdout_for_json();
    run_info(*f);
  });
}

}  // namespace alexnet::cli
