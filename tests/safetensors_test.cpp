// safetensors reading and writing: round trips, the byte layout pinned by hand, every kind of
// malformed file, and failed writes (missing folder, full disk) that must leave the old file intact.
#include "tensor/safetensors.h"

#include "core/crc32c.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace alexnet {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / cat("alexnet_safetensors_", ::getpid(), "_", info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A little-endian u64 as 8 bytes.
std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((v >> (8 * i)) & 0xff);
  return s;
}

// A file with the given JSON header and `data_bytes` zero bytes of data.
std::string file_with_header(const std::string& json, size_t data_bytes) {
  return le64(json.size()) + json + std::string(data_bytes, '\0');
}

// Expects read_safetensors(path) to throw alexnet::Error whose message names the path and contains `part`.
void expect_read_error(const std::string& path, const std::string& part) {
  try {
    read_safetensors(path);
    ADD_FAILURE() << "reading " << path << " did not throw (expected an error mentioning '" << part << "')";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << "message does not mention '" << part << "': " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
  }
}

TensorFile sample_file() {
  TensorFile f;
  Tensor a(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = 0.5f * float(i) - 1.25f;
  Tensor b(DType::BF16, {4});
  for (int i = 0; i < 4; ++i) b.data<bf16>()[i] = float_to_bf16(float(i) * 3.0f - 2.0f);
  Tensor c(DType::U8, {3, 1});
  c.data<uint8_t>()[0] = 0, c.data<uint8_t>()[1] = 200, c.data<uint8_t>()[2] = 255;
  Tensor d(DType::I64, {3});
  d.data<int64_t>()[0] = -7, d.data<int64_t>()[1] = int64_t(1) << 40, d.data<int64_t>()[2] = 9;
  Tensor scalar(DType::F32, {});
  scalar.data<float>()[0] = 42.f;
  Tensor empty(DType::F32, {0, 5});
  f.tensors["weight"] = a;
  f.tensors["b16"] = b;
  f.tensors["pixels"] = c;
  f.tensors["labels"] = d;
  f.tensors["scalar"] = scalar;
  f.tensors["empty"] = empty;
  f.metadata["variant"] = "seed";
  f.metadata["note"] = "quotes \" and unicode \xc3\xa9";
  return f;
}

TEST_F(SafetensorsTest, RoundTripEveryDtypeAndMetadata) {
  const TensorFile original = sample_file();
  write_safetensors(path("a.safetensors"), original);
  const TensorFile back = read_safetensors(path("a.safetensors"));
  EXPECT_EQ(back.path, path("a.safetensors"));
  EXPECT_EQ(back.metadata, original.metadata);
  ASSERT_EQ(back.tensors.size(), original.tensors.size());
  for (const auto& [name, t] : original.tensors) {
    ASSERT_TRUE(back.has(name)) << name;
    const Tensor& r = back.get(name);
    EXPECT_EQ(r.dtype(), t.dtype()) << name;
    EXPECT_EQ(r.shape(), t.shape()) << name;
    ASSERT_EQ(r.nbytes(), t.nbytes()) << name;
    EXPECT_EQ(std::memcmp(r.raw(), t.raw(), t.nbytes()), 0) << name;
  }
  EXPECT_EQ(back.get("labels").data<int64_t>()[1], int64_t(1) << 40);
  EXPECT_EQ(back.get("pixels").data<uint8_t>()[2], 255);
  EXPECT_EQ(back.get("scalar").data<float>()[0], 42.f);
  // No temporary file is left behind.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += 1, (void)entry;
  EXPECT_EQ(files, 1);
}

TEST_F(SafetensorsTest, LayoutIsSortedContiguousAndPadded) {
  write_safetensors(path("a.safetensors"), sample_file());
  const std::string bytes = read_bytes(path("a.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.rfind("{\"__metadata__\":", 0), 0u) << header;
  // Names in sorted order, each starting where the previous one ended.
  const std::vector<std::string> names = {"b16", "empty", "labels", "pixels", "scalar", "weight"};
  size_t at = 0;
  uint64_t offset = 0;
  const TensorFile f = sample_file();
  for (const auto& name : names) {
    const size_t found = header.find("\"" + name + "\":{");
    ASSERT_NE(found, std::string::npos) << name;
    EXPECT_GT(found, at) << name << " out of order";
    at = found;
    const uint64_t end = offset + f.get(name).nbytes();
    EXPECT_NE(header.find(cat("\"data_offsets\":[", offset, ",", end, "]"), found), std::string::npos) << name;
    offset = end;
  }
  EXPECT_EQ(bytes.size(), 8 + n + offset);
}

// The format pinned independently of our writer: these bytes are what the reference implementation
// (Python safetensors.torch.save_file({"x": torch.tensor([1.0, -2.0])}, path, {"format": "pt"})) writes.
const char kHeader[] = R"({"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

std::string reference_bytes() {
  std::string json = kHeader;
  EXPECT_EQ(json.size(), 85u);
  json += std::string(3, ' ');  // padded to 88, a multiple of 8
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f little-endian
  return std::string("\x58\0\0\0\0\0\0\0", 8) + json + data;
}

TEST_F(SafetensorsTest, ReadsBytesWrittenByHand) {
  write_bytes(path("ref.safetensors"), reference_bytes());
  const TensorFile f = read_safetensors(path("ref.safetensors"));
  EXPECT_EQ(f.metadata.at("format"), "pt");
  const Tensor& x = f.get("x", DType::F32, {2});
  EXPECT_EQ(x.data<float>()[0], 1.0f);
  EXPECT_EQ(x.data<float>()[1], -2.0f);
}

// CRC-32C one bit at a time (the reflected polynomial 0x82F63B78), to check the library's SSE4.2 one.
uint32_t crc32c_bitwise(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(Crc32c, KnownValuesAndChaining) {
  EXPECT_EQ(crc32c_bitwise("123456789"), 0xE3069283u);  // the published check value
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  std::string text;
  for (int i = 0; i < 1000; ++i) text += char(i * 7 + i / 13);
  for (size_t n : {size_t(1), size_t(7), size_t(8), size_t(9), size_t(63), size_t(1000)}) {
    const std::string part = text.substr(0, n);
    EXPECT_EQ(crc32c(part.data(), n), crc32c_bitwise(part)) << n;
    EXPECT_EQ(crc32c(part.data() + n / 2, n - n / 2, crc32c(part.data(), n / 2)), crc32c_bitwise(part)) << n;
  }
}

// The same bytes as the reference writer, plus our checksum: the metadata "format" NUL "pt" NUL and the
// tensor bytes.
TEST_F(SafetensorsTest, WritesTheSameBytesAsTheReference) {
  TensorFile f;
  const float values[] = {1.0f, -2.0f};
  f.tensors["x"] = Tensor::from(values, {2});
  f.metadata["format"] = "pt";
  write_safetensors(path("ours.safetensors"), f);
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x",
                crc32c_bitwise(std::string("format\0pt\0", 10) + std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8)));
  std::string json = kHeader;
  json.insert(json.find("}"), cat(",\"alexnet.crc32c\":\"", crc, "\""));
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string expected(8, '\0');
  expected[0] = char(json.size());
  expected += json + std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  EXPECT_EQ(read_bytes(path("ours.safetensors")), expected);
  // and what the reference writes (no checksum) reads back as it is
  write_bytes(path("ref.safetensors"), reference_bytes());
  EXPECT_EQ(read_safetensors(path("ref.safetensors")).metadata.size(), 1u);
}

// A flipped bit anywhere in the tensor bytes or the metadata is one error naming the file; the
// checksum itself is not metadata a reader sees.
TEST_F(SafetensorsTest, ContentsAreCheckedAgainstTheChecksum) {
  write_safetensors(path("w.safetensors"), sample_file());
  EXPECT_EQ(read_safetensors(path("w.safetensors")).metadata.count(kChecksumKey), 0u);
  const std::string good = read_bytes(path("w.safetensors"));
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = header << 8 | uint8_t(good[size_t(i)]);
  const size_t meta_value = good.find("\"seed\"") + 2;  // inside a metadata value of sample_file()
  for (size_t at : {size_t(8 + header), size_t(8 + header + 5), good.size() - 1, meta_value}) {
    std::string bad = good;
    bad[at] ^= 0x10;
    write_bytes(path("bad.safetensors"), bad);
    try {
      read_safetensors(path("bad.safetensors"));
      ADD_FAILURE() << "a flipped bit at byte " << at << " loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.safetensors: the contents do not match the file's checksum"),
                std::string::npos) << e.what();
    }
  }
}

