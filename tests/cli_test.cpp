// The `alexnet` program end to end: training on a tensor dataset, predicting, and one clear line
// with a non-zero exit for every kind of bad input.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "backend/net.h"
#include "model/net_spec.h"
#include "model/weights.h"
#include "tensor/safetensors.h"
#include "backend/capabilities.h"
#include "test_cli_util.h"

namespace alexnet {
namespace {

using testing::run_alexnet;
using testing::TempDir;

const char* kSmallModel = "--model cifar --width 0.5 --num-classes 4";

NetSpec small_spec() {
  NetOptions o;
  o.num_classes = 4;
  o.width = 0.5;
  return make_net_spec("cifar", o);
}

// A learnable toy dataset: the class is which quadrant of the image is bright.
void write_dataset(const std::string& path, int n) {
  Tensor images(DType::F32, {n, 3, 32, 32});
  Tensor labels(DType::I64, {n});
  Rng rng(3);
  for (int i = 0; i < n; ++i) {
    const int label = i % 4;
    labels.data<int64_t>()[i] = label;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const bool bright = (y / 16) * 2 + (x / 16) == label;
          images.data<float>()[((size_t(i) * 3 + c) * 32 + y) * 32 + x] = float((bright ? 1.0 : -1.0) + 0.3 * rng.normal());
        }
  }
  TensorFile f;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  write_safetensors(path, f);
}

void write_weights(const std::string& path, const NetSpec& spec) {
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, 1);
  save_weights(path, table, params);
}

void write_input(const std::string& path, int n, int size) {
  Tensor x(DType::F32, {n, 3, size, size});
  Rng rng(5);
  for (float& v : x.span<float>()) v = float(rng.normal());
  TensorFile f;
  f.tensors.emplace("input", x);
  write_safetensors(path, f);
}

// One line of error text, exit 1, no crash.
void expect_clean_failure(const testing::RunResult& r, const std::string& must_contain) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(must_contain), std::string::npos) << "expected '" << must_contain << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("AddressSanitizer"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("runtime error"), std::string::npos) << r.output;
}

TEST(Cli, TrainSavesWeightsThatPredictUses) {
  TempDir dir;
  write_dataset(dir / "train.safetensors", 64);
  const auto train = run_alexnet(std::string("train ") + kSmallModel + " --data " + (dir / "train.safetensors") +
                                 " --batch-size 16 --lr 0.01 --epochs 2 --augment none --val-split 0 -p 2 --out " +
                                 (dir / "run") + " --save " + (dir / "w.safetensors"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("Epoch [1], Step [0], Loss:"), std::string::npos) << train.output;
  EXPECT_NE(train.output.find("Epoch [2], Step [2], Loss:"), std::string::npos) << train.output;

  // The saved weights are trained (not the initial ones) ...
  const NetSpec spec = small_spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> initial(table.total), trained(table.total);
  init_params(spec, table, initial, 0);
  load_weights(read_safetensors(dir / "w.safetensors"), table, trained);
  EXPECT_NE(initial, trained);

  // ... and predict's logits are those of a network holding them.
  TensorFile data = read_safetensors(dir / "train.safetensors");
  TensorFile input;
  input.tensors.emplace("input", data.get("images"));
  write_safetensors(dir / "x.safetensors", input);
  const auto predict = run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "w.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors") +
                                   " --precision fp32");  // compared with the fp32 reference below
  ASSERT_EQ(predict.exit_code, 0) << predict.output;
  const TensorFile output = read_safetensors(dir / "y.safetensors");
  const Tensor& logits = output.get("logits", DType::F32, {64, 4});
  BuildOptions options;
  options.max_batch = 64;
  auto net = make_net(BackendKind::Reference, spec, options);
  net->set_params(trained);
  net->forward(data.get("images").data<float>(), 64, Mode::Eval);
  std::vector<float> expected(64 * 4);
  net->get_logits(expected.data());
  for (int i = 0; i < 64 * 4; ++i)
    ASSERT_NEAR(logits.data<float>()[i], expected[size_t(i)], 1e-4 * (1 + std::abs(expected[size_t(i)]))) << "logit " << i;
}

TEST(CliBadInput, UnknownModel) { expect_clean_failure(run_alexnet("bench --model alexnet9"), "alexnet9"); }

TEST(CliBadInput, NegativeBatchSize) { expect_clean_failure(run_alexnet("bench --model cifar -b -3"), "batch-size"); }

TEST(CliBadInput, LearningRateNotANumber) {
  TempDir dir;
  write_dataset(dir / "d.safetensors", 8);
  expect_clean_failure(run_alexnet("train --model cifar --data " + (dir / "d.safetensors") + " --lr fast"), "--lr");
}

TEST(CliBadInput, UnknownFlag) { expect_clean_failure(run_alexnet("bench --frobnicate"), "frobnicate"); }

TEST(CliBadInput, MissingWeightsFile) {
  TempDir dir;
  write_input(dir / "x.safetensors", 1, 32);
  expect_clean_failure(run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "nope.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors")),
                       "nope.safetensors");
}

TEST(CliBadInput, WeightsOfAnotherModel) {
  TempDir dir;
  NetOptions o;
  o.num_classes = 7;  // another class count
  o.width = 0.5;
  write_weights(dir / "w.safetensors", make_net_spec("cifar", o));
  write_input(dir / "x.safetensors", 1, 32);
  expect_clean_failure(run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "w.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors")),
                       "classifier.6.weight");
}

TEST(CliBadInput, WeightsWithAMissingTensor) {
  TempDir dir;
  const NetSpec spec = small_spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  TensorFile f = weights_to_file(table, params);
  f.tensors.erase("features.3.bias");
  write_safetensors(dir / "w.safetensors", f);
  write_input(dir / "x.safetensors", 1, 32);
  expect_clean_failure(run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "w.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors")),
                       "features.3.bias");
}

