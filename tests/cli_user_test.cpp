// What a user meets at the command line: classes matched by name (never scored by position in
// silence), --json output that pipes (stdout holds JSON only), errors in words with PyTorch's
// spellings hinted, run directories accepted where a checkpoint is, recipes by name, progress lines
// that fit 100 columns, and image sizes said width x height.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/alexnet.h"
#include "core/rng.h"
#include "image/png.h"
#include "model/weights.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/progress.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::run_alexnet;
using testing::TempDir;

const std::vector<std::string> kCifar10 = {"airplane", "automobile", "bird", "cat", "deer",
                                           "dog", "frog", "horse", "ship", "truck"};

// stdout and stderr of one run of the program, apart.
struct SplitRun {
  int exit_code = -1;
  std::string out, err;
};

SplitRun run_split(const TempDir& dir, const std::string& args) {
  const std::string err_file = dir / "stderr.txt";
  SplitRun r;
  FILE* p = popen((std::string(ALEXNET_BINARY) + " " + args + " 2>" + err_file).c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_file);
  std::stringstream err;
  err << in.rdbuf();
  r.err = err.str();
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A `cifar` checkpoint (width 0.25) with these class names and an empty training config.
std::string write_checkpoint(const std::string& path, const std::vector<std::string>& classes) {
  ModelInfo info;
  info.variant = "cifar";
  info.options.num_classes = int(classes.size());
  info.options.width = 0.25;
  info.classes = classes;
  info.mean = {0.5f, 0.5f, 0.5f};
  info.std = {0.25f, 0.25f, 0.25f};
  info.eval_preset = "standard";
  info.small_images = true;
  const NetSpec spec = info.spec();
  const ParamTable table = make_param_table(spec);
  std::vector<float> params(table.total);
  init_params(spec, table, params, 5);
  fs::create_directories(fs::path(path).parent_path());
  save_weights_file(path, table, params, info, "{}", 1);
  return path;
}

// An ImageFolder with `per_class` random PNGs of width x height in a folder per class.
std::string write_folder(const std::string& root, const std::vector<std::string>& classes, int per_class = 2,
                         int width = 40, int height = 30) {
  Rng rng(3);
  for (const std::string& c : classes) {
    fs::create_directories(fs::path(root) / c);
    for (int i = 0; i < per_class; ++i) {
      Image im;
      im.width = width, im.height = height;
      im.pixels.resize(size_t(width) * height * 3);
      for (uint8_t& v : im.pixels) v = uint8_t(rng.uniform() * 256);
      write_png((fs::path(root) / c / ("img" + std::to_string(i) + ".png")).string(), im);
    }
  }
  return root;
}

// The one error line of a refused command (exit 1, "error: ..." as the last line, no crash).
std::string error_line(const SplitRun& r) {
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::vector<std::string> l = lines_of(r.err);
  EXPECT_FALSE(l.empty());
  if (l.empty()) return "";
  EXPECT_EQ(l.back().rfind("error: ", 0), 0u) << r.err;
  EXPECT_LT(l.back().size(), 400u) << l.back();
  return l.back();
}

// ------------------------------------------------------------------------------------------------
// Class identity

TEST(ClassIdentity, SameNamesInAnotherOrderAreMappedByName) {
  const std::vector<std::string> model = {"cat", "dog", "ship"};
  const ClassMatch m = match_classes(model, {"ship", "cat", "dog"}, false, "C");
  EXPECT_FALSE(m.by_position);
  EXPECT_EQ(m.to_model, (std::vector<int64_t>{2, 0, 1}));
  EXPECT_TRUE(has(m.note, "matched by name")) << m.note;
  // Equal lists: nothing to say.
  const ClassMatch same = match_classes(model, model, false, "C");
  EXPECT_TRUE(same.by_position);
  EXPECT_TRUE(same.note.empty());
}

TEST(ClassIdentity, SomeOfTheNamesAreMappedByName) {
  const ClassMatch m = match_classes(kCifar10, {"cat", "dog", "ship"}, false, "C");
  EXPECT_EQ(m.to_model, (std::vector<int64_t>{3, 5, 8}));
}

TEST(ClassIdentity, OtherNamesAreRefusedUnlessByPosition) {
  try {
    match_classes(kCifar10, {"apple", "banana"}, false, "C");
    FAIL() << "different names were accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part : {"apple", "banana", "airplane", "--by-position"}) EXPECT_TRUE(has(what, part)) << what;
  }
  const ClassMatch m = match_classes(kCifar10, {"apple", "banana"}, true, "C");
  EXPECT_TRUE(m.by_position);
  EXPECT_TRUE(has(m.note, "by position")) << m.note;
}

TEST(ClassIdentity, DataWithoutNamesIsScoredByPositionAndSaid) {
  const ClassMatch m = match_classes(kCifar10, {"0", "1", "2"}, false, "C");
  EXPECT_TRUE(m.by_position);
  EXPECT_TRUE(has(m.note, "no names")) << m.note;
}

TEST(ClassIdentity, ClassifierMatchesAgainstItsCheckpoint) {
  TempDir dir;
  Classifier clf = Classifier::load(write_checkpoint(dir / "c.safetensors", kCifar10), "cpu", "fp32", 2);
  EXPECT_EQ(clf.match_classes({"ship", "cat"}).to_model, (std::vector<int64_t>{8, 3}));
  EXPECT_THROW(clf.match_classes({"apple"}), Error);
}

TEST(ClassIdentity, EvalScoresAFolderOfSomeClassesByName) {
  TempDir dir;
  const std::string ckpt = write_checkpoint(dir / "c.safetensors", kCifar10);
  const std::string data = write_folder(dir / "photos", {"cat", "dog", "ship"});
  const SplitRun r = run_split(dir, "eval --device cpu --checkpoint " + ckpt + " --data " + data + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.err, "matched by name")) << r.err;
  // Described as what it is: not a part held out by a run that never saw it.
  EXPECT_FALSE(has(r.err, "held out") || has(r.err, "held-out")) << r.err;
  EXPECT_TRUE(has(r.err, "all of it")) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  std::map<std::string, int64_t> n;
  for (const auto& c : j["per_class"]) n[c["class"].get<std::string>()] = c["n"].get<int64_t>();
  EXPECT_EQ(n["cat"], 2);
  EXPECT_EQ(n["dog"], 2);
  EXPECT_EQ(n["ship"], 2);
  EXPECT_EQ(n["airplane"], 0);  // by position, the folder's first class would be counted here
}

