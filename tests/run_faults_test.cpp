// Faults during a training run: the data deleted or truncated under a running `alexnet train`, the
// run directory becoming unwritable, and the disk filling up during a metrics write. Each ends with a
// clear `error:` line and a non-zero exit (or, for data already in memory, a finished run), never a
// signal, and the last checkpoint still loads.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/image_codec.h"
#include "report/metrics.h"
#include "tensor/safetensors.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"
#include "train/run.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kModel = "--model cifar --width 0.25 --augment seed --batch-size 8 --lr 0.01 --val-split 0 -p 1 ";

// root/<class>/<i>.png, 32x32.
void write_image_folder(const std::string& root, int per_class) {
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < per_class; ++i) {
      Image im;
      im.height = im.width = 32;
      im.pixels.assign(32 * 32 * 3, uint8_t(40 + 100 * c + i));
      const std::string dir = root + "/c" + std::to_string(c);
      fs::create_directories(dir);
      write_png(dir + "/" + std::to_string(i) + ".png", im);
    }
}

// A running `alexnet ARGS` with its output going to a file.
struct Child {
  pid_t pid = -1;
  std::string log;

  Child(const std::string& args, const std::string& log_path) : log(log_path) {
    pid = fork();
    if (pid == 0) {
      const std::string cmd = "exec " + std::string(ALEXNET_BINARY) + " " + args + " > " + log_path + " 2>&1";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  // The exit status (128 + signal when killed), waiting at most `seconds`; -1 on a timeout (then killed).
  int wait_exit(int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  std::string output() const {
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
};

// Waits until the run directory holds a checkpoint of at least `step` steps.
bool wait_for_checkpoint(const std::string& run, int64_t step, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    try {
      if (fs::exists(fs::path(run) / "last.safetensors") && load_last_checkpoint(run).state.step >= step) return true;
    } catch (const Error&) {  // a write in progress: look again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void expect_clean_error(int code, const std::string& output, const std::string& must_contain) {
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("error:"), std::string::npos) << output;
  EXPECT_NE(output.find(must_contain), std::string::npos) << "'" << must_contain << "' not in:\n" << output;
  EXPECT_EQ(output.find("Sanitizer"), std::string::npos) << output;
}

TEST(RunFaults, ImagesDeletedUnderARunningTrainEndItWithOneErrorAndALoadableCheckpoint) {
  for (const bool truncate : {false, true}) {
    TempDir dir;
    const std::string data = dir / "images", run = dir / "run";
    write_image_folder(data, 16);
    Child child("train " + kModel + "--data " + data + " --epochs 100000 --save-every 1 --out " + run, dir / "log");
    ASSERT_TRUE(wait_for_checkpoint(run, 1, 120)) << child.output();
    for (const auto& e : fs::recursive_directory_iterator(data))
      if (e.is_regular_file()) {
        if (truncate) {
          fs::resize_file(e.path(), 20);  // a PNG signature and half a header
        } else {
          fs::remove(e.path());
        }
      }
    const int code = child.wait_exit(120);
    const std::string out = child.output();
    expect_clean_error(code, out, "is corrupt");
    EXPECT_NE(out.find(truncate ? "truncated" : "No such file"), std::string::npos) << out;
    const ResumePoint p = load_last_checkpoint(run);  // throws (fails the test) if it does not load
    EXPECT_GE(p.state.step, 1);
  }
}

TEST(RunFaults, ATensorDatasetDeletedUnderARunningTrainDoesNotMatter) {
  // A tensor file (like CIFAR and archives) is read whole when the run starts.
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 32);
  const std::string run = dir / "run";
  Child child("train " + kModel + "--data " + (dir / "d.safetensors") + " --steps 40 --save-every 1 --out " + run, dir / "log");
  ASSERT_TRUE(wait_for_checkpoint(run, 1, 120)) << child.output();
  fs::remove(dir / "d.safetensors");
  EXPECT_EQ(child.wait_exit(300), 0) << child.output();
  EXPECT_EQ(load_last_checkpoint(run).state.step, 40);
}

TEST(RunFaults, ARunDirectoryThatBecomesUnwritableEndsTheRunWithOneError) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 32);
  const std::string run = dir / "run", moved = dir / "moved";
  Child child("train " + kModel + "--data " + (dir / "d.safetensors") + " --epochs 100000 --save-every 1 --out " + run,
              dir / "log");
  ASSERT_TRUE(wait_for_checkpoint(run, 1, 120)) << child.output();
  if (geteuid() != 0) {
    // Read-only: the next checkpoint cannot be written.
    ASSERT_EQ(::chmod(run.c_str(), 0555), 0);
  } else {
    // root writes into read-only folders: take the folder away and put a file where it was instead,
    // so that every write into it fails (ENOTDIR) as a read-only one would.
    fs::rename(run, moved);
    std::ofstream(run) << "not a folder";
  }
  const int code = child.wait_exit(120);
  expect_clean_error(code, child.output(), "cannot");
  const std::string kept = geteuid() != 0 ? run : moved;
  ::chmod(kept.c_str(), 0755);
  EXPECT_GE(load_last_checkpoint(kept).state.step, 1);
}

TEST(RunFaults, ADiskFullDuringAMetricsWriteEndsTheRunWithOneError) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 32);
  const std::string run = dir / "run";
  const auto first = testing::run_alexnet("train " + kModel + "--data " + (dir / "d.safetensors") + " --epochs 1 --out " + run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const int64_t step = load_last_checkpoint(run).state.step;
  // The file-size limit (what a full disk looks like to a writer) is 4 MiB, and metrics.jsonl is
  // already a few bytes short of it: the resumed run's first progress line cannot be written, while
  // its small files (config.json) still can. A checkpoint is written only after that line.
  const uintmax_t limit = 4096 * 1024;
  {
    std::ofstream pad(run + "/metrics.jsonl", std::ios::app);
    pad << std::string(size_t(limit - fs::file_size(run + "/metrics.jsonl") - 8), '\n');
  }
  const auto r = testing::run_command("ulimit -f 4096; " + std::string(ALEXNET_BINARY) + " train --resume " + run +
                                      " --epochs 2");
  expect_clean_error(r.exit_code, r.output, "metrics.jsonl: cannot write");
  // The step that completed before the failed write is not lost: the error is a checkpoint.
  EXPECT_NE(r.output.find(cat("the run stopped on an error after step ", step + 1, "; a checkpoint of that step is saved")),
            std::string::npos) << r.output;
  const ResumePoint p = load_last_checkpoint(run);
  EXPECT_EQ(p.state.step, step + 1);
}

