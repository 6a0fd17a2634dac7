// A randomised, seeded, time-bounded test of the `alexnet` program on data a user could give it.
//
// It builds small datasets of every format (CIFAR-10 binary as a folder and as a .tar.gz, ImageFolder
// as a folder, .tar and .tar.gz with train/val/test levels or none, safetensors tensor datasets F32
// and U8) with random image sizes (1 x 1 up to a few thousand pixels on one side), channel counts
// (gray, RGB and CMYK JPEGs; 1, 3 or 4 channel tensors), dtypes, label ranges, and corrupt, empty
// and non-image files among good ones, plus files that are no dataset at all. Then it runs `train`,
// `eval`, `predict`, `info` and `train --resume` on them with random models, input sizes, presets
// and batch sizes, and checks, for every run:
//   * exit 0, or exit 1 with a line starting "error:";
//   * no signal, no hang (each run has a time limit), no sanitizer report, no failed assertion;
//   * nothing written outside the run directory the command was given.
// Under the ASan + UBSan build (scripts/test.sh) every memory error it reaches fails the test.
//
// ALEXNET_RANDOM_SEED=N replays a run (the seed is printed first); ALEXNET_RANDOM_SECONDS=S bounds
// the time (default 10; scripts/test.sh gives it 90 under ASan); ALEXNET_RANDOM_VERBOSE=1 prints every command
// and its error line; ALEXNET_RANDOM_KEEP=DIR copies the datasets there when a run fails.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/rng.h"
#include "data/image_codec.h"
#include "tensor/safetensors.h"
#include "tar_writer.h"
#include "test_cli_util.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TempDir;
using Bytes = std::vector<uint8_t>;

