// alexnet predict: logits for a tensor of images (--input-tensor), in evaluation mode.
#include <algorithm>
#include <cstring>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/alexnet.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/data_flags.h"
#include "core/rng.h"
#include "data/image_codec.h"
#include "dist/process_net.h"
#include "model/weights.h"

namespace alexnet::cli {

namespace {

struct PredictFlags {
  ModelFlags model;
  DeviceFlags device;
  DataLimitFlags limits;
  std::string weights, input, output, checkpoint;
  std::vector<std::string> images;
  int batch_size = 64, top = 5;
  bool json = false;
};

// predict --checkpoint FILE IMAGE...: the top classes of each picture, preprocessed as the
// checkpoint's metadata says (its evaluation transform, input size and normalisation).
void run_predict_images(const PredictFlags& f) {
  f.device.apply_threads();
  Classifier clf = Classifier::load(f.checkpoint, f.device.device, f.device.precision, 1);
  int failures = 0;
  for (const std::string& path : f.images) {
    std::vector<Prediction> top;
    try {
      top = clf.classify(path, f.top);
    } catch (const Error& e) {  // one unreadable picture does not stop the others
      std::fprintf(stderr, "error: %s\n", e.what());
      ++failures;
      continue;
    }
    std::printf("%s\n", path.c_str());
    nlohmann::json entry{{"image", path}, {"top", nlohmann::json::array()}};
    for (const Prediction& p : top) {
      std::printf("  %6.2f%%  %s%s%s\n", 100.0 * p.probability, p.name.c_str(), p.description.empty() ? "" : "  ",
                  p.description.c_str());
      entry["top"].push_back({{"class", p.name}, {"index", p.index}, {"probability", p.probability}});
      if (!p.description.empty()) entry["top"].back()["description"] = p.description;
    }
    if (f.json) print_json_line(entry.dump());  // JSON Lines: one object per picture, as it is classified
  }
  if (failures) fail(failures, " of ", f.images.size(), " images could not be read");
}

void run_predict(const PredictFlags& f) {
  f.limits.apply();
  if (!f.checkpoint.empty()) {
    if (f.images.empty()) fail("predict --checkpoint needs one or more image files");
    return run_predict_images(f);
  }
  if (f.weights.empty() || f.input.empty() || f.output.empty())
    fail("predict needs either --checkpoint FILE IMAGE... or --weights W --input-tensor X --output Y");
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

  const int max_batch = std::min(N, f.batch_size);
  std::unique_ptr<Net> net = build_net(spec, net_request(f.device.resolve_and_say(), max_batch));
  std::vector<float> params(net->params().total);
  load_weights(weights, net->params(), params);
  net->set_params(params);

  const int C = spec.num_classes;
  Tensor logits(DType::F32, {N, C});
  const size_t image = size_t(3) * S * S;
  for (int at = 0; at < N; at += max_batch) {
    const int n = std::min(max_batch, N - at);
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
  CLI::App* cmd = app.add_subcommand("predict", "Classify pictures with a checkpoint (top-5 with class names), or a "
                                                "tensor of images with plain weights (logits)");
  cmd->add_option("--checkpoint", f->checkpoint, "A checkpoint written by alexnet train, or its run directory "
                                                 "(best, else last): model, classes and preprocessing come from it");
  cmd->add_option("images", f->images, "Pictures to classify (JPEG or PNG), with --checkpoint");
  cmd->add_option("--top", f->top, "How many classes to list per picture")->capture_default_str()->check(number_check(1, 1000));
  cmd->add_flag("--json", f->json, "Print each picture's predictions as one JSON object per line on stdout (JSON Lines); everything else goes to stderr");
  f->model.add(cmd, false);
  f->device.add(cmd);
  f->limits.add(cmd);
  cmd->add_option("--weights", f->weights, "Tensor form: weights (.safetensors, PyTorch state_dict names)");
  cmd->add_option("--input-tensor", f->input, "Tensor form: a .safetensors file with tensor 'input', F32 [N, 3, H, W], "
                                              "already normalised");
  cmd->add_option("--output", f->output, "Tensor form: where to write tensor 'logits', F32 [N, classes]");
  cmd->add_option("-b,--batch-size", f->batch_size, "Images per forward pass")->capture_default_str()->check(number_check(1, 1 << 16));
  cmd->callback([f] {
    if (f->json) keep_stdout_for_json();
    if (!f->checkpoint.empty()) f->checkpoint = resolve_checkpoint(f->checkpoint);
    run_predict(*f);
  });
}

}  // namespace alexnet::cli
