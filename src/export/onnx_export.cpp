#include "export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "nn/adaptive_avgpool2d.h"

namespace alexnet {

namespace {

// IEEE 754 binary16 from binary32, rounding to nearest even (overflow to infinity, NaN kept NaN).
uint16_t float_to_half(float value) {
  uint32_t f;
  std::memcpy(&f, &value, 4);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {                                  // below the smallest normal half: subnormal
    if (abs < 0x33000000u) return uint16_t(sign);           // below half of the smallest subnormal
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - int(abs >> 23);  // 14..24
    const uint32_t half = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    return uint16_t(sign | (half + (rest > halfway || (rest == halfway && (half & 1)))));
  }
  const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);  // round the 13 dropped bits to even
  return uint16_t(sign | ((rounded - 0x38000000u) >> 13));
}

class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto* graph, bool fp16) : g_(graph), fp16_(fp16) {}

  // A weight or constant; stored as float16 when the graph computes in float16.
  std::string initializer(const std::string& name, const std::vector<int64_t>& dims, std::span<const float> values,
                          bool force_fp32 = false) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    for (int64_t d : dims) t->add_dims(d);
    if (fp16_ && !force_fp32) {
      t->set_data_type(onnx::TensorProto::FLOAT16);
      std::string raw(values.size() * 2, '\0');
      for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t h = float_to_half(values[i]);
        raw[2 * i] = char(h & 0xff);  // little-endian, as ONNX's raw_data is
        raw[2 * i + 1] = char(h >> 8);
      }
      t->set_raw_data(std::move(raw));
    } else {
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    }
    return name;
  }

  std::string int64_initializer(const std::string& name, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->add_dims(int64_t(values.size()));
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t v : values) t->add_int64_data(v);
    return name;
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::string& output) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }

 private:
  onnx::GraphProto* g_;
  bool fp16_;
};

