// ImageNet's layouts (data/imagenet.h) on small generated copies: the official files side by side
// (a tar of class tars, a flat validation tar, the devkit as .tar.gz or folder), Kaggle's folders
// with its LOC_ files, flat validation sets given alone, meta.mat read from MAT-files of two
// writers, the same labels as torchvision's ImageNet, the class names carried into checkpoints,
// predict and eval, and the bad input each layout can hold.
//
// How the MAT-file format was checked: MathWorks' "MAT-File Format" (Level 5: the 128-byte header,
// tags and small elements, miCOMPRESSED, the struct array's field name length and names followed by
// one array per field per element) describes what tests/mat_writer.h writes, in the forms MATLAB
// uses (characters as uint16, whole doubles stored as uint8, small elements for short names); the
// devkit's field names (ILSVRC2012_ID, WNID, words, gloss, num_children, children, wordnet_height,
// num_train_images) are those its readme and torchvision's ImageNet use. Two independent
// implementations check both sides, where Debian's python3-scipy (and python3-torchvision) are
// installed (scripts/setup.sh; the tests skip, saying so, without them): scipy.io.savemat writes
// files that read_meta_mat must read, and torchvision reads the test's meta.mat with
// scipy.io.loadmat and must give every image the label read_meta_mat's classes give it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "data/image_codec.h"
#include "data/imagenet.h"
#include "data/readers.h"
#include "mat_writer.h"
#include "tar_writer.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;
using namespace alexnet;
using alexnet::testing::run_alexnet;
using alexnet::testing::run_command;
using alexnet::testing::tar_bytes;
using alexnet::testing::TarMember;
using alexnet::testing::TempDir;
using alexnet::testing::MatOptions;
using alexnet::testing::MatSynset;
using alexnet::testing::write_mat;

namespace {

// Three classes and one inner node. The IDs are not in WNID order (as in the devkit, where ID 1 is
// n02119789): sorted, the classes are n01440764 (0), n01443537 (1), n02119789 (2).
const std::vector<MatSynset> kSynsets = {{1, "n02119789", "kit fox, Vulpes macrotis", 0},
                                         {2, "n01440764", "tench, Tinca tinca", 0},
                                         {3, "n01443537", "goldfish, Carassius auratus", 0},
                                         {1001, "n00001740", "entity", 3}};
const std::vector<std::string> kWnids = {"n01440764", "n01443537", "n02119789"};
const std::vector<std::string> kWords = {"tench, Tinca tinca", "goldfish, Carassius auratus", "kit fox, Vulpes macrotis"};

// ---------------------------------------------------------------------------------------------
// Layouts

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}
void write_text(const std::string& path, const std::string& text) { write_bytes(path, {text.begin(), text.end()}); }

// A tiny JPEG whose colour says its class: red = 40 * class + 20 (decoded within a few levels).
std::vector<uint8_t> jpeg_of(int label) {
  Image im;
  im.height = im.width = 8;
  im.pixels.resize(8 * 8 * 3);
  for (size_t i = 0; i < im.pixels.size(); i += 3) {
    im.pixels[i] = uint8_t(40 * label + 20);
    im.pixels[i + 1] = 128;
    im.pixels[i + 2] = 64;
  }
  return encode_jpeg(im, 95);
}
int label_of_pixels(const Image& im) { return int(im.pixels[0]) / 40; }

std::string val_name(int k) {
  std::string n = std::to_string(k);
  return "ILSVRC2012_val_" + std::string(8 - n.size(), '0') + n + ".JPEG";
}

// The validation images' classes (by sorted index): image k (1-based) has class kValClasses[k-1].
const std::vector<int> kValClasses = {2, 0, 1, 0, 2, 1};
// The ILSVRC2012_ID of each sorted class.
int id_of(int label) { return label == 0 ? 2 : label == 1 ? 3 : 1; }

std::string ground_truth(const std::vector<int>& classes) {
  std::string s;
  for (int c : classes) s += std::to_string(id_of(c)) + "\n";
  return s;
}

std::vector<uint8_t> class_tar(const std::string& wnid, int label, int images) {
  std::vector<TarMember> inner;
  for (int i = 0; i < images; ++i) inner.push_back({wnid + "_" + std::to_string(i) + ".JPEG", jpeg_of(label)});
  return tar_bytes(inner, false);
}

// ILSVRC2012_img_train.tar: class k holds k + 1 images; class tars out of order.
std::vector<uint8_t> train_tar() {
  std::vector<TarMember> outer;
  for (int k : {2, 0, 1}) outer.push_back({kWnids[size_t(k)] + ".tar", class_tar(kWnids[size_t(k)], k, k + 1)});
  return tar_bytes(outer, false);
}