TEST_F(SafetensorsTest, GetNamesWhatDiffers) {
  write_safetensors(path("weights.safetensors"), sample_file());
  const TensorFile f = read_safetensors(path("weights.safetensors"));
  try {
    f.get("weight", DType::F32, {3, 2});
    ADD_FAILURE() << "shape mismatch not reported";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path("weights.safetensors") + ": tensor 'weight' has shape [2, 3], expected [3, 2]");
  }
  try {
    f.get("weight", DType::BF16, {2, 3});
    ADD_FAILURE() << "dtype mismatch not reported";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path("weights.safetensors") + ": tensor 'weight' has dtype F32, expected BF16");
  }
  try {
    f.get("features.0.weight");
    ADD_FAILURE() << "missing tensor not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tensor 'features.0.weight'"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(f.get("weight", DType::F32, {2, 3}));
}

TEST_F(SafetensorsTest, MissingFile) { expect_read_error(path("absent.safetensors"), "cannot open"); }

TEST_F(SafetensorsTest, ShorterThanEightBytes) {
  write_bytes(path("short"), "abc");
  expect_read_error(path("short"), "shorter than the 8-byte");
  write_bytes(path("empty"), "");
  expect_read_error(path("empty"), "shorter than the 8-byte");
}

TEST_F(SafetensorsTest, HeaderLongerThanFile) {
  write_bytes(path("f"), le64(1000) + "{}");
  expect_read_error(path("f"), "header length 1000");
  write_bytes(path("g"), le64(~uint64_t(0)) + "{}");
  expect_read_error(path("g"), "header length");
}

