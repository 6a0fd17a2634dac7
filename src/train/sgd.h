// Stochastic gradient descent with momentum, exactly torch.optim.SGD:
//   d = g + weight_decay * p
//   buf = d                                   on the first step
//   buf = momentum * buf + (1 - dampening) * d  afterwards
//   d = nesterov ? d + momentum * buf : buf
//   p -= lr * d
// One pass over the whole parameter buffer (the parameters live in one contiguous allocation).
#pragma once

#include <cstddef>
#include <span>

#include "backend/net.h"

namespace alexnet {

// `first_step` is true on the first update (PyTorch initialises the momentum buffer to d then).
void sgd_update(std::span<float> params, std::span<const float> grads, std::span<float> momentum_buf,
                bool first_step, const SgdOptions& sgd, float lr);

}  // namespace alexnet
