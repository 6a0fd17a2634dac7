// TensorBoard event files: the TFRecord framing (CRC-32C), and a run's events read back by the
// `tensorboard` package (tools/check_tensorboard.py), every scalar equal to metrics.jsonl, also
// across a resumed run that logs some steps again.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/atomic_file.h"
#include "core/crc32c.h"
#include "report/metrics.h"
#include "report/tensorboard.h"
#include "test_cli_util.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using report::mask_crc32c;
using testing::run_alexnet;
using testing::run_command;
using testing::TempDir;

uint32_t crc_of(const std::string& s) { return crc32c(s.data(), s.size()); }

uint32_t read_u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(s[at + i]);
  return v;
}

TEST(TensorBoard, Crc32cOfKnownStrings) {
  EXPECT_EQ(crc_of(""), 0u);
  EXPECT_EQ(crc_of("a"), 0xC1D04330u);
  EXPECT_EQ(crc_of("123456789"), 0xE3069283u);  // the check value of CRC-32C
  // RFC 3720 (iSCSI), appendix B.4: 32 bytes of zeros, of ones, ascending.
  EXPECT_EQ(crc_of(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc_of(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(char(i));
  EXPECT_EQ(crc_of(ascending), 0x46DD794Eu);
}

TEST(TensorBoard, MaskIsTfRecords) {
  // ((crc >> 15) | (crc << 17)) + 0xA282EAD8, modulo 2^32
  EXPECT_EQ(mask_crc32c(0), 0xA282EAD8u);
  EXPECT_EQ(mask_crc32c(0xE3069283u), uint32_t(((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xA282EAD8u));
  // tensorboard's own masked_crc32c(b"123456789") (tensorflow_stub/pywrap_tensorflow.py)
  EXPECT_EQ(mask_crc32c(0xE3069283u), 0xC78AB0E5u);
}

TEST(TensorBoard, RecordFraming) {
  const std::string data = "123456789";
  const std::string r = report::tfrecord(data);
  ASSERT_EQ(r.size(), 8 + 4 + data.size() + 4);
  const std::string length = r.substr(0, 8);
  EXPECT_EQ(length, std::string("\x09\0\0\0\0\0\0\0", 8));  // little-endian 9
  EXPECT_EQ(read_u32(r, 8), mask_crc32c(crc_of(length)));
  EXPECT_EQ(r.substr(12, data.size()), data);
  EXPECT_EQ(read_u32(r, 12 + data.size()), mask_crc32c(0xE3069283u));
  EXPECT_EQ(report::tfrecord("").size(), 16u);
}

// The Python that imports tensorboard, or "" (with the reason in `why`).
const std::string& tensorboard_python(std::string* why) {
  static std::string reason;
  static const std::string python = testing::python_with("tensorboard.backend.event_processing.event_accumulator", &reason);
  *why = reason;
  return python;
}

#define SKIP_UNLESS_TENSORBOARD(python)                                                             \
  std::string python;                                                                               \
  do {                                                                                              \
    if (!report::tensorboard_built()) GTEST_SKIP() << "this build has no protobuf: no event files"; \
    std::string why;                                                                                \
    python = tensorboard_python(&why);                                                              \
    if (python.empty()) GTEST_SKIP() << why;                                                        \
  } while (0)

testing::RunResult check(const std::string& python, const std::string& run_dir, const std::string& args = "") {
  return run_command("'" + python + "' " ALEXNET_SOURCE_DIR "/tools/check_tensorboard.py '" + run_dir + "' " + args);
}

int events_files(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  return n;
}

// A run interrupted after step 300 and resumed from its checkpoint at step 200: the second attempt
// logs steps 201.. again with other numbers, and both readers keep the second attempt's.
TEST(TensorBoard, ScalarsEqualMetricsAcrossAnInterruptedRun) {
  SKIP_UNLESS_TENSORBOARD(python);
  TempDir dir;
  write_file_atomic(dir / "config.json", R"({"model":"cifar","lr":0.05,"augment":true,"milestones":[30,60]})");
  auto step = [](int64_t epoch, double s, double loss) {
    report::StepRecord r;
    r.epoch = epoch, r.step = s, r.loss = loss, r.lr = 0.05 * s / 400, r.img_s = 1000 + s / 3;
    r.data_wait_s = 0.01 * s, r.compute_s = 2.5;
    return r;
  };
  auto epoch = [](int64_t e, double s, double val_top1) {
    report::EpochRecord r;
    r.epoch = e;
    r.values = {{"step", s}, {"train_loss", 1.0 / e}, {"train_acc", 0.3}, {"val_top1", val_top1}, {"val_loss", 0.7}};
    return r;
  };
  {
    report::MetricsWriter w(dir.str());
    ASSERT_FALSE(w.tensorboard_path().empty());
    w.write(step(1, 1, 2.3));
    w.write(step(1, 101, 2.1));
    w.write(step(1, 200, 1.9));
    w.write(epoch(1, 200, 0.25));
    Tensor conv1(DType::F32, {8, 3, 5, 5});
    for (int64_t i = 0; i < conv1.numel(); ++i) conv1.data<float>()[i] = float(i % 7) - 3;
    EXPECT_TRUE(w.write_filters(200, conv1));
    EXPECT_FALSE(w.write_filters(200, Tensor(DType::F32, {8, 1, 5, 5}))) << "not [K, 3, R, S]: left out";
    w.write_confusion(200, {{5, 1}, {2, 4}}, {"cat", "dog"});
    w.write(step(2, 201, 1.7));
    report::StepRecord diverged = step(2, 250, std::numeric_limits<double>::infinity());  // null in the JSON
    w.write(diverged);
    w.write(step(2, 300, 1.6));
  }  // killed here; the last checkpoint was at step 200
  {
    report::MetricsWriter w(dir.str());
    w.write(step(2, 201, 1.75));
    w.write(step(2, 301, 1.55));
    w.write(step(2, 400, 1.5));
    w.write(epoch(2, 400, 0.5));
  }
  EXPECT_EQ(events_files(dir.str()), 2);
  const testing::RunResult r =
      check(python, dir.str(), "--expect-hparams --expect-image images/filters --expect-image images/confusion");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // train/loss: 1, 101, 200 from the first attempt, 201, 301, 400 from the second
  EXPECT_NE(r.output.find("train/loss: 6 values equal"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("epoch/val_top1: 2 values equal"), std::string::npos) << r.output;
}

// A real training run, then a resume for a second epoch: curves and pictures as TensorBoard shows them.
TEST(TensorBoard, TrainingRunAndResumeReadBackByTensorBoard) {
  SKIP_UNLESS_TENSORBOARD(python);
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors");
  const std::string args = "--model cifar --width 0.25 --augment none --batch-size 16 --print-freq 1 --val-split 0.25 "
                           "--data " + (dir / "d.safetensors") + " --no-report --out " + (dir / "run");
  auto first = run_alexnet("train " + args + " --epochs 1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = run_alexnet("train --resume " + (dir / "run") + " --epochs 2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(events_files(dir / "run"), 2);
  // the hparams are the settings the run started with (the dashboard shows a run's first); the resume changed epochs
  const testing::RunResult r = check(python, dir / "run", "--expect-hparams --hparams-may-differ epochs");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("train/lr: 6 values equal"), std::string::npos) << r.output;  // 36 images, 3 steps an epoch
  EXPECT_NE(r.output.find("epoch/val_top1: 2 values equal"), std::string::npos) << r.output;
}

TEST(TensorBoard, AnUnwritableDirectoryIsAnErrorNamingTheFile) {
  if (!report::tensorboard_built()) GTEST_SKIP() << "this build has no protobuf: no event files";
  try {
    report::TensorBoardWriter w("/nonexistent-dir");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/events.out.tfevents."), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace alexnet
