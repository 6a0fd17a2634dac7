// Inverted dropout: in training, keep each element with probability 1-p and scale it by 1/(1-p);
// in evaluation, the identity. The mask is not drawn from a stream but computed from a counter-based
// hash of (seed, step, layer, element index), so every backend (CPU, CUDA, any thread count) draws
// the same mask for the same step and nothing but the seed needs saving to resume.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/rng.h"  // splitmix64, ALEXNET_HD

namespace alexnet {

// The key of one dropout layer at one step.
ALEXNET_HD inline uint64_t dropout_key(uint64_t seed, uint64_t step, int layer) {
  return splitmix64(seed ^ splitmix64(step * 0x100000001b3ull + uint64_t(layer)));
}

// A uniform number in [0, 1) for element `index` (24 random bits).
ALEXNET_HD inline float dropout_uniform(uint64_t key, uint64_t index) {
  return float(splitmix64(key + index) >> 40) * (1.0f / 16777216.0f);
}

ALEXNET_HD inline bool dropout_keep(uint64_t key, uint64_t index, float p) { return dropout_uniform(key, index) >= p; }

// out = in * mask / (1-p); mask (may be null) gets 0 or 1/(1-p) per element.
template <class T>
void dropout_forward(T* out, T* mask, const T* in, size_t n, float p, uint64_t key) {
  const T scale = p < 1.f ? T(1) / (T(1) - T(p)) : T(0);
  for (size_t i = 0; i < n; ++i) {
    const T m = dropout_keep(key, i, p) ? scale : T(0);
    if (mask) mask[i] = m;
    out[i] = in[i] * m;
  }
}

template <class T>
void dropout_backward(T* din, const T* dout, const T* mask, size_t n) {
  for (size_t i = 0; i < n; ++i) din[i] = dout[i] * mask[i];
}

}  // namespace alexnet