std::vector<uint8_t> val_tar(const std::vector<int>& classes, const std::vector<int>& skip = {}) {
  std::vector<TarMember> members;
  for (size_t i = 0; i < classes.size(); ++i)
    if (std::find(skip.begin(), skip.end(), int(i + 1)) == skip.end())
      members.push_back({val_name(int(i + 1)), jpeg_of(classes[i])});
  return tar_bytes(members, false);
}

std::vector<uint8_t> devkit_tar_gz(const std::vector<uint8_t>& meta, const std::string& truth) {
  return tar_bytes({{"ILSVRC2012_devkit_t12/", {}, true},
                    {"ILSVRC2012_devkit_t12/data/", {}, true},
                    {"ILSVRC2012_devkit_t12/data/meta.mat", meta},
                    {"ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt", {truth.begin(), truth.end()}},
                    {"ILSVRC2012_devkit_t12/COPYING", {'x'}}},
                   true);
}

// ROOT as torchvision.datasets.ImageNet(root) takes it.
void write_official(const TempDir& dir, bool compressed_mat = true) {
  write_bytes(dir / "ILSVRC2012_img_train.tar", train_tar());
  write_bytes(dir / "ILSVRC2012_img_val.tar", val_tar(kValClasses));
  write_bytes(dir / "ILSVRC2012_devkit_t12.tar.gz", devkit_tar_gz(write_mat(kSynsets, {.compressed = compressed_mat}),
                                                                  ground_truth(kValClasses)));
}

std::string synset_mapping() {  // Kaggle's order: sorted, as its file is
  return "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\nn02119789 kit fox, Vulpes macrotis\n";
}
std::string val_solution(const std::vector<int>& classes) {
  std::string s = "ImageId,PredictionString\r\n";
  for (size_t i = 0; i < classes.size(); ++i) {
    const std::string id = val_name(int(i + 1)).substr(0, val_name(int(i + 1)).size() - 5);
    const std::string& w = kWnids[size_t(classes[i])];
    s += id + "," + w + " 10 20 30 40 " + w + " 1 2 3 4 \r\n";
  }
  return s;
}

void write_kaggle(const TempDir& dir) {
  const std::string data = dir / "ILSVRC/Data/CLS-LOC";
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i <= k; ++i)
      write_bytes(data + "/train/" + kWnids[size_t(k)] + "/" + kWnids[size_t(k)] + "_" + std::to_string(i) + ".JPEG", jpeg_of(k));
  for (size_t i = 0; i < kValClasses.size(); ++i) write_bytes(data + "/val/" + val_name(int(i + 1)), jpeg_of(kValClasses[i]));
  fs::create_directories(dir / "ILSVRC/Data/CLS-LOC/test");
  write_text(dir / "LOC_synset_mapping.txt", synset_mapping());
  write_text(dir / "LOC_val_solution.csv", val_solution(kValClasses));
}

// Collects warnings instead of printing them.
struct Warnings {
  std::vector<std::string> lines;
  DatasetOptions options() {
    DatasetOptions o;
    o.warn = [this](const std::string& l) { lines.push_back(l); };
    return o;
  }
};

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

// Every sample's label agrees with the class its pixels were written for.
void expect_labels_match_pixels(const Dataset& d) {
  for (size_t i = 0; i < d.size(); ++i) {
    const Image im = d.image(i);
    EXPECT_EQ(d.label(i), label_of_pixels(im)) << d.sample_name(i);
  }
}

// Points $ALEXNET_CACHE at a folder for the test.
struct CacheScope {
  explicit CacheScope(const std::string& dir) { setenv("ALEXNET_CACHE", dir.c_str(), 1); }
  ~CacheScope() { unsetenv("ALEXNET_CACHE"); }
};

// ---------------------------------------------------------------------------------------------
// meta.mat

TEST(MetaMat, ReadsMatlabStyleFilesCompressedOrNot) {
  for (bool compressed : {false, true}) {
    SCOPED_TRACE(compressed ? "compressed" : "uncompressed");
    const std::vector<uint8_t> mat = write_mat(kSynsets, {.compressed = compressed});
    const std::vector<Synset> s = read_meta_mat(mat.data(), mat.size(), "meta.mat");
    ASSERT_EQ(s.size(), kSynsets.size());
    for (size_t i = 0; i < s.size(); ++i) {
      EXPECT_EQ(s[i].id, int64_t(kSynsets[i].id));
      EXPECT_EQ(s[i].wnid, kSynsets[i].wnid);
      EXPECT_EQ(s[i].words, kSynsets[i].words);
      EXPECT_EQ(s[i].num_children, int64_t(kSynsets[i].num_children));
    }
    const ImageNetClasses c = classes_from_synsets(s, "meta.mat");
    EXPECT_EQ(c.wnids, kWnids);  // the inner node left out, sorted
    EXPECT_EQ(c.descriptions, kWords);
    EXPECT_EQ(c.by_id.at(1), 2);
    EXPECT_EQ(c.by_id.at(2), 0);
    EXPECT_EQ(c.by_id.at(3), 1);
    EXPECT_EQ(c.by_id.count(1001), 0u);
  }
}

