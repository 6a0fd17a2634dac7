#include "model/net_spec.h"

#include <cmath>

#include "core/rng.h"
#include "nn/geometry.h"

namespace alexnet {

namespace {

// Channel count scaled by the width multiplier, kept a positive multiple of `multiple` (groups).
int scaled(int channels, double width, int multiple = 1) {
  int c = int(std::lround(channels * width / multiple)) * multiple;
  return c < multiple ? multiple : c;
}

// Builds "prefix.i" names for a Sequential, counting every module as PyTorch does.
class Sequential {
 public:
  Sequential(std::vector<Layer>& out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}
  Sequential& add(LayerOp op) {
    out_.push_back({prefix_ + "." + std::to_string(index_++), op});
    return *this;
  }

 private:
  std::vector<Layer>& out_;
  std::string prefix_;
  int index_ = 0;
};

struct ConvRow {
  int out, kernel, stride, padding, groups;
  bool lrn_after;   // paper: LRN after the ReLU of conv1 and conv2
  bool pool_after;  // MaxPool(3, 2) after the ReLU (and LRN)
};

// features (convolutions), optional avgpool, flatten, classifier: the shape every AlexNet shares.
NetSpec build(std::string variant, const std::vector<ConvRow>& convs, int default_hidden, int default_input,
              bool adaptive_pool, InitScheme init, const NetOptions& o) {
  if (o.num_classes < 1) fail("number of classes must be at least 1, got ", o.num_classes);
  if (!(o.width > 0) || o.width > 16) fail("width multiplier must be in (0, 16], got ", o.width);
  if (o.hidden < 0) fail("hidden size must be positive, got ", o.hidden);
  if (o.input_size < 0 || o.input_size > 4096) fail("input size must be in [1, 4096], got ", o.input_size);
  if (o.dropout >= 1.f) fail("dropout probability must be in [0, 1), got ", o.dropout);

  NetSpec spec;
  spec.variant = std::move(variant);
  spec.input_size = o.input_size ? o.input_size : default_input;
  spec.num_classes = o.num_classes;
  spec.init = o.init.empty() ? init : parse_init_scheme(o.init);
  const float p = o.dropout >= 0 ? o.dropout : 0.5f;
  const int hidden = o.hidden ? o.hidden : scaled(default_hidden, o.width);

  Sequential features(spec.layers, "features");
  int c = spec.in_channels, hw = spec.input_size;
  for (const ConvRow& row : convs) {
    const int k = scaled(row.out, o.width, row.groups);
    if (c % row.groups) fail("width ", o.width, " gives ", c, " channels, not divisible by ", row.groups, " groups");
    features.add(Conv2d{c, k, row.kernel, row.stride, row.padding, row.groups}).add(ReLU{});
    hw = window_out_size(hw, row.kernel, row.stride, row.padding);
    if (row.lrn_after) features.add(LocalResponseNorm{5, 1e-4f, 0.75f, 2.f});
    if (row.pool_after) {
      features.add(MaxPool2d{3, 2});
      hw = window_out_size(hw, 3, 2, 0);
    }
    if (hw < 1) fail("input size ", spec.input_size, " is too small for the '", spec.variant, "' network");
    c = k;
  }
  if (adaptive_pool) {
    spec.layers.push_back({"avgpool", AdaptiveAvgPool2d{6, 6}});
    hw = 6;
  }
  spec.layers.push_back({"flatten", Flatten{}});
  Sequential classifier(spec.layers, "classifier");
  classifier.add(Dropout{p}).add(Linear{c * hw * hw, hidden}).add(ReLU{});
  classifier.add(Dropout{p}).add(Linear{hidden, hidden}).add(ReLU{});
  classifier.add(Linear{hidden, o.num_classes});
  return spec;
}

}  // namespace

const char* init_scheme_name(InitScheme s) {
  switch (s) {
    case InitScheme::PyTorchDefault: return "pytorch";
    case InitScheme::Paper: return "paper";
    case InitScheme::Kaiming: return "kaiming";
  }
  return "?";
}

constexpr InitScheme kInitSchemes[] = {InitScheme::PyTorchDefault, InitScheme::Paper, InitScheme::Kaiming};

std::vector<std::string> init_scheme_names() {
  std::vector<std::string> names;
  for (InitScheme s : kInitSchemes) names.emplace_back(init_scheme_name(s));
  return names;
}

InitScheme parse_init_scheme(std::string_view name) {
  for (InitScheme s : kInitSchemes)
    if (name == init_scheme_name(s)) return s;
  fail("unknown initialisation '", name, "' (expected pytorch, paper or kaiming)");
}

std::vector<std::string> net_variants() { return {"seed", "paper", "torchvision", "cifar"}; }

NetSpec make_net_spec(std::string_view variant, const NetOptions& o) {
  if (variant == "seed")  // the seed article's model, verbatim
    return build("seed",
                 {{96, 11, 4, 2, 1, false, true},
                  {256, 5, 1, 2, 1, false, true},
                  {384, 3, 1, 1, 1, false, false},
                  {384, 3, 1, 1, 1, false, false},
                  {256, 3, 1, 1, 1, false, true}},
                 4096, 224, false, InitScheme::PyTorchDefault, o);
  if (variant == "paper")  // Krizhevsky, Sutskever, Hinton 2012: two columns (groups=2), LRN
    return build("paper",
                 {{96, 11, 4, 0, 1, true, true},
                  {256, 5, 1, 2, 2, true, true},
                  {384, 3, 1, 1, 1, false, false},
                  {384, 3, 1, 1, 2, false, false},
                  {256, 3, 1, 1, 2, false, true}},
                 4096, 227, false, InitScheme::Paper, o);
  if (variant == "torchvision")  // torchvision.models.alexnet
    return build("torchvision",
                 {{64, 11, 4, 2, 1, false, true},
                  {192, 5, 1, 2, 1, false, true},
                  {384, 3, 1, 1, 1, false, false},
                  {256, 3, 1, 1, 1, false, false},
                  {256, 3, 1, 1, 1, false, true}},
                 4096, 224, true, InitScheme::PyTorchDefault, o);
  if (variant == "cifar")  // AlexNet's shape at 32x32: 5x5 convolutions, 3x3 maps before the classifier
    return build("cifar",
                 {{48, 5, 1, 2, 1, false, true},
                  {128, 5, 1, 2, 1, false, true},
                  {192, 3, 1, 1, 1, false, false},
                  {192, 3, 1, 1, 1, false, false},
                  {128, 3, 1, 1, 1, false, true}},
                 512, 32, false, InitScheme::PyTorchDefault, o);
  fail("unknown model '", variant, "' (expected one of: seed, paper, torchvision, cifar)");
}

std::vector<ActShape> activation_shapes(const NetSpec& spec) {
  std::vector<ActShape> out;
  ActShape s{spec.in_channels, spec.input_size, spec.input_size};
  for (const Layer& layer : spec.layers) {
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            if (s.c != op.in_channels)
              fail(layer.name, ": expects ", op.in_channels, " input channels, gets ", s.c);
            if (op.groups < 1 || op.in_channels % op.groups || op.out_channels % op.groups)
              fail(layer.name, ": channels ", op.in_channels, "->", op.out_channels, " not divisible by groups ", op.groups);
            s = {op.out_channels, window_out_size(s.h, op.kernel, op.stride, op.padding),
                 window_out_size(s.w, op.kernel, op.stride, op.padding)};
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            if (s.flat) fail(layer.name, ": pooling after flatten");
            s = {s.c, window_out_size(s.h, op.kernel, op.stride, op.padding),
                 window_out_size(s.w, op.kernel, op.stride, op.padding)};
          } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            s = {s.c, op.out_h, op.out_w};
          } else if constexpr (std::is_same_v<T, Flatten>) {
            s = {int(s.numel()), 1, 1, true};
          } else if constexpr (std::is_same_v<T, Linear>) {
            if (s.numel() != op.in_features)
              fail(layer.name, ": expects ", op.in_features, " input features, gets ", s.numel());
            s = {op.out_features, 1, 1, true};
          }
        },
        layer.op);
    if (s.h < 1 || s.w < 1)
      fail("input size ", spec.input_size, " is too small for the '", spec.variant, "' network (at ", layer.name, ")");
    out.push_back(s);
  }
  return out;
}