TEST(ClassIdentity, EvalRefusesOtherNamesUnlessByPosition) {
  TempDir dir;
  const std::string ckpt = write_checkpoint(dir / "c.safetensors", kCifar10);
  const std::string data = write_folder(dir / "fruit", {"apple", "banana"});
  const std::string line = error_line(run_split(dir, "eval --device cpu --checkpoint " + ckpt + " --data " + data));
  for (const char* part : {"apple", "airplane", "--by-position"}) EXPECT_TRUE(has(line, part)) << line;
  const SplitRun r = run_split(dir, "eval --device cpu --by-position --checkpoint " + ckpt + " --data " + data);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "by position")) << r.err;
}

// ------------------------------------------------------------------------------------------------
// --json: stdout holds JSON only, one value per line

void expect_json_stdout(const SplitRun& r, const std::string& what) {
  ASSERT_EQ(r.exit_code, 0) << what << "\n" << r.err;
  const std::vector<std::string> l = lines_of(r.out);
  ASSERT_FALSE(l.empty()) << what << ": nothing on stdout";
  for (const std::string& line : l) {  // JSON Lines: each line one object
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(!j.is_discarded() && j.is_object()) << what << ": stdout line is not a JSON object: " << line;
  }
}

TEST(JsonStdout, EveryCommandWithJsonPrintsOnlyJsonOnStdout) {
  TempDir dir;
  const std::string ckpt = write_checkpoint(dir / "run/best.safetensors", kCifar10);
  const std::string data = write_folder(dir / "photos", {"cat", "ship"}, 1, 32, 32);
  const std::string photo = data + "/cat/img0.png";
  for (const std::string& args :
       {std::string("info --json"), std::string("info --model cifar --json"), "info --data " + data + " --json",
        std::string("bench --device cpu --model cifar --width 0.25 -b 2 --steps 1 --warmup 0 --json"),
        std::string("bench --device cpu --model cifar --width 0.25 -b 2 --steps 1 --warmup 0 --per-layer --json"),
        std::string("bench --device cpu --matmul 8 --steps 1 --warmup 0 --json"),
        "bench --loader-only -b 2 --data " + data + " --seconds 0.1 --json",
        "eval --device cpu --checkpoint " + ckpt + " --data " + data + " --json",
        "predict --device cpu --checkpoint " + ckpt + " --json " + photo + " " + photo})
    expect_json_stdout(run_split(dir, args), args);
}

// ------------------------------------------------------------------------------------------------
// Messages

