// What happens when a dataset's images differ from the model's input (docs/data-formats.md, "Images
// and the model's input"), and the readers' checks on what they read: image size limits, links and
// ".." paths in folders and tars, special files. Ends with the command line: the float-image
// overflow of a 224x224 dataset given to the 32x32 model, and info/eval on a test-only ImageFolder.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/image_codec.h"
#include "data/loader.h"
#include "data/readers.h"
#include "data/transforms.h"
#include "tensor/safetensors.h"
#include "test_cli_util.h"

namespace alexnet {
namespace {

namespace fs = std::filesystem;
using testing::run_alexnet;
using testing::TempDir;

Image picture(int h, int w, int seed) {
  Image im;
  im.height = h;
  im.width = w;
  im.pixels.resize(size_t(h) * size_t(w) * 3);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((i * 13 + size_t(seed) * 71) % 251);
  return im;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// F32 [n, 3, h, w], channel c of every image holding the value c + 1.
void write_float_dataset(const std::string& path, int n, int h, int w) {
  Tensor images(DType::F32, {n, 3, h, w});
  Tensor labels(DType::I64, {n});
  float* p = images.data<float>();
  for (int i = 0; i < n; ++i) {
    labels.data<int64_t>()[i] = i % 2;
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < h * w; ++k) *p++ = float(c + 1);
  }
  TensorFile f;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  write_safetensors(path, f);
}

void write_u8_dataset(const std::string& path, int n, int h, int w) {
  Tensor images(DType::U8, {n, h, w, 3});
  Tensor labels(DType::I64, {n});
  for (int64_t i = 0; i < images.numel(); ++i) images.data<uint8_t>()[i] = uint8_t(i * 7 % 256);
  for (int i = 0; i < n; ++i) labels.data<int64_t>()[i] = i % 3;
  TensorFile f;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  write_safetensors(path, f);
}

void write_cifar_folder(const std::string& dir, int records) {
  std::vector<uint8_t> batch;
  for (int r = 0; r < records; ++r) {
    batch.push_back(uint8_t(r % 10));
    for (int i = 0; i < 3072; ++i) batch.push_back(uint8_t(i * 3 + r));
  }
  write_bytes(dir + "/test_batch.bin", batch);
  for (int b = 1; b <= 5; ++b) write_bytes(dir + "/data_batch_" + std::to_string(b) + ".bin", batch);
}

// root/<class>/<n>.png, image i of size sizes[i % sizes.size()].
void write_image_folder(const std::string& root, const std::vector<std::array<int, 2>>& sizes, int per_class = 2) {
  int n = 0;
  for (const char* cls : {"a", "b"})
    for (int i = 0; i < per_class; ++i, ++n) {
      const auto [h, w] = sizes[size_t(n) % sizes.size()];
      write_bytes(root + "/" + cls + "/" + std::to_string(n) + ".png", encode_png(picture(h, w, n)));
    }
}

LoaderOptions options(const std::string& preset, int S) {
  LoaderOptions o;
  o.batch_size = 2;
  o.threads = 2;
  o.prefetch = 2;
  o.drop_last = false;
  o.transform.preset = preset;
  o.transform.input_size = S;
  o.pca_images = 4;
  o.warn = [](const std::string&) {};
  return o;
}

// Runs one epoch; returns the number of samples and checks every value is finite.
size_t one_epoch(Loader& loader, int S) {
  loader.start_epoch(0);
  size_t samples = 0;
  while (const Batch* b = loader.next()) {
    EXPECT_EQ(b->height, S);
    for (int64_t i = 0; i < b->size * 3 * S * S; ++i)
      if (!std::isfinite(b->images_f32[i])) {
        ADD_FAILURE() << "value " << i << " is " << b->images_f32[i];
        break;
      }
    samples += size_t(b->size);
  }
  return samples;
}

// The message of the alexnet::Error `f` throws (fails the test when it throws nothing).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

void expect_has(const std::string& text, const std::vector<std::string>& parts) {
  for (const std::string& p : parts) EXPECT_NE(text.find(p), std::string::npos) << "'" << p << "' not in: " << text;
}

// ---- the rule ---------------------------------------------------------------------------------

TEST(InputRule, FloatImagesOfAnotherSizeStopBeforeTheFirstBatchNamingFileAndShapes) {
  TempDir dir;
  const std::string path = dir / "big.safetensors";
  write_float_dataset(path, 8, 224, 224);
  const std::unique_ptr<Dataset> d = open_dataset(path, Split::Train);
  for (const char* preset : {"none", "seed", "standard", "paper"}) {
    const std::string message = error_of([&] { Loader loader(*d, options(preset, 32)); });
    expect_has(message, {path, "3x224x224", "3x32x32", "--resize-float"});
  }
  // A non-square float image too, and one smaller than the input.
  write_float_dataset(dir / "wide.safetensors", 2, 20, 40);
  const std::unique_ptr<Dataset> wide = open_dataset(dir / "wide.safetensors", Split::Train);
  expect_has(error_of([&] { Loader loader(*wide, options("seed", 32)); }), {"3x20x40", "3x32x32"});
}

TEST(InputRule, FloatImagesAreResizedWhenAskedAndCopiedExactlyWhenTheyFit) {
  TempDir dir;
  write_float_dataset(dir / "big.safetensors", 3, 224, 224);
  write_float_dataset(dir / "wide.safetensors", 3, 20, 41);
  write_float_dataset(dir / "fit.safetensors", 3, 32, 32);
  for (const char* name : {"big.safetensors", "wide.safetensors", "fit.safetensors"}) {
    const std::unique_ptr<Dataset> d = open_dataset(dir / name, Split::Train);
    LoaderOptions o = options("seed", 32);
    o.resize_float_images = std::string(name) != "fit.safetensors";
    Loader loader(*d, o);
    EXPECT_NE(loader.input_note().find(o.resize_float_images ? "resized to 3x32x32" : "used as given"), std::string::npos)
        << loader.input_note();
    loader.start_epoch(0);
    size_t n = 0;
    while (const Batch* b = loader.next()) {
      // Channel c is the constant c + 1: a resize keeps it (weights sum to 1), a copy too.
      for (int64_t i = 0; i < b->size; ++i)
        for (int c = 0; c < 3; ++c)
          for (int k = 0; k < 32 * 32; ++k)
            ASSERT_NEAR(b->images_f32[(size_t(i) * 3 + size_t(c)) * 1024 + size_t(k)], float(c + 1), 1e-5) << name;
      n += size_t(b->size);
    }
    EXPECT_EQ(n, 3u);
  }
}

TEST(InputRule, FloatImagesCannotMakeUint8Batches) {
  TempDir dir;
  write_float_dataset(dir / "f.safetensors", 2, 32, 32);
  const std::unique_ptr<Dataset> d = open_dataset(dir / "f.safetensors", Split::Train);
  LoaderOptions o = options("seed", 32);
  o.format = BatchFormat::U8_NHWC;
  expect_has(error_of([&] { Loader loader(*d, o); }), {"float images", "uint8"});
}

TEST(InputRule, EveryResizingPresetTakesByteImagesOfAnySizeFromEveryFormat) {
  TempDir dir;
  write_u8_dataset(dir / "u8.safetensors", 3, 50, 7);
  write_cifar_folder(dir / "cifar", 3);
  write_image_folder(dir / "folder", {{1, 1}, {3, 300}, {61, 2}, {24, 24}});
  for (const char* path : {"u8.safetensors", "cifar", "folder"}) {
    const std::unique_ptr<Dataset> d = open_dataset(dir / path, Split::Train);
    for (const char* preset : {"seed", "standard", "paper"})
      for (bool train : {true, false}) {
        LoaderOptions o = options(preset, 24);
        o.train = train;
        o.transform.small_images = std::string(path) == "cifar";
        Loader loader(*d, o);
        EXPECT_EQ(one_epoch(loader, 24), d->size()) << path << " " << preset;
      }
  }
}

TEST(InputRule, PresetNoneRefusesByteImagesOfAnotherSizeNamingTheFile) {
  TempDir dir;
  write_u8_dataset(dir / "u8.safetensors", 3, 50, 50);
  write_cifar_folder(dir / "cifar", 2);
  for (const char* path : {"u8.safetensors", "cifar"}) {
    const std::unique_ptr<Dataset> d = open_dataset(dir / path, Split::Train);
    const std::string message = error_of([&] { Loader loader(*d, options("none", 24)); });
    expect_has(message, {"x", "24x24", "--augment none does not resize"});
  }
  // The first image fits, a later one does not: it stops the epoch with its own name.
  write_image_folder(dir / "mixed", {{24, 24}, {24, 24}, {24, 24}, {30, 24}});
  const std::unique_ptr<Dataset> d = open_dataset(dir / "mixed", Split::Train);
  Loader loader(*d, options("none", 24));
  const std::string message = error_of([&] {
    loader.start_epoch(0);
    while (loader.next()) {
    }
  });
  expect_has(message, {"3.png", "24x30", "24x24"});  // height 30, width 24: said width x height
  // Images of the right size go through unchanged in shape.
  const std::unique_ptr<Dataset> fit = open_dataset(dir / "cifar", Split::Train);
  Loader ok(*fit, options("none", 32));
  EXPECT_EQ(one_epoch(ok, 32), fit->size());
}

TEST(InputRule, ImagesTooElongatedToResizeAreSkippedAsCorrupt) {
  TempDir dir;
  // 1 x 3000 with its shorter side brought to 512: 1,536,000 pixels long, above kMaxResizedSide.
  write_image_folder(dir / "f", {{24, 24}, {1, 3000}});
  const std::unique_ptr<Dataset> d = open_dataset(dir / "f", Split::Train);
  Loader loader(*d, options("seed", 512));
  loader.start_epoch(0);
  while (loader.next()) {
  }
  EXPECT_EQ(loader.stats().corrupt_indices.size(), 2u);  // the two 1 x 3000 images
}

// Found by cli_random_test: the per-thread cache of resize tables could evict the rows' table while
// looking up the columns' one (rows found in the slot due for eviction, columns new), leaving the
// rows' table replaced by one for another size: an assertion, or a resize reading the wrong table.
TEST(InputRule, ResizeTableCacheNeverEvictsATableInUse) {
  const int S = 24;
  TransformConfig config;
  config.preset = "seed";
  config.input_size = S;
  const Pipeline pipeline(config, false);
  auto resized = [&](const Image& im) {
    std::vector<float> out(3 * S * S);
    SampleRng rng(1, 0, 0);
    pipeline.to_float(im, rng, out.data());
    return out;
  };
  // Sixteen square sizes fill the cache (one table each, rows and columns alike) and bring the
  // eviction back to the first slot, which holds the table of 1 -> 24 ...
  for (int k = 1; k <= 16; ++k) resized(picture(k, k, k));
  // ... which a 1 x 17 image finds for its rows while its columns need a new table.
  const Image strip = picture(1, 17, 3);
  const std::vector<float> got = resized(strip);
  std::vector<float> fresh;
  std::thread([&] { fresh = resized(strip); }).join();  // a new thread starts with an empty cache
  EXPECT_EQ(got, fresh);
}

// ---- the readers' checks ------------------------------------------------------------------------

// Sets the 4-byte big-endian value at `at`.
void put_be32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (24 - 8 * i));
}

