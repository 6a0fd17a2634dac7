// What this machine can run, asked of the libraries that will run it, and the choices made from it.
//
// The CPU's capabilities come from oneDNN itself (its effective instruction set), never from cpuid,
// so ONEDNN_MAX_CPU_ISA limits our choices exactly as it limits oneDNN's kernels. GPUs come from the
// CUDA runtime, when the build has the CUDA backend.
//
// `auto`, the default of --device and --precision:
//   device     CUDA when the build has it and a GPU is visible, else the CPU.
//   precision  CUDA: bf16. oneDNN: bf16 where the CPU has native bf16 kernels (AVX-512 BF16, AMX)
//              and a short probe (bf16_probe) measures them faster than fp32 here, else fp32
//              (ALEXNET_PRECISION_PROBE=0: bf16 wherever it is native, untimed). Processes that
//              train together take rank 0's choice.
//              Reference backend: fp32 (the only precision it has).
// An explicit choice the hardware cannot run is refused when the network is built, in the user's
// words (require_supported), never with a raw library message.
#pragma once

#include <string>
#include <vector>

#include "backend/net.h"

namespace alexnet {

struct CpuCapabilities {
  std::string isa;           // what oneDNN runs: "AVX2", "AVX-512", "AVX-512 VNNI", "AVX-512 BF16", "AMX", ...
  bool native_bf16 = false;  // oneDNN has native bf16 kernels for this ISA
  bool isa_limited = false;  // ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) is set
};
CpuCapabilities cpu_capabilities();

// A training step of one convolution layer timed in fp32 and in bf16 on the oneDNN backend, once per
// process (about 0.1 s): native bf16 kernels are not faster on every CPU that has them. Only call
// where cpu_capabilities().native_bf16.
struct Bf16Probe {
  double fp32_ms = 0, bf16_ms = 0;
  bool bf16_faster = false;  // bf16 under 0.9 x fp32
};
const Bf16Probe& bf16_probe();
// The probe's rule: bf16 only when it measured at least 10% faster (under 0.9 x the fp32 time), so
// that noise between two close times does not pick the less exact precision.
bool bf16_measured_faster(double fp32_ms, double bf16_ms);

struct GpuCapabilities {
  bool compiled = false;           // the build has the CUDA backend
  int count = 0;                   // visible GPUs
  std::string why_none;            // when count == 0: the CUDA error or "this build has no CUDA backend"
  std::vector<std::string> lines;  // runtime/driver/cuDNN versions and one line per GPU (alexnet info)
};
GpuCapabilities gpu_capabilities();

// Empty when `backend` can compute in `precision` on this machine; otherwise the reason, in a user's
// words, with what to use instead.
std::string unsupported_reason(BackendKind backend, Precision precision);
// Throws alexnet::Error with unsupported_reason() when it is not empty. make_net calls it.
void require_supported(BackendKind backend, Precision precision);

// A device, backend or precision as the user gave it ("auto" allowed) and what it resolved to, with
// the one-line reason printed on a run's first lines.
struct ComputeChoice {
  Device device = Device::CPU;
  BackendKind backend = BackendKind::OneDNN;
  Precision precision = Precision::F32;
  std::string device_note;     // "device: cpu (no GPU visible: ...)"
  std::string precision_note;  // "precision: fp32 (this CPU has no native bf16: AVX2)"
};

// device: "auto", "cpu" or "cuda"; backend: "" (the device's fast one), "reference", "onednn" or
// "cuda"; precision: "auto", "fp32", "bf16" or "tf32". Throws alexnet::Error for unknown names, for
// --device cuda without a GPU and for a precision the chosen backend cannot run here.
ComputeChoice choose_compute(const std::string& device, const std::string& backend, const std::string& precision);

// "reference", "onednn", "cuda"; throws alexnet::Error for anything else.
BackendKind parse_backend(const std::string& name);

}  // namespace alexnet