// The scipy path: /usr/bin/python3 is where Debian's python3-scipy lives (python3 on PATH may be another).
std::string scipy_python(std::string* why) {
  std::string reason;
  std::string py = alexnet::testing::python_with("scipy.io", &reason);
  if (py.empty() && run_command("/usr/bin/python3 -c 'import scipy.io'").exit_code == 0) py = "/usr/bin/python3";
  if (py.empty()) *why = "scipy cannot be imported (scripts/setup.sh installs Debian's python3-scipy): " + reason;
  return py;
}

TEST(MetaMat, ReadsWhatScipySavematWrites) {
  std::string why;
  const std::string py = scipy_python(&why);
  if (py.empty()) GTEST_SKIP() << why;
  TempDir dir;
  // The devkit's struct array: synsets(k) with its eight fields, as loadmat(squeeze_me=True) shows them.
  const std::string script = dir / "make_meta.py";
  write_text(script,
             "import sys, numpy as np, scipy.io\n"
             "fields = ['ILSVRC2012_ID','WNID','words','gloss','num_children','children','wordnet_height','num_train_images']\n"
             "rows = [(1,'n02119789','kit fox, Vulpes macrotis',0), (2,'n01440764','tench, Tinca tinca',0),\n"
             "        (3,'n01443537','goldfish, Carassius auratus',0), (1001,'n00001740','entity',3)]\n"
             "a = np.zeros((len(rows), 1), dtype=[(f, 'O') for f in fields])\n"
             "for i, (id_, wnid, words, nc) in enumerate(rows):\n"
             "    a[i, 0] = (float(id_), wnid, words, 'gloss \\u00e9', float(nc),\n"
             "               np.array([1001.0, 2.0]) if nc else np.zeros((0, 0)), 0.0, 1300.0)\n"
             "for compress in (False, True):\n"
             "    scipy.io.savemat(sys.argv[1] + ('/z.mat' if compress else '/plain.mat'), {'synsets': a},\n"
             "                     do_compression=compress)\n"
             "m = scipy.io.loadmat(sys.argv[1] + '/z.mat', squeeze_me=True)['synsets']\n"
             "assert [str(r[1]) for r in m] == [r[1] for r in rows]\n");
  const auto r = run_command("'" + py + "' '" + script + "' '" + dir.str() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"plain.mat", "z.mat"}) {
    SCOPED_TRACE(name);
    std::ifstream in(dir / name, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::vector<Synset> s = read_meta_mat(bytes.data(), bytes.size(), name);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[0].id, 1);
    EXPECT_EQ(s[0].wnid, "n02119789");
    EXPECT_EQ(s[1].words, "tench, Tinca tinca");
    EXPECT_EQ(s[3].num_children, 3);
    EXPECT_EQ(classes_from_synsets(s, name).wnids, kWnids);
  }
}

