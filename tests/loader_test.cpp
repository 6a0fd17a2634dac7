// The loader: identical batches for any thread count, shuffles that are permutations, drop_last,
// corrupt-sample replacement, error propagation, rank sharding, the uint8 path and the allocator hook.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <set>

#include "backend/net.h"
#include "data/loader.h"
#include "model/net_spec.h"
#include "train/batch_source.h"
#include "train/schedule.h"
#include "train/trainer.h"

namespace alexnet {
namespace {

// n images of h x w whose pixels encode the index; label = index % 10. Indices in `corrupt` throw
// CorruptSample; index `broken` (if any) throws a plain alexnet::Error.
class MemoryDataset : public Dataset {
 public:
  MemoryDataset(size_t n, int h, int w, std::set<size_t> corrupt = {}, size_t broken = size_t(-1))
      : n_(n), h_(h), w_(w), corrupt_(std::move(corrupt)), broken_(broken) {}
  size_t size() const override { return n_; }
  int64_t label(size_t index) const override { return int64_t(index % 10); }
  const std::vector<std::string>& classes() const override { return classes_; }
  Image image(size_t index) const override {
    if (corrupt_.count(index)) throw CorruptSample(cat("sample ", index, ": bad JPEG marker"));
    if (index == broken_) fail("disk on fire while reading sample ", index);
    Image im;
    im.height = h_;
    im.width = w_;
    im.pixels.resize(size_t(h_) * size_t(w_) * 3);
    for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((index * 37 + i * 11 + (i % 3) * 71) % 256);
    return im;
  }
  std::string describe() const override { return "memory"; }