uint32_t crc32_of(const uint8_t* data, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A PNG whose header claims h x w (the pixel data is that of a 4 x 4 image).
std::vector<uint8_t> png_claiming(uint32_t h, uint32_t w) {
  std::vector<uint8_t> png = encode_png(picture(4, 4, 0));
  put_be32(png, 16, w);  // IHDR: length(4) type(4) at 8, width at 16, height at 20
  put_be32(png, 20, h);
  put_be32(png, 29, crc32_of(png.data() + 12, 17));
  return png;
}

// A JPEG whose frame header claims h x w.
std::vector<uint8_t> jpeg_claiming(uint16_t h, uint16_t w) {
  std::vector<uint8_t> jpg = encode_jpeg(picture(8, 8, 0), 90);
  for (size_t i = 2; i + 8 < jpg.size(); ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {  // SOF0: FF C0, length(2), precision(1), height(2), width(2)
      jpg[i + 5] = uint8_t(h >> 8), jpg[i + 6] = uint8_t(h);
      jpg[i + 7] = uint8_t(w >> 8), jpg[i + 8] = uint8_t(w);
      return jpg;
    }
  ADD_FAILURE() << "no SOF0 marker";
  return jpg;
}

TEST(ReaderChecks, HeadersClaimingHugeImagesAreRefusedBeforeDecoding) {
  for (const auto& bytes : {png_claiming(60000, 60000), jpeg_claiming(60000, 60000)}) {
    try {
      decode_image(bytes.data(), bytes.size(), "huge");
      ADD_FAILURE() << "decoded";
    } catch (const CorruptSample& e) {
      expect_has(e.what(), {"huge", "60000x60000", "67108864 pixels accepted", "--max-image-pixels"});
    }
  }
  // A raised limit lets the header through; the file then fails as the truncated image it is.
  set_max_image_pixels(int64_t(60000) * 60000);
  for (const auto& bytes : {png_claiming(60000, 60000), jpeg_claiming(60000, 60000)}) {
    try {
      decode_image(bytes.data(), bytes.size(), "huge");
      ADD_FAILURE() << "decoded";
    } catch (const CorruptSample& e) {
      EXPECT_EQ(std::string(e.what()).find("pixels accepted"), std::string::npos) << e.what();
    }
  }
  set_max_image_pixels(kMaxImagePixels);
  EXPECT_EQ(max_image_pixels(), kMaxImagePixels);
}

TEST(ReaderChecks, TensorImagesAboveTheLimitAreRefused) {
  TempDir dir;
  write_u8_dataset(dir / "d.safetensors", 1, 64, 64);
  set_max_image_pixels(64 * 63);
  expect_has(error_of([&] { open_dataset(dir / "d.safetensors", Split::Train); }), {"64x64", "4032 pixels accepted"});
  set_max_image_pixels(kMaxImagePixels);
  EXPECT_NO_THROW(open_dataset(dir / "d.safetensors", Split::Train));
}

TEST(ReaderChecks, TensorLabelsMustNameAClass) {
  TempDir dir;
  Tensor images(DType::U8, {2, 4, 4, 3});
  Tensor labels(DType::I64, {2});
  labels.data<int64_t>()[0] = 0;
  labels.data<int64_t>()[1] = int64_t(1) << 50;  // would ask for 2^50 class names (found by tensor_loader_fuzz)
  TensorFile f;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  write_safetensors(dir / "d.safetensors", f);
  expect_has(error_of([&] { open_dataset(dir / "d.safetensors", Split::Train); }),
             {"label 1 is 1125899906842624", "below 1000000"});
  labels.data<int64_t>()[1] = -3;
  f.tensors.erase("labels");
  f.tensors.emplace("labels", labels);
  write_safetensors(dir / "d.safetensors", f);
  expect_has(error_of([&] { open_dataset(dir / "d.safetensors", Split::Train); }), {"label 1 is -3"});
}

TEST(ReaderChecks, FolderLinksOutOfTheFolderLoopsAndFifosAreLeftOut) {
  TempDir dir;
  write_image_folder(dir / "outside", {{8, 8}}, 1);  // outside/a/0.png, outside/b/1.png
  write_image_folder(dir / "data", {{8, 8}}, 2);      // data/a/{0,1}.png, data/b/{2,3}.png
  const std::string root = dir / "data";
  fs::create_symlink(dir / "outside/a/0.png", root + "/a/out.png");   // a file out of the folder
  fs::create_directory_symlink(dir / "outside/b", root + "/b/outdir");  // a folder out of it
  fs::create_directory_symlink(root + "/a", root + "/a/loop");        // a loop
  fs::create_symlink(root + "/b/2.png", root + "/a/in.png");          // inside: followed
  fs::create_symlink(root + "/nothing.png", root + "/a/dangling.png");
  ASSERT_EQ(::mkfifo((root + "/b/fifo.png").c_str(), 0600), 0);       // reading it would block
  std::vector<std::string> warnings;
  DatasetOptions o;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  const std::unique_ptr<Dataset> d = open_dataset(root, Split::Train, o);
  std::vector<std::string> names;
  for (size_t i = 0; i < d->size(); ++i) names.push_back(fs::path(d->sample_name(i)).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"0.png", "1.png", "in.png", "2.png", "3.png"}));
  for (size_t i = 0; i < d->size(); ++i) EXPECT_EQ(d->image(i).height, 8);
  ASSERT_EQ(warnings.size(), 1u);
  expect_has(warnings[0], {"left out 4 entries"});  // out.png, outdir, dangling.png, fifo.png; the loop is walked once
}