// The same root read by torchvision.datasets.ImageNet (which reads our MATLAB-style meta.mat with
// scipy.io.loadmat and sorts the validation images into class folders): every image has the label
// torchvision gives it, so weights and labels agree with PyTorch's.
TEST(ImageNetTorchvision, SameLabelsAsTorchvisionImageNet) {
  std::string why;
  std::string py = alexnet::testing::python_with("torchvision, scipy.io", &why);
  if (py.empty() && run_command("/usr/bin/python3 -c 'import torchvision, scipy.io'").exit_code == 0) py = "/usr/bin/python3";
  if (py.empty()) GTEST_SKIP() << "torchvision and scipy cannot be imported (scripts/setup.sh installs python3-torchvision "
                                  "and python3-scipy): " << why;
  TempDir dir, theirs;
  CacheScope cache(dir / "cache");
  write_official(dir);
  for (const char* f : {"ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar", "ILSVRC2012_devkit_t12.tar.gz"})
    fs::copy_file(dir / f, theirs / f);  // torchvision extracts beside the archives
  write_text(theirs / "labels.py",
             "import os, sys, json\n"
             "import torchvision.datasets.imagenet as tvi\n"
             "tvi._verify_archive = lambda *a, **k: None  # small copies, not the official files' checksums\n"
             "out = {}\n"
             "for split in ('train', 'val'):\n"
             "    d = tvi.ImageNet(sys.argv[1], split=split)\n"
             "    out[split] = {'wnids': d.wnids, 'names': [', '.join(c) for c in d.classes],\n"
             "                  'labels': {os.path.basename(p): t for p, t in d.samples}}\n"
             "print(json.dumps(out))\n");
  const auto r = run_command("'" + py + "' '" + (theirs / "labels.py") + "' '" + theirs.str() + "' 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json tv = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  for (const auto& [split, name] : {std::pair{Split::Train, "train"}, std::pair{Split::Val, "val"}}) {
    SCOPED_TRACE(name);
    auto d = open_dataset(dir.str(), split);
    EXPECT_EQ(d->classes(), tv[name]["wnids"].get<std::vector<std::string>>());
    EXPECT_EQ(d->class_descriptions(), tv[name]["names"].get<std::vector<std::string>>());
    const auto& labels = tv[name]["labels"];
    ASSERT_EQ(d->size(), labels.size());
    for (size_t i = 0; i < d->size(); ++i) {
      const std::string sample = d->sample_name(i), base = sample.substr(sample.find_last_of("/:") + 1);
      ASSERT_TRUE(labels.contains(base)) << base;
      EXPECT_EQ(d->label(i), labels[base].get<int64_t>()) << base;
    }
  }
}

TEST(MetaMat, RefusesWhatItDoesNotRead) {
  const std::vector<uint8_t> good = write_mat(kSynsets, {.compressed = true});
  auto read = [](std::vector<uint8_t> b) { return [b] { read_meta_mat(b.data(), b.size(), "meta.mat"); }; };
  expect_error(read({good.begin(), good.begin() + 100}), {"meta.mat", "too short"});
  expect_error(read(std::vector<uint8_t>(good.begin(), good.begin() + 160)), {"meta.mat", "claims"});
  expect_error(read(write_mat(kSynsets, {.header = "MATLAB 7.3 MAT-file, Platform: GLNXA64"})), {"7.3", "HDF5"});
  expect_error(read(write_mat(kSynsets, {.header = "a text file"})), {"not a MATLAB 5.0 MAT-file"});
  expect_error(read(write_mat(kSynsets, {.endian = "MI"})), {"big-endian"});
  expect_error(read(write_mat(kSynsets, {.drop_words = true})), {"no field 'words'"});
  std::vector<uint8_t> broken = good;
  for (size_t i = 140; i < 150; ++i) broken[i] ^= 0x5A;  // inside the zlib stream
  expect_error(read(broken), {"meta.mat", "compressed element is broken"});
  // A leaf without a proper WNID, and two leaves with one ID.
  std::vector<MatSynset> odd = kSynsets;
  odd[0].wnid = "kitfox";
  const std::vector<uint8_t> odd_mat = write_mat(odd);
  expect_error([&] { classes_from_synsets(read_meta_mat(odd_mat.data(), odd_mat.size(), "m"), "m"); }, {"'kitfox'"});
  odd = kSynsets;
  odd[1].id = 1;
  const std::vector<uint8_t> twice = write_mat(odd);
  expect_error([&] { classes_from_synsets(read_meta_mat(twice.data(), twice.size(), "m"), "m"); }, {"ILSVRC2012_ID 1", "two"});
}

// ---------------------------------------------------------------------------------------------
// Label files

TEST(ImageNetLabels, GroundTruthAndLocFilesAgree) {
  const std::vector<uint8_t> mat = write_mat(kSynsets);
  const ImageNetClasses devkit = classes_from_synsets(read_meta_mat(mat.data(), mat.size(), "meta.mat"), "meta.mat");
  const ImageNetClasses loc = read_synset_mapping(synset_mapping(), "LOC_synset_mapping.txt");
  EXPECT_EQ(loc.wnids, devkit.wnids);
  EXPECT_EQ(loc.descriptions, devkit.descriptions);
  const ValidationLabels a = read_ground_truth(ground_truth(kValClasses) + "\n", devkit, "gt.txt");
  const ValidationLabels b = read_loc_val_solution(val_solution(kValClasses), loc, "LOC_val_solution.csv");
  ASSERT_EQ(a.label.size(), kValClasses.size());
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.label.at("ILSVRC2012_val_00000001"), 2);
  EXPECT_EQ(a.label.at("ILSVRC2012_val_00000002"), 0);
}

