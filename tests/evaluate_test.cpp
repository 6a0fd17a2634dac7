// Evaluation (train/evaluate.h): the flip test-time augmentation against the same arithmetic done by
// hand with the network, on a tensor dataset.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "backend/net.h"
#include "test_util.h"
#include "data/readers.h"
#include "test_cli_util.h"
#include "train/evaluate.h"

namespace alexnet {
namespace {

using testing::TempDir;

std::vector<float> softmax_rows(std::vector<float> z, int n, int C) {
  for (int i = 0; i < n; ++i) {
    float* r = z.data() + size_t(i) * C;
    const float m = *std::max_element(r, r + C);
    float s = 0;
    for (int c = 0; c < C; ++c) s += (r[c] = std::exp(r[c] - m));
    for (int c = 0; c < C; ++c) r[c] /= s;
  }
  return z;
}

TEST(Evaluate, FlipAveragesTheSoftmaxOfEachImageAndItsMirror) {
  TempDir dir;
  const std::string path = dir / "d.safetensors";
  const int N = 12, S = 32;
  testing::write_toy_dataset(path, N);
  const std::unique_ptr<Dataset> data = open_dataset(path, Split::Train);
  NetOptions o;
  o.num_classes = 4;
  o.width = 0.25;
  o.hidden = 16;
  const NetSpec spec = make_net_spec("cifar", o);
  auto net = make_net(BackendKind::Reference, spec, test::build_options(N, Precision::F32, 1));
  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, 3);
  net->set_params(params);

  EvalOptions eo;
  eo.transform.preset = "none";
  eo.transform.input_size = S;
  eo.batch_size = 5;  // batches of 5, 5 and 2
  eo.threads = 1;
  const EvalResult plain = evaluate(*net, *data, eo);
  eo.flip = true;
  const EvalResult flipped = evaluate(*net, *data, eo);

  // By hand: the dataset's images as the loader gives them (float tensors pass unchanged here), and
  // their mirror images.
  const TensorFile f = read_safetensors(path);
  const float* x = f.get("images").data<float>();
  std::vector<float> mirror(size_t(N) * 3 * S * S);
  for (size_t row = 0; row < size_t(N) * 3 * S; ++row)
    for (int w = 0; w < S; ++w) mirror[row * S + size_t(w)] = x[row * S + size_t(S - 1 - w)];
  std::vector<float> a(size_t(N) * 4), b(a.size());
  net->forward(x, N, Mode::Eval);
  net->get_logits(a.data());
  net->forward(mirror.data(), N, Mode::Eval);
  net->get_logits(b.data());
  const std::vector<float> pa = softmax_rows(a, N, 4), pb = softmax_rows(b, N, 4);
  const int64_t* y = f.get("labels").data<int64_t>();
  double loss_plain = 0, loss_flip = 0;
  for (int i = 0; i < N; ++i) {
    loss_plain -= std::log(pa[size_t(i) * 4 + size_t(y[i])]);
    loss_flip -= std::log(0.5 * (pa[size_t(i) * 4 + size_t(y[i])] + pb[size_t(i) * 4 + size_t(y[i])]));
  }
  EXPECT_EQ(plain.n, N);
  EXPECT_EQ(flipped.n, N);
  EXPECT_NEAR(plain.loss, loss_plain / N, 1e-5);
  EXPECT_NEAR(flipped.loss, loss_flip / N, 1e-5);
  EXPECT_GT(std::abs(flipped.loss - plain.loss), 1e-6) << "the mirror images changed nothing: the test would not see a missing flip";
}

// The cifar network at a quarter width for 24 x 24 input, 4 classes, reference backend, seeded.
std::unique_ptr<Net> small_net_24(int max_batch) {
  NetOptions o;
  o.num_classes = 4;
  o.width = 0.25;
  o.hidden = 16;
  o.input_size = 24;
  const NetSpec spec = make_net_spec("cifar", o);
  auto net = make_net(BackendKind::Reference, spec, test::build_options(max_batch, Precision::F32, 1));
  std::vector<float> params(net->params().total);
  init_params(spec, net->params(), params, 3);
  net->set_params(params);
  return net;
}

// A uint8 tensor dataset of n random side x side pictures, labels i % 4, written to `path` and opened.
std::unique_ptr<Dataset> random_u8_dataset(const std::string& path, int n, int side, uint64_t seed) {
  Tensor images(DType::U8, {n, side, side, 3});
  Tensor labels(DType::I64, {n});
  Rng rng(seed);
  for (int64_t i = 0; i < images.numel(); ++i) images.data<uint8_t>()[i] = uint8_t(rng.next() >> 56);
  for (int i = 0; i < n; ++i) labels.data<int64_t>()[i] = i % 4;
  TensorFile f;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  write_safetensors(path, f);
  return open_dataset(path, Split::Train);
}

// Planned batches (uint8 images and their plans, transformed by the net: the GPU's format) evaluate
// as the float batches, the flip included (one more mirror in each plan): a uint8 dataset enlarged
// from 20 x 20 to 24 x 24 by --augment seed.
TEST(Evaluate, PlannedBatchesGiveTheResultOfFloatBatches) {
  TempDir dir;
  const int N = 12;
  const std::unique_ptr<Dataset> data = random_u8_dataset(dir / "u8.safetensors", N, 20, 5);
  auto net = small_net_24(N);
  for (bool flip : {false, true}) {
    SCOPED_TRACE(flip ? "flip" : "plain");
    EvalOptions eo;
    eo.transform.preset = "seed";
    eo.transform.input_size = 24;
    eo.batch_size = 5;
    eo.threads = 1;
    eo.flip = flip;
    const EvalResult floats = evaluate(*net, *data, eo);
    eo.planned = true;
    const EvalResult planned = evaluate(*net, *data, eo);
    EXPECT_EQ(planned.n, N);
    EXPECT_NEAR(planned.loss, floats.loss, 1e-6);
    EXPECT_EQ(planned.confusion, floats.confusion);
  }
}

// A dataset whose samples in `corrupt` cannot be read (as a truncated JPEG), the others its base's.
class WithCorrupt : public Dataset {
 public:
  WithCorrupt(const Dataset& base, std::set<size_t> corrupt) : base_(base), corrupt_(std::move(corrupt)) {}
  size_t size() const override { return base_.size(); }
  int64_t label(size_t i) const override { return base_.label(i); }
  const std::vector<std::string>& classes() const override { return base_.classes(); }
  Image image(size_t i) const override {
    if (corrupt_.count(i)) throw CorruptSample(cat("sample ", i, ": premature end of JPEG data"));
    return base_.image(i);
  }
  std::string describe() const override { return "with corrupt samples"; }