 private:
  size_t n_;
  int h_, w_;
  std::set<size_t> corrupt_;
  size_t broken_;
  std::vector<std::string> classes_{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
};

LoaderOptions small_options(int threads) {
  LoaderOptions o;
  o.batch_size = 8;
  o.threads = threads;
  o.prefetch = 3;
  o.seed = 42;
  o.transform.preset = "standard";
  o.transform.input_size = 24;
  o.warn = [](const std::string&) {};
  return o;
}

struct Collected {
  std::vector<float> images;
  std::vector<uint8_t> images_u8;
  std::vector<int64_t> labels;
  std::vector<size_t> indices;
  std::vector<int64_t> sizes;
};

Collected collect(Loader& loader, int64_t epoch) {
  Collected c;
  loader.start_epoch(epoch);
  while (const Batch* b = loader.next()) {
    const size_t per = size_t(3) * size_t(b->height) * size_t(b->width);
    if (b->images_f32) c.images.insert(c.images.end(), b->images_f32, b->images_f32 + size_t(b->size) * per);
    if (b->images_u8) c.images_u8.insert(c.images_u8.end(), b->images_u8, b->images_u8 + size_t(b->size) * per);
    c.labels.insert(c.labels.end(), b->labels, b->labels + b->size);
    c.indices.insert(c.indices.end(), b->indices, b->indices + b->size);
    c.sizes.push_back(b->size);
    EXPECT_EQ(b->epoch, epoch);
    EXPECT_EQ(b->number, int64_t(c.sizes.size()) - 1);
  }
  return c;
}

TEST(EpochOrder, ShuffleIsAPermutationPerEpoch) {
  std::vector<size_t> a = epoch_order(1000, 7, 0, true), b = epoch_order(1000, 7, 1, true);
  std::vector<size_t> sorted = a, iota(1000);
  std::iota(iota.begin(), iota.end(), size_t(0));
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(a, b);
  EXPECT_NE(a, iota);
  EXPECT_EQ(a, epoch_order(1000, 7, 0, true));
  EXPECT_EQ(epoch_order(1000, 7, 0, false), iota);
}

TEST(EpochOrder, RanksShareEveryEpochLikeDistributedSampler) {
  for (size_t n : {100u, 103u}) {
    const int W = 4;
    std::vector<size_t> all;
    for (int r = 0; r < W; ++r) {
      std::vector<size_t> mine = epoch_order(n, 5, 3, true, r, W);
      EXPECT_EQ(mine.size(), (n + W - 1) / W);
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::vector<size_t> shuffled = epoch_order(n, 5, 3, true);
    std::set<size_t> distinct(all.begin(), all.end());
    EXPECT_EQ(distinct.size(), n);                  // every sample at least once
    EXPECT_EQ(all.size() - n, (W - n % W) % W);     // and only the padding repeats
    // The padding repeats the beginning of the shared permutation.
    if (n == 103) {
      EXPECT_EQ(epoch_order(n, 5, 3, true, 3, W).back(), shuffled[0]);
    }
  }
  EXPECT_THROW(epoch_order(10, 0, 0, true, 4, 4), Error);
}

TEST(Loader, SameBatchesWhateverTheThreadCount) {
  MemoryDataset data(50, 16, 16);
  std::vector<Collected> runs;
  for (int threads : {1, 2, 3}) {
    LoaderOptions o = small_options(threads);
    o.drop_last = false;
    o.prefetch = threads;  // vary the ring depth too
    Loader loader(data, o);
    runs.push_back(collect(loader, 0));
    runs.push_back(collect(loader, 1));
  }
  for (size_t i = 2; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].images, runs[i % 2].images) << "run " << i;
    EXPECT_EQ(runs[i].labels, runs[i % 2].labels);
    EXPECT_EQ(runs[i].indices, runs[i % 2].indices);
  }
  EXPECT_NE(runs[0].indices, runs[1].indices);  // a new order each epoch
  EXPECT_NE(runs[0].images, runs[1].images);
}

TEST(Loader, BatchesHoldTheTransformedSamples) {
  MemoryDataset data(20, 16, 16);
  LoaderOptions o = small_options(2);
  Loader loader(data, o);
  Collected c = collect(loader, 4);
  const size_t per = 3 * 24 * 24;
  std::vector<float> want(per);
  for (size_t i = 0; i < c.indices.size(); ++i) {
    size_t index = c.indices[i];
    SampleRng rng(o.seed, 4, index);
    loader.pipeline().to_float(data.image(index), rng, want.data());
    ASSERT_TRUE(std::equal(want.begin(), want.end(), c.images.begin() + long(i * per))) << "row " << i;
    ASSERT_EQ(c.labels[i], int64_t(index % 10));
  }
}

TEST(Loader, EpochIsAPermutationAndDropLastDropsThePartialBatch) {
  MemoryDataset data(50, 16, 16);
  LoaderOptions o = small_options(2);
  o.drop_last = false;
  Loader keep(data, o);
  Collected all = collect(keep, 0);
  EXPECT_EQ(all.sizes, (std::vector<int64_t>{8, 8, 8, 8, 8, 8, 2}));
  std::vector<size_t> sorted = all.indices, iota(50);
  std::sort(sorted.begin(), sorted.end());
  std::iota(iota.begin(), iota.end(), size_t(0));
  EXPECT_EQ(sorted, iota);

  o.drop_last = true;
  Loader drop(data, o);
  Collected dropped = collect(drop, 0);
  EXPECT_EQ(dropped.sizes, std::vector<int64_t>(6, 8));
  EXPECT_EQ(drop.batches_per_epoch(), 6);
  EXPECT_TRUE(std::equal(dropped.indices.begin(), dropped.indices.end(), all.indices.begin()));
  EXPECT_EQ(drop.stats().samples, 48);
}

TEST(Loader, CorruptSamplesAreReplacedByTheNextOne) {
  MemoryDataset data(24, 16, 16, {3, 17});
  LoaderOptions o = small_options(2);
  o.shuffle = false;
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  Loader loader(data, o);
  Collected c = collect(loader, 0);
  EXPECT_EQ(c.sizes, std::vector<int64_t>(3, 8));
  EXPECT_EQ(c.indices[3], 4u);
  EXPECT_EQ(c.indices[4], 4u);
  EXPECT_EQ(c.indices[17], 18u);
  EXPECT_EQ(c.labels[3], 4);
  // The replacement is deterministic: a second loader with 1 thread gives the same batches.
  LoaderOptions o1 = small_options(1);
  o1.shuffle = false;
  Loader one(data, o1);
  EXPECT_EQ(collect(one, 0).images, c.images);

  LoaderStats s = loader.stats();
  EXPECT_EQ(s.corrupt, 2);
  EXPECT_EQ(s.corrupt_indices, (std::vector<size_t>{3, 17}));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("bad JPEG marker"), std::string::npos) << warnings[0];
  EXPECT_NE(s.summary().find("3, 17"), std::string::npos) << s.summary();
}

// In evaluation a corrupt sample is not replaced: its row keeps its place, labelled kSkippedSample.
TEST(Loader, WithoutReplacementACorruptSampleKeepsItsRowMarkedSkipped) {
  MemoryDataset data(24, 16, 16, {3, 17});
  LoaderOptions o = small_options(2);
  o.shuffle = false;
  o.replace_corrupt = false;
  o.warn = [](const std::string&) {};
  Loader loader(data, o);
  Collected c = collect(loader, 0);
  EXPECT_EQ(c.sizes, std::vector<int64_t>(3, 8));
  for (size_t i = 0; i < 24; ++i) {
    EXPECT_EQ(c.indices[i], i);
    EXPECT_EQ(c.labels[i], i == 3 || i == 17 ? kSkippedSample : int64_t(i % 10)) << i;
  }
  EXPECT_EQ(loader.stats().corrupt_indices, (std::vector<size_t>{3, 17}));
}

TEST(Loader, WorkerErrorsReachTheConsumerWithTheirMessage) {
  MemoryDataset data(40, 16, 16, {}, /*broken=*/21);
  Loader loader(data, small_options(2));
  loader.start_epoch(0);
  try {
    while (loader.next()) {
    }
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("disk on fire while reading sample 21"), std::string::npos) << e.what();
  }
  // The destructor still joins cleanly.
}

