// Uncompressed tars read in place (data/tar_index.h): the index, tars of class tars as ImageNet's
// training archive holds them, the index cache, and archives cut short.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/image_codec.h"
#include "data/readers.h"
#include "data/tar_index.h"
#include "tar_writer.h"
#include "test_cli_util.h"

namespace fs = std::filesystem;
using namespace alexnet;
using alexnet::testing::TarMember;
using alexnet::testing::tar_bytes;
using alexnet::testing::TempDir;

namespace {

// Points $ALEXNET_CACHE at a folder for the scope, then puts back what was there.
class CacheDir {
 public:
  explicit CacheDir(const std::string& dir) {
    const char* old = std::getenv("ALEXNET_CACHE");
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv("ALEXNET_CACHE", dir.c_str(), 1);
  }
  ~CacheDir() {
    if (had_) {
      setenv("ALEXNET_CACHE", old_.c_str(), 1);
    } else {
      unsetenv("ALEXNET_CACHE");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

Image noise(int height, int width, int seed) {
  Image im;
  im.height = height;
  im.width = width;
  im.pixels.resize(size_t(height) * size_t(width) * 3);
  uint32_t state = uint32_t(seed) * 2654435761u + 7;
  for (uint8_t& p : im.pixels) {
    state = state * 1664525u + 1013904223u;
    p = uint8_t(state >> 24);
  }
  return im;
}

// A tar in the given libarchive format (ARCHIVE_FORMAT_TAR_GNUTAR writes long names as 'L'
// records, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED as pax headers).
std::vector<uint8_t> tar_in_format(const std::vector<TarMember>& members, int format) {
  std::vector<uint8_t> out(size_t(1) << 20);
  size_t used = 0;
  archive* a = archive_write_new();
  EXPECT_EQ(archive_write_set_format(a, format), ARCHIVE_OK);
  EXPECT_EQ(archive_write_open_memory(a, out.data(), out.size(), &used), ARCHIVE_OK);
  for (const TarMember& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, la_int64_t(m.data.size()));
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    EXPECT_EQ(archive_write_data(a, m.data.data(), m.data.size()), la_ssize_t(m.data.size()));
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const CorruptSample& e) {
    ADD_FAILURE() << "a corrupt sample, not a structural error: " << e.what();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
  }
}

// Two class tars as ILSVRC2012_img_train.tar holds them (out of order on purpose), PNG images so
// that pixels compare exactly.
struct ClassTars {
  std::vector<uint8_t> outer;
  std::map<std::string, Image> sources;  // "<wnid>/<file>" -> picture
};

ClassTars class_tars() {
  ClassTars t;
  std::vector<TarMember> outer;
  int seed = 0;
  for (const std::string wnid : {"n02085620", "n01440764"}) {
    std::vector<TarMember> inner;
    for (int i = 0; i < 2; ++i) {
      std::string file = wnid;
      file += "_" + std::to_string(i);
      file += ".png";
      const Image im = noise(5 + i, 7, ++seed);
      inner.push_back({file, encode_png(im)});
      t.sources[wnid + "/" + file] = im;
    }
    outer.push_back({wnid + ".tar", tar_bytes(inner, false)});
  }
  t.outer = tar_bytes(outer, false);
  return t;
}

TEST(TarIndex, TarOfClassTarsIsAnImageFolderReadInPlace) {
  TempDir dir;
  CacheDir cache(dir / "cache");
  const ClassTars t = class_tars();
  write_bytes(dir / "ILSVRC2012_img_train.tar", t.outer);
  auto d = open_dataset(dir / "ILSVRC2012_img_train.tar", Split::Train);
  ASSERT_EQ(d->size(), 4u);
  EXPECT_EQ(d->classes(), (std::vector<std::string>{"n01440764", "n02085620"}));  // sorted WNIDs
  const std::vector<std::string> names = {"n01440764/n01440764_0.png", "n01440764/n01440764_1.png",
                                          "n02085620/n02085620_0.png", "n02085620/n02085620_1.png"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(d->label(i), int64_t(i / 2));
    std::string expected = dir / "ILSVRC2012_img_train.tar";
    expected += ":";
    expected += names[i];
    EXPECT_EQ(d->sample_name(i), expected);
    const Image im = d->image(i);
    EXPECT_EQ(im.pixels, t.sources.at(names[i]).pixels) << names[i];
  }
  EXPECT_NE(d->describe().find("read in place from 2 class tars"), std::string::npos) << d->describe();
}

TEST(TarIndex, LongNamesFromGnuAndPaxHeaders) {
  const std::string long_dir = "train/" + std::string(120, 'c') + "/";
  for (int format : {ARCHIVE_FORMAT_TAR_GNUTAR, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED}) {
    TempDir dir;
    CacheDir cache(dir / "cache");
    const Image im = noise(3, 4, 9);
    write_bytes(dir / "long.tar", tar_in_format({{long_dir + std::string(110, 'x') + ".png", encode_png(im)},
                                                 {"train/b/short.png", encode_png(noise(2, 2, 1))}},
                                                format));
    const TarIndex index = index_tar(dir / "long.tar");
    ASSERT_EQ(index.entries.size(), 2u) << format;
    EXPECT_EQ(index.entries[0].name, long_dir + std::string(110, 'x') + ".png");
    auto d = open_dataset(dir / "long.tar", Split::Train);
    ASSERT_EQ(d->size(), 2u);
    EXPECT_EQ(d->image(0).pixels, noise(2, 2, 1).pixels);  // "b" < "ccc…"
    EXPECT_EQ(d->image(1).pixels, im.pixels);
  }
}

TEST(TarIndex, IndexIsCachedAndRebuiltWhenTheArchiveChanges) {
  TempDir dir;
  CacheDir cache(dir / "cache");
  std::vector<TarMember> members;
  const std::vector<uint8_t> png = encode_png(noise(2, 2, 3));
  for (int i = 0; i < 300; ++i) {
    std::string name = "c";
    name += std::to_string(i % 3);
    name += "/";
    name += std::to_string(i);
    name += ".png";
    members.push_back({name, png});
  }
  const std::string tar = dir / "many.tar";
  write_bytes(tar, tar_bytes(members, false));

  const TarIndex first = index_tar(tar);
  EXPECT_FALSE(first.from_cache);
  ASSERT_EQ(first.entries.size(), 300u);
  EXPECT_EQ(first.cache_file.rfind(dir / "cache/tar-index/many.tar-", 0), 0u) << first.cache_file;
  EXPECT_TRUE(fs::is_regular_file(first.cache_file));

  const TarIndex second = index_tar(tar);
  EXPECT_TRUE(second.from_cache);
  ASSERT_EQ(second.entries.size(), 300u);
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(second.entries[i].name, first.entries[i].name);
    EXPECT_EQ(second.entries[i].offset, first.entries[i].offset);
    EXPECT_EQ(second.entries[i].size, first.entries[i].size);
  }

  // Changed: one member more, and a later modification time.
  members.push_back({"c0/extra.png", png});
  write_bytes(tar, tar_bytes(members, false));
  fs::last_write_time(tar, fs::last_write_time(tar) + std::chrono::seconds(5));
  const TarIndex third = index_tar(tar);
  EXPECT_FALSE(third.from_cache);
  EXPECT_EQ(third.entries.size(), 301u);
  EXPECT_TRUE(index_tar(tar).from_cache);

  // A damaged cache file is ignored and replaced.
  std::vector<uint8_t> cached = read_file_bytes(third.cache_file);
  cached.resize(cached.size() / 2);
  write_bytes(third.cache_file, cached);
  const TarIndex fourth = index_tar(tar);
  EXPECT_FALSE(fourth.from_cache);
  EXPECT_EQ(fourth.entries.size(), 301u);
  EXPECT_EQ(open_dataset(tar, Split::Train)->size(), 301u);

  // Shared while held: opened again, the same index; after a change, a new one; once no one holds
  // it, read again.
  std::shared_ptr<const TarIndex> a = shared_tar_index(tar), b = shared_tar_index(tar);
  EXPECT_EQ(a.get(), b.get());
  members.push_back({"c1/extra.png", png});
  write_bytes(tar, tar_bytes(members, false));
  fs::last_write_time(tar, fs::last_write_time(tar) + std::chrono::seconds(10));
  std::shared_ptr<const TarIndex> c = shared_tar_index(tar);
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(c->entries.size(), 302u);
  EXPECT_EQ(a->entries.size(), 301u);  // a holder keeps what it had
  a.reset(), b.reset(), c.reset();
  EXPECT_TRUE(shared_tar_index(tar)->from_cache);
}

TEST(TarIndex, ArchivesCutShortAreErrorsNamingTheMember) {
  TempDir dir;
  CacheDir cache(dir / "cache");
  // A class tar whose own bytes end inside its second image (the outer tar is whole).
  std::vector<TarMember> inner;
  for (int i = 0; i < 2; ++i) {
    std::string name = "n01440764_";
    name += std::to_string(i);
    name += ".png";
    inner.push_back({name, encode_png(noise(20, 20, i))});
  }
  const std::vector<uint8_t> whole = tar_bytes(inner, false);
  const size_t second_header = 512 + (inner[0].data.size() + 511) / 512 * 512;
  std::vector<uint8_t> cut(whole.begin(), whole.begin() + std::ptrdiff_t(second_header + 512 + 100));
  ASSERT_TRUE(is_uncompressed_tar(cut.data(), cut.size()));
  write_bytes(dir / "train.tar", tar_bytes({{"n01440764.tar", cut}}, false));
  expect_error([&] { open_dataset(dir / "train.tar", Split::Train); },
               {"train.tar:n01440764.tar", "n01440764_1.png", "cut short"});
  // ... and one cut inside its second header.
  cut.resize(second_header + 100);
  write_bytes(dir / "train2.tar", tar_bytes({{"n01440764.tar", cut}}, false));
  expect_error([&] { open_dataset(dir / "train2.tar", Split::Train); },
               {"train2.tar:n01440764.tar", "n01440764_0.png", "cut short"});

  // The outer tar itself cut inside a class tar.
  const ClassTars t = class_tars();
  std::vector<uint8_t> outer = t.outer;
  outer.resize(outer.size() / 2);
  write_bytes(dir / "half.tar", outer);
  expect_error([&] { open_dataset(dir / "half.tar", Split::Train); }, {"half.tar", "cut short"});

  // A size field (GNU base-256) claiming 2^64 - 1 bytes: data offset plus size would wrap around.
  std::vector<uint8_t> huge = t.outer;
  const uint8_t field[12] = {0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  std::memcpy(&huge[124], field, 12);
  uint32_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : huge[i];
  std::snprintf(reinterpret_cast<char*>(&huge[148]), 8, "%06o", sum & 0777777);
  write_bytes(dir / "huge.tar", huge);
  expect_error([&] { open_dataset(dir / "huge.tar", Split::Train); }, {"huge.tar", "n02085620.tar", "cut short"});

  // A header that is not a header.
  std::vector<uint8_t> broken = t.outer;
  broken[0] ^= 0x55;
  broken[257] = 'u';  // keep the magic, break the checksum of the first header only
  write_bytes(dir / "broken.tar", broken);
  expect_error([&] { open_dataset(dir / "broken.tar", Split::Train); }, {"broken.tar"});
}

// A compressed archive is read whole, so one above 1 GiB is refused before any of it is read (a
// sparse file: no disk is used).
TEST(TarIndex, CompressedArchiveAboveTheLimitIsRefused) {
  TempDir dir;
  const std::string path = dir / "huge.tar.gz";
  write_bytes(path, {0x1F, 0x8B, 0x08, 0x00});
  fs::resize_file(path, (uint64_t(1) << 30) + 1);
  expect_error([&] { open_dataset(path, Split::Train); }, {"huge.tar.gz", "compressed archive", "uncompressed .tar"});
}

// Damaged headers (sizes, checksums, types, names changed at random, and fixed checksums so that
// the damage gets past them) give an error or a dataset, never a crash or a hang.
TEST(TarIndex, DamagedArchivesNeverCrash) {
  TempDir dir;
  CacheDir cache(dir / "cache");
  const std::vector<uint8_t> good = class_tars().outer;
  uint32_t state = 12345;
  const auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  size_t errors = 0, opened = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> bytes = good;
    // Headers are at block starts; hit one of them (the outer's or a class tar's) in its fields.
    const size_t block = (next() % (bytes.size() / 512)) * 512;
    for (int k = 0, n = 1 + int(next() % 4); k < n; ++k) {
      const size_t at = block + (next() % 2 ? 124 + next() % 12 : next() % 512);  // often the size field
      bytes[at] = uint8_t(next() % 3 == 0 ? 0xFF : next());
    }
    if (next() % 2) {  // make the checksum right again
      uint32_t sum = 0;
      for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : bytes[block + i];
      std::snprintf(reinterpret_cast<char*>(&bytes[block + 148]), 8, "%06o", sum & 0777777);
    }
    write_bytes(dir / "d.tar", bytes);
    try {
      DatasetOptions quiet;
      quiet.warn = [](const std::string&) {};  // damaged names are skipped with a warning
      auto d = open_dataset(dir / "d.tar", Split::Train, quiet);
      ++opened;
      for (size_t i = 0; i < d->size(); ++i) {
        try {
          d->image(i);
        } catch (const CorruptSample&) {
        }
      }
    } catch (const CorruptSample& e) {
      ADD_FAILURE() << "trial " << trial << ": a corrupt sample at open: " << e.what();
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0u);  // the damage is seen
  EXPECT_GT(opened, 0u);  // and damage in image bytes alone still opens
}

}  // namespace
