// The C++ API's Classifier: batches of files, decoded pictures and preprocessed tensors give the
// same classes and probabilities as one picture at a time, concurrent calls are safe, and a bad
// file in a batch names itself.
#include <gtest/gtest.h>

#include <thread>

#include "api/alexnet.h"
#include "core/rng.h"
#include "data/image_codec.h"
#include "model/weights.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"

namespace alexnet {
namespace {

using testing::TempDir;

constexpr int kClasses = 5;

std::string write_checkpoint(const TempDir& dir) {
  ModelInfo info;
  info.variant = "cifar";
  info.options.num_classes = kClasses;
  info.options.width = 0.5;
  info.classes = {"cat", "dog", "ship", "truck", "frog"};
  info.mean = {0.49f, 0.48f, 0.45f};
  info.std = {0.25f, 0.24f, 0.26f};
  info.eval_preset = "standard";
  const NetSpec spec = info.spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, 3);
  const std::string path = dir / "best.safetensors";
  save_weights_file(path, table, params, info, "{}", 1);
  return path;
}

// Pictures of several sizes (the preprocessing resizes them), random pixels.
std::vector<Image> pictures(int n) {
  std::vector<Image> out;
  Rng rng(17);
  for (int i = 0; i < n; ++i) {
    Image im;
    im.height = 32 + 4 * (i % 3);
    im.width = 32 + 6 * (i % 2);
    im.pixels.resize(size_t(im.height) * im.width * 3);
    for (uint8_t& v : im.pixels) v = uint8_t(rng.uniform() * 256);
    out.push_back(std::move(im));
  }
  return out;
}

void expect_same(const std::vector<Prediction>& a, const std::vector<Prediction>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].index, b[k].index);
    EXPECT_EQ(a[k].name, b[k].name);
    EXPECT_NEAR(a[k].probability, b[k].probability, 1e-5f);
  }
}

class ClassifierApi : public ::testing::Test {
 protected:
  TempDir dir;
  std::string checkpoint = write_checkpoint(dir);
};

TEST_F(ClassifierApi, BatchesEqualOnePictureAtATime) {
  // max_batch 3: seven pictures take three forward passes (3 + 3 + 1).
  Classifier clf = Classifier::load(checkpoint, "cpu", "fp32", 3);
  EXPECT_EQ(clf.input_size(), 32);
  EXPECT_EQ(clf.num_classes(), kClasses);
  const std::vector<Image> images = pictures(7);
  const auto batch = clf.classify_batch(images, kClasses);
  ASSERT_EQ(batch.size(), images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const std::vector<Prediction>& top = batch[i];
    ASSERT_EQ(top.size(), size_t(kClasses));
    double sum = 0;
    for (size_t k = 0; k < top.size(); ++k) {
      sum += top[k].probability;
      if (k) {
        EXPECT_GE(top[k - 1].probability, top[k].probability);
      }
      EXPECT_EQ(top[k].name, clf.classes()[size_t(top[k].index)]);
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    expect_same(top, clf.classify(images[i], kClasses));
  }
}

TEST_F(ClassifierApi, FilesTensorsAndPicturesAgree) {
  Classifier clf = Classifier::load(checkpoint, "cpu", "fp32", 4);
  const std::vector<Image> images = pictures(5);
  std::vector<std::string> files;
  for (size_t i = 0; i < images.size(); ++i) {
    files.push_back(dir / cat("p", i, ".png"));
    write_png(files.back(), images[i]);
  }
  const int S = clf.input_size();
  std::vector<float> tensor(images.size() * 3 * S * S);
  for (size_t i = 0; i < images.size(); ++i) clf.preprocess(images[i], tensor.data() + i * 3 * S * S);

  const auto from_pictures = clf.classify_batch(images, 3);
  const auto from_files = clf.classify_batch(files, 3);
  const auto from_tensor = clf.classify_batch(tensor.data(), int(images.size()), 3);
  ASSERT_EQ(from_files.size(), images.size());
  ASSERT_EQ(from_tensor.size(), images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    EXPECT_EQ(from_pictures[i].size(), 3u);
    expect_same(from_pictures[i], from_files[i]);
    expect_same(from_pictures[i], from_tensor[i]);
  }
  const std::vector<float> z = clf.logits(tensor.data(), int(images.size()));
  expect_same(clf.top_classes(z.data() + 2 * kClasses, 3), from_tensor[2]);
  EXPECT_TRUE(clf.classify_batch(std::vector<Image>{}, 3).empty());
}

TEST_F(ClassifierApi, ConcurrentCallsGiveTheSerialAnswers) {
  Classifier clf = Classifier::load(checkpoint, "cpu", "fp32", 4);
  // Each thread its own pictures, so that calls mixing their buffers would give wrong answers.
  constexpr int kThreads = 4;
  std::vector<std::vector<Image>> images;
  std::vector<std::vector<std::vector<Prediction>>> expected, got(kThreads);
  const std::vector<Image> all = pictures(6 * kThreads);
  for (int t = 0; t < kThreads; ++t) {
    images.emplace_back(all.begin() + 6 * t, all.begin() + 6 * (t + 1));
    expected.push_back(clf.classify_batch(images.back(), 2));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 10; ++r) {
        got[size_t(t)] = clf.classify_batch(images[size_t(t)], 2);
        for (size_t i = 0; i < got[size_t(t)].size(); ++i)
          if (std::abs(got[size_t(t)][i][0].probability - expected[size_t(t)][i][0].probability) > 1e-5f) return;
      }
    });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[size_t(t)].size(), expected[size_t(t)].size());
    for (size_t i = 0; i < got[size_t(t)].size(); ++i) expect_same(got[size_t(t)][i], expected[size_t(t)][i]);
  }
}

TEST_F(ClassifierApi, AnUnreadableFileInABatchNamesItself) {
  Classifier clf = Classifier::load(checkpoint, "cpu", "fp32", 4);
  write_png(dir / "good.png", pictures(1)[0]);
  try {
    clf.classify_batch(std::vector<std::string>{dir / "good.png", dir / "missing.jpg"});
    FAIL() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.jpg"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace alexnet
