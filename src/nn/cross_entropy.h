// Softmax cross-entropy, mean over the batch, with optional label smoothing eps (PyTorch's
// nn.CrossEntropyLoss(label_smoothing=eps)): target q_c = (1-eps)*[c == y] + eps/C,
// loss = -1/N sum_n sum_c q_c log softmax(z_n)_c, dz = (softmax(z) - q) / N.
#pragma once

#include <cmath>
#include <cstdint>

namespace alexnet {

// logits [N, C], labels [N] -> returns the loss; dlogits [N, C] (written; may be null)
template <class T>
T softmax_cross_entropy(T* dlogits, const T* logits, const int64_t* labels, int N, int C, T eps = T(0)) {
  T total = 0;
  for (int n = 0; n < N; ++n) {
    const T* z = logits + size_t(n) * C;
    T zmax = z[0];
    for (int c = 1; c < C; ++c) zmax = z[c] > zmax ? z[c] : zmax;
    T sum = 0;
    for (int c = 0; c < C; ++c) sum += std::exp(z[c] - zmax);
    const T log_sum = std::log(sum) + zmax;
    for (int c = 0; c < C; ++c) {
      const T q = (c == labels[n] ? T(1) - eps : T(0)) + eps / T(C);
      total -= q * (z[c] - log_sum);
      if (dlogits) dlogits[size_t(n) * C + c] = (std::exp(z[c] - log_sum) - q) / T(N);
    }
  }
  return total / T(N);
}

}  // namespace alexnet
