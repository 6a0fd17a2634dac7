// ReLU: y = max(x, 0). Backward uses the output (y > 0 is the mask), so it works in place.
#pragma once

#include <cstddef>

namespace alexnet {

template <class T>
void relu_forward(T* out, const T* in, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
}

// din = dout where out > 0, else 0 (PyTorch's threshold_backward: the gradient at 0 is 0).
template <class T>
void relu_backward(T* din, const T* dout, const T* out, size_t n) {
  for (size_t i = 0; i < n; ++i) din[i] = out[i] > T(0) ? dout[i] : T(0);
}

}  // namespace alexnet