void attr(onnx::NodeProto* n, const char* name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr(onnx::NodeProto* n, const char* name, float v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void attr(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void tensor_value(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

std::span<const float> param(const ParamTable& table, std::span<const float> params, const std::string& name) {
  const ParamInfo* p = table.find(name);
  ALEXNET_ASSERT(p, "onnx export: no parameter " + name);
  return params.subspan(p->offset, p->numel);
}

std::string fmt_shape(const onnx::TensorShapeProto& s) {
  std::string out = "[";
  for (int i = 0; i < s.dim_size(); ++i) {
    if (i) out += ", ";
    out += s.dim(i).has_dim_value() ? std::to_string(s.dim(i).dim_value()) : s.dim(i).dim_param();
  }
  return out + "]";
}

onnx::ModelProto build_model(const NetSpec& spec, const ParamTable& table, std::span<const float> params,
                             const OnnxExportOptions& o) {
  ALEXNET_ASSERT(params.size() == table.total, "onnx export: parameter buffer size");
  if (o.precision != "fp32" && o.precision != "fp16")
    fail("ONNX export supports precision fp32 or fp16, not '", o.precision, "'");
  const bool fp16 = o.precision == "fp16";
  const std::vector<ActShape> shapes = activation_shapes(spec);

  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("alexnet");
  model.set_producer_version(ALEXNET_VERSION);
  model.set_model_version(1);
  model.set_doc_string("AlexNet '" + spec.variant + "' (" + std::to_string(spec.num_classes) +
                       " classes) in inference form; input 'images' " +
                       (o.with_preprocessing ? "0..255 RGB" : "normalised") + " float NCHW " +
                       std::to_string(spec.input_size) + "x" + std::to_string(spec.input_size) +
                       ", output 'logits'");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  for (const auto& [key, value] : o.metadata) {
    onnx::StringStringEntryProto* e = model.add_metadata_props();
    e->set_key(key);
    e->set_value(value);
  }

  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("alexnet_" + spec.variant);
  GraphBuilder b(graph, fp16);
  tensor_value(graph->add_input(), "images", {spec.in_channels, spec.input_size, spec.input_size});
  std::string x = "images";

  if (o.with_preprocessing) {
    const float k255[1] = {255.f};
    std::vector<float> mean(o.mean.begin(), o.mean.end()), stdv(o.std.begin(), o.std.end());
    for (float s : stdv)
      if (!(s > 0)) fail("normalisation std must be positive, got ", s);
    b.initializer("preprocess.scale", {}, k255, true);
    b.initializer("preprocess.mean", {1, 3, 1, 1}, mean, true);
    b.initializer("preprocess.std", {1, 3, 1, 1}, stdv, true);
    b.node("Div", "preprocess.div255", {x, "preprocess.scale"}, "preprocess.unit");
    b.node("Sub", "preprocess.sub_mean", {"preprocess.unit", "preprocess.mean"}, "preprocess.centred");
    b.node("Div", "preprocess.div_std", {"preprocess.centred", "preprocess.std"}, "preprocess.out");
    x = "preprocess.out";
  }
  if (fp16) {
    attr(b.node("Cast", "to_fp16", {x}, "images_fp16"), "to", int64_t(onnx::TensorProto::FLOAT16));
    x = "images_fp16";
  }

  ActShape in{spec.in_channels, spec.input_size, spec.input_size};
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const Layer& layer = spec.layers[i];
    const std::string out = layer.name + ".out";
    bool emitted = true;
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2d>) {
            const std::string w = layer.name + ".weight", bias = layer.name + ".bias";
            b.initializer(w, {op.out_channels, op.in_channels / op.groups, op.kernel, op.kernel}, param(table, params, w));
            b.initializer(bias, {op.out_channels}, param(table, params, bias));
            onnx::NodeProto* n = b.node("Conv", layer.name, {x, w, bias}, out);
            attr(n, "kernel_shape", {op.kernel, op.kernel});
            attr(n, "strides", {op.stride, op.stride});
            attr(n, "pads", {op.padding, op.padding, op.padding, op.padding});
            attr(n, "dilations", {1, 1});
            attr(n, "group", int64_t(op.groups));
          } else if constexpr (std::is_same_v<T, ReLU>) {
            b.node("Relu", layer.name, {x}, out);
          } else if constexpr (std::is_same_v<T, MaxPool2d>) {
            // ONNX pads MaxPool with values that never win, as PyTorch's -inf padding.
            onnx::NodeProto* n = b.node("MaxPool", layer.name, {x}, out);
            attr(n, "kernel_shape", {op.kernel, op.kernel});
            attr(n, "strides", {op.stride, op.stride});
            attr(n, "pads", {op.padding, op.padding, op.padding, op.padding});
            attr(n, "ceil_mode", int64_t(0));
          } else if constexpr (std::is_same_v<T, LocalResponseNorm>) {
            // Both conventions divide alpha by size: ONNX y = x / (bias + alpha/size * sum)^beta, as
            // PyTorch. Their windows agree only for odd sizes: ONNX sums channels
            // [c - floor((size-1)/2), c + ceil((size-1)/2)], PyTorch [c - size/2, c + (size-1)/2].
            if (op.size % 2 == 0)
              fail(layer.name, ": LocalResponseNorm of even size ", op.size,
                   " has a different channel window in ONNX; cannot export it");
            onnx::NodeProto* n = b.node("LRN", layer.name, {x}, out);
            attr(n, "size", int64_t(op.size));
            attr(n, "alpha", op.alpha);
            attr(n, "beta", op.beta);
            attr(n, "bias", op.k);
          } else if constexpr (std::is_same_v<T, Dropout>) {
            emitted = false;  // identity in inference
          } else if constexpr (std::is_same_v<T, AdaptiveAvgPool2d>) {
            const int H = in.h, W = in.w, P = op.out_h, Q = op.out_w;
            if (H == P && W == Q) {
              emitted = false;  // every window is one cell
            } else if (H % P == 0 && W % Q == 0) {
              onnx::NodeProto* n = b.node("AveragePool", layer.name, {x}, out);
              attr(n, "kernel_shape", {H / P, W / Q});
              attr(n, "strides", {H / P, W / Q});
            } else {
              // Uneven windows: a [H*W, P*Q] averaging matrix, applied per channel.
              std::vector<float> m(size_t(H) * W * P * Q, 0.f);
              for (int p = 0; p < P; ++p)
                for (int q = 0; q < Q; ++q) {
                  const int h0 = adaptive_start(p, H, P), h1 = adaptive_end(p, H, P);
                  const int w0 = adaptive_start(q, W, Q), w1 = adaptive_end(q, W, Q);
                  const float v = 1.f / float((h1 - h0) * (w1 - w0));
                  for (int h = h0; h < h1; ++h)
                    for (int w = w0; w < w1; ++w) m[(size_t(h) * W + w) * P * Q + size_t(p) * Q + q] = v;
                }
              const std::string M = b.initializer(layer.name + ".matrix", {int64_t(H) * W, int64_t(P) * Q}, m);
              const std::string s1 = b.int64_initializer(layer.name + ".shape_in", {0, in.c, int64_t(H) * W});
              const std::string s2 = b.int64_initializer(layer.name + ".shape_out", {0, in.c, P, Q});
              b.node("Reshape", layer.name + ".flatten", {x, s1}, layer.name + ".cells");
              b.node("MatMul", layer.name + ".average", {layer.name + ".cells", M}, layer.name + ".pooled");
              b.node("Reshape", layer.name, {layer.name + ".pooled", s2}, out);
            }
          } else if constexpr (std::is_same_v<T, Flatten>) {
            attr(b.node("Flatten", layer.name, {x}, out), "axis", int64_t(1));
          } else if constexpr (std::is_same_v<T, Linear>) {
            const std::string w = layer.name + ".weight", bias = layer.name + ".bias";
            b.initializer(w, {op.out_features, op.in_features}, param(table, params, w));
            b.initializer(bias, {op.out_features}, param(table, params, bias));
            onnx::NodeProto* n = b.node("Gemm", layer.name, {x, w, bias}, out);
            attr(n, "transB", int64_t(1));
          } else {
            static_assert(sizeof(T) == 0, "a layer the ONNX exporter does not know");
          }
        },
        layer.op);
    if (emitted) x = out;
    in = shapes[i];
  }

  if (fp16) {
    attr(b.node("Cast", "to_fp32", {x}, "logits"), "to", int64_t(onnx::TensorProto::FLOAT));
  } else {
    // The last layer's output is renamed 'logits' (graph outputs need a node that produces them).
    onnx::NodeProto* last = graph->mutable_node(graph->node_size() - 1);
    last->set_output(0, "logits");
  }
  tensor_value(graph->add_output(), "logits", {spec.num_classes});
  return model;
}