TEST(ImageNetLabels, MalformedFilesAreErrorsNamingTheLine) {
  const ImageNetClasses loc = read_synset_mapping(synset_mapping(), "LOC_synset_mapping.txt");
  expect_error([&] { read_synset_mapping("tench n01440764\n", "map.txt"); }, {"map.txt line 1", "WNID"});
  expect_error([&] { read_synset_mapping("n01440764 a\nn01440764 b\n", "map.txt"); }, {"n01440764 is listed twice"});
  expect_error([&] { read_loc_val_solution("Id,Label\nx,n01440764\n", loc, "s.csv"); }, {"s.csv", "ImageId,PredictionString"});
  expect_error([&] { read_loc_val_solution("ImageId,PredictionString\nILSVRC2012_val_00000001\n", loc, "s.csv"); },
               {"s.csv line 2"});
  // A WNID outside the mapping.
  expect_error([&] { read_loc_val_solution("ImageId,PredictionString\nILSVRC2012_val_00000001,n09999999 1 2 3 4\n", loc, "s.csv"); },
               {"s.csv line 2", "n09999999 is not one of the 3 classes"});
  const std::vector<uint8_t> mat = write_mat(kSynsets);
  const ImageNetClasses devkit = classes_from_synsets(read_meta_mat(mat.data(), mat.size(), "meta.mat"), "meta.mat");
  expect_error([&] { read_ground_truth("2\n7\n", devkit, "gt.txt"); }, {"gt.txt line 2", "'7'", "ILSVRC2012_ID"});
  expect_error([&] { read_ground_truth("2\n1001\n", devkit, "gt.txt"); }, {"gt.txt line 2"});  // an inner node
  expect_error([&] { read_ground_truth("2\nfox\n", devkit, "gt.txt"); }, {"gt.txt line 2"});
}

// ---------------------------------------------------------------------------------------------
// Layouts

TEST(ImageNetLayouts, OfficialFilesSideBySide) {
  TempDir dir;
  CacheScope cache(dir / "cache");
  write_official(dir);
  Warnings w;
  auto train = open_dataset(dir.str(), Split::Train, w.options());
  EXPECT_EQ(train->classes(), kWnids);
  EXPECT_EQ(train->class_descriptions(), kWords);
  ASSERT_EQ(train->size(), 6u);  // 1 + 2 + 3
  expect_labels_match_pixels(*train);
  EXPECT_NE(train->describe().find("ILSVRC2012_img_train.tar"), std::string::npos) << train->describe();
  auto val = open_dataset(dir.str(), Split::Val, w.options());
  EXPECT_EQ(val->classes(), kWnids);
  EXPECT_EQ(val->class_descriptions(), kWords);
  ASSERT_EQ(val->size(), kValClasses.size());
  for (size_t i = 0; i < val->size(); ++i) EXPECT_EQ(val->label(i), kValClasses[i]) << val->sample_name(i);
  expect_labels_match_pixels(*val);
  EXPECT_NE(val->describe().find("ILSVRC2012_devkit_t12.tar.gz"), std::string::npos) << val->describe();
  EXPECT_EQ(open_dataset(dir.str(), Split::Test)->describe(), val->describe());  // test falls back to val
  EXPECT_TRUE(w.lines.empty()) << w.lines[0];

  const DatasetSplits s = open_dataset_splits(dir.str());
  ASSERT_TRUE(s.train && s.val);
  EXPECT_FALSE(s.test);  // no labelled test split
  EXPECT_NE(s.missing.find("test images' labels are not public"), std::string::npos) << s.missing;
}

TEST(ImageNetLayouts, OfficialFoldersAndUncompressedMetaMat) {
  TempDir dir;
  write_bytes(dir / "ILSVRC2012_devkit_t12/data/meta.mat", write_mat(kSynsets));
  write_text(dir / "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt", ground_truth(kValClasses));
  for (size_t i = 0; i < kValClasses.size(); ++i) write_bytes(dir / ("ILSVRC2012_img_val/" + val_name(int(i + 1))), jpeg_of(kValClasses[i]));
  for (int k = 0; k < 3; ++k) write_bytes(dir / ("ILSVRC2012_img_train/" + kWnids[size_t(k)] + "/a.JPEG"), jpeg_of(k));
  auto val = open_dataset(dir.str(), Split::Val);
  ASSERT_EQ(val->size(), kValClasses.size());
  expect_labels_match_pixels(*val);
  auto train = open_dataset(dir.str(), Split::Train);
  ASSERT_EQ(train->size(), 3u);
  expect_labels_match_pixels(*train);
  // The validation folder given alone: the devkit beside it labels it.
  auto alone = open_dataset(dir / "ILSVRC2012_img_val", Split::Val);
  ASSERT_EQ(alone->size(), kValClasses.size());
  expect_labels_match_pixels(*alone);
  EXPECT_EQ(alone->describe(), open_dataset(dir / "ILSVRC2012_img_val", Split::Train)->describe());  // one set
}

