// alexnet predict: logits for a tensor of images (--input-tensor), in evaluation mode.
#include <algorithm>
#include <cstring>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "model/weights.h"

namespace alexnet::cli {

namespace {

struct PredictFlags {
  ModelFlags model;
  DeviceFlags device;
  std::string weights, input, output;
  int batch_size = 64;
};

void run_predict(const PredictFlags& f) {
  f.device.apply_threads();
  const NetSpec spec = f.model.spec();
  const TensorFile weights = read_safetensors(f.weights);
  const TensorFile inputs = read_safetensors(f.input);
  const Tensor& x = inputs.get("input");
  const int S = spec.input_size;
  if (x.dtype() != DType::F32 || x.ndim() != 4 || x.dim(1) != 3 || x.dim(2) != S || x.dim(3) != S)
    fail(f.input, ": tensor 'input' is ", dtype_name(x.dtype()), " ", shape_str(x.shape()), ", expected F32 [N, 3, ", S,
         ", ", S, "] for the '", spec.variant, "' model");
  const int N = int(x.dim(0));
  if (N < 1) fail(f.input, ": tensor 'input' holds no images");

  BuildOptions options;
  options.max_batch = std::min(N, f.batch_size);
  options.precision = f.device.precision_value();
  std::unique_ptr<Net> net = make_net(f.device.backend_kind(), spec, options);
  std::vector<float> params(net->params().total);
  load_weights(weights, net->params(), params);
  net->set_params(params);

  const int C = spec.num_classes;
  Tensor logits(DType::F32, {N, C});
  const size_t image = size_t(3) * S * S;
  for (int at = 0; at < N; at += options.max_batch) {
    const int n = std::min(options.max_batch, N - at);
    net->forward(x.data<float>() + size_t(at) * image, n, Mode::Eval);
    net->get_logits(logits.data<float>() + size_t(at) * C);
  }
  TensorFile out;
  out.tensors.emplace("logits", logits);
  out.metadata["model"] = spec.variant;
  write_safetensors(f.output, out);
  std::fprintf(stderr, "wrote logits [%d, %d] to %s\n", N, C, f.output.c_str());
}

}  // namespace

void add_predict(CLI::App& app) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify images with trained weights (evaluation mode)");
  f->model.add(cmd, false);
  f->device.add(cmd);
  cmd->add_option("--weights", f->weights, "Weights (.safetensors, PyTorch state_dict names)")->required();
  cmd->add_option("--input-tensor", f->input, "Images: a .safetensors file with tensor 'input', F32 [N, 3, H, W], "
                                              "already normalised")->required();
  cmd->add_option("--output", f->output, "Where to write tensor 'logits', F32 [N, classes]")->required();
  cmd->add_option("-b,--batch-size", f->batch_size, "Images per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([f] { run_predict(*f); });
}

}  // namespace alexnet::cli
