// The CUDA backend: a Net on one GPU, one op per layer (ops/). Convolutions through cuDNN (NHWC), fully
// connected layers through cuBLAS, everything else (ReLU, pooling, LRN, dropout, loss, bias gradients,
// SGD) by our own kernels (ops/<layer>.cu, kernels.h). See docs/cuda-backend.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/net.h"

namespace alexnet {

// Throws alexnet::Error when no CUDA device is visible.
std::unique_ptr<Net> make_cuda_net(const NetSpec& spec, const BuildOptions& options);

}  // namespace alexnet

namespace alexnet {

// One line per fact for `alexnet info`: runtime, driver and cuDNN versions, then each visible GPU
// (name, memory, compute capability), or why none is visible. Never throws.
std::vector<std::string> cuda_device_summary();

// The number of visible CUDA devices; 0 with the reason in *why (the CUDA error string) when there
// are none. Never throws.
int cuda_visible_devices(std::string* why);

}  // namespace alexnet