TEST(ReaderChecks, AFolderWhoseClassIsALinkLoopStillOpens) {
  TempDir dir;
  write_image_folder(dir / "data", {{8, 8}}, 1);
  fs::create_directory_symlink(dir / "data", dir / "data/c");  // class "c" is the root itself
  DatasetOptions o;
  o.warn = [](const std::string&) {};
  const std::unique_ptr<Dataset> d = open_dataset(dir / "data", Split::Train, o);
  EXPECT_EQ(d->classes(), (std::vector<std::string>{"a", "b", "c"}));
  for (size_t i = 0; i < d->size(); ++i) EXPECT_NO_THROW(d->image(i));
}

TEST(ReaderChecks, ReadingAFifoOrAHugeFileDoesNotBlockOrAllocate) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_THROW(read_file_bytes(dir / "fifo"), CorruptSample);
  {
    std::ofstream(dir / "sparse.jpg").put('x');
  }
  ASSERT_EQ(::truncate((dir / "sparse.jpg").c_str(), off_t(kMaxFileBytes) + 1), 0);  // sparse: no disk used
  try {
    read_file_bytes(dir / "sparse.jpg");
    ADD_FAILURE() << "read";
  } catch (const CorruptSample& e) {
    expect_has(e.what(), {"sparse.jpg", "bytes, more than"});
  }
}

