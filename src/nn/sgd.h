// Stochastic gradient descent with momentum, exactly torch.optim.SGD:
//   d = g + weight_decay * p
//   buf = d                                   on the first step
//   buf = momentum * buf + (1 - dampening) * d  afterwards
//   d = nesterov ? d + momentum * buf : buf
//   p -= lr * d
// One pass over the whole parameter buffer (the parameters live in one contiguous allocation). Plain
// math like every other file here: the host backends call it, the CUDA backend has the same update as
// one kernel (backend/cuda/kernels.cu). Defined in nn/sgd.cpp, which is built with OpenMP.
#pragma once

#include <cstddef>
#include <span>

namespace alexnet {

struct SgdOptions {
  float momentum = 0.9f;
  float weight_decay = 0.f;
  float dampening = 0.f;
  bool nesterov = false;
};

// params, grads, momentum_buf: [P], the whole buffers. `first_step` is true on the first update
// (PyTorch initialises the momentum buffer to d then).
void sgd_update(std::span<float> params, std::span<const float> grads, std::span<float> momentum_buf,
                bool first_step, const SgdOptions& sgd, float lr);

}  // namespace alexnet