 private:
  const Dataset& base_;
  std::set<size_t> corrupt_;
};

// An unreadable sample is left out of the evaluation and counted, never replaced by another one: the
// result equals the evaluation of the readable samples alone, in every path (batches, mirrors,
// planned batches, 10 crops).
TEST(Evaluate, UnreadableSamplesAreLeftOutAndCounted) {
  TempDir dir;
  const std::shared_ptr<const Dataset> data = random_u8_dataset(dir / "u8.safetensors", 14, 28, 9);
  const WithCorrupt broken(*data, {2, 3, 11});
  const SubsetDataset readable(data, {0, 1, 4, 5, 6, 7, 8, 9, 10, 12, 13}, "readable");
  auto net = small_net_24(50);
  for (int mode = 0; mode < 4; ++mode) {
    SCOPED_TRACE(mode);
    EvalOptions eo;
    eo.transform.preset = "standard";
    eo.transform.input_size = 24;
    eo.batch_size = mode == 3 ? 50 : 5;
    eo.threads = 2;
    eo.flip = mode == 1;
    eo.planned = mode == 2;
    eo.ten_crop = mode == 3;
    const EvalResult want = evaluate(*net, readable, eo);
    const EvalResult got = evaluate(*net, broken, eo);
    EXPECT_EQ(got.n, 11);
    EXPECT_EQ(got.skipped, 3);
    EXPECT_EQ(got.skipped_indices, (std::vector<size_t>{2, 3, 11}));
    EXPECT_EQ(got.confusion, want.confusion);
    EXPECT_NEAR(got.loss, want.loss, 1e-6);
    EXPECT_NE(got.skipped_note().find("3 unreadable images left out (sample 2, sample 3, sample 11)"), std::string::npos)
        << got.skipped_note();
    EXPECT_EQ(want.skipped_note(), "");
  }
}

}  // namespace
}  // namespace alexnet