TEST(Loader, RestartingAnEpochMidwayGivesTheSameBatches) {
  MemoryDataset data(40, 16, 16);
  Loader fresh(data, small_options(2));
  Collected want = collect(fresh, 1);
  Loader loader(data, small_options(2));
  loader.start_epoch(0);
  ASSERT_NE(loader.next(), nullptr);
  EXPECT_EQ(collect(loader, 1).images, want.images);
}

TEST(Loader, RanksLoadDisjointShards) {
  MemoryDataset data(40, 16, 16);
  std::vector<size_t> all;
  for (int r = 0; r < 2; ++r) {
    LoaderOptions o = small_options(2);
    o.rank = r;
    o.world_size = 2;
    o.drop_last = false;
    Loader loader(data, o);
    EXPECT_EQ(loader.samples_per_epoch(), 20u);
    Collected c = collect(loader, 2);
    EXPECT_EQ(c.indices, epoch_order(40, o.seed, 2, true, r, 2));
    all.insert(all.end(), c.indices.begin(), c.indices.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<size_t> iota(40);
  std::iota(iota.begin(), iota.end(), size_t(0));
  EXPECT_EQ(all, iota);
}

class CountingAllocator : public BatchAllocator {
 public:
  void* allocate(size_t bytes) override {
    ++allocations;
    bytes_live += bytes;
    return ::operator new(bytes);
  }
  void deallocate(void* p, size_t bytes) override {
    --allocations;
    bytes_live -= bytes;
    ::operator delete(p);
  }
  std::atomic<int> allocations{0};
  std::atomic<long> bytes_live{0};
};

TEST(Loader, Uint8BatchesThroughAUserAllocator) {
  MemoryDataset data(20, 16, 16);
  auto allocator = std::make_shared<CountingAllocator>();
  LoaderOptions o = small_options(2);
  o.format = BatchFormat::U8_NHWC;
  o.allocator = allocator;
  {
    Loader loader(data, o);
    EXPECT_EQ(allocator->allocations, 2 * o.prefetch);  // images + labels per slot
    EXPECT_EQ(loader.source_size(), 16);
    Collected c = collect(loader, 0);
    const size_t per = 16 * 16 * 3;
    std::vector<uint8_t> want(per);
    for (size_t i = 0; i < c.indices.size(); ++i) {
      SampleRng rng(o.seed, 0, c.indices[i]);
      loader.pipeline().to_u8(data.image(c.indices[i]), rng, 16, want.data());
      ASSERT_TRUE(std::equal(want.begin(), want.end(), c.images_u8.begin() + long(i * per))) << i;
    }
  }
  EXPECT_EQ(allocator->allocations, 0);
  EXPECT_EQ(allocator->bytes_live, 0);
}

// Planned batches (the GPU's format) hold each source image as it is and its plan; carrying the plans
// out gives the float batches bit for bit, and a few training steps through them give the losses of
// the float batches.
TEST(Loader, PlannedBatchesAreTheSourceAndThePlan) {
  MemoryDataset data(20, 16, 16);
  LoaderOptions o = small_options(2);
  o.transform.pad = 3;
  LoaderOptions planned = o;
  planned.format = BatchFormat::U8_PLANNED;
  Loader floats(data, o), plans(data, planned);
  EXPECT_NE(plans.input_note().find("done on the network's device"), std::string::npos) << plans.input_note();
  floats.start_epoch(1);
  plans.start_epoch(1);
  const size_t S = 24, per = 3 * S * S;
  int checked = 0;
  while (const Batch* a = floats.next()) {
    const Batch* b = plans.next();
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(b->format, BatchFormat::U8_PLANNED);
    ASSERT_EQ(b->height, 16);
    ASSERT_NE(b->plans, nullptr);
    ASSERT_EQ(b->images_f32, nullptr);
    for (int64_t i = 0; i < b->size; ++i) {
      const Image source = data.image(b->indices[i]);
      ASSERT_TRUE(std::equal(source.pixels.begin(), source.pixels.end(), b->images_u8 + size_t(i) * 16 * 16 * 3));
      Image im = source;
      std::vector<float> out(per);
      Pipeline::execute(im, b->plans[i], out.data());
      ASSERT_TRUE(std::equal(out.begin(), out.end(), a->images_f32 + size_t(i) * per)) << "sample " << i;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16);

  // A few SGD steps through each kind of batch (the reference backend carries plans out with
  // sample_pixel, within 3.3e-7 of the pipeline).
  NetOptions no;
  no.num_classes = 10;
  no.width = 0.125;
  no.hidden = 16;
  no.input_size = 24;
  const NetSpec spec = make_net_spec("cifar", no);
  std::vector<std::vector<float>> losses(2);
  for (int k = 0; k < 2; ++k) {
    BuildOptions bo;
    bo.max_batch = 8;
    auto net = make_net(BackendKind::Reference, spec, bo);
    std::vector<float> params(net->params().total);
    SampleRng rng(4);
    for (float& v : params) v = float(rng.uniform(-0.05, 0.05));
    net->set_params(params);
    Loader loader(data, k == 0 ? o : planned);
    LoaderBatchSource source(loader);
    TrainLoopOptions t;
    t.batch_size = 8;
    t.total_steps = 4;
    ScheduleConfig sc;
    sc.lr = 0.05f;
    sc.total_steps = 4;
    sc.steps_per_epoch = 2;
    train_loop(*net, source, LrSchedule(sc), t, [&](const StepReport& r) {
      losses[size_t(k)].push_back(r.loss);
      return true;
    });
  }
  ASSERT_EQ(losses[0].size(), 4u);
  ASSERT_EQ(losses[1].size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(losses[1][i], losses[0][i], 1e-5 * std::abs(losses[0][i])) << "step " << i;
}

// What cannot go to the device: colour jitter, float images.
TEST(Loader, PlannedBatchesRefuseJitter) {
  MemoryDataset data(20, 16, 16);
  LoaderOptions o = small_options(1);
  o.format = BatchFormat::U8_PLANNED;
  o.transform.jitter.brightness = 0.2f;
  try {
    Loader loader(data, o);
    FAIL() << "planned batches with colour jitter were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("jitter"), std::string::npos) << e.what();
  }
}

TEST(Loader, RejectsBadOptions) {
  MemoryDataset data(10, 16, 16);
  LoaderOptions o = small_options(1);
  o.batch_size = 0;
  EXPECT_THROW(Loader(data, o), Error);
  o = small_options(1);
  o.transform.preset = "fancy";
  EXPECT_THROW(Loader(data, o), Error);
  o = small_options(1);
  o.rank = 2;
  o.world_size = 2;
  EXPECT_THROW(Loader(data, o), Error);
  Loader loader(data, small_options(1));
  EXPECT_THROW(loader.next(), Error);  // before start_epoch
}

TEST(Loader, PaperPresetEstimatesPcaFromTheDataset) {
  MemoryDataset data(30, 16, 16);
  LoaderOptions o = small_options(2);
  o.transform.preset = "paper";
  Loader loader(data, o);
  ASSERT_TRUE(loader.pipeline().config().pca.has_value());
  EXPECT_GT(loader.pipeline().config().pca->eigenvalues[0], 0.f);
  Collected c = collect(loader, 0);
  EXPECT_EQ(c.sizes.size(), 3u);
}

}  // namespace
}  // namespace alexnet