TEST(Messages, NumbersAndRangesInWords) {
  TempDir dir;
  std::string line = error_line(run_split(dir, "train --lr abc"));
  EXPECT_TRUE(has(line, "--lr: 'abc' is not a number")) << line;
  line = error_line(run_split(dir, "train --epochs 0"));
  EXPECT_TRUE(has(line, "--epochs: must be at least 1, not 0")) << line;
  line = error_line(run_split(dir, "train --epochs 1.5"));
  EXPECT_TRUE(has(line, "'1.5' is not a whole number")) << line;
  line = error_line(run_split(dir, "train --momentum 2"));
  EXPECT_TRUE(has(line, "--momentum: must be from 0 to 1, not 2")) << line;
  line = error_line(run_split(dir, "bench --width 20"));
  EXPECT_TRUE(has(line, "--width: must be from 0.001 to 16, not 20")) << line;
  line = error_line(run_split(dir, "train --lr 0"));
  EXPECT_TRUE(has(line, "--lr: must be more than 0, not 0")) << line;
  line = error_line(run_split(dir, "eval --checkpoint x --tta twice"));
  EXPECT_TRUE(has(line, "'twice' is not one of none, flip or 10crop")) << line;
}

TEST(Messages, PyTorchSpellings) {
  TempDir dir;
  // -a/--arch is --model, and `-a alexnet` (pytorch/examples') is torchvision's.
  SplitRun r = run_split(dir, "info -a alexnet --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["variant"], "torchvision");
  EXPECT_TRUE(has(r.err, "--model torchvision")) << r.err;
  r = run_split(dir, "train --arch cifar --data " + (dir / "missing"));
  EXPECT_FALSE(has(r.err, "arch")) << r.err;  // refused for the data, not for the flag
  for (const auto& [args, hint] : std::vector<std::pair<std::string, std::string>>{
           {"train --learning-rate 0.1", "did you mean --lr?"},
           {"train --batch_size 8", "did you mean -b/--batch-size?"},
           {"train --num-workers 4", "did you mean -j/--workers?"},
           {"train --warmup_epochs 2", "did you mean --warmup-epochs?"},
           {"eval --checkpoint x --batch_size 8", "did you mean -b/--batch-size?"}}) {
    const std::string line = error_line(run_split(dir, args));
    EXPECT_TRUE(has(line, hint)) << args << ": " << line;
  }
}

TEST(Messages, CheckpointMayBeARunDirectory) {
  TempDir dir;
  const std::string run = dir / "run";
  const std::string data = write_folder(dir / "photos", {"cat"}, 1, 32, 32);
  write_checkpoint(run + "/last.safetensors", kCifar10);
  SplitRun r = run_split(dir, "predict --device cpu --checkpoint " + run + " " + data + "/cat/img0.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "last.safetensors (the run's last")) << r.err;
  write_checkpoint(run + "/best.safetensors", kCifar10);
  r = run_split(dir, "eval --device cpu --checkpoint " + run + " --data " + data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "best.safetensors (the run's best")) << r.err;
  const std::string line = error_line(run_split(dir, "eval --device cpu --checkpoint " + (dir / "photos") + " --data " + data));
  EXPECT_TRUE(has(line, "not a run directory")) << line;
}

TEST(Messages, ResumeTakesACheckpointFileOfARun) {
  TempDir dir;
  const std::string data = dir / "toy.safetensors";
  testing::write_toy_dataset(data, 32);
  const std::string run = dir / "run";
  const std::string common = " --device cpu --model cifar --width 0.25 -b 16 --data " + data + " --no-report";
  SplitRun r = run_split(dir, "train" + common + " --steps 1 --out " + run);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_split(dir, "train --device cpu --resume " + run + "/last.safetensors --steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.err, "resuming the run in " + run)) << r.err;
}

TEST(Messages, NoNvidiaDriverIsSaidSo) {
  TempDir dir;
  const SplitRun r = run_split(dir, "info");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (!has(r.out, "CUDA backend: compiled in")) GTEST_SKIP() << "this build has no CUDA backend";
  if (fs::exists("/proc/driver/nvidia/version") || fs::exists("/dev/nvidiactl"))
    GTEST_SKIP() << "this machine has an NVIDIA driver";
  EXPECT_TRUE(has(r.out + r.err, "no NVIDIA driver found")) << r.out << r.err;
  EXPECT_FALSE(has(r.out + r.err, "insufficient")) << r.out << r.err;
}

// ------------------------------------------------------------------------------------------------
// Recipes

TEST(Recipes, EveryRecipeIsRowsOfTheTableWithValidValues) {
  for (const Recipe& recipe : train_recipes()) {
    TrainConfig c;
    for (const auto& [key, value] : recipe.settings) set_field(train_config_field(key), c, value);
    EXPECT_NO_THROW(c.validate()) << recipe.name;
  }
  TrainConfig c;
  for (const auto& [key, value] : train_recipe("cifar-fast").settings) set_field(train_config_field(key), c, value);
  EXPECT_EQ(c.model, "cifar");
  EXPECT_TRUE(c.nesterov);
  EXPECT_FLOAT_EQ(c.label_smoothing, 0.2f);
  EXPECT_THROW(train_recipe("fast"), Error);
}

TEST(Recipes, HelpListsThemAndFlagsBesideARecipeWin) {
  TempDir dir;
  const testing::RunResult help = run_alexnet("train --help");
  for (const Recipe& recipe : train_recipes()) EXPECT_TRUE(has(help.output, recipe.name)) << help.output;
  const std::string data = dir / "toy.safetensors";
  testing::write_toy_dataset(data, 32);
  const SplitRun r = run_split(dir, "train --recipe cifar-fast --lr 0.01 --width 0.25 --steps 1 --device cpu --no-report "
                                    "--data " + data + " --out " + (dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.err, "recipe cifar-fast: --model cifar")) << r.err;
  EXPECT_TRUE(has(r.err, "given beside it: --lr")) << r.err;
  std::ifstream in(dir / "run/config.json");
  const nlohmann::json config = nlohmann::json::parse(in);
  EXPECT_EQ(config["model"], "cifar");
  EXPECT_EQ(config["nesterov"], true);
  EXPECT_NEAR(config["label_smoothing"].get<double>(), 0.2, 1e-6);
  EXPECT_NEAR(config["lr"].get<double>(), 0.01, 1e-6);  // the flag beside the recipe wins
  EXPECT_EQ(config["schedule"], "onecycle");
}

// ------------------------------------------------------------------------------------------------
// Terminal

TEST(Terminal, ProgressLinesFitOneHundredColumns) {
  ProgressFigures f;
  f.epoch = 998, f.step_in_epoch = 99998, f.done_in_epoch = 99999, f.steps_per_epoch = 99999;
  f.loss = 9.8765, f.mean_loss = 9.8765, f.lr = 1.23456e-5, f.img_s = 99999.4, f.wait_share = 1;
  f.eta_seconds = 99 * 3600 + 59 * 60;
  const std::string line = format_step_line(f), bar = format_progress_bar(f);
  EXPECT_LE(line.size(), 100u) << line;
  EXPECT_LE(bar.size(), 100u) << bar;
  EXPECT_TRUE(has(line, "Epoch [999], Step [99998], Loss: 9.8765")) << line;
  EXPECT_TRUE(has(line, "lr 1.23e-5 |")) << line;
  for (const char* part : {"img/s", "ETA 99h59m"}) {
    EXPECT_TRUE(has(line, part)) << line;
    EXPECT_TRUE(has(bar, part)) << bar;
  }
}

TEST(Terminal, TrainingOutputFitsOneHundredColumns) {
  TempDir dir;
  const std::string data = dir / "toy.safetensors";
  testing::write_toy_dataset(data, 32);
  const SplitRun r = run_split(dir, "train --recipe cifar-fast --width 0.25 --steps 2 -p 1 --device cpu --no-report "
                                    "--data " + data + " --out " + (dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Every line: the progress (src/train/progress.cpp), the run's plan and notes (train/plan.cpp,
  // RunConsole), the command line's notes (device, precision, recipe).
  int checked = 0;
  for (const std::string& line : lines_of(r.out + r.err)) {
    EXPECT_LE(line.size(), 100u) << line;
    ++checked;
  }
  EXPECT_GE(checked, 10) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("\ndata: "), std::string::npos) << r.err;  // the plan was printed
}

TEST(Terminal, HelpFitsOneHundredColumns) {
  for (const char* command : {"", "train", "eval", "predict", "bench", "info", "filters", "export"}) {
    const testing::RunResult r = run_alexnet(std::string(command) + " --help");
    ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.output;
    for (const std::string& line : lines_of(r.output)) EXPECT_LE(line.size(), 100u) << command << ": " << line;
  }
}

TEST(Terminal, ImageSizesAreWidthByHeight) {
  TempDir dir;
  const std::string data = write_folder(dir / "photos", {"cat", "ship"}, 1, 40, 30);
  const SplitRun info = run_split(dir, "info --data " + data);
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_TRUE(has(info.out, "image sizes (width x height, sample): 40x30")) << info.out;
  const std::string ckpt = write_checkpoint(dir / "c.safetensors", kCifar10);
  const SplitRun eval = run_split(dir, "eval --device cpu --checkpoint " + ckpt + " --data " + data);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_TRUE(has(eval.err, "images 40x30 (width x height")) << eval.err;
}

}  // namespace
}  // namespace alexnet
