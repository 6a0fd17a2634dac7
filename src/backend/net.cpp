#include "backend/net.h"

#include "backend/capabilities.h"
#include "backend/cpu/onednn_net.h"
#include "backend/ref_net.h"
#if defined(ALEXNET_HAVE_CUDA)
#include "backend/cuda/cuda_net.h"
#endif

namespace alexnet {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::TF32: return "tf32";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32" || s == "f32" || s == "float32") return Precision::F32;
  if (s == "bf16" || s == "bfloat16") return Precision::BF16;
  if (s == "tf32") return Precision::TF32;
  fail("unknown precision '", s, "' (expected fp32, bf16 or tf32)");
}

const char* backend_name(BackendKind b) {
  switch (b) {
    case BackendKind::Reference: return "reference";
    case BackendKind::OneDNN: return "onednn";
    case BackendKind::CUDA: return "cuda";
  }
  return "?";
}

Net::Net(NetSpec spec, BuildOptions options)
    : spec_(std::move(spec)), table_(make_param_table(spec_)), shapes_(activation_shapes(spec_)), options_(options) {
  if (options_.max_batch < 1) fail("batch size must be at least 1, got ", options_.max_batch);
}

std::unique_ptr<Net> make_net(BackendKind backend, const NetSpec& spec, const BuildOptions& options) {
  require_supported(backend, options.precision);  // what this machine cannot run is refused here, in plain words
  switch (backend) {
    case BackendKind::Reference: return make_reference_net(spec, options);
    case BackendKind::OneDNN: return make_onednn_net(spec, options);
    case BackendKind::CUDA:
#if defined(ALEXNET_HAVE_CUDA)
      return make_cuda_net(spec, options);
#else
      fail("this build has no CUDA backend (configure with -DALEXNET_CUDA=ON on a machine with the CUDA toolkit)");
#endif
  }
  fail("unknown backend");
}

}  // namespace alexnet
