#include "backend/capabilities.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <vector>
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

namespace {

// The median seconds of a training step of one convolution layer in `p` on the oneDNN backend
// (64 -> 128 channels, 5x5, 16x16, batch 8, with its ReLU: about 1 GFLOP, the shape of the cifar
// model's conv2): what auto weighs bf16 against fp32 with.
double probe_step_seconds(Precision p) {
  NetSpec spec;
  spec.variant = "precision probe";
  spec.in_channels = 64;
  spec.input_size = 16;
  spec.layers = {{"conv", Conv2d{64, 128, 5, 1, 2, 1}}, {"relu", ReLU{}}};
  spec.num_classes = 128 * 16 * 16;
  BuildOptions o;
  o.max_batch = 8;
  o.precision = p;
  std::unique_ptr<Net> net = make_net(BackendKind::OneDNN, spec, o);
  std::vector<float> params(net->params().total, 0.01f), x(size_t(8) * 64 * 16 * 16, 0.5f),
      dout(size_t(8) * spec.num_classes, 0.01f);
  net->set_params(params);
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    net->forward(x.data(), 8, Mode::Train, uint64_t(i));
    net->backward_from(dout.data());
    if (i > 0) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return 0.5 * (times[1] + times[2]);
}

}  // namespace

bool bf16_measured_faster(double fp32_ms, double bf16_ms) { return bf16_ms < 0.9 * fp32_ms; }

const Bf16Probe& bf16_probe() {
  static const Bf16Probe probe = [] {
    Bf16Probe p;
    p.fp32_ms = probe_step_seconds(Precision::F32) * 1e3;
    p.bf16_ms = probe_step_seconds(Precision::BF16) * 1e3;
    p.bf16_faster = bf16_measured_faster(p.fp32_ms, p.bf16_ms);
    return p;
  }();
  return probe;
}

GpuCapabilities gpu_capabilities() {
  GpuCapabilities g;
#if defined(ALEXNET_HAVE_CUDA)
  g.compiled = true;
  g.count = cuda_visible_devices(&g.why_none);
  g.lines = cuda_device_summary();
  // Without the NVIDIA kernel driver the CUDA runtime says "CUDA driver version is insufficient for
  // CUDA runtime version", which reads like a broken driver; say what is the case.
  std::error_code ec;
  if (g.count == 0 && !std::filesystem::exists("/proc/driver/nvidia/version", ec) &&
      !std::filesystem::exists("/dev/nvidiactl", ec)) {
    g.why_none = "no NVIDIA driver found";
    for (std::string& line : g.lines) {
      if (line.rfind("no GPU visible", 0) == 0) line = "no GPU visible (no NVIDIA driver found)";
      if (const size_t at = line.find(", driver supports 0.0"); at != std::string::npos)
        line.replace(at, 21, ", no driver");
    }
  }
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
        if (!cpu.native_bf16) {
          c.precision = Precision::F32;
          c.precision_note = cat("precision: fp32 (auto: this CPU has no native bf16: ", cpu.isa,
                                 cpu.isa_limited ? ", limited by ONEDNN_MAX_CPU_ISA" : "", ")");
          break;
        }
        // Native bf16 is not always faster (measured: 1.3-1.8x faster on an AMD EPYC with AVX-512 BF16,
        // 2x slower on an Intel Xeon with AVX-512 BF16 and no AMX): a short probe decides, unless
        // ALEXNET_PRECISION_PROBE=0 asks for the rule by instruction set alone (reproducible choices:
        // the test suite sets it).
        if (const char* v = std::getenv("ALEXNET_PRECISION_PROBE"); v && std::string(v) == "0") {
          c.precision = Precision::BF16;
          c.precision_note = cat("precision: bf16 (auto: this CPU has native bf16: ", cpu.isa,
                                 "; not timed: ALEXNET_PRECISION_PROBE=0)");
          break;
        }
        const Bf16Probe& probe = bf16_probe();
        c.precision = probe.bf16_faster ? Precision::BF16 : Precision::F32;
        c.precision_note = cat("precision: ", probe.bf16_faster ? "bf16" : "fp32", " (auto: this CPU has native bf16, ",
                               cpu.isa, ", and a convolution step measured ", std::lround(probe.bf16_ms * 10) / 10.0,
                               " ms in bf16 against ", std::lround(probe.fp32_ms * 10) / 10.0, " ms in fp32 here)");
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
