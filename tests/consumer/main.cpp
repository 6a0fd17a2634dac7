// Builds a network through the installed API, runs one training step and one classification.
#include <alexnet/api/alexnet.h>
#include <alexnet/model/weights.h>

#include <cstdio>

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
  return loss > 0 && loss < 10 ? 0 : 1;
}
