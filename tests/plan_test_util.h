// What the tests of sample plans share (tests/sample_plan_test.cpp, tests/cuda_test.cpp): random
// images, a PCA colour model, and a batch as both forms the network takes: uint8 source images with
// their plans, and the CPU pipeline's float batch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/net.h"
#include "data/transforms.h"
#include "model/net_spec.h"

namespace alexnet::test {

// h x w x 3 random bytes, from `key`.
inline Image noise_image(int h, int w, uint64_t key) {
  Image im;
  im.height = h;
  im.width = w;
  im.pixels.resize(size_t(h) * size_t(w) * 3);
  SampleRng rng(key);
  for (uint8_t& v : im.pixels) v = uint8_t(rng.next_u64() >> 56);
  return im;
}

inline PcaLighting some_pca() {
  PcaLighting pca;
  pca.eigenvalues = {0.2f, 0.02f, 0.005f};
  pca.eigenvectors = {{{0.58f, 0.58f, 0.57f}, {-0.71f, 0.01f, 0.70f}, {0.40f, -0.81f, 0.42f}}};
  return pca;
}

struct PlannedBatch {
  std::vector<Image> sources;
  std::vector<uint8_t> images;   // [N, H, W, 3]
  std::vector<SamplePlan> plans; // [N], drawn with SampleRng(seed, 0, n)
  std::vector<float> floats;     // [N, 3, S, S]: Pipeline::execute of each plan
};

// N random H x W images (keys key + n), their plans under `pipeline` and the float batch they give.
inline PlannedBatch planned_batch(const Pipeline& pipeline, int N, int H, int W, uint64_t key, uint64_t seed) {
  const size_t S = size_t(pipeline.config().input_size), per = 3 * S * S;
  PlannedBatch b;
  b.floats.resize(size_t(N) * per);
  for (int n = 0; n < N; ++n) {
    b.sources.push_back(noise_image(H, W, key + uint64_t(n)));
    const Image& im = b.sources.back();
    b.images.insert(b.images.end(), im.pixels.begin(), im.pixels.end());
    SampleRng rng(seed, 0, uint64_t(n));
    b.plans.push_back(pipeline.plan(H, W, rng));
    Pipeline::execute(im, b.plans.back(), b.floats.data() + size_t(n) * per);
  }
  return b;
}

// The logits of one small network (`variant` at S x S, 10 classes, random weights) on `kind`, fed the
// batch twice: first the float batch through forward(), then the images and plans through
// forward_planned(). Returns {forward's, forward_planned's}.
struct BothLogits {
  std::vector<float> forward, planned;
};
inline BothLogits logits_both_ways(BackendKind kind, const std::string& variant, Precision precision,
                                   const PlannedBatch& batch, int H, int W, int S) {
  NetOptions o;
  o.num_classes = 10;
  o.width = 0.125;
  o.hidden = 32;
  o.input_size = S;
  const NetSpec spec = make_net_spec(variant, o);
  const int N = int(batch.plans.size());
  BuildOptions b;
  b.max_batch = N;
  b.precision = precision;
  auto a = make_net(kind, spec, b), c = make_net(kind, spec, b);
  std::vector<float> params(a->params().total);
  SampleRng rng(1);
  for (float& v : params) v = float(rng.uniform(-0.1, 0.1));
  a->set_params(params);
  c->set_params(params);
  a->forward(batch.floats.data(), N, Mode::Eval);
  c->forward_planned(batch.images.data(), H, W, batch.plans.data(), N, Mode::Eval);
  BothLogits out{std::vector<float>(size_t(N) * 10), std::vector<float>(size_t(N) * 10)};
  a->get_logits(out.forward.data());
  c->get_logits(out.planned.data());
  // Plans for another source size are refused with a clear error.
  bool refused = false;
  try {
    c->forward_planned(batch.images.data(), H / 2, W * 2, batch.plans.data(), N, Mode::Eval);
  } catch (const Error&) {
    refused = true;
  }
  if (!refused) out.planned.clear();  // the caller's comparison then fails
  return out;
}

}  // namespace alexnet::test
