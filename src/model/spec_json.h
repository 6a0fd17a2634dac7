// A network table as JSON: the one description of a variant that other programs build from (the
// PyTorch modules of tools/alexnet_torch.py are made from `alexnet info --model NAME --json`), so
// the C++ table and the Python one cannot drift apart.
//
//   {"variant", "in_channels", "input_size", "num_classes", "init": "pytorch" | "paper",
//    "layers": [{"name", "kind", <the kind's hyper-parameters>, "output": [C, H, W] or [F]}],
//    "params": [{"name", "shape"}], "num_params"}
//
// Hyper-parameter keys are PyTorch's constructor arguments: Conv2d in_channels, out_channels,
// kernel_size, stride, padding, groups; MaxPool2d kernel_size, stride, padding; LocalResponseNorm
// size, alpha, beta, k; Dropout p; Linear in_features, out_features; AdaptiveAvgPool2d output_size.
#pragma once

#include <nlohmann/json.hpp>

#include "model/net_spec.h"

namespace alexnet {

nlohmann::json net_spec_json(const NetSpec& spec);

}  // namespace alexnet
