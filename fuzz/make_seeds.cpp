// Writes small valid inputs for each harness, so fuzzing starts from real structure:
//   make_seeds DIR  ->  DIR/image_decode/*, DIR/cifar/*, DIR/image_folder/*
#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image_codec.h"

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

Bytes tar_of(const std::vector<std::pair<std::string, Bytes>>& members, bool gzip) {
  Bytes out(1 << 22);
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_ustar(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  for (const auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, la_int64_t(data.size()));
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
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
  return 0;
}