// What a run directory holds is read back on --resume: a config or step out of range is one error.
TEST(RunDirectory, StoredConfigValuesOutOfRangeAreErrors) {
  for (const char* bad : {R"({"print_freq": 0})", R"({"batch_size": 1e30})", R"({"batch_size": 2.5})",
                          R"({"workers": -1})", R"({"lr": -0.1})", R"({"augment": "zoom"})", R"({"seed": -4})",
                          R"({"milestones": [3, -1]})", R"({"model": 7})", R"([1, 2])", "not json"}) {
    EXPECT_THROW(TrainConfig::from_json(bad), Error) << bad;
  }
  const TrainConfig ok = TrainConfig::from_json(TrainConfig{}.to_json());
  EXPECT_EQ(ok.to_json(), TrainConfig{}.to_json());
}

// Rewrites the metadata of a run's last.safetensors.
void edit_metadata(const std::string& run, const std::string& key, const std::string& value) {
  TensorFile f = read_safetensors(run + "/last.safetensors");
  f.metadata[key] = value;
  write_safetensors(run + "/last.safetensors", f);
}

TEST(RunDirectory, ResumeFromADamagedCheckpointIsOneError) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 16);
  const std::string run = dir / "run";
  const auto first = testing::run_alexnet("train " + kModel + "--data " + (dir / "d.safetensors") + " --epochs 1 --out " + run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const fs::path keep = dir / "keep";
  fs::copy(run, keep);
  struct Case {
    const char* key;
    std::string value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"config", R"({"print_freq": 0})", "print_freq is 0"},  // was a division by zero (SIGFPE)
      {"config", R"({"batch_size": 1e30})", "batch_size"},
      {"step", "two", "not a step number"},                   // was std::stoll's own exception
      {"hidden", "65536", "has shape"},                       // claims a huge network: refused before allocating
      {"num_classes", "2000000000", "num_classes"},
  };
  for (const Case& c : cases) {
    fs::remove_all(run);
    fs::copy(keep, run);
    edit_metadata(run, c.key, c.value);
    const auto r = testing::run_alexnet("train --resume " + run + " --epochs 2");
    expect_clean_error(r.exit_code, r.output, c.message);
  }
}