// The ONNX checker and strict shape inference (which records every intermediate's shape in the
// graph's value_info); the classifier's input must have the size our table says.
void check(onnx::ModelProto& model, const NetSpec& spec) {
  try {
    onnx::checker::check_model(model);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    fail("the ONNX checker rejects the exported model: ", e.what());
  }
  const std::vector<ActShape> shapes = activation_shapes(spec);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (!std::holds_alternative<Flatten>(spec.layers[i].op)) continue;
    for (const onnx::ValueInfoProto& v : model.graph().value_info()) {
      if (v.name() != spec.layers[i].name + ".out") continue;
      const onnx::TensorShapeProto& s = v.type().tensor_type().shape();
      if (s.dim_size() != 2 || !s.dim(1).has_dim_value() || s.dim(1).dim_value() != shapes[i].c)
        fail("ONNX shape inference gives ", fmt_shape(s), " after ", spec.layers[i].name, ", expected [batch, ",
             shapes[i].c, "]");
    }
  }
}

}  // namespace

std::string onnx_model_bytes(const NetSpec& spec, const ParamTable& table, std::span<const float> params,
                             const OnnxExportOptions& options) {
  onnx::ModelProto model = build_model(spec, table, params, options);
  check(model, spec);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) fail("could not serialize the ONNX model (over 2 GB?)");
  return bytes;
}

void export_onnx(const std::string& path, const NetSpec& spec, const ParamTable& table, std::span<const float> params,
                 const OnnxExportOptions& options) {
  const std::string bytes = onnx_model_bytes(spec, table, params, options);
  write_file_atomic(path, bytes);
}

std::map<std::string, std::string> preprocessing_metadata(const TransformConfig& eval, bool in_model) {
  const Pipeline pipeline(eval, false);
  const int side = pipeline.eval_resize_side();
  const std::array<float, 3> zero{0.f, 0.f, 0.f}, one{1.f, 1.f, 1.f};
  char scale[32];
  std::snprintf(scale, sizeof scale, "%.17g", in_model ? 1.0 : 1.0 / 255.0);
  return {{"preprocess.exif_orientation", "apply"},
          {"preprocess.channel_order", "RGB"},
          {"preprocess.resize", side > 0 ? "shorter_side" : "none"},
          {"preprocess.resize_size", std::to_string(side)},
          {"preprocess.resize_filter", "bilinear_antialiased"},
          {"preprocess.crop", side > 0 ? "centre" : "none"},
          {"preprocess.crop_size", std::to_string(eval.input_size)},
          {"preprocess.value_scale", scale},
          {"preprocess.mean", nlohmann::json(in_model ? zero : eval.mean).dump()},
          {"preprocess.std", nlohmann::json(in_model ? one : eval.std).dump()},
          {"preprocess.layout", "NCHW"},
          {"preprocess.dtype", "float32"},
          {"preprocess.summary", pipeline.describe()}};
}

std::string onnx_library_version() { return onnx::LAST_RELEASE_VERSION; }

}  // namespace alexnet
