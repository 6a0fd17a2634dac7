// The factory: the one place that knows every backend. A backend is chosen here, once, when a
// network is built; nothing else names a backend's concrete class.
#include "backend/capabilities.h"
#include "backend/cpu/onednn_net.h"
#include "backend/net.h"
#include "backend/ref_net.h"
#if defined(ALEXNET_HAVE_CUDA)
#include "backend/cuda/cuda_net.h"
#endif

namespace alexnet {

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