// One writer at a time: a second training with the same --out, or a resume of a run that is still
// going, is refused naming the process; the lock dies with its process (kill -9 leaves none), and what
// the dead writer left half-written is removed.
TEST(RunDirectory, OneWriterAtATime) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 32);
  const std::string run = dir / "run", args = "train " + kModel + "--data " + (dir / "d.safetensors");
  Child first(args + " --epochs 100000 --save-every 1 --out " + run, dir / "log");
  ASSERT_TRUE(wait_for_checkpoint(run, 1, 120)) << first.output();
  const std::string holder = cat("is being written by process ", first.pid, " on ");
  const auto second = testing::run_alexnet(args + " --epochs 1 --out " + run);
  expect_clean_error(second.exit_code, second.output, holder);
  const auto resume = testing::run_alexnet("train --resume " + run);
  expect_clean_error(resume.exit_code, resume.output, holder);
  kill(first.pid, SIGKILL);
  first.wait_exit(60);
  std::ofstream(run + "/last.safetensors.tmp.4194999") << "half a file";
  const int64_t step = load_last_checkpoint(run).state.step;
  const auto after = testing::run_alexnet("train --resume " + run + " --steps " + std::to_string(step + 1));
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_FALSE(fs::exists(run + "/last.safetensors.tmp.4194999"));
  EXPECT_EQ(load_last_checkpoint(run).state.step, step + 1);
}