TEST_F(SafetensorsTest, MalformedJson) {
  write_bytes(path("f"), file_with_header(R"({"x": {"dtype": "F32", )", 0));
  expect_read_error(path("f"), "not valid JSON");
  write_bytes(path("g"), file_with_header(R"([1, 2, 3])", 0));
  expect_read_error(path("g"), "not a JSON object");
  write_bytes(path("h"), file_with_header(R"({"x": 5})", 0));
  expect_read_error(path("h"), "tensor 'x' is not a JSON object");
  write_bytes(path("i"), file_with_header(R"({"__metadata__": {"a": 1}})", 0));
  expect_read_error(path("i"), "__metadata__ value for 'a'");
  write_bytes(path("j"), file_with_header(
      R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2));
  expect_read_error(path("j"), "names tensor 'x' twice");
}

TEST_F(SafetensorsTest, MissingFields) {
  write_bytes(path("a"), file_with_header(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8));
  expect_read_error(path("a"), "tensor 'w' has no 'dtype'");
  write_bytes(path("b"), file_with_header(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8));
  expect_read_error(path("b"), "tensor 'w' has no 'shape'");
  write_bytes(path("c"), file_with_header(R"({"w":{"dtype":"F32","shape":[2]}})", 8));
  expect_read_error(path("c"), "tensor 'w' has no 'data_offsets'");
  write_bytes(path("d"), file_with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8));
  expect_read_error(path("d"), "expected [begin, end]");
}

