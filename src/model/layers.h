// The layer vocabulary: what a network table is made of. Each struct carries only the layer's
// hyper-parameters; the math lives in nn/ (reference) and backend/ (fast forms).
// Semantics are PyTorch's modules of the same name.
#pragma once

#include <string>
#include <variant>

namespace alexnet {

struct Conv2d {  // weight [K, C/G, R, S], bias [K]
  int in_channels, out_channels, kernel, stride = 1, padding = 0, groups = 1;
};
struct ReLU {};
struct MaxPool2d {  // floor mode, padding with -inf
  int kernel, stride, padding = 0;
};
struct LocalResponseNorm {  // across channels: y = x / (k + alpha/size * sum_{window} x^2)^beta
  int size;
  float alpha, beta, k;
};
struct Dropout {  // inverted dropout: keep with probability 1-p, scale kept by 1/(1-p); identity in eval
  float p;
};
struct Linear {  // weight [F_out, F_in], bias [F_out]
  int in_features, out_features;
};
struct Flatten {};  // [N, C, H, W] -> [N, C*H*W]
struct AdaptiveAvgPool2d {
  int out_h, out_w;
};

using LayerOp = std::variant<Conv2d, ReLU, MaxPool2d, LocalResponseNorm, Dropout, Linear, Flatten, AdaptiveAvgPool2d>;

struct Layer {
  std::string name;  // PyTorch module path, e.g. "features.0"; parameters are name + ".weight"/".bias"
  LayerOp op;
};

const char* layer_kind(const LayerOp& op);  // "Conv2d", "ReLU", ...
std::string layer_str(const Layer& layer);   // "features.0 Conv2d(3, 96, k=11, s=4, p=2)"

}  // namespace alexnet
