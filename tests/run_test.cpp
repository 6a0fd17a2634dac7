// Training runs through the `alexnet` program: exact resume, checkpoints that survive being killed
// at any instant, SIGINT, a full disk, and the run directory's contents.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/rng.h"
#include "tensor/safetensors.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::run_alexnet;
using testing::TempDir;


const std::string kModel = "--model cifar --width 0.5 --augment none --batch-size 16 --lr 0.01 --wd 5e-4 ";

std::vector<uint8_t> weights_bytes(const std::string& path) {
  const TensorFile f = read_safetensors(path);
  std::vector<uint8_t> out;
  for (const auto& [name, t] : f.tensors) {  // sorted by name
    const auto* p = reinterpret_cast<const uint8_t*>(t.raw());
    out.insert(out.end(), p, p + t.nbytes());
  }
  return out;
}

TEST(Run, ResumeGivesBitwiseIdenticalWeights) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors");
  const std::string data = " --val-split 0.25 --data " + (dir / "d.safetensors");
  // dropout stays on (0.5): its masks come from (seed, step, layer), so resume must reproduce them too
  auto straight = run_alexnet("train " + kModel + data + " --epochs 2 --out " + (dir / "straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  auto first = run_alexnet("train " + kModel + data + " --epochs 1 --out " + (dir / "split"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = run_alexnet("train --resume " + (dir / "split") + " --epochs 2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resuming at step 3"), std::string::npos) << second.output;
  const auto a = weights_bytes(dir / "straight/last.safetensors");
  const auto b = weights_bytes(dir / "split/last.safetensors");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "weights differ after resume";
  // and training did change them: compare with the initial weights of that seed
  NetOptions o;
  o.num_classes = 4;
  o.width = 0.5;
  const NetSpec spec = make_net_spec("cifar", o);
  const ParamTable table = make_param_table(spec);
  std::vector<float> init(table.total);
  init_params(spec, table, init, 0);
  const ResumePoint trained = load_last_checkpoint(dir / "straight");
  EXPECT_NE(trained.params, init);
  for (const char* f : {"config.json", "metrics.jsonl", "metrics.csv", "best.safetensors", "confusion.json"})
    EXPECT_TRUE(fs::exists(fs::path(dir / "straight") / f)) << f;
}

// --ema: the moving average is saved as ema.safetensors, validated beside the raw weights, and
// continues exactly across a resume (it is in the state file).
TEST(Run, WeightAverageIsSavedValidatedAndResumeExact) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors");
  const std::string data = " --val-split 0.25 --ema 0.9 --data " + (dir / "d.safetensors");
  auto straight = run_alexnet("train " + kModel + data + " --epochs 2 --out " + (dir / "straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  EXPECT_NE(straight.output.find("weight average: loss"), std::string::npos) << straight.output;
  auto first = run_alexnet("train " + kModel + data + " --epochs 1 --out " + (dir / "split"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = run_alexnet("train --resume " + (dir / "split") + " --epochs 2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const auto a = weights_bytes(dir / "straight/ema.safetensors");
  const auto b = weights_bytes(dir / "split/ema.safetensors");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "the weight average differs after resume";
  EXPECT_NE(a, weights_bytes(dir / "straight/last.safetensors"));  // an average, not the last weights
  std::ifstream metrics(dir / "straight/metrics.jsonl");
  const std::string text((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"ema_top1\""), std::string::npos) << text;
  auto eval = run_alexnet("eval --checkpoint " + (dir / "straight/ema.safetensors") + " --data " + (dir / "d.safetensors"));
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

// --lr-scale-batch: the linear scaling rule, lr x batch / reference batch, is the rate the schedule uses.
TEST(Run, LinearScalingRuleScalesThePeakRate) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors");
  auto r = run_alexnet("train --model cifar --width 0.5 --augment none --batch-size 16 --lr 0.05 --lr-scale-batch 64 "
                       "--steps 1 --print-freq 1 --val-split 0 --no-report --data " + (dir / "d.safetensors") + " --out " + (dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SGD lr 0.0125 (0.05 x 16 / 64)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lr 0.0125 |"), std::string::npos) << r.output;  // the step line: the rate used
}

TEST(Run, ResumeOfSomethingThatIsNotARunDirectory) {
  TempDir dir;
  auto r = run_alexnet("train --resume " + (dir / "nothing-here"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no such run directory"), std::string::npos) << r.output;
  fs::create_directories(dir / "empty");
  r = run_alexnet("train --resume " + (dir / "empty"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("not a run directory"), std::string::npos) << r.output;
  std::ofstream(dir / "empty/last.safetensors") << "garbage";
  r = run_alexnet("train --resume " + (dir / "empty"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("last.safetensors"), std::string::npos) << r.output;
  EXPECT_LT(r.exit_code, 128) << r.output;
}

// Starts `alexnet ARGS` and returns its pid (stdout and stderr to `log`).
pid_t spawn(const std::string& args, const std::string& log = "/dev/null") {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = "exec " + std::string(ALEXNET_BINARY) + " " + args + " > " + log + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

TEST(Run, KilledAtAnyInstantLeavesALoadableCheckpoint) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors");
  const std::string run = dir / "run";
  // checkpoint after every step, so kills land during writes too
  const std::string args = "train " + kModel + "--val-split 0 --data " + (dir / "d.safetensors") + " --epochs 1000 --save-every 1 --out " + run;
  // First run: wait for its first checkpoint, then kill it.
  pid_t pid = spawn(args);
  for (int i = 0; i < 600 && !fs::exists(fs::path(run) / "last.safetensors"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(fs::exists(fs::path(run) / "last.safetensors")) << "no checkpoint within 60 s";
  // Then resume, wait until the resumed run has written a newer checkpoint (it writes one every
  // step, so it is writing most of the time), kill it at a random instant, and load the checkpoint.
  Rng rng(5);
  int64_t last_step = load_last_checkpoint(run).state.step;
  int advanced = 0;
  for (int round = 0; round < 5; ++round) {
    pid = spawn("train --resume " + run + " --epochs 1000");
    for (int i = 0; i < 1200; ++i) {  // up to 120 s on a loaded machine
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      try {  // while the writer lives, a reader can race with its renames: just look again
        if (load_last_checkpoint(run).state.step > last_step) break;
      } catch (const Error&) {
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(int(rng.below(500))));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    const ResumePoint p = load_last_checkpoint(run);  // throws (fails the test) if it does not load
    EXPECT_EQ(p.momentum.size(), p.params.size());
    advanced += p.state.step > last_step;
    last_step = p.state.step;
  }
  EXPECT_EQ(advanced, 5) << "a resumed run did not get as far as a new checkpoint";
}

// SIGINT finishes the step, saves a checkpoint of that step and exits 130. The signal is sent once
// a step has been logged (the handlers are in place by then), in the middle of a 50-step epoch, so
// the checkpoint can only come from the interruption.
TEST(Run, SigintSavesACheckpointAndExits130) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 800);
  const std::string run = dir / "run";
  const std::string log = dir / "log.txt";
  const pid_t pid = spawn("train " + kModel + "--val-split 0 --print-freq 1 --data " + (dir / "d.safetensors") +
                          " --epochs 1000 --out " + run, log);
  const fs::path metrics = fs::path(run) / "metrics.jsonl";
  auto logged_a_step = [&] {
    std::ifstream in(metrics);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("\"kind\":\"step\"") != std::string::npos;
  };
  for (int i = 0; i < 1200 && !logged_a_step(); ++i)  // a hang guard: up to 120 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(logged_a_step()) << "no step logged within 120 s";
  EXPECT_FALSE(fs::exists(fs::path(run) / "last.safetensors")) << "a checkpoint before the interruption";
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 130) << output;
  const size_t at = output.find("interrupted: stopped after step ");
  ASSERT_NE(at, std::string::npos) << output;
  const long step = std::strtol(output.c_str() + at + std::strlen("interrupted: stopped after step "), nullptr, 10);
  EXPECT_GT(step, 0) << output;
  const ResumePoint p = load_last_checkpoint(run);
  EXPECT_EQ(p.state.step, step) << output;
}

TEST(Run, AFullDiskGivesAClearErrorAndKeepsThePreviousCheckpoint) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors");
  const std::string run = dir / "run";
  auto first = run_alexnet("train " + kModel + "--val-split 0 --data " + (dir / "d.safetensors") + " --epochs 1 --out " + run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto before = weights_bytes(run + "/last.safetensors");
  // A file-size limit smaller than a checkpoint: the next write fails as on a full disk.
  const std::string cmd = "ulimit -f 64; " + std::string(ALEXNET_BINARY) + " train --resume " + run + " --epochs 2 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 128) << out;
  EXPECT_NE(out.find("error:"), std::string::npos) << out;
  EXPECT_TRUE(weights_bytes(run + "/last.safetensors") == before);
  EXPECT_NO_THROW(load_last_checkpoint(run));
}

}  // namespace
}  // namespace alexnet