// --resume keeps what the run was: a setting that may change is applied and said; any other one given
// with another value is refused naming the flag and both values, and so is data of other classes.
TEST(RunDirectory, ResumeRefusesContradictingFlagsAndSaysWhatChanges) {
  TempDir dir;
  write_image_folder(dir / "images", 8);
  const std::string run = dir / "run";
  const auto first = testing::run_alexnet("train " + kModel + "--data " + (dir / "images") + " --epochs 1 --out " + run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const int64_t epoch = load_last_checkpoint(run).state.step;
  const std::string resume = "train --resume " + run + " ";
  struct Case {
    std::string flags, message;
  };
  const std::vector<Case> refused = {
      {"--lr 0.5", "--lr 0.5 contradicts the run being resumed, which has 0.01"},
      {"--seed 3", "--seed 3 contradicts the run being resumed, which has 0"},
      {"--model seed", "--model \"seed\" contradicts the run being resumed, which has \"cifar\""},
      {"--no-shuffle", "--shuffle false contradicts the run being resumed, which has true"},
      {"--out " + (dir / "elsewhere"), "a resumed run writes in its own directory"},
  };
  for (const Case& c : refused) {
    const auto r = testing::run_alexnet(resume + c.flags + " --epochs 2");
    expect_clean_error(r.exit_code, r.output, c.message);
    EXPECT_EQ(load_last_checkpoint(run).state.step, epoch) << c.flags << ": the run went on";
  }
  // Other class names (the same count): refused, with the way to fine-tune instead.
  fs::create_directories(dir / "other");
  fs::rename(dir / "images/c0", dir / "other/x0");
  fs::rename(dir / "images/c1", dir / "other/x1");
  const auto other = testing::run_alexnet(resume + "--data " + (dir / "other") + " --epochs 2");
  expect_clean_error(other.exit_code, other.output, "the data's classes (x0, x1 (2 classes)) are not the run's (c0, c1");
  EXPECT_NE(other.output.find("--init"), std::string::npos) << other.output;
  // The same values, and settings that may change: applied and said.
  const auto ok = testing::run_alexnet(resume + "--data " + (dir / "other") + " --lr 0.01 --epochs 2 -p 2");
  expect_clean_error(ok.exit_code, ok.output, "are not the run's");  // still other classes
  fs::rename(dir / "other/x0", dir / "images/c0");
  fs::rename(dir / "other/x1", dir / "images/c1");
  const auto go = testing::run_alexnet(resume + "--lr 0.01 --epochs 2 -p 2");
  ASSERT_EQ(go.exit_code, 0) << go.output;
  EXPECT_NE(go.output.find("resume: --epochs changed from 1 to 2"), std::string::npos) << go.output;
  EXPECT_NE(go.output.find("resume: --print-freq changed from 1 to 2"), std::string::npos) << go.output;
  EXPECT_EQ(go.output.find("--lr changed"), std::string::npos) << go.output;
  EXPECT_EQ(load_last_checkpoint(run).state.step, 2 * epoch);
}

// Flipped bytes in a checkpoint or a state file, and a state file from another run, are one error
// naming the file, for --resume and eval alike.
TEST(RunDirectory, CorruptOrForeignFilesAreRefused) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 32);
  const std::string args = "train " + kModel + "--data " + (dir / "d.safetensors") + " --epochs 1 --out ";
  ASSERT_EQ(testing::run_alexnet(args + (dir / "a")).exit_code, 0);
  ASSERT_EQ(testing::run_alexnet(args + (dir / "b") + " --seed 7").exit_code, 0);
  const std::string last = dir / "a/last.safetensors", state = dir / "a/state-4.safetensors";
  for (const std::string& file : {last, state}) {
    const std::string keep = file + ".keep";
    fs::copy_file(file, keep);
    {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(-8, std::ios::end);
      char bytes[8];
      f.read(bytes, 8);
      for (char& b : bytes) b = char(b ^ 0x5a);
      f.seekp(-8, std::ios::end);
      f.write(bytes, 8);
    }
    const auto r = testing::run_alexnet("train --resume " + (dir / "a") + " --epochs 2");
    expect_clean_error(r.exit_code, r.output, file + ": the contents do not match the file's checksum");
    if (file == last) {
      const auto e = testing::run_alexnet("eval --checkpoint " + last + " --data " + (dir / "d.safetensors"));
      expect_clean_error(e.exit_code, e.output, "the contents do not match the file's checksum");
    }
    fs::rename(keep, file);
  }
  fs::copy_file(dir / "b/state-4.safetensors", state, fs::copy_options::overwrite_existing);
  const auto r = testing::run_alexnet("train --resume " + (dir / "a") + " --epochs 2");
  expect_clean_error(r.exit_code, r.output, state + ": the optimiser state of another run");
}

