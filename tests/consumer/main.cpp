// Builds a network through the installed API, runs one training step, saves it as a checkpoint and
// classifies a batch of pictures with Classifier (decoded RGB buffers and a float tensor).
#include <alexnet/api/alexnet.h>
#include <alexnet/model/weights.h>
#include <alexnet/train/checkpoint.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

int main() {
  alexnet::NetOptions options;
  options.num_classes = 3;
  options.width = 0.5;
  const alexnet::NetSpec spec = alexnet::make_net_spec("cifar", options);
  alexnet::BuildOptions build;
  build.max_batch = 2;
  auto net = alexnet::make_net(alexnet::BackendKind::OneDNN, spec, build);
  std::vector<float> params(net->params().total);
  alexnet::init_params(spec, net->params(), params, 1);
  net->set_params(params);
  std::vector<float> images(2 * 3 * 32 * 32, 0.5f);
  const int64_t labels[2] = {0, 2};
  net->forward(images.data(), 2, alexnet::Mode::Train, 0);
  const float loss = net->backward(labels);
  net->sgd_step({}, 0.01f);
  std::printf("consumer: %zu parameters, loss %.4f\n", net->params().total, loss);
  if (!(loss > 0 && loss < 10)) return 1;

  // The trained weights as a checkpoint, then batch inference from it.
  alexnet::ModelInfo info;
  info.variant = "cifar";
  info.options = options;
  info.classes = {"red", "green", "blue"};
  info.eval_preset = "standard";
  net->get_params(params);
  const std::string checkpoint = (std::filesystem::temp_directory_path() / "alexnet-consumer.safetensors").string();
  alexnet::save_weights_file(checkpoint, net->params(), params, info, "{}", 1);
  alexnet::Classifier clf = alexnet::Classifier::load(checkpoint, "cpu", "fp32", 2);
  std::vector<alexnet::Image> pictures(3);
  for (int i = 0; i < 3; ++i) {
    pictures[size_t(i)].height = 32 + 8 * i;  // any size: the checkpoint's preprocessing resizes
    pictures[size_t(i)].width = 32;
    pictures[size_t(i)].pixels.assign(size_t(pictures[size_t(i)].height) * 32 * 3, uint8_t(60 * i));
  }
  const auto batch = clf.classify_batch(pictures, 2);
  std::vector<float> tensor(3 * 3 * 32 * 32);
  for (int i = 0; i < 3; ++i) clf.preprocess(pictures[size_t(i)], tensor.data() + i * 3 * 32 * 32);
  const auto from_tensor = clf.classify_batch(tensor.data(), 3, 2);
  std::filesystem::remove(checkpoint);
  if (batch.size() != 3 || from_tensor.size() != 3) return 1;
  for (int i = 0; i < 3; ++i) {
    if (batch[size_t(i)].size() != 2 || batch[size_t(i)][0].index != from_tensor[size_t(i)][0].index) return 1;
    if (std::abs(batch[size_t(i)][0].probability - from_tensor[size_t(i)][0].probability) > 1e-5f) return 1;
    std::printf("consumer: picture %d: %s %.3f, %s %.3f\n", i, batch[size_t(i)][0].name.c_str(),
                batch[size_t(i)][0].probability, batch[size_t(i)][1].name.c_str(), batch[size_t(i)][1].probability);
  }
  return 0;
}
