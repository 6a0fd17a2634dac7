#include "model/spec_json.h"

#include <charconv>
#include <string>
#include <type_traits>

namespace alexnet {

namespace {

// The shortest decimal that reads back as the same float (1e-4f is written 0.0001, not
// 9.999999747378752e-05), so a reader using doubles gets the value the table was written with.
double shortest(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::stod(std::string(buf, r.ptr));
}

nlohmann::json layer_json(const Layer& layer) {
  nlohmann::json j{{"name", layer.name}, {"kind", layer_kind(layer.op)}};
  std::visit(
      [&](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, Conv2d>) {
          j.update({{"in_channels", op.in_channels}, {"out_channels", op.out_channels}, {"kernel_size", op.kernel},
                    {"stride", op.stride}, {"padding", op.padding}, {"groups", op.groups}});
        } else if constexpr (std::is_same_v<T, MaxPool2d>) {
          j.update({{"kernel_size", op.kernel}, {"stride", op.stride}, {"padding", op.padding}});
        } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
          j.update({{"size", op.size}, {"alpha", shortest(op.alpha)}, {"beta", shortest(op.beta)}, {"k", shortest(op.k)}});
        } else if constexpr (std::is_same_v<T, Dropout>) {
          j["p"] = shortest(op.p);
        } else if constexpr (std::is_same_v<T, Linear>) {
          j.update({{"in_features", op.in_features}, {"out_features", op.out_features}});
        } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
          j["output_size"] = {op.out_h, op.out_w};
        }
      },
      layer.op);
  return j;
}

}  // namespace

nlohmann::json net_spec_json(const NetSpec& spec) {
  const std::vector<ActShape> shapes = activation_shapes(spec);
  const ParamTable table = make_param_table(spec);
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    nlohmann::json l = layer_json(spec.layers[i]);
    const ActShape& s = shapes[i];
    l["output"] = s.flat ? nlohmann::json::array({s.c}) : nlohmann::json::array({s.c, s.h, s.w});
    layers.push_back(std::move(l));
  }
  nlohmann::json params = nlohmann::json::array();
  for (const ParamInfo& p : table.entries) params.push_back({{"name", p.name}, {"shape", p.shape}});
  return {{"variant", spec.variant},
          {"in_channels", spec.in_channels},
          {"input_size", spec.input_size},
          {"num_classes", spec.num_classes},
          {"init", init_scheme_name(spec.init)},
          {"layers", std::move(layers)},
          {"params", std::move(params)},
          {"num_params", table.total}};
}

}  // namespace alexnet
