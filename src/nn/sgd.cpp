#include "nn/sgd.h"

#include "core/error.h"

namespace alexnet {

void sgd_update(std::span<float> params, std::span<const float> grads, std::span<float> momentum_buf,
                bool first_step, const SgdOptions& sgd, float lr) {
  ALEXNET_ASSERT(params.size() == grads.size() && params.size() == momentum_buf.size(), "sgd_update: size mismatch");
  float* __restrict p = params.data();
  const float* __restrict g = grads.data();
  float* __restrict buf = momentum_buf.data();
  const float wd = sgd.weight_decay, m = sgd.momentum, damp = 1.f - sgd.dampening;
  const ptrdiff_t n = ptrdiff_t(params.size());
  if (m == 0.f) {
#pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  if (first_step) {
#pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      buf[i] = d;
      p[i] -= lr * (sgd.nesterov ? d + m * d : d);
    }
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (ptrdiff_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * p[i];
    const float b = m * buf[i] + damp * d;
    buf[i] = b;
    p[i] -= lr * (sgd.nesterov ? d + m * b : b);
  }
}

}  // namespace alexnet