// An epoch interrupted (SIGINT) and resumed reports the training loss of the whole epoch: its running
// sums are in the checkpoint. With a progress record every step (-p 1), metrics.jsonl holds each
// step's loss, from both processes; the epoch's figure must be their mean over all 200 steps.
TEST(RunDirectory, AResumedEpochReportsTheFiguresOfTheWholeEpoch) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 400);
  const std::string cut = dir / "cut";
  const std::string args = "train --model cifar --width 0.25 --augment seed --batch-size 2 --lr 0.01 --val-split 0 -p 1 "
                           "--no-report --epochs 1 --data " + (dir / "d.safetensors") + " --out " + cut;
  Child child(args, dir / "log");
  // The event: a few progress records written; then the signal, which finishes the step and saves.
  for (int i = 0; i < 1200; ++i) {
    std::ifstream m(cut + "/metrics.jsonl");
    const std::string text((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>());
    if (std::count(text.begin(), text.end(), '\n') >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(child.pid, SIGINT);
  ASSERT_EQ(child.wait_exit(120), 130) << child.output();
  const int64_t stopped = load_last_checkpoint(cut).state.step;
  ASSERT_LT(stopped, 200) << "the epoch ended before the signal";
  const auto resumed = testing::run_alexnet("train --resume " + cut);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const report::RunMetrics m = report::read_metrics(cut + "/metrics.jsonl");  // the last record of a step wins
  ASSERT_EQ(m.steps.size(), 200u);
  double sum = 0;
  for (const report::StepRecord& r : m.steps) sum += r.loss;
  ASSERT_EQ(m.epochs.size(), 1u);
  EXPECT_NEAR(*m.epochs[0].get("train_loss"), sum / 200, 1e-6) << "interrupted after step " << stopped;
}

// A resume computes with the CPU threads the run was trained with (its config records them), so its
// steps are bitwise those of an uninterrupted run whatever the environment says; --threads changes it.
TEST(RunDirectory, AResumeTakesTheRunsThreadCount) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 32);
  const std::string args = "train " + kModel + "--precision fp32 --no-report --data " + (dir / "d.safetensors") + " --threads 2 --out ";
  ASSERT_EQ(testing::run_alexnet(args + (dir / "straight") + " --epochs 2").exit_code, 0);
  ASSERT_EQ(testing::run_alexnet(args + (dir / "cut") + " --epochs 1").exit_code, 0);
  const auto resumed = testing::run_command("OMP_NUM_THREADS=1 " + std::string(ALEXNET_BINARY) + " train --resume " +
                                            (dir / "cut") + " --epochs 2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resume: 2 CPU threads, as the run was trained"), std::string::npos) << resumed.output;
  auto tensors = [](const std::string& path) {
    std::vector<float> all;
    for (const auto& [name, t] : read_safetensors(path).tensors) all.insert(all.end(), t.data<float>(), t.data<float>() + t.numel());
    return all;
  };
  EXPECT_TRUE(tensors(dir / "straight/last.safetensors") == tensors(dir / "cut/last.safetensors"));
  const auto other = testing::run_alexnet("train --resume " + (dir / "cut") + " --epochs 3 --threads 1");
  ASSERT_EQ(other.exit_code, 0) << other.output;
  EXPECT_NE(other.output.find("resume: --threads changed from 2 to 1"), std::string::npos) << other.output;
}

// eval without --data (nor $ALEXNET_DATA or ./data) measures the run's own held-out part, and says so.
TEST(RunDirectory, EvalWithoutDataTakesTheRunsOwn) {
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 40);
  const std::string run = dir / "run";
  ASSERT_EQ(testing::run_alexnet("train --model cifar --width 0.25 --augment seed --batch-size 8 --val-split 0.25 "
                                 "--no-report --epochs 1 --data " + (dir / "d.safetensors") + " --out " + run).exit_code, 0);
  const auto r = testing::run_command("cd " + dir.str() + " && env -u ALEXNET_DATA " + ALEXNET_BINARY + " eval --checkpoint " +
                                      run + "/best.safetensors --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(testing::unwrapped(r.output).find("data: " + (dir / "d.safetensors") + ", the data " + run +
                                              "/best.safetensors was trained on"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"n\":10"), std::string::npos) << r.output;  // the validation quarter, as in training
}

}  // namespace
}  // namespace alexnet
