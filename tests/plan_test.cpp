// A training run's plan: every number it derives, checked with no files, no data and no network.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/net_spec.h"
#include "train/plan.h"

namespace alexnet {
namespace {

DataFacts cifar_like(size_t n = 45000, size_t val = 5000) {
  DataFacts d;
  d.train_size = n;
  d.classes = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  d.small_images = true;
  d.train_describe = "CIFAR-10";
  d.val_size = val;
  d.val_note = "held-out 10%";
  return d;
}

TrainConfig cifar_config() {
  TrainConfig c;
  c.model = "cifar";
  c.out = "runs/x";
  c.epochs = 3;
  c.batch_size = 64;
  return c;
}

TEST(RunPlan, StepsPerEpochAndTotal) {
  const RunPlan p = plan_run(cifar_config(), cifar_like(), {});
  EXPECT_EQ(p.steps_per_epoch, 704);  // ceil(45000 / 64): the last batch is partial, not dropped
  EXPECT_EQ(p.total_steps, 3 * 704);
  EXPECT_EQ(p.start_step, 0);
  EXPECT_EQ(p.config.num_classes, 10);  // from the data
  EXPECT_EQ(p.loop.total_steps, p.total_steps);
  EXPECT_EQ(p.schedule.total_steps, p.total_steps);
  EXPECT_EQ(p.schedule.steps_per_epoch, 704);
  EXPECT_FALSE(p.loader.drop_last);
  TrainConfig c = cifar_config();
  c.steps = 50;  // steps win over epochs
  EXPECT_EQ(plan_run(c, cifar_like(), {}).total_steps, 50);
}

TEST(RunPlan, DataParallelShardsTheEpochAndScalesTheRate) {
  TrainConfig c = cifar_config();
  c.lr = 0.1f;
  c.lr_scale_batch = 256;
  const WorldFacts four{.rank = 2, .replicas = 4, .processes = 4, .local_rank = 2, .transport = "MPI"};
  const RunPlan p = plan_run(c, cifar_like(), four);
  EXPECT_EQ(p.steps_per_epoch, 176);                  // ceil(ceil(45000 / 4) / 64) = ceil(11250 / 64)
  EXPECT_FLOAT_EQ(p.peak_lr(), 0.1f * 64 * 4 / 256);  // the linear scaling rule: 0.1
  EXPECT_EQ(p.config.world_size, 4);
  EXPECT_EQ(p.loader.rank, 2);
  EXPECT_EQ(p.loader.world_size, 4);
  EXPECT_EQ(p.net.local_rank, 2);
  // Each replica draws its own dropout masks; rank 0 keeps the seed itself.
  EXPECT_NE(p.net.seed, c.seed);
  EXPECT_EQ(plan_run(c, cifar_like(), {}).net.seed, c.seed);
  EXPECT_FLOAT_EQ(plan_run(c, cifar_like(), {}).peak_lr(), 0.1f * 64 / 256);
  c.lr_scale_batch = 0;
  EXPECT_FLOAT_EQ(plan_run(c, cifar_like(), four).peak_lr(), 0.1f);  // as given
}

TEST(RunPlan, ScheduleAndOptimiser) {
  TrainConfig c = cifar_config();
  c.schedule = "onecycle";
  c.warmup_epochs = 0.5f;
  c.momentum = 0.8f;
  c.weight_decay = 5e-4f;
  c.nesterov = true;
  c.bucket_mb = 1;
  const RunPlan p = plan_run(c, cifar_like(), {});
  EXPECT_EQ(p.schedule.kind, "onecycle");
  EXPECT_EQ(p.schedule.warmup_steps, 352);  // half of 704
  EXPECT_FLOAT_EQ(p.loop.sgd.momentum, 0.8f);
  EXPECT_FLOAT_EQ(p.loop.sgd.weight_decay, 5e-4f);
  EXPECT_TRUE(p.loop.sgd.nesterov);
  EXPECT_EQ(p.loop.bucket_floats, size_t(1) << 18);  // 1 MiB of floats
}

TEST(RunPlan, ResumeOnAnotherNumberOfProcessesMapsTheStep) {
  // half-way through epoch 2
  const ResumeFacts stopped{.dir = "runs/old", .step = 704 + 352, .stored_replicas = 1, .classes = cifar_like().classes};
  const WorldFacts two{.rank = 0, .replicas = 2, .processes = 2};
  const RunPlan p = plan_run(cifar_config(), cifar_like(), two, stopped);
  EXPECT_EQ(p.steps_per_epoch, 352);
  EXPECT_EQ(p.start_step, 352 + 176);  // the same fraction of the same epoch
  EXPECT_EQ(p.loop.start_step, p.start_step);
  EXPECT_EQ(p.run_dir, "runs/old");    // a resumed run writes where it was
  EXPECT_NE(describe(p).find("is step 528 of 2"), std::string::npos) << describe(p);
  EXPECT_EQ(plan_run(cifar_config(), cifar_like(), {}, stopped).start_step, 1056);  // the same world: as stored
}

TEST(RunPlan, AResumedRunRefusesDataOfOtherClasses) {
  ResumeFacts stopped{.dir = "runs/old", .step = 10, .stored_replicas = 1, .classes = cifar_like().classes};
  DataFacts other = cifar_like();
  other.classes[3] = "kitten";
  EXPECT_THROW(plan_run(cifar_config(), other, {}, stopped), Error);
  stopped.classes.clear();  // a checkpoint that recorded no names: nothing to compare
  EXPECT_EQ(plan_run(cifar_config(), other, {}, stopped).start_step, 10);
}

TEST(RunPlan, ValidationAndCheckpointsFallWhereTheConfigSays) {
  TrainConfig c = cifar_config();
  c.steps = 2000;  // the run ends in epoch 3, at step index 1999
  c.eval_every = 2;
  c.save_every = 300;
  const RunPlan p = plan_run(c, cifar_like(), {});
  EXPECT_TRUE(p.epoch_ends_after(703, 703));
  EXPECT_FALSE(p.epoch_ends_after(702, 702));
  EXPECT_TRUE(p.epoch_ends_after(1999, 1999 - 1408));  // the last step ends the run's last epoch
  EXPECT_FALSE(p.validates_after(703, 0, 703));        // epoch 1: not a multiple of 2
  EXPECT_TRUE(p.validates_after(1407, 1, 703));        // epoch 2
  EXPECT_TRUE(p.validates_after(1999, 2, 591));        // and at the end of the run
  EXPECT_FALSE(p.validates_after(1000, 1, 296));       // not mid-epoch
  EXPECT_TRUE(p.checkpoints_after(299, 299));          // every 300 steps
  EXPECT_FALSE(p.checkpoints_after(300, 300));
  EXPECT_TRUE(p.checkpoints_after(703, 703));          // and at every epoch end
  const RunPlan no_val = plan_run(c, cifar_like(45000, 0), {});
  EXPECT_FALSE(no_val.validates_after(1407, 1, 703));
  EXPECT_FALSE(no_val.validates());
  EXPECT_NE(describe(no_val).find("validation: none; best.safetensors holds the latest weights"), std::string::npos);
  c.eval_every = 0;
  EXPECT_FALSE(plan_run(c, cifar_like(), {}).validates());
}

TEST(RunPlan, ModelAndPreprocessingFollowTheData) {
  TrainConfig c = cifar_config();
  c.augment = "standard";
  RunPlan p = plan_run(c, cifar_like(), {});
  EXPECT_EQ(p.model.classes.size(), 10u);
  EXPECT_TRUE(p.transform.small_images);
  EXPECT_EQ(p.transform.mean, kSeedMean);
  EXPECT_EQ(p.transform.input_size, 32);
  EXPECT_EQ(p.model.eval_preset, "standard");
  EXPECT_EQ(p.model.options.num_classes, 10);
  EXPECT_EQ(p.parameters, make_param_table(make_net_spec("cifar", p.model.options)).total);
  DataFacts photos = cifar_like();
  photos.small_images = false;
  c.model = "seed";
  p = plan_run(c, photos, {});
  EXPECT_FALSE(p.transform.small_images);
  EXPECT_EQ(p.transform.mean, kImageNetMean);
  EXPECT_EQ(p.transform.input_size, 224);
}

TEST(RunPlan, ColourJitterIsTheFlagsAndKeepsTheTransformOnTheCpu) {
  TrainConfig c = cifar_config();
  c.backend = BackendKind::CUDA;
  EXPECT_TRUE(plan_run(c, cifar_like(), {}).transform_on_device);
  EXPECT_EQ(plan_run(c, cifar_like(), {}).loader.format, BatchFormat::U8_PLANNED);
  c.color_jitter = 0.4f;
  const RunPlan p = plan_run(c, cifar_like(), {});
  EXPECT_FLOAT_EQ(p.transform.jitter.brightness, 0.4f);
  EXPECT_FLOAT_EQ(p.transform.jitter.contrast, 0.4f);
  EXPECT_FLOAT_EQ(p.transform.jitter.saturation, 0.4f);
  EXPECT_FLOAT_EQ(p.loader.transform.jitter.saturation, 0.4f);
  EXPECT_FALSE(p.transform_on_device);
  EXPECT_EQ(p.loader.format, BatchFormat::F32_NCHW);
  c.backend = BackendKind::OneDNN;
  c.color_jitter = 0;
  EXPECT_FALSE(plan_run(c, cifar_like(), {}).transform_on_device);
}

TEST(RunPlan, RefusesMoreClassesThanOutputs) {
  TrainConfig c = cifar_config();
  c.num_classes = 5;
  try {
    plan_run(c, cifar_like(), {});
    FAIL() << "planned a 5-output network for 10 classes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("10 classes but num_classes is 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plan_run(cifar_config(), cifar_like(0, 0), {}), Error);
}

TEST(RunPlan, DescribeSaysWhatTheRunWillDo) {
  TrainConfig c = cifar_config();
  c.holdout = 0.2;
  DataFacts d = cifar_like();
  d.holdout_size = 10000;
  const std::string text = describe(plan_run(c, d, {}));
  for (const char* line : {"data: CIFAR-10, 45000 training images, 10 classes; augment seed",
                           "validation: 5000 images, held-out 10%", "test set: 10000 images held out (20%)",
                           "train: 2112 steps (704 per epoch) of batch 64, SGD lr 0.01 momentum 0.9",
                           "run directory: runs/x"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n---\n" << text;
}

}  // namespace
}  // namespace alexnet
