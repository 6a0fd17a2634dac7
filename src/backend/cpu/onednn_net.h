// The oneDNN CPU backend: fp32, or bf16 on AVX-512/AMX with fp32 master weights.
// Two inspection values are computed only when asked for and so must be read before the parameters
// change (sgd_step, set_params): input_grad(), and activation(i) of a Conv2d/Linear whose ReLU runs
// fused into it. Everything else behaves as the reference backend. Design: docs/cpu-backend.md.
#pragma once

#include <memory>

#include "backend/net.h"

namespace alexnet {

std::unique_ptr<Net> make_onednn_net(const NetSpec& spec, const BuildOptions& options);

}  // namespace alexnet
