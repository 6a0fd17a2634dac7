// The oneDNN CPU backend: fp32, or bf16 on AVX-512/AMX with fp32 master weights.
#pragma once

#include <memory>

#include "backend/net.h"

namespace alexnet {

std::unique_ptr<Net> make_onednn_net(const NetSpec& spec, const BuildOptions& options);

}  // namespace alexnet