// splitmix64 (core/rng.h): the same stream on every machine, so a seed replays exactly.
struct Random {
  SplitMix64 gen;
  uint64_t next() { return gen.next(); }
  int in(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }  // [lo, hi]
  bool chance(double p) { return double(next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[next() % v.size()]; }
  // 1 .. max, most often small: exp(U(0, ln max)).
  int side(int max) { return std::max(1, int(std::exp(double(next() >> 11) * 0x1.0p-53 * std::log(double(max))))); }
};

void save(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A picture of h x w with `components` channels (1 gray, 3 RGB, 4 CMYK).
Bytes pixels(Random& r, int h, int w, int components) {
  Bytes p(size_t(h) * size_t(w) * size_t(components));
  const uint8_t a = uint8_t(r.next()), b = uint8_t(r.next());
  for (size_t i = 0; i < p.size(); ++i) p[i] = uint8_t(a + i * b / 7);
  return p;
}

// A random image file: a JPEG (gray, RGB or CMYK) or a PNG, sometimes broken.
Bytes image_file(Random& r, int max_side) {
  int h = r.side(max_side), w = r.side(max_side);
  if (r.chance(0.5)) std::swap(h, w);
  while (int64_t(h) * w > 400000) (h > w ? h : w) /= 2;  // a few thousand on one side, not both
  Bytes bytes;
  if (r.chance(0.5)) {
    const int components = r.pick(std::vector<int>{1, 3, 3, 4});
    bytes = encode_jpeg(h, w, components, pixels(r, h, w, components).data(), r.in(20, 95));
  } else {
    Image im;
    im.height = h;
    im.width = w;
    im.pixels = pixels(r, h, w, 3);
    bytes = encode_png(im);
  }
  const int damage = r.in(0, 19);
  if (damage == 0) bytes.resize(bytes.size() / 2);                         // truncated
  if (damage == 1) bytes.clear();                                          // empty
  if (damage == 2) for (int i = 0; i < 8; ++i) bytes[r.next() % bytes.size()] ^= uint8_t(r.next());  // bit rot
  if (damage == 3) bytes = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'g'};
  return bytes;
}

Bytes cifar_batch(Random& r, int records, bool bad) {
  Bytes b;
  for (int i = 0; i < records; ++i) {
    b.push_back(uint8_t(r.in(0, 9)));
    for (int k = 0; k < 3072; ++k) b.push_back(uint8_t(r.next()));
  }
  if (bad && r.chance(0.5)) b.resize(b.size() - size_t(r.in(1, 100)));  // not whole records
  else if (bad && !b.empty()) b[0] = 200;                              // label out of range
  return b;
}

Bytes tar_of(const std::vector<std::pair<std::string, Bytes>>& members, bool gzip) {
  std::vector<testing::TarMember> m;
  for (const auto& [name, data] : members) m.push_back({name, data});
  return testing::tar_bytes(m, gzip);
}

struct Dataset {
  std::string path, kind;
};

// Writes one dataset under `dir` and says what it is.
Dataset make_dataset(Random& r, const fs::path& dir, int number) {
  fs::create_directories(dir);
  const std::string base = (dir / ("d" + std::to_string(number))).string();
  const int kind = r.in(0, 7);
  if (kind <= 1) {  // CIFAR-10 binary: folder or tar.gz
    const bool bad = r.chance(0.15);
    std::vector<std::pair<std::string, Bytes>> members;
    for (int b = 1; b <= 5; ++b)
      if (!r.chance(0.03)) members.push_back({"cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin", cifar_batch(r, r.in(1, 3), bad && b == 3)});
    members.push_back({"cifar-10-batches-bin/test_batch.bin", cifar_batch(r, r.in(0, 4), false)});
    if (kind == 0) {
      for (const auto& [name, bytes] : members) save(fs::path(base) / name, bytes);
      return {base, "cifar-folder"};
    }
    save(base + ".tar.gz", tar_of(members, true));
    return {base + ".tar.gz", "cifar-targz"};
  }
  if (kind <= 4) {  // ImageFolder: folder, tar or tar.gz, with or without split levels
    const std::vector<std::string> layouts[] = {{""}, {"train/"}, {"train/", "val/"}, {"train/", "test/"}, {"test/"}};
    const std::vector<std::string>& splits = layouts[r.in(0, 4)];
    const int classes = r.in(1, 4), max_side = r.pick(std::vector<int>{8, 64, 300, 3000});
    std::vector<std::pair<std::string, Bytes>> members;
    for (const std::string& split : splits)
      for (int c = 0; c < classes; ++c) {
        const int n = r.chance(0.05) ? 0 : r.in(1, 4);  // an empty class folder now and then
        for (int i = 0; i < n; ++i)
          members.push_back({"top/" + split + "class" + std::to_string(c) + "/" + std::to_string(i) + (r.chance(0.5) ? ".jpg" : ".PNG"),
                             image_file(r, max_side)});
        if (r.chance(0.1)) members.push_back({"top/" + split + "class" + std::to_string(c) + "/readme.txt", {'h', 'i'}});
        if (r.chance(0.1)) members.push_back({"top/" + split + "class" + std::to_string(c) + "/._0.jpg", {0, 1, 2}});
      }
    const std::string layout = splits[0].empty() ? "flat" : splits.size() == 1 ? splits[0].substr(0, splits[0].size() - 1) + "-only" : "split";
    if (kind == 2 || members.empty()) {
      fs::create_directories(base);
      for (const auto& [name, bytes] : members) save(fs::path(base) / name, bytes);
      return {base, "folder-" + layout};
    }
    const bool gzip = kind == 4;
    save(base + (gzip ? ".tar.gz" : ".tar"), tar_of(members, gzip));
    return {base + (gzip ? ".tar.gz" : ".tar"), std::string(gzip ? "targz-" : "tar-") + layout};
  }
  if (kind <= 6) {  // a tensor dataset
    const bool f32 = kind == 5;
    const int n = r.in(1, 6), h = r.side(f32 ? 256 : 2000), w = r.chance(0.7) ? h : r.side(64);
    const int channels = r.chance(0.85) ? 3 : r.pick(std::vector<int>{1, 4});
    const int64_t pixels_per = int64_t(h) * w;
    if (pixels_per * n > 2000000) return make_dataset(r, dir, number);  // keep files small
    Tensor images = f32 ? Tensor(DType::F32, {n, channels, h, w}) : Tensor(DType::U8, {n, h, w, channels});
    if (f32) {
      for (float& v : images.span<float>()) v = float(int(r.next() % 200) - 100) / 50.f;
    } else {
      for (uint8_t& v : images.span<uint8_t>()) v = uint8_t(r.next());
    }
    Tensor labels(DType::I64, {r.chance(0.05) ? n + 1 : n});
    const int classes = r.in(1, 5);
    for (int64_t& l : labels.span<int64_t>()) l = r.chance(0.03) ? -1 : r.in(0, classes - 1);
    TensorFile file;
    file.tensors.emplace("images", images);
    file.tensors.emplace("labels", labels);
    if (r.chance(0.3)) {
      std::string list = "[";
      for (int c = 0; c < classes; ++c) list += std::string(c ? "," : "") + "\"c" + std::to_string(c) + "\"";
      file.metadata["classes"] = list + "]";
    }
    const std::string path = base + ".safetensors";
    write_safetensors(path, file);
    if (r.chance(0.07)) fs::resize_file(path, fs::file_size(path) / 2);  // truncated
    return {path, std::string(f32 ? "f32" : "u8") + (channels == 3 ? "" : "-c" + std::to_string(channels))};
  }
  // Not a dataset: empty, text, random bytes.
  const std::string path = base + r.pick(std::vector<std::string>{".bin", ".tar.gz", ".safetensors", ""});
  Bytes junk(size_t(r.in(0, 3000)));
  for (uint8_t& b : junk) b = uint8_t(r.next());
  save(path, junk);
  return {path, "junk"};
}

// Every file under `root` (path, size, modification time), leaving out `skip` and what is below it.
std::map<std::string, std::pair<uintmax_t, int64_t>> snapshot(const fs::path& root, const std::set<std::string>& skip) {
  std::map<std::string, std::pair<uintmax_t, int64_t>> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; it != end; it.increment(ec)) {
    const std::string p = it->path().string();
    bool skipped = false;
    for (const std::string& s : skip) skipped = skipped || p == s || p.rfind(s + "/", 0) == 0;
    if (skipped) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    const bool file = it->is_regular_file(ec);
    const auto mtime = fs::last_write_time(it->path(), ec).time_since_epoch().count();
    out[p] = {file ? it->file_size(ec) : 0, int64_t(mtime)};
  }
  return out;
}

