// An exponential moving average of the weights (--ema DECAY), as TensorFlow's
// ExponentialMovingAverage with num_updates: after update t (1-based) the average moves by
//   avg = d * avg + (1 - d) * params,   d = min(DECAY, (1 + t) / (10 + t)),
// so that early averages are not dominated by the random initialisation. The average is kept in
// fp32 on the host, updated after every SGD step, validated beside the raw weights and saved with
// the checkpoint (its state file, for resume, and ema.safetensors, for eval and predict).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace alexnet {

inline float ema_decay(float decay, int64_t update) {
  return std::min(decay, float(double(1 + update) / double(10 + update)));
}

inline void ema_update(std::span<float> average, std::span<const float> params, float d) {
  for (size_t i = 0; i < average.size(); ++i) average[i] = d * average[i] + (1.f - d) * params[i];
}

}  // namespace alexnet
