// alexnet info: the build, the machine and the backends compiled in.
#include <omp.h>

#include <dnnl.hpp>
#include <map>
#include <memory>

#include "data/readers.h"
#if defined(ALEXNET_HAVE_CUDA)
#include "backend/cuda/cuda_net.h"
#endif
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/data_flags.h"

namespace alexnet::cli {

namespace {

struct InfoFlags {
  bool json = false;
  std::string data;
  DataLimitFlags limits;
};

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
  std::printf("  %zu classes:", classes.size());
  for (const auto& c : classes) std::printf(" %s", c.c_str());
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
  std::printf("  image sizes (%s):", main.has_float_images() ? "all" : "sample");
  for (const auto& [size, count] : sizes) std::printf(" %s (%d)", size.c_str(), count);
  std::printf("\n");
  if (f.json)
    print_json_line(nlohmann::json{{"format", main.describe()},
                                   {"num_images", main.size()},
                                   {"splits", splits},
                                   {"num_classes", classes.size()},
                                   {"classes", classes},
                                   {"image_sizes", sizes}}
                        .dump());
}

void run_info(const InfoFlags& f) {
  if (!f.data.empty()) return run_data_info(f);
  const dnnl_version_t* v = dnnl_version();
  const char* isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: isa = "AVX-512 + AMX (bf16, int8)"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "AVX-512 + bf16"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "AVX-512 VNNI"; break;
    case dnnl::cpu_isa::avx512_core: isa = "AVX-512"; break;
    case dnnl::cpu_isa::avx2: isa = "AVX2"; break;
    default: break;
  }
  nlohmann::json out{{"version", ALEXNET_VERSION},
                     {"onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)},
                     {"cpu_isa", isa},
                     {"threads", omp_get_max_threads()},
#if defined(ALEXNET_HAVE_CUDA)
                     {"cuda", true},
#else
                     {"cuda", false},
#endif
                     {"models", net_variants()}};
  std::printf("alexnet %s\n", ALEXNET_VERSION);
  std::printf("  CPU backend: oneDNN %s, instruction set %s, %d threads\n", out["onednn"].get<std::string>().c_str(), isa,
              omp_get_max_threads());
#if defined(ALEXNET_HAVE_CUDA)
  std::printf("  CUDA backend: compiled in\n");
  const std::vector<std::string> gpus = cuda_device_summary();
  for (const std::string& line : gpus) std::printf("    %s\n", line.c_str());
  out["cuda_devices"] = gpus;
#else
  std::printf("  CUDA backend: not compiled in\n");
#endif
  std::printf("  models: seed, paper, torchvision, cifar\n");
  if (f.json) print_json_line(out.dump());
}

}  // namespace

void add_info(CLI::App& app) {
  auto f = std::make_shared<InfoFlags>();
  CLI::App* cmd = app.add_subcommand("info", "Show the build, the backends and the machine, or describe a dataset (--data)");
  cmd->add_flag("--json", f->json, "Print one JSON object on the last line");
  cmd->add_option("--data", f->data, "Describe this dataset instead: format, splits, images, classes, image sizes");
  f->limits.add(cmd);
  cmd->callback([f] { run_info(*f); });
}

}  // namespace alexnet::cli