struct Runner {
  fs::path root;    // everything lives here; commands run in root/work
  std::string binary;
  bool verbose = false;
  std::string keep;  // ALEXNET_RANDOM_KEEP: where to copy the datasets when a run fails
  bool kept = false;
  int runs = 0, ok = 0, errors = 0;
  std::set<std::string> combinations;
  std::map<std::string, int> per_command;

  // Runs `alexnet ARGS` allowed to write only `run_dir` (may be empty: nowhere); checks the rules.
  bool run(const std::string& args, const std::string& run_dir, const std::string& key) {
    std::set<std::string> skip;
    if (!run_dir.empty()) skip.insert(run_dir);
    const auto before = snapshot(root, skip);
    const std::string command = "cd " + (root / "work").string() + " && ALEXNET_DATA= timeout -k 5 120 " + binary + " " + args;
    const testing::RunResult r = run_command(command);
    ++runs;
    const std::string what = "alexnet " + args + "\n--- output ---\n" + r.output.substr(0, 6000);
    EXPECT_NE(r.exit_code, 124) << "hang (no result in 120 s): " << what;
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "exit " << r.exit_code << ": " << what;
    if (r.exit_code == 1) {
      EXPECT_NE(r.output.find("error:"), std::string::npos) << "exit 1 without an error: line: " << what;
    }
    for (const char* bad : {"Sanitizer", "runtime error:", "internal error", "terminate called", "Segmentation", "Aborted"})
      EXPECT_EQ(r.output.find(bad), std::string::npos) << "'" << bad << "' in: " << what;
    const auto after = snapshot(root, skip);
    for (const auto& [path, info] : after)
      if (!before.count(path) || before.at(path) != info) ADD_FAILURE() << "wrote " << path << " outside " << run_dir << ": " << what;
    for (const auto& [path, info] : before)
      if (!after.count(path)) ADD_FAILURE() << "removed " << path << ": " << what;
    if (::testing::Test::HasFailure() && !keep.empty() && !kept) {  // keep the data to replay the failure
      kept = true;
      std::error_code ec;
      fs::copy(root / "data", keep, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
      std::printf("cli_random: data kept in %s\n", keep.c_str());
    }
    const bool success = r.exit_code == 0;
    if (verbose) {
      const size_t at = r.output.find("error:");
      std::printf("[%d] alexnet %s\n    %s\n", r.exit_code, args.c_str(),
                  at == std::string::npos ? "ok" : r.output.substr(at, r.output.find('\n', at) - at).c_str());
    }
    (success ? ok : errors)++;
    per_command[args.substr(0, args.find(' '))]++;
    combinations.insert(key + (success ? " ok" : " error"));
    return success;
  }
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

TEST(CliRandom, EveryRunEndsInAResultOrOneError) {
  const char* seed_env = std::getenv("ALEXNET_RANDOM_SEED");
  const uint64_t seed = seed_env && *seed_env
                            ? std::strtoull(seed_env, nullptr, 10)
                            : uint64_t(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000007ull;
  const int seconds = env_int("ALEXNET_RANDOM_SECONDS", 10);
  std::printf("cli_random: seed %llu (replay with ALEXNET_RANDOM_SEED=%llu), %d s\n", (unsigned long long)seed,
              (unsigned long long)seed, seconds);
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));
  Random r{seed};
  TempDir tmp;
  Runner runner;
  runner.root = tmp.path();
  runner.binary = ALEXNET_BINARY;
  runner.verbose = env_int("ALEXNET_RANDOM_VERBOSE", 0) != 0;
  if (const char* keep = std::getenv("ALEXNET_RANDOM_KEEP")) runner.keep = keep;
  fs::create_directories(tmp.path() / "work");
  const fs::path data = tmp.path() / "data";

  // A pool of datasets and loose images, grown as the test goes.
  std::vector<Dataset> sets;
  for (int i = 0; i < 8; ++i) sets.push_back(make_dataset(r, data, i));
  std::vector<std::string> images;
  for (int i = 0; i < 6; ++i) {
    images.push_back((data / ("img" + std::to_string(i) + (r.chance(0.5) ? ".jpg" : ".png"))).string());
    save(images.back(), image_file(r, r.pick(std::vector<int>{16, 300, 3000})));
  }
  std::vector<std::string> checkpoints;  // run directories that trained
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int number = 0;

  while (elapsed() < seconds) {
    if (r.chance(0.3)) sets.push_back(make_dataset(r, data, int(sets.size())));
    const Dataset& set = r.pick(sets);
    const std::string run = (tmp.path() / ("run" + std::to_string(number++))).string();
    const int what = r.in(0, 9);
    if (what <= 4 || checkpoints.empty()) {  // train
      const std::string model = r.pick(std::vector<std::string>{"cifar", "cifar", "cifar", "seed", "paper", "torchvision"});
      const bool small = model == "cifar";
      const int input = r.chance(0.4) ? 0 : small ? r.in(4, 48) : r.in(40, 96);
      const std::string augment = r.pick(std::vector<std::string>{"none", "seed", "standard", "paper"});
      const double width = small ? r.pick(std::vector<double>{0.1, 0.25}) : r.pick(std::vector<double>{0.03, 0.06});
      std::string args = "train --model " + model + " --width " + std::to_string(width) + " --input-size " +
                         std::to_string(input) + " --augment " + augment + " --data " + set.path + " --steps " +
                         std::to_string(r.in(1, 2)) + " --batch-size " + std::to_string(r.in(1, 5)) + " --val-split " +
                         r.pick(std::vector<std::string>{"0", "0.3", "-1"}) + " -j " + std::to_string(r.in(1, 2)) +
                         " --threads 1 --out " + run;
      if (r.chance(0.3)) args += " --resize-float";
      if (r.chance(0.2)) args += " --num-classes " + std::to_string(r.in(1, 12));
      if (r.chance(0.1)) args += " --precision bf16";
      const std::string key = "train " + model + (input ? " input" : " default") + " " + augment + " " + set.kind;
      if (runner.run(args, run, key)) checkpoints.push_back(run);
    } else if (what == 5) {  // eval
      std::string args = "eval --checkpoint " + r.pick(checkpoints) + "/" + r.pick(std::vector<std::string>{"last", "best"}) +
                         ".safetensors --data " + set.path + " --split " + r.pick(std::vector<std::string>{"auto", "auto", "train", "val", "test"}) +
                         " --batch-size " + std::to_string(r.in(1, 7)) + " -j " + std::to_string(r.in(1, 2)) + " --threads 1";
      if (r.chance(0.2)) args += " --tta 10crop";
      runner.run(args, "", "eval " + set.kind);
    } else if (what == 6) {  // predict pictures
      std::string args = "predict --threads 1 --checkpoint " + r.pick(checkpoints) + "/last.safetensors";
      for (int i = r.in(1, 3); i > 0; --i) args += " " + r.pick(images);
      runner.run(args, "", "predict images");
    } else if (what == 7) {  // info
      runner.run("info --data " + set.path, "", "info " + set.kind);
    } else {  // resume a run, its directory sometimes damaged
      const std::string from = r.pick(checkpoints);
      const std::string copy = run;
      fs::copy(from, copy, fs::copy_options::recursive);
      const int damage = r.in(0, 5);
      if (damage == 1 || damage == 4) {  // the training config or the step stored in the checkpoint
        TensorFile f = read_safetensors(copy + "/last.safetensors");
        if (damage == 1)
          f.metadata["config"] = r.pick(std::vector<std::string>{
              R"({"print_freq": 0})", R"({"batch_size": 1e30})", R"({"workers": 100000})", R"({"model": 7})",
              R"({"augment": "zoom"})", R"({"input_size": -5})", R"({"lr": 0})", "{", R"({"steps": -1})"});
        else
          f.metadata[r.chance(0.5) ? "step" : "num_classes"] = r.pick(std::vector<std::string>{"-1", "x", "99999999999", "1e9"});
        write_safetensors(copy + "/last.safetensors", f);
      }
      if (damage == 5) std::ofstream(copy + "/config.json") << "{\"model\": 7";  // written, never read back
      if (damage == 2) fs::resize_file(copy + "/last.safetensors", fs::file_size(copy + "/last.safetensors") / 3);
      if (damage == 3)
        for (const auto& e : fs::directory_iterator(copy))
          if (e.path().filename().string().rfind("state-", 0) == 0) fs::remove(e.path());
      runner.run("train --threads 1 --resume " + copy + " --steps " + std::to_string(r.in(2, 3)), copy,
                 "resume damage " + std::to_string(damage));
    }
  }
  std::printf("cli_random: seed %llu: %d runs (%d ok, %d clean errors) in %.0f s, %zu distinct combinations "
              "(command, model, input, preset, data kind, outcome); train %d, eval %d, predict %d, info %d\n",
              (unsigned long long)seed, runner.runs, runner.ok, runner.errors, elapsed(), runner.combinations.size(),
              runner.per_command["train"], runner.per_command["eval"], runner.per_command["predict"],
              runner.per_command["info"]);
  EXPECT_GT(runner.runs, 0);
}

}  // namespace
}  // namespace alexnet
