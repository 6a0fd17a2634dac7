// The reference backend: executes a NetSpec layer by layer with the plain loops of nn/ (fp32 only).
// Slow and obviously correct; the oracle every other backend is tested against.
#pragma once

#include <memory>

#include "backend/net.h"

namespace alexnet {

std::unique_ptr<Net> make_reference_net(const NetSpec& spec, const BuildOptions& options);

}  // namespace alexnet