TEST(ImageNetLayouts, KaggleFolders) {
  TempDir dir;
  write_kaggle(dir);
  auto train = open_dataset(dir.str(), Split::Train);
  EXPECT_EQ(train->classes(), kWnids);
  EXPECT_EQ(train->class_descriptions(), kWords);
  ASSERT_EQ(train->size(), 6u);
  expect_labels_match_pixels(*train);
  auto val = open_dataset(dir.str(), Split::Val);
  ASSERT_EQ(val->size(), kValClasses.size());
  for (size_t i = 0; i < val->size(); ++i) EXPECT_EQ(val->label(i), kValClasses[i]);
  expect_labels_match_pixels(*val);
  EXPECT_NE(val->describe().find("LOC_val_solution.csv"), std::string::npos) << val->describe();
  // The validation set is the flat val/ folder, never the training images.
  EXPECT_NE(val->sample_name(0).find("CLS-LOC/val/ILSVRC2012_val_00000001.JPEG"), std::string::npos) << val->sample_name(0);
}

// ROOT/ILSVRC/Data/CLS-LOC (or ILSVRC, or ILSVRC/Data) given for ROOT: the same layout, its val/
// labelled, never an ImageFolder whose val/ split has no class folders.
TEST(ImageNetLayouts, KaggleSubfolderGivenForRoot) {
  TempDir dir;
  write_kaggle(dir);
  for (const char* sub : {"ILSVRC", "ILSVRC/Data", "ILSVRC/Data/CLS-LOC"}) {
    SCOPED_TRACE(sub);
    auto val = open_dataset(dir / sub, Split::Val);
    ASSERT_EQ(val->size(), kValClasses.size());
    for (size_t i = 0; i < val->size(); ++i) EXPECT_EQ(val->label(i), kValClasses[i]);
    EXPECT_EQ(open_dataset(dir / sub, Split::Train)->size(), 6u);
  }
}

// A validation image given as a link: labelled by the link's name, read at its target inside the
// folder; a link out of the folder is left out and counted.
TEST(ImageNetLayouts, FlatFolderLinks) {
  TempDir dir, outside;
  write_kaggle(dir);
  const std::string val = dir / "ILSVRC/Data/CLS-LOC/val/";
  fs::rename(val + val_name(1), val + "stored.jpg");
  fs::create_symlink("stored.jpg", val + val_name(1));
  write_bytes(outside / "x.JPEG", jpeg_of(0));
  fs::remove(val + val_name(2));
  fs::create_symlink(outside / "x.JPEG", val + val_name(2));
  Warnings w;
  auto d = open_dataset(dir.str(), Split::Val, w.options());
  ASSERT_EQ(d->size(), kValClasses.size() - 1);  // image 2 left out
  expect_labels_match_pixels(*d);
  EXPECT_EQ(d->label(0), kValClasses[0]);
  ASSERT_EQ(w.lines.size(), 3u);  // the outside link; stored.jpg has no label; the labels name image 2
  EXPECT_NE(w.lines[0].find("skipped 1 entry"), std::string::npos) << w.lines[0];
}

TEST(ImageNetLayouts, KaggleTrainSubsetKeepsTheWholeClassList) {
  TempDir dir;
  write_kaggle(dir);
  fs::remove_all(dir / ("ILSVRC/Data/CLS-LOC/train/" + kWnids[0]));
  auto train = open_dataset(dir.str(), Split::Train);
  EXPECT_EQ(train->classes(), kWnids);  // the labels agree with the validation set's
  expect_labels_match_pixels(*train);
}

