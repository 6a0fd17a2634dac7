#include "backend/capabilities.h"

#include <cstdlib>
#include <dnnl.hpp>

#if defined(ALEXNET_HAVE_CUDA)
#include "backend/cuda/cuda_net.h"
#endif

namespace alexnet {

CpuCapabilities cpu_capabilities() {
  CpuCapabilities c;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: c.isa = "AMX (AVX-512 with bf16 and tile matrix units)"; c.native_bf16 = true; break;
    case dnnl::cpu_isa::avx512_core_bf16: c.isa = "AVX-512 BF16"; c.native_bf16 = true; break;
    case dnnl::cpu_isa::avx512_core_vnni: c.isa = "AVX-512 VNNI (no bf16)"; break;
    case dnnl::cpu_isa::avx512_core: c.isa = "AVX-512 (no bf16)"; break;
    case dnnl::cpu_isa::avx2_vnni: c.isa = "AVX2 VNNI"; break;
    case dnnl::cpu_isa::avx2: c.isa = "AVX2"; break;
    case dnnl::cpu_isa::avx: c.isa = "AVX"; break;
    case dnnl::cpu_isa::sse41: c.isa = "SSE4.1"; break;
    default: c.isa = "unknown"; break;
  }
  for (const char* var : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    const char* v = std::getenv(var);
    if (v && *v) c.isa_limited = true;
  }
  return c;
}

GpuCapabilities gpu_capabilities() {
  GpuCapabilities g;
#if defined(ALEXNET_HAVE_CUDA)
  g.compiled = true;
  g.count = cuda_visible_devices(&g.why_none);
  g.lines = cuda_device_summary();
#else
  g.why_none = "this build has no CUDA backend";
#endif
  return g;
}

std::string unsupported_reason(BackendKind backend, Precision precision) {
  switch (backend) {
    case BackendKind::Reference:
      if (precision != Precision::F32)
        return cat("the reference backend computes in fp32 only, not ", precision_name(precision),
                   ": use --precision fp32 (or auto)");
      return {};
    case BackendKind::OneDNN: {
      if (precision == Precision::TF32)
        return "tf32 is a GPU precision; on the CPU use --precision fp32, bf16 (on CPUs with native bf16) or auto";
      if (precision == Precision::BF16) {
        const CpuCapabilities cpu = cpu_capabilities();
        if (!cpu.native_bf16)
          return cat("bf16 needs a CPU with native bf16 (AVX-512 BF16 or AMX); oneDNN runs this one as ", cpu.isa,
                     cpu.isa_limited ? " (limited by ONEDNN_MAX_CPU_ISA)" : "",
                     ": use --precision fp32, or --precision auto to choose");
      }
      return {};
    }
    case BackendKind::CUDA: {
      const GpuCapabilities gpu = gpu_capabilities();
      if (!gpu.compiled)
        return "this build has no CUDA backend (configure with -DALEXNET_CUDA=ON on a machine with the CUDA toolkit); "
               "--device cpu works";
      if (gpu.count == 0) return cat("no CUDA device is visible (", gpu.why_none, "); --device cpu works");
      return {};
    }
  }
  return "unknown backend";
}

void require_supported(BackendKind backend, Precision precision) {
  const std::string why = unsupported_reason(backend, precision);
  if (!why.empty()) throw Error(why);
}

BackendKind parse_backend(const std::string& name) {
  if (name == "reference") return BackendKind::Reference;
  if (name == "onednn") return BackendKind::OneDNN;
  if (name == "cuda") return BackendKind::CUDA;
  fail("unknown backend '", name, "' (expected reference, onednn or cuda)");
}

ComputeChoice choose_compute(const std::string& device, const std::string& backend, const std::string& precision) {
  ComputeChoice c;
  if (device != "auto" && device != "cpu" && device != "cuda")
    fail("unknown device '", device, "' (expected auto, cpu or cuda)");
  // The device.
  if (!backend.empty()) {
    c.backend = parse_backend(backend);
    c.device = c.backend == BackendKind::CUDA ? Device::CUDA : Device::CPU;
    if (device != "auto" && (device == "cuda") != (c.device == Device::CUDA))
      fail("--backend ", backend, " does not run on --device ", device);
    c.device_note = cat("device: ", c.device == Device::CUDA ? "cuda" : "cpu", " (--backend ", backend, ")");
  } else if (device == "cpu") {
    c.device = Device::CPU;
    c.device_note = "device: cpu";
  } else {
    const GpuCapabilities gpu = gpu_capabilities();
    if (device == "cuda") {
      if (gpu.count == 0)
        fail("--device cuda: ", gpu.compiled ? "no CUDA device is visible (" + gpu.why_none + ")" : gpu.why_none,
             "; --device cpu works");
      c.device = Device::CUDA;
      c.device_note = "device: cuda";
    } else if (gpu.count > 0) {
      c.device = Device::CUDA;
      c.device_note = cat("device: cuda (auto: ", gpu.count, " GPU", gpu.count > 1 ? "s" : "", " visible)");
    } else {
      c.device = Device::CPU;
      c.device_note = cat("device: cpu (auto: ", gpu.compiled ? "no GPU visible: " + gpu.why_none : gpu.why_none, ")");
    }
    c.backend = c.device == Device::CUDA ? BackendKind::CUDA : BackendKind::OneDNN;
  }
  // The precision.
  if (precision == "auto") {
    switch (c.backend) {
      case BackendKind::CUDA:
        c.precision = Precision::BF16;
        c.precision_note = "precision: bf16 (auto: GPU)";
        break;
      case BackendKind::Reference:
        c.precision = Precision::F32;
        c.precision_note = "precision: fp32 (auto: the reference backend computes in fp32)";
        break;
      case BackendKind::OneDNN: {
        const CpuCapabilities cpu = cpu_capabilities();
        c.precision = cpu.native_bf16 ? Precision::BF16 : Precision::F32;
        c.precision_note = cpu.native_bf16 ? cat("precision: bf16 (auto: this CPU has native bf16: ", cpu.isa, ")")
                                           : cat("precision: fp32 (auto: this CPU has no native bf16: ", cpu.isa,
                                                 cpu.isa_limited ? ", limited by ONEDNN_MAX_CPU_ISA" : "", ")");
        break;
      }
    }
  } else {
    c.precision = parse_precision(precision);
    c.precision_note = cat("precision: ", precision_name(c.precision));
  }
  require_supported(c.backend, c.precision);
  return c;
}

}  // namespace alexnet
