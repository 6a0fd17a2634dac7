// Writes small valid inputs for each harness, so fuzzing starts from real structure:
//   make_seeds DIR  ->  DIR/image_decode/*, DIR/cifar/*, DIR/image_folder/*, DIR/checkpoint/*,
//                       DIR/tensor_loader/*, DIR/run_config/*, DIR/meta_mat/*
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image_codec.h"
#include "model/weights.h"
#include "tensor/safetensors.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "../tests/mat_writer.h"
#include "../tests/tar_writer.h"

using namespace alexnet;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

void save(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

Bytes with_prefix(uint8_t first, const Bytes& rest) {
  Bytes out{first};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

// The test suite's tar writer (tests/tar_writer.h), over this file's (name, bytes) pairs.
Bytes tar_of(const std::vector<std::pair<std::string, Bytes>>& members, bool gzip) {
  std::vector<testing::TarMember> tar;
  for (const auto& [name, data] : members) tar.push_back({name, data, false});
  return testing::tar_bytes(tar, gzip);
}

Image picture(int h, int w, int seed) {
  Image im;
  im.height = h;
  im.width = w;
  for (int i = 0; i < h * w * 3; ++i) im.pixels.push_back(uint8_t(i * 7 + seed * 40));
  return im;
}

Bytes cifar_records(bool hundred, int count) {
  Bytes out;
  for (int r = 0; r < count; ++r) {
    out.push_back(uint8_t(r % 10));
    if (hundred) out.push_back(uint8_t(r * 7 % 100));
    for (int i = 0; i < 3072; ++i) out.push_back(uint8_t(i + r));
  }
  return out;
}

Bytes file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A safetensors file's bytes (written through the real writer, then read back).
Bytes safetensors_bytes(const fs::path& tmp, const TensorFile& file) {
  write_safetensors(tmp.string(), file);
  Bytes b = file_bytes(tmp);
  fs::remove(tmp);
  return b;
}

TensorFile tensor_dataset(bool f32, int n, int h, int w, bool classes) {
  TensorFile f;
  Tensor images = f32 ? Tensor(DType::F32, {n, 3, h, w}) : Tensor(DType::U8, {n, h, w, 3});
  if (f32) {
    for (int64_t i = 0; i < images.numel(); ++i) images.data<float>()[i] = float(i % 17) / 8.f - 1.f;
  } else {
    for (int64_t i = 0; i < images.numel(); ++i) images.data<uint8_t>()[i] = uint8_t(i * 7);
  }
  Tensor labels(DType::I64, {n});
  for (int i = 0; i < n; ++i) labels.data<int64_t>()[i] = i % 3;
  f.tensors.emplace("images", images);
  f.tensors.emplace("labels", labels);
  if (classes) f.metadata["classes"] = "[\"a\", \"b\", \"c\"]";
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const Image rgb = picture(8, 8, 1);
  Bytes gray(64), cmyk(256);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = uint8_t(i * 4);
  for (size_t i = 0; i < cmyk.size(); ++i) cmyk[i] = uint8_t(i);
  const Bytes jpg = encode_jpeg(rgb, 80);
  const Bytes png = encode_png(rgb);
  save(dir / "image_decode/rgb.jpg", jpg);
  save(dir / "image_decode/gray.jpg", encode_jpeg(8, 8, 1, gray.data(), 80));
  save(dir / "image_decode/cmyk.jpg", encode_jpeg(8, 8, 4, cmyk.data(), 80));
  save(dir / "image_decode/rgb.png", png);

  save(dir / "cifar/batch10", with_prefix(0, cifar_records(false, 2)));
  save(dir / "cifar/batch100", with_prefix(2, cifar_records(true, 2)));
  std::vector<std::pair<std::string, Bytes>> ten;
  for (int b = 1; b <= 5; ++b) ten.push_back({"cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin", cifar_records(false, 1)});
  ten.push_back({"cifar-10-batches-bin/test_batch.bin", cifar_records(false, 1)});
  ten.push_back({"cifar-10-batches-bin/batches.meta.txt", Bytes{'a', '\n', 'b', '\n', 'c', '\n', 'd', '\n', 'e', '\n',
                                                                  'f', '\n', 'g', '\n', 'h', '\n', 'i', '\n', 'j', '\n'}});
  save(dir / "cifar/tar10", with_prefix(1, tar_of(ten, false)));
  save(dir / "cifar/targz10", with_prefix(9, tar_of(ten, true)));
  save(dir / "cifar/tar100", with_prefix(7, tar_of({{"cifar-100-binary/train.bin", cifar_records(true, 1)},
                                                     {"cifar-100-binary/test.bin", cifar_records(true, 1)}}, false)));

  const std::vector<std::pair<std::string, Bytes>> folder = {
      {"data/train/cat/0.jpg", jpg}, {"data/train/dog/1.png", png}, {"data/train/dog/notes.txt", Bytes{'x'}},
      {"data/val/cat/2.png", png},   {"data/val/dog/3.jpg", jpg}};
  save(dir / "image_folder/tar", with_prefix(0, tar_of(folder, false)));
  save(dir / "image_folder/targz", with_prefix(1, tar_of(folder, true)));
  save(dir / "image_folder/flat", with_prefix(2, tar_of({{"a/x.png", png}, {"b/y.jpg", jpg}}, false)));

  // Checkpoints: a tiny cifar model's run directory (weights with metadata, state file) and plain weights.
  const fs::path tmp = dir / "tmp";
  fs::create_directories(tmp);
  ModelInfo model;
  model.variant = "cifar";
  model.options.num_classes = 3;
  model.options.width = 0.1;
  const ParamTable table = make_param_table(model.spec());
  std::vector<float> params(table.total, 0.02f), momentum(table.total, 0.001f);
  LoopState state;
  state.step = 1;
  TrainConfig config;
  config.model = "cifar";
  config.width = 0.1;
  config.data = "d.safetensors";
  const std::string config_json = config.to_json();
  save_last_checkpoint(tmp.string(), table, params, momentum, model, config_json, state);
  const Bytes last = file_bytes(tmp / "last.safetensors");
  save(dir / "checkpoint/eval", with_prefix(0, last));
  save(dir / "checkpoint/init", with_prefix(1, last));
  save(dir / "checkpoint/resume_last", with_prefix(2, last));
  save(dir / "checkpoint/resume_state", with_prefix(3, file_bytes(tmp / "state-1.safetensors")));
  save(dir / "run_config/config", with_prefix(0, Bytes(config_json.begin(), config_json.end())));
  std::string meta;
  for (const auto& [k, v] : model.metadata()) meta += k + "=" + v + "\n";
  save(dir / "run_config/metadata", with_prefix(1, Bytes(meta.begin(), meta.end())));

  // ImageNet's label files: meta.mat in both forms, Kaggle's mapping and solution, the ground truth.
  const std::vector<testing::MatSynset> synsets = {{1, "n02119789", "kit fox", 0}, {2, "n01440764", "tench", 0},
                                                   {3, "n01443537", "goldfish", 0}, {1001, "n00001740", "entity", 3}};
  save(dir / "meta_mat/plain", with_prefix(0, testing::write_mat(synsets)));
  save(dir / "meta_mat/compressed", with_prefix(0, testing::write_mat(synsets, {.compressed = true})));
  const auto text = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
  save(dir / "meta_mat/mapping", with_prefix(1, text("n01440764 tench, Tinca tinca\nn01443537 goldfish\n")));
  save(dir / "meta_mat/solution", with_prefix(2, text("ImageId,PredictionString\nILSVRC2012_val_00000001,n02119789 1 2 3 4 "
                                                      "n02119789 5 6 7 8\nILSVRC2012_val_00000002,n01440764 1 2 3 4\n")));
  save(dir / "meta_mat/ground_truth", with_prefix(3, text("1\n2\n3\n")));
  fs::remove_all(tmp);

  // Tensor datasets for the loader harness: byte 0 = input size / batch, byte 1 = preset and flags.
  fs::create_directories(tmp);
  auto loader_seed = [&](const char* name, uint8_t size_byte, uint8_t flags, const TensorFile& f) {
    Bytes b{size_byte, flags};
    const Bytes body = safetensors_bytes(tmp / "t.safetensors", f);
    b.insert(b.end(), body.begin(), body.end());
    save(dir / "tensor_loader" / name, b);
  };
  loader_seed("u8_seed_s16", 15 | 0x80, 1 | 4, tensor_dataset(false, 3, 8, 8, true));
  loader_seed("u8_none_s8", 7, 0, tensor_dataset(false, 2, 8, 8, false));
  loader_seed("u8_paper_s7", 6, 3 | 4 | 32, tensor_dataset(false, 2, 5, 9, false));
  loader_seed("u8_uint8", 15, 2 | 4 | 16, tensor_dataset(false, 2, 8, 8, false));
  loader_seed("f32_fit_s8", 7, 1, tensor_dataset(true, 2, 8, 8, false));
  loader_seed("f32_resize_s16", 15 | 0x80, 1 | 8, tensor_dataset(true, 3, 12, 20, true));
  loader_seed("f32_mismatch", 31, 2, tensor_dataset(true, 1, 8, 8, false));
  fs::remove_all(tmp);
  return 0;
}