FlopCount flops_per_image(const NetSpec& spec) {
  const std::vector<ActShape> shapes = activation_shapes(spec);
  FlopCount f;
  bool first = true;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    double layer = 0;
    if (const auto* c = std::get_if<Conv2d>(&spec.layers[i].op))
      layer = 2.0 * c->out_channels * (c->in_channels / c->groups) * c->kernel * c->kernel * shapes[i].h * shapes[i].w;
    else if (const auto* l = std::get_if<Linear>(&spec.layers[i].op))
      layer = 2.0 * l->in_features * l->out_features;
    else
      continue;
    f.forward += layer;
    f.training += (first ? 2 : 3) * layer;
    first = false;
  }
  return f;
}

const ParamInfo* ParamTable::find(std::string_view name) const {
  for (const ParamInfo& p : entries)
    if (p.name == name) return &p;
  return nullptr;
}

ParamTable make_param_table(const NetSpec& spec) {
  ParamTable table;
  auto add = [&](const std::string& name, Shape shape, int layer) {
    const size_t n = size_t(shape_numel(shape));
    table.entries.push_back({name, std::move(shape), table.total, n, layer});
    table.total += n;
  };
  for (int i = 0; i < int(spec.layers.size()); ++i) {
    const Layer& layer = spec.layers[size_t(i)];
    if (auto* c = std::get_if<Conv2d>(&layer.op)) {
      add(layer.name + ".weight", {c->out_channels, c->in_channels / c->groups, c->kernel, c->kernel}, i);
      add(layer.name + ".bias", {c->out_channels}, i);
    } else if (auto* l = std::get_if<Linear>(&layer.op)) {
      add(layer.name + ".weight", {l->out_features, l->in_features}, i);
      add(layer.name + ".bias", {l->out_features}, i);
    }
  }
  return table;
}

