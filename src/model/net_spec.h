// A network variant as data: the table of layers, the input it expects and how it is initialised.
// Parameters live in one contiguous fp32 buffer described by a ParamTable, in the order and with the
// names and shapes of the equivalent PyTorch module's state_dict.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/layers.h"
#include "tensor/tensor.h"

namespace alexnet {

enum class InitScheme {
  PyTorchDefault,  // nn.Conv2d / nn.Linear reset_parameters: kaiming-uniform(a=sqrt 5) weights, U(±1/sqrt(fan_in)) bias
  Paper,           // Krizhevsky et al. 2012: weights N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7; else 0
  Kaiming,         // He et al. 2015 for ReLU networks: weights N(0, 2/fan_in), the last layer's N(0, 1/fan_in); biases 0
};

// "pytorch", "paper", "kaiming"; and back (throws alexnet::Error for anything else).
const char* init_scheme_name(InitScheme s);
InitScheme parse_init_scheme(std::string_view name);
std::vector<std::string> init_scheme_names();

struct NetOptions {
  int num_classes = 1000;
  double width = 1.0;    // multiplies every convolution's channel count (tests use small widths)
  int hidden = 0;        // fully connected hidden size; 0 = the variant's default times `width`
  int input_size = 0;    // 0 = the variant's default (224, 227 or 32)
  float dropout = -1.f;  // <0 = the variant's default (0.5)
  std::string init;      // "" = the variant's own initialisation; else an init_scheme_names() entry
};

struct NetSpec {
  std::string variant;  // "seed", "paper", "torchvision", "cifar"
  int in_channels = 3;
  int input_size = 224;  // H = W
  int num_classes = 0;
  InitScheme init = InitScheme::PyTorchDefault;
  std::vector<Layer> layers;
};

// Per-sample activation shape after a layer: [C, H, W]; after Flatten/Linear `flat` is set, the
// features are in C and H = W = 1 (tensors of such layers are [N, F]).
struct ActShape {
  int c = 0, h = 0, w = 0;
  bool flat = false;
  int64_t numel() const { return int64_t(c) * h * w; }
  bool operator==(const ActShape&) const = default;
};

// Builds a variant's table. Throws alexnet::Error for an unknown variant or bad options.
NetSpec make_net_spec(std::string_view variant, const NetOptions& options = {});
std::vector<std::string> net_variants();  // the known variant names

// The shape after every layer (out[i] is layer i's output). Throws alexnet::Error when the input is
// too small for the table or a Linear layer's in_features does not match.
std::vector<ActShape> activation_shapes(const NetSpec& spec);

// Multiply-add FLOPs (2 per multiply-add) of one image through the convolutions and linear layers:
// the forward pass, and a training step (forward, weight gradients, and input gradients of every
// layer but the first, which training does not need). Pooling, ReLU, LRN and dropout are not counted.
struct FlopCount {
  double forward = 0, training = 0;
};
FlopCount flops_per_image(const NetSpec& spec);

struct ParamInfo {
  std::string name;  // "features.0.weight"
  Shape shape;       // OIHW for convolutions, [out, in] for linear layers
  size_t offset;     // in floats, from the start of the buffer
  size_t numel;
  int layer;         // index into NetSpec::layers
};

struct ParamTable {
  std::vector<ParamInfo> entries;  // state_dict order
  size_t total = 0;                // floats in the whole buffer
  const ParamInfo* find(std::string_view name) const;  // nullptr when absent
};

ParamTable make_param_table(const NetSpec& spec);

// Fills `params` (the whole buffer) with the spec's initialisation, deterministically from `seed`.
void init_params(const NetSpec& spec, const ParamTable& table, std::span<float> params, uint64_t seed);

}  // namespace alexnet
