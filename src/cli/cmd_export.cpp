// alexnet export: the network of a checkpoint (or of plain weights) as a checked ONNX model.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/checkpoint_net.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "model/weights.h"
#include "tensor/safetensors.h"
#include "train/checkpoint.h"
#ifdef ALEXNET_HAVE_ONNX
#include "export/onnx_export.h"
#endif

namespace alexnet::cli {

namespace {

struct ExportFlags {
  std::string checkpoint, weights, out;
  std::string model = "seed";
  int num_classes = 10, input_size = 0, hidden = 0;
  double width = 1.0;
  std::vector<float> mean, std;
  std::string precision = "fp32";
  bool with_preprocessing = false;
};

[[maybe_unused]] std::array<float, 3> three(const std::vector<float>& v, const char* flag) {
  if (v.size() != 3) fail(flag, " needs three values (R G B), got ", v.size());
  return {v[0], v[1], v[2]};
}

void run_export([[maybe_unused]] const ExportFlags& f) {
#ifndef ALEXNET_HAVE_ONNX
  fail("this alexnet was built without ONNX: install libonnx-dev and libprotobuf-dev, then rebuild");
#else
  if (f.checkpoint.empty() == f.weights.empty())
    fail("export needs either --checkpoint FILE or --weights FILE with --model and --num-classes");
  if (f.precision != "fp32" && f.precision != "fp16")
    fail("--precision ", f.precision, " is not exported (fp32 or fp16; ONNX Runtime has no bf16 CPU kernels for "
         "these layers)");
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(f.out).parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) fail(f.out, ": folder ", parent.string(), " does not exist");
  if (fs::is_directory(f.out)) fail(f.out, ": is a folder, expected a file name such as model.onnx");

  ModelInfo info;
  std::map<std::string, std::string> meta;
  const std::string source = f.checkpoint.empty() ? f.weights : f.checkpoint;
  if (f.checkpoint.empty()) (void)make_net_spec(f.model, NetOptions{});  // an unknown --model, before reading
  const TensorFile file = read_safetensors(source);
  if (!f.checkpoint.empty()) {
    info = ModelInfo::from_metadata(file.metadata, f.checkpoint);
    meta = file.metadata;  // model, classes, input size, mean/std, eval preset, the training config, step
    if (!f.mean.empty() || !f.std.empty()) fail("--mean/--std are for --weights; a checkpoint has its own");
  } else {
    info.variant = f.model;
    info.options.num_classes = f.num_classes;
    info.options.width = f.width;
    info.options.hidden = f.hidden;
    info.options.input_size = f.input_size;
    if (f.with_preprocessing && (f.mean.empty() || f.std.empty()))
      fail("--with-preprocessing with plain --weights needs --mean R G B and --std R G B");
    if (!f.mean.empty()) info.mean = three(f.mean, "--mean");
    if (!f.std.empty()) info.std = three(f.std, "--std");
    meta = info.metadata();
    meta.erase("format");
    meta.erase("eval_preset");
    if (f.mean.empty()) meta.erase("mean");
    if (f.std.empty()) meta.erase("std");
  }
  const NetSpec spec = info.spec();  // an unknown model name fails here
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  load_weights(file, table, params);

  OnnxExportOptions o;
  o.with_preprocessing = f.with_preprocessing;
  o.mean = info.mean;
  o.std = info.std;
  o.precision = f.precision;
  const int S = spec.input_size;
  meta["input"] = nlohmann::json{{"name", "images"},
                                 {"shape", {"batch", 3, S, S}},
                                 {"layout", "NCHW RGB float32"},
                                 {"values", f.with_preprocessing ? "0..255" : "normalised: (x/255 - mean) / std"}}
                      .dump();
  meta["output"] = nlohmann::json{{"name", "logits"}, {"shape", {"batch", spec.num_classes}}}.dump();
  if (!f.checkpoint.empty()) {  // the evaluation transform `alexnet predict` uses, as data
    for (auto& [key, value] : preprocessing_metadata(eval_transform(info), f.with_preprocessing)) meta[key] = value;
  }
  meta["preprocessing_included"] = f.with_preprocessing ? "true" : "false";
  meta["precision"] = f.precision;
  meta["source"] = fs::path(source).filename().string();
  o.metadata = std::move(meta);
  export_onnx(f.out, spec, table, params, o);
  std::fprintf(stderr, "wrote %s: ONNX opset %d (ONNX %s checker passed), '%s' %d classes, %s, images [batch, 3, %d, %d] %s -> logits "
               "[batch, %d], %.1f MB\n",
               f.out.c_str(), kOnnxOpset, onnx_library_version().c_str(), spec.variant.c_str(), spec.num_classes,
               f.precision.c_str(), S, S, f.with_preprocessing ? "0..255" : "normalised", spec.num_classes,
               double(fs::file_size(f.out)) / 1e6);
#endif
}

}  // namespace

void add_export(CLI::App& app) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand("export", "Write the network as an ONNX model (inference form, dynamic batch) "
                                               "for ONNX Runtime, TensorRT, OpenVINO, ...");
  cmd->add_option("--checkpoint", f->checkpoint, "A checkpoint written by alexnet train: model, classes, input size "
                                                 "and normalisation come from it");
  cmd->add_option("--weights", f->weights, "Plain weights (.safetensors, PyTorch state_dict names), with --model and "
                                           "--num-classes");
  cmd->add_option("-o,--out", f->out, "The ONNX file to write (written atomically)")->required();
  cmd->add_flag("--with-preprocessing", f->with_preprocessing,
                "Fold (x/255 - mean)/std into the model: it then takes 0..255 RGB, NCHW float");
  cmd->add_option("--precision", f->precision, "Weights and arithmetic of the model: fp32 or fp16 (input and output "
                                               "stay float32)")
      ->capture_default_str();
  // No CLI11 membership checks: a bad value is reported as one `error:` line, as for a bad file.
  cmd->add_option("--model", f->model, "With --weights: seed, paper, torchvision or cifar")->capture_default_str();
  cmd->add_option("--num-classes", f->num_classes, "With --weights: number of output classes")->capture_default_str();
  cmd->add_option("--width", f->width, "With --weights: channel width multiplier")->capture_default_str();
  cmd->add_option("--hidden", f->hidden, "With --weights: fully connected hidden size (0 = the variant's)")
      ->capture_default_str();
  cmd->add_option("--input-size", f->input_size, "With --weights: input height and width (0 = the variant's)")
      ->capture_default_str();
  cmd->add_option("--mean", f->mean, "With --weights and --with-preprocessing: per-channel mean, in 0..1 units");
  cmd->add_option("--std", f->std, "With --weights and --with-preprocessing: per-channel std, in 0..1 units");
  cmd->callback([f] {
    if (!f->checkpoint.empty()) f->checkpoint = resolve_checkpoint(f->checkpoint);
    run_export(*f);
  });
}

}  // namespace alexnet::cli