void write_tar_with_links(const std::string& path) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  const std::vector<uint8_t> png = encode_png(picture(8, 8, 1));
  auto add = [&](const std::string& name, int type, const std::string& link) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, unsigned(type));
    archive_entry_set_perm(e, 0644);
    if (type == AE_IFLNK) archive_entry_set_symlink(e, link.c_str());
    if (type == AE_IFREG && !link.empty()) archive_entry_set_hardlink(e, link.c_str());
    const bool data = type == AE_IFREG && link.empty();
    archive_entry_set_size(e, data ? la_int64_t(png.size()) : 0);
    archive_write_header(a, e);
    if (data) archive_write_data(a, png.data(), png.size());
    archive_entry_free(e);
  };
  add("a/0.png", AE_IFREG, "");
  add("b/1.png", AE_IFREG, "");
  add("a/../../escape.png", AE_IFREG, "");
  add("b/../c/2.png", AE_IFREG, "");
  add("a/link.png", AE_IFLNK, "/etc/passwd");
  add("b/hard.png", AE_IFREG, "a/0.png");
  archive_write_close(a);
  archive_write_free(a);
}

TEST(ReaderChecks, TarMembersWithDotDotOrLinksAreNeverKept) {
  TempDir dir;
  write_tar_with_links(dir / "d.tar");
  const std::vector<ArchiveMember> members = read_archive(dir / "d.tar");
  std::vector<std::string> names;
  for (const ArchiveMember& m : members) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a/0.png", "b/1.png"}));
  const std::unique_ptr<Dataset> d = open_dataset(dir / "d.tar", Split::Train);
  EXPECT_EQ(d->size(), 2u);
  EXPECT_EQ(d->classes(), (std::vector<std::string>{"a", "b"}));
}

