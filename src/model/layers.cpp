#include "model/layers.h"

#include "core/error.h"

namespace alexnet {

namespace {
template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;
}  // namespace

const char* layer_kind(const LayerOp& op) {
  return std::visit(overloaded{
                        [](const Conv2d&) { return "Conv2d"; },
                        [](const ReLU&) { return "ReLU"; },
                        [](const MaxPool2d&) { return "MaxPool2d"; },
                        [](const LocalResponseNorm&) { return "LocalResponseNorm"; },
                        [](const Dropout&) { return "Dropout"; },
                        [](const Linear&) { return "Linear"; },
                        [](const Flatten&) { return "Flatten"; },
                        [](const AdaptiveAvgPool2d&) { return "AdaptiveAvgPool2d"; },
                    },
                    op);
}

std::string layer_str(const Layer& layer) {
  std::string args = std::visit(
      overloaded{
          [](const Conv2d& c) {
            return cat("(", c.in_channels, ", ", c.out_channels, ", kernel=", c.kernel, ", stride=", c.stride,
                       ", padding=", c.padding, c.groups > 1 ? cat(", groups=", c.groups) : "", ")");
          },
          [](const ReLU&) { return std::string("()"); },
          [](const MaxPool2d& p) {
            return cat("(kernel=", p.kernel, ", stride=", p.stride, p.padding ? cat(", padding=", p.padding) : "", ")");
          },
          [](const LocalResponseNorm& l) { return cat("(", l.size, ", alpha=", l.alpha, ", beta=", l.beta, ", k=", l.k, ")"); },
          [](const Dropout& d) { return cat("(p=", d.p, ")"); },
          [](const Linear& l) { return cat("(", l.in_features, ", ", l.out_features, ")"); },
          [](const Flatten&) { return std::string("()"); },
          [](const AdaptiveAvgPool2d& a) { return cat("(", a.out_h, ", ", a.out_w, ")"); },
      },
      layer.op);
  return layer.name + " " + layer_kind(layer.op) + args;
}

}  // namespace alexnet