TEST(CliBadInput, TruncatedWeightsFile) {
  TempDir dir;
  write_weights(dir / "w.safetensors", small_spec());
  std::filesystem::resize_file(dir / "w.safetensors", 40);  // cut inside the header
  write_input(dir / "x.safetensors", 1, 32);
  expect_clean_failure(run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "w.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors")),
                       "w.safetensors");
}

TEST(CliBadInput, GarbageWeightsFile) {
  TempDir dir;
  std::ofstream(dir / "w.safetensors") << "this is not a safetensors file at all";
  write_input(dir / "x.safetensors", 1, 32);
  expect_clean_failure(run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "w.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors")),
                       "w.safetensors");
}

TEST(CliBadInput, InputOfTheWrongSize) {
  TempDir dir;
  write_weights(dir / "w.safetensors", small_spec());
  write_input(dir / "x.safetensors", 2, 28);
  expect_clean_failure(run_alexnet(std::string("predict ") + kSmallModel + " --weights " + (dir / "w.safetensors") +
                                   " --input-tensor " + (dir / "x.safetensors") + " --output " + (dir / "y.safetensors")),
                       "expected F32 [N, 3, 32, 32]");
}

TEST(CliBadInput, LabelOutOfRange) {
  TempDir dir;
  write_dataset(dir / "d.safetensors", 8);
  expect_clean_failure(run_alexnet("train --model cifar --width 0.5 --num-classes 3 --steps 1 --data " + (dir / "d.safetensors")),
                       "num_classes is 3");
}

// --gpus: a malformed list, a GPU twice, and (on a machine without a GPU, as CI) no GPU at all.
TEST(CliBadInput, GpuList) {
  expect_clean_failure(run_alexnet("train --gpus 0,0 --steps 1"), "GPU 0 is listed twice");
  expect_clean_failure(run_alexnet("train --gpus 1,x --steps 1"), "expected GPU numbers separated by commas");
  expect_clean_failure(run_alexnet("train --gpus 0, --steps 1"), "expected GPU numbers separated by commas");
  if (gpu_capabilities().count == 0)
    expect_clean_failure(run_alexnet("train --gpus 0,1 --steps 1"), "--device cpu");
}

// --per-layer times every layer (its backward from an output gradient, with the input gradient)
// and prints a row for each and the total.
TEST(CliBench, PerLayerListsEveryLayer) {
  const auto r = run_alexnet("bench --model cifar --width 0.25 --per-layer --steps 1 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output.substr(r.output.rfind("\n{") + 1));
  // The cifar network's layers, in order (README: conv, pool, conv, pool, conv, conv, conv, pool,
  // then the classifier with dropout before each hidden layer). Times are not checked: they are
  // whatever the machine gives.
  const std::vector<std::string> kinds = {"Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Conv2d",
                                          "ReLU", "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Flatten",
                                          "Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"};
  ASSERT_EQ(j["layers"].size(), kinds.size()) << r.output;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const auto& row = j["layers"][i];
    EXPECT_EQ(row["kind"], kinds[i]) << row.dump();
    const std::string name = i < 13 ? "features." + std::to_string(i) : i == 13 ? "flatten" : "classifier." + std::to_string(i - 14);
    EXPECT_EQ(row["layer"], name) << row.dump();
    EXPECT_TRUE(row["forward_ms"].is_number() && row["backward_ms"].is_number()) << row.dump();
  }
}

// --input planned feeds uint8 source images with their transform plans (Net::forward_planned).
TEST(CliBench, PlannedInput) {
  const auto r = run_alexnet("bench --model cifar --width 0.25 --input planned --source-size 20 --steps 1 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output.substr(r.output.rfind("\n{") + 1));
  EXPECT_EQ(j["input"], "planned uint8 20x20");
  // The derived rates against the step times, and the FLOPs of cifar at width 0.25 counted by hand:
  // convolutions 12@5x5 at 32x32, 32@5x5 at 15x15, 48, 48, 32 @3x3 at 7x7; 288 -> 128 -> 128 -> 10.
  const double conv1 = 2.0 * 12 * 3 * 25 * 32 * 32, forward = conv1 + 2.0 * 32 * 12 * 25 * 15 * 15 +
                                                               2.0 * 49 * 9 * (48 * 32 + 48 * 48 + 32 * 48) +
                                                               2.0 * (288 * 128 + 128 * 128 + 128 * 10);
  const double batch = j["batch_size"].get<double>();
  const double train_img_s = j["train_img_s"].get<double>(), infer_img_s = j["infer_img_s"].get<double>();
  EXPECT_NEAR(train_img_s, batch * 1000 / j["train_step_ms"].get<double>(), 1e-9 * train_img_s) << r.output;
  EXPECT_NEAR(infer_img_s, batch * 1000 / j["infer_step_ms"].get<double>(), 1e-9 * infer_img_s) << r.output;
  EXPECT_NEAR(j["infer_gflop_s"].get<double>(), forward * infer_img_s / 1e9, 1e-9 * forward * infer_img_s / 1e9);
  const double training = 3 * forward - conv1;  // no input gradient for the first layer
  EXPECT_NEAR(j["train_gflop_s"].get<double>(), training * train_img_s / 1e9, 1e-9 * training * train_img_s / 1e9);
  expect_clean_failure(run_alexnet("bench --model cifar --input pixels"), "pixels");
}

TEST(CliBadInput, InputTooSmallForTheModel) {
  expect_clean_failure(run_alexnet("bench --model seed --input-size 40 --steps 1"), "too small");
}

}  // namespace
}  // namespace alexnet