// ---- the command line -------------------------------------------------------------------------

void expect_one_error_line(const testing::RunResult& r, const std::vector<std::string>& parts) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  size_t lines = 0;
  for (size_t at = r.output.find("error:"); at != std::string::npos; at = r.output.find("error:", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << r.output;
  expect_has(r.output, parts);
  EXPECT_EQ(r.output.find("Sanitizer"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("runtime error"), std::string::npos) << r.output;
}

// The reported overflow: 224x224 float images given to the 32x32 `cifar` model.
TEST(InputRuleCli, FloatImagesOfAnotherSizeGiveOneErrorOrAResizedRun) {
  TempDir dir;
  const std::string data = dir / "X.safetensors";
  write_float_dataset(data, 8, 224, 224);
  const std::string args = "train --model cifar --width 0.25 --data " + data + " --steps 1 --batch-size 2 --val-split 0 --out ";
  const auto refused = run_alexnet(args + (dir / "run1"));
  expect_one_error_line(refused, {data, "3x224x224", "3x32x32", "--resize-float"});
  EXPECT_FALSE(fs::exists(dir / "run1")) << "the run stopped before its first step, so it made no run directory";
  const auto resized = run_alexnet(args + (dir / "run2") + " --resize-float");
  ASSERT_EQ(resized.exit_code, 0) << resized.output;
  expect_has(resized.output, {"input: float images 3x224x224 resized to 3x32x32"});
  // eval takes the same rule from the checkpoint's config.
  const auto eval = run_alexnet("eval --checkpoint " + (dir / "run2/last.safetensors") + " --data " + data);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  expect_has(eval.output, {"resized to 3x32x32", "top-1"});
}

TEST(InputRuleCli, PresetNoneWithImagesOfAnotherSizeIsOneError) {
  TempDir dir;
  write_image_folder(dir / "f", {{40, 40}});
  const auto r = run_alexnet("train --model cifar --width 0.25 --augment none --data " + (dir / "f") +
                             " --steps 1 --batch-size 2 --val-split 0 --out " + (dir / "run"));
  expect_one_error_line(r, {"0.png", "40x40", "32x32", "--input-size 40"});
}

// A test-only ImageFolder (CIFAR-10's test images alone): info describes it, eval --split auto uses it.
TEST(InputRuleCli, InfoAndEvalOnEveryImageFolderLayout) {
  TempDir dir;
  write_image_folder(dir / "train_only/train", {{32, 32}}, 5);
  write_image_folder(dir / "test_only/test", {{32, 32}}, 3);
  write_image_folder(dir / "train_val/train", {{32, 32}});
  write_image_folder(dir / "train_val/val", {{32, 32}}, 4);
  write_image_folder(dir / "train_test/train", {{32, 32}});
  write_image_folder(dir / "train_test/test", {{32, 32}}, 5);
  write_image_folder(dir / "flat", {{32, 32}}, 5);

  struct Case {
    const char* path;
    std::vector<std::string> info;
  };
  const std::vector<Case> cases = {
      {"train_only", {"train: 10 images", "no val or test split"}},
      {"test_only", {"test:  6 images", "no train split"}},
      {"train_val", {"train: 4 images", "val:   8 images"}},
      {"train_test", {"train: 4 images", "test:  10 images"}},
      {"flat", {"one set of 10 images"}},
  };
  for (const Case& c : cases) {
    const auto r = run_alexnet("info --data " + (dir / c.path) + " --json");
    ASSERT_EQ(r.exit_code, 0) << c.path << "\n" << r.output;
    expect_has(r.output, c.info);
  }

  // A checkpoint to evaluate: trained on the train+test layout's train part.
  const auto train = run_alexnet("train --model cifar --width 0.25 --data " + (dir / "train_test") +
                                 " --steps 1 --batch-size 2 --out " + (dir / "run"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const std::string eval = "eval --checkpoint " + (dir / "run/last.safetensors") + " --json --data ";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"test_only", "(6 images)"}, {"train_val", "(8 images)"}, {"train_test", "(10 images)"},
      // Sets with a train part only: not the run's data, so all of them (never "held out").
      {"train_only", "all of it"}, {"flat", "all of it"}};
  for (const auto& [path, what] : expected) {
    const auto r = run_alexnet(eval + (dir / path));
    ASSERT_EQ(r.exit_code, 0) << path << "\n" << r.output;
    expect_has(r.output, {what});
  }
  // train itself still needs a train/ part, and says so.
  expect_one_error_line(run_alexnet("train --model cifar --data " + (dir / "test_only") + " --steps 1"),
                        {"test/", "no train/"});
}

}  // namespace
}  // namespace alexnet