TEST(ImageNetLayouts, FlatValidationTarGivenAloneWithLabelsBesideIt) {
  TempDir dir;
  CacheScope cache(dir / "cache");
  write_bytes(dir / "val.tar", val_tar(kValClasses));
  expect_error([&] { open_dataset(dir / "val.tar", Split::Val); }, {"val.tar", "no labels beside it"});
  write_text(dir / "LOC_synset_mapping.txt", synset_mapping());
  write_text(dir / "LOC_val_solution.csv", val_solution(kValClasses));
  auto val = open_dataset(dir / "val.tar", Split::Val);
  ASSERT_EQ(val->size(), kValClasses.size());
  expect_labels_match_pixels(*val);
  EXPECT_EQ(val->class_descriptions(), kWords);
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST(ImageNetBadInput, ValidationImageWithoutALabelIsLeftOutAndCounted) {
  TempDir dir;
  CacheScope cache(dir / "cache");
  write_official(dir);
  // The ground truth labels images 1..5 only: image 6 has no label.
  write_bytes(dir / "ILSVRC2012_devkit_t12.tar.gz",
              devkit_tar_gz(write_mat(kSynsets), ground_truth({kValClasses.begin(), kValClasses.end() - 1})));
  Warnings w;
  auto val = open_dataset(dir.str(), Split::Val, w.options());
  EXPECT_EQ(val->size(), kValClasses.size() - 1);
  expect_labels_match_pixels(*val);
  ASSERT_EQ(w.lines.size(), 1u);
  EXPECT_NE(w.lines[0].find("left out 1 image"), std::string::npos) << w.lines[0];
  EXPECT_NE(w.lines[0].find("ILSVRC2012_val_00000006.JPEG"), std::string::npos) << w.lines[0];
}

TEST(ImageNetBadInput, LabelsNamingAnAbsentImageAreCounted) {
  TempDir dir;
  CacheScope cache(dir / "cache");
  write_official(dir);
  write_bytes(dir / "ILSVRC2012_img_val.tar", val_tar(kValClasses, {3}));
  Warnings w;
  auto val = open_dataset(dir.str(), Split::Val, w.options());
  EXPECT_EQ(val->size(), kValClasses.size() - 1);
  expect_labels_match_pixels(*val);
  ASSERT_EQ(w.lines.size(), 1u);
  EXPECT_NE(w.lines[0].find("labels 1 image"), std::string::npos) << w.lines[0];
  EXPECT_NE(w.lines[0].find("ILSVRC2012_val_00000003"), std::string::npos) << w.lines[0];
}

TEST(ImageNetBadInput, NoLabelledImageAtAllIsAnError) {
  TempDir dir;
  write_kaggle(dir);
  write_text(dir / "LOC_val_solution.csv", "ImageId,PredictionString\nother_image,n01440764 1 2 3 4\n");
  Warnings w;
  expect_error([&] { open_dataset(dir.str(), Split::Val, w.options()); }, {"CLS-LOC/val", "none of its 6 images is labelled"});
}

TEST(ImageNetBadInput, ClassTarCutShort) {
  TempDir dir;
  CacheScope cache(dir / "cache");
  write_official(dir);
  // The last class tar claims more bytes than the outer tar holds.
  std::vector<TarMember> outer;
  for (int k : {2, 0}) outer.push_back({kWnids[size_t(k)] + ".tar", class_tar(kWnids[size_t(k)], k, k + 1)});
  std::vector<uint8_t> last = class_tar(kWnids[1], 1, 2);
  last.resize(700);  // the second member's header is gone, the first one's data cut
  outer.push_back({kWnids[1] + ".tar", last});
  write_bytes(dir / "ILSVRC2012_img_train.tar", tar_bytes(outer, false));
  expect_error([&] { open_dataset(dir.str(), Split::Train); }, {"ILSVRC2012_img_train.tar", "n01443537.tar"});
}

TEST(ImageNetBadInput, ClassOutsideTheMapping) {
  TempDir dir;
  write_kaggle(dir);
  write_bytes(dir / "ILSVRC/Data/CLS-LOC/train/n09999999/x.JPEG", jpeg_of(0));
  expect_error([&] { open_dataset(dir.str(), Split::Train); },
               {"class n09999999 is not one of the 3 classes", "LOC_synset_mapping.txt"});
  TempDir official;
  CacheScope cache(official / "cache");
  write_official(official);
  std::vector<MatSynset> two(kSynsets.begin() + 1, kSynsets.end());  // n02119789 left out
  write_bytes(official / "ILSVRC2012_devkit_t12.tar.gz", devkit_tar_gz(write_mat(two), "2\n3\n"));
  expect_error([&] { open_dataset(official.str(), Split::Train); },
               {"class n02119789 is not one of the 2 classes", "meta.mat"});
}

TEST(ImageNetBadInput, MalformedLabelFilesInALayout) {
  TempDir dir;
  CacheScope cache(dir / "cache");
  write_official(dir);
  std::vector<uint8_t> mat = write_mat(kSynsets, {.compressed = true});
  mat.resize(mat.size() - 20);
  write_bytes(dir / "ILSVRC2012_devkit_t12.tar.gz", devkit_tar_gz(mat, ground_truth(kValClasses)));
  expect_error([&] { open_dataset(dir.str(), Split::Val); }, {"ILSVRC2012_devkit_t12.tar.gz:", "meta.mat"});
  TempDir kaggle;
  write_kaggle(kaggle);
  write_text(kaggle / "LOC_val_solution.csv", "ImageId;PredictionString\n");
  expect_error([&] { open_dataset(kaggle.str(), Split::Val); }, {"LOC_val_solution.csv", "first line"});
  fs::remove(kaggle / "LOC_synset_mapping.txt");
  expect_error([&] { open_dataset(kaggle.str(), Split::Train); }, {"no LOC_synset_mapping.txt"});
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST(ImageNetCli, InfoSaysWhatWasRecognised) {
  TempDir dir;
  write_official(dir);
  const auto r = run_alexnet("info --data '" + dir.str() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"ImageNet training set, official files", "ImageNet validation set, official files",
                           "ILSVRC2012_validation_ground_truth.txt", "3 classes", "6 images", "n01440764 (tench, Tinca tinca)"})
    EXPECT_NE(r.output.find(part), std::string::npos) << "'" << part << "' not in:\n" << r.output;
}

TEST(ImageNetCli, BadInputIsOneErrorLine) {
  TempDir dir, alone;
  CacheScope cache(dir / "cache");
  write_bytes(alone / "val.tar", val_tar(kValClasses));  // no labels beside it
  write_kaggle(dir);  // a Kaggle layout whose labels name a WNID outside the mapping
  write_text(dir / "LOC_val_solution.csv", "ImageId,PredictionString\nILSVRC2012_val_00000001,n09999999 1 2 3 4\n");
  for (const std::string& args : {"info --data '" + (alone / "val.tar") + "'",
                                  "info --data '" + (dir / "ILSVRC/Data/CLS-LOC/val") + "'"}) {
    const auto r = run_alexnet(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("error: ", 0), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  const auto r = run_alexnet("info --data '" + (dir / "ILSVRC/Data/CLS-LOC/val") + "'");
  EXPECT_NE(r.output.find("n09999999 is not one of the 3 classes"), std::string::npos) << r.output;
}

// Checkpoint metadata: the names written only when there are some, read back, refused when they
// do not match the classes one for one.
TEST(ImageNetCheckpoint, ClassDescriptionsInMetadata) {
  ModelInfo m;
  m.variant = "cifar";
  m.options.num_classes = 3;
  m.classes = kWnids;
  EXPECT_EQ(m.metadata().count("class_descriptions"), 0u);  // other checkpoints stay as they were
  m.class_descriptions = kWords;
  std::map<std::string, std::string> meta = m.metadata();
  EXPECT_EQ(ModelInfo::from_metadata(meta, "c.safetensors").class_descriptions, kWords);
  meta["class_descriptions"] = "[\"tench\"]";
  expect_error([&] { ModelInfo::from_metadata(meta, "c.safetensors"); },
               {"c.safetensors", "'class_descriptions' holds 1 names for 3 classes"});
}

// The names travel from the data into the checkpoint, and out through predict and eval.
TEST(ImageNetCli, ClassNamesReachTheCheckpointPredictAndEval) {
  TempDir dir;
  write_kaggle(dir);
  const auto t = run_alexnet("train --model cifar --width 0.25 --steps 1 --batch-size 2 --data '" + dir.str() + "' --out '" +
                             (dir / "run") + "'");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  // The run's confusion matrix names the classes by WNID and by name.
  std::ifstream confusion(dir / "run/confusion.json");
  const nlohmann::json c = nlohmann::json::parse(confusion);
  EXPECT_EQ(c.at("classes").get<std::vector<std::string>>(), kWnids);
  EXPECT_EQ(c.at("class_descriptions").get<std::vector<std::string>>(), kWords);
  const auto p = run_alexnet("predict --checkpoint '" + (dir / "run") + "' --device cpu --top 3 --json '" +
                             (dir / ("ILSVRC/Data/CLS-LOC/val/" + val_name(1))) + "'");
  ASSERT_EQ(p.exit_code, 0) << p.output;
  for (const std::string& words : kWords) {
    EXPECT_NE(p.output.find("  " + words + "\n"), std::string::npos) << words << " not in:\n" << p.output;
    EXPECT_NE(p.output.find("\"description\":\"" + words + "\""), std::string::npos) << words << " not in:\n" << p.output;
  }
  const auto e = run_alexnet("eval --checkpoint '" + (dir / "run") + "' --device cpu --data '" + dir.str() + "'");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NE(e.output.find("on 6 images (ImageNet validation set"), std::string::npos) << e.output;  // not the training images
  for (const std::string& words : kWords) EXPECT_NE(e.output.find(words), std::string::npos) << words << " not in:\n" << e.output;
}

}  // namespace