TEST_F(SafetensorsTest, UnsupportedDtype) {
  write_bytes(path("a"), file_with_header(R"({"conv.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4));
  expect_read_error(path("a"), "tensor 'conv.weight' has unsupported dtype 'F16'");
  write_bytes(path("b"), file_with_header(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", 8));
  expect_read_error(path("b"), "dtype that is not a string");
}

TEST_F(SafetensorsTest, BadShapes) {
  write_bytes(path("a"), file_with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8));
  expect_read_error(path("a"), "negative value -2 in shape");
  write_bytes(path("b"), file_with_header(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8));
  expect_read_error(path("b"), "non-integer value");
  write_bytes(path("c"), file_with_header(
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8));
  expect_read_error(path("c"), "too large");
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  write_bytes(path("a"), file_with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  expect_read_error(path("a"), "beyond the 8 data bytes");
  write_bytes(path("b"), file_with_header(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8));
  expect_read_error(path("b"), "begin after end");
  write_bytes(path("c"), file_with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 8));
  expect_read_error(path("c"), "negative value -4 in data_offsets");
}

TEST_F(SafetensorsTest, OffsetsDisagreeWithShape) {
  write_bytes(path("a"), file_with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 16));
  expect_read_error(path("a"), "needs 12");
  write_bytes(path("b"), file_with_header(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}})", 16));
  expect_read_error(path("b"), "needs 8");
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  write_bytes(path("a"), file_with_header(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
  expect_read_error(path("a"), "overlap");
  // An empty tensor between them must not hide the overlap.
  write_bytes(path("b"), file_with_header(
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16));
  expect_read_error(path("b"), "overlap");
}

TEST_F(SafetensorsTest, WriteIntoMissingFolderFails) {
  const std::string target = path("no/such/folder/w.safetensors");
  try {
    write_safetensors(target, sample_file());
    ADD_FAILURE() << "writing into a missing folder did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("no")));
}

TEST_F(SafetensorsTest, WriteRejectsUndefinedTensor) {
  TensorFile f;
  f.tensors["w"] = Tensor();
  EXPECT_THROW(write_safetensors(path("w.safetensors"), f), Error);
  EXPECT_FALSE(fs::exists(path("w.safetensors")));
}

// A full disk, imitated with a file-size limit in a child process: the write must fail with a clear
// error, remove its temporary file and leave the previous file intact.
TEST_F(SafetensorsTest, FullDiskKeepsThePreviousFile) {
  const std::string target = path("w.safetensors");
  const TensorFile old_file = sample_file();
  write_safetensors(target, old_file);
  const std::string old_bytes = read_bytes(target);

  TensorFile big;
  big.tensors["big"] = Tensor(DType::F32, {1 << 20});  // 4 MiB, over the 64 KiB limit below
  const std::string message_file = path("message.txt");

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes: 0 = threw alexnet::Error (message saved), 1 = wrote without error, 2 = other failure.
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {64 * 1024, 64 * 1024};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(2);
    try {
      write_safetensors(target, big);
    } catch (const Error& e) {
      std::FILE* out = std::fopen(message_file.c_str(), "w");
      if (!out) ::_exit(2);
      std::fputs(e.what(), out);
      std::fclose(out);
      ::_exit(0);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child died instead of reporting an error";
  ASSERT_EQ(WEXITSTATUS(status), 0) << "1: the write succeeded despite the limit; 2: it failed some other way";

  const std::string message = read_bytes(message_file);
  EXPECT_NE(message.find(target), std::string::npos) << message;
  EXPECT_NE(message.find("cannot write"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;

  EXPECT_EQ(read_bytes(target), old_bytes);
  const TensorFile back = read_safetensors(target);
  EXPECT_EQ(back.tensors.size(), old_file.tensors.size());
  EXPECT_EQ(back.metadata, old_file.metadata);
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << "temporary file left behind: " << name;
  }
}

}  // namespace
}  // namespace alexnet
