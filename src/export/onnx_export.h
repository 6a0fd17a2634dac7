// ONNX export: the network in inference form as an ONNX model, built with the ONNX project's own
// protobuf classes and checked with its checker (onnx::checker::check_model, plus strict shape
// inference), so a model that leaves here is one that ONNX Runtime, TensorRT or OpenVINO accept.
//
// The graph (opset kOnnxOpset, default domain only):
//   images  float [batch, 3, S, S] (batch is symbolic)
//     [with_preprocessing: Div 255, Sub mean, Div std  -- the input is then 0..255 RGB]
//   Conv (group for `paper`), Relu, LRN, MaxPool, AdaptiveAvgPool2d as nothing / AveragePool /
//   MatMul with a pooling matrix, Flatten, Gemm (transB = 1); Dropout is left out (inference)
//   logits  float [batch, classes]
// Initializers carry the PyTorch state_dict names (features.0.weight, ...).
//
// precision "fp16" stores the weights as float16 and computes in float16 (Cast after the input and
// before the output, so the interface stays float32).
#pragma once

#include <array>
#include <map>
#include <span>
#include <string>

#include "data/transforms.h"
#include "model/net_spec.h"

namespace alexnet {

inline constexpr int kOnnxOpset = 17;

struct OnnxExportOptions {
  // Fold (x / 255 - mean) / std into the model: the input becomes 0..255 RGB, NCHW float.
  bool with_preprocessing = false;
  std::array<float, 3> mean{0.f, 0.f, 0.f}, std{1.f, 1.f, 1.f};
  std::string precision = "fp32";               // "fp32" or "fp16"
  std::map<std::string, std::string> metadata;  // written as the model's metadata_props
};

// The serialized, checked ModelProto. Throws alexnet::Error when a layer cannot be expressed or the
// ONNX checker rejects the model.
std::string onnx_model_bytes(const NetSpec& spec, const ParamTable& table, std::span<const float> params,
                             const OnnxExportOptions& options);

// onnx_model_bytes, written atomically to `path` (nothing is left behind on failure).
void export_onnx(const std::string& path, const NetSpec& spec, const ParamTable& table, std::span<const float> params,
                 const OnnxExportOptions& options);

// How a picture becomes the model's input, as `alexnet predict` prepares it with the evaluation
// transform `eval`, in machine-readable metadata keys (all values strings; docs/deploy.md):
//   preprocess.exif_orientation  "apply" (turn the JPEG upright as its EXIF tag says)
//   preprocess.channel_order     "RGB"
//   preprocess.resize            "shorter_side" (shorter side to resize_size, longer side to
//                                floor(resize_size * long / short)) or "none" (images must be S x S)
//   preprocess.resize_size       the shorter side's new length (0 with "none")
//   preprocess.resize_filter     "bilinear_antialiased": a triangle filter of half-width max(1, in/out)
//                                input pixels (PIL's BILINEAR), on unrounded float values
//   preprocess.crop              "centre" (offsets round-half-even((resized - crop_size) / 2)) or "none"
//   preprocess.crop_size         S, the model's input height and width
//   preprocess.value_scale       the factor applied to 0..255 values: 1/255, or 1 when `in_model`
//   preprocess.mean, .std        JSON [R, G, B]: (x * value_scale - mean) / std; [0, 0, 0] and
//                                [1, 1, 1] when `in_model` (the graph normalises itself)
//   preprocess.layout            "NCHW"; preprocess.dtype "float32"
//   preprocess.summary           the same in words (Pipeline::describe())
std::map<std::string, std::string> preprocessing_metadata(const TransformConfig& eval, bool in_model);

// The ONNX library this was built with, e.g. "1.12.0".
std::string onnx_library_version();

}  // namespace alexnet