void init_params(const NetSpec& spec, const ParamTable& table, std::span<float> params, uint64_t seed) {
  ALEXNET_ASSERT(params.size() == table.total, "init_params: buffer size");
  // Paper: biases of conv2, conv4, conv5 and the hidden fully connected layers are 1.
  int conv_index = 0, linear_index = 0, linears = 0;
  for (const Layer& l : spec.layers) linears += std::holds_alternative<Linear>(l.op);
  const int last_weighted = table.entries.empty() ? -1 : table.entries.back().layer;  // the classifier's output layer
  std::vector<float> bias_value(spec.layers.size(), 0.f);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (std::holds_alternative<Conv2d>(spec.layers[i].op)) {
      ++conv_index;
      bias_value[i] = (conv_index == 2 || conv_index == 4 || conv_index == 5) ? 1.f : 0.f;
    } else if (std::holds_alternative<Linear>(spec.layers[i].op)) {
      ++linear_index;
      bias_value[i] = linear_index < linears ? 1.f : 0.f;
    }
  }
  Rng rng(seed);
  for (const ParamInfo& p : table.entries) {
    const bool is_weight = p.shape.size() > 1;
    float* dst = params.data() + p.offset;
    if (spec.init == InitScheme::Paper) {
      for (size_t i = 0; i < p.numel; ++i) dst[i] = is_weight ? float(0.01 * rng.normal()) : bias_value[size_t(p.layer)];
      continue;
    }
    const ParamInfo& weight = is_weight ? p : *table.find(spec.layers[size_t(p.layer)].name + ".weight");
    int64_t fan_in = 1;
    for (size_t d = 1; d < weight.shape.size(); ++d) fan_in *= weight.shape[d];
    if (spec.init == InitScheme::Kaiming) {  // gain sqrt(2) before a ReLU; the classifier's last layer has none
      const bool last = p.layer == last_weighted;
      const double stddev = std::sqrt((last ? 1.0 : 2.0) / double(fan_in));
      for (size_t i = 0; i < p.numel; ++i) dst[i] = is_weight ? float(stddev * rng.normal()) : 0.f;
      continue;
    }
    // nn.Conv2d / nn.Linear: kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in); the bias too.
    const double bound = 1.0 / std::sqrt(double(fan_in));
    for (size_t i = 0; i < p.numel; ++i) dst[i] = float(rng.uniform(-bound, bound));
  }
}

}  // namespace alexnet
