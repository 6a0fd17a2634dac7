// The run directory module (src/rundir): names, the small files, the one-writer lock and the clean-up.
#include "rundir/run_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "test_cli_util.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(RunDir, StateNamesAndTheirSteps) {
  EXPECT_EQ(rundir::state_name(1234), "state-1234.safetensors");
  EXPECT_EQ(rundir::state_step("state-1234.safetensors"), 1234);
  EXPECT_EQ(rundir::state_step("state-0.safetensors"), 0);
  for (const char* other : {"state-.safetensors", "state-12.safetensors.tmp.77", "state-1x.safetensors",
                            "last.safetensors", "state-12.json", "xstate-12.safetensors"})
    EXPECT_FALSE(rundir::state_step(other).has_value()) << other;
}

// A second writer is refused while the first holds the folder, naming it; the lock ends with its
// holder. (flock locks belong to the open file: two opens in one process conflict like two processes.)
TEST(RunDir, OneWriterAtATime) {
  TempDir dir;
  const std::string run = dir / "run";
  {
    const rundir::Writer first = rundir::Writer::open(run);
    try {
      rundir::Writer::open(run);
      ADD_FAILURE() << "a second writer opened " << run;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(cat(run, " is being written by process ", ::getpid(), " on ")), std::string::npos)
          << e.what();
    }
  }
  EXPECT_NO_THROW(rundir::Writer::open(run));  // released
  EXPECT_NO_THROW(rundir::check_no_writer(run));
  EXPECT_NO_THROW(rundir::check_no_writer(dir / "never-written"));
  const rundir::Writer holder = rundir::Writer::open(run);
  EXPECT_THROW(rundir::check_no_writer(run), Error);  // asked before a resume reads the checkpoint
}

TEST(RunDir, OpeningRemovesWhatDeadWritersLeft) {
  TempDir dir;
  const std::string run = dir / "run";
  fs::create_directories(run);
  for (const char* name : {"last.safetensors.tmp.123", "config.json.tmp.9", "state-5.safetensors", "state-7.safetensors",
                           "last.safetensors", "notes.tmp.txt", "mine.tmp.", "state-7.safetensors.tmp.4"})
    std::ofstream(run + "/" + name) << "x";
  { const rundir::Writer w = rundir::Writer::open(run, 7); }
  for (const char* gone : {"last.safetensors.tmp.123", "config.json.tmp.9", "state-5.safetensors", "state-7.safetensors.tmp.4"})
    EXPECT_FALSE(fs::exists(run + "/" + gone)) << gone;
  for (const char* kept : {"state-7.safetensors", "last.safetensors", "notes.tmp.txt", "mine.tmp."})
    EXPECT_TRUE(fs::exists(run + "/" + kept)) << kept;
  { const rundir::Writer w = rundir::Writer::open(run); }  // a new run: no checkpoint to keep a state for
  EXPECT_TRUE(fs::exists(run + "/state-7.safetensors"));
}

TEST(RunDir, ConfusionAndConfigRoundTrip) {
  TempDir dir;
  EXPECT_FALSE(rundir::read_confusion(dir.str()).has_value());
  EXPECT_FALSE(rundir::read_config(dir.str()).has_value());
  rundir::write_confusion(dir.str(), {{"cat", "dog"}, {{3, 1}, {0, 4}}});
  const auto c = rundir::read_confusion(dir.str());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(c->matrix, (std::vector<std::vector<int64_t>>{{3, 1}, {0, 4}}));
  rundir::write_config(dir.str(), R"({"lr":0.05})");
  EXPECT_EQ(rundir::read_config(dir.str()), std::optional<std::string>(R"({"lr":0.05})" "\n"));
  std::ofstream(dir / "confusion.json") << R"({"matrix": [[1, 2], [3]]})";
  EXPECT_THROW(rundir::read_confusion(dir.str()), Error);
  std::ofstream(dir / "confusion.json") << "{not json";
  EXPECT_THROW(rundir::read_confusion(dir.str()), Error);
}

}  // namespace
}  // namespace alexnet
