// alexnet info: the build, the machine and the backends compiled in.
#include <omp.h>

#include <dnnl.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"

namespace alexnet::cli {

namespace {

struct InfoFlags {
  bool json = false;
};

void run_info(const InfoFlags& f) {
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
  std::printf("  CUDA backend: %s\n", out["cuda"].get<bool>() ? "compiled in" : "not compiled in");
  std::printf("  models: seed, paper, torchvision, cifar\n");
  if (f.json) print_json_line(out.dump());
}

}  // namespace

void add_info(CLI::App& app) {
  auto f = std::make_shared<InfoFlags>();
  CLI::App* cmd = app.add_subcommand("info", "Show the build, the backends and the machine");
  cmd->add_flag("--json", f->json, "Print one JSON object on the last line");
  cmd->callback([f] { run_info(*f); });
}

}  // namespace alexnet::cli
