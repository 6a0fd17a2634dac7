#include "tensor/safetensors.h"

#include "core/atomic_file.h"
#include "core/crc32c.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

namespace alexnet {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; this host is not");

namespace {

// How a file is named in messages: its path, or a placeholder for one built in memory.
std::string label(const std::string& path) { return path.empty() ? std::string("(tensor file in memory)") : path; }

std::string errno_text(int err) { return std::strerror(err); }

// Closes a file descriptor when it goes out of scope (on the error paths).
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly `n` bytes at `offset`; throws naming `what` on a short read or an I/O error.
void read_exact(int fd, std::byte* dst, size_t n, uint64_t offset, const std::string& path, const char* what) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, dst, n, off_t(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(path, ": cannot read ", what, ": ", errno_text(errno));
    }
    if (got == 0) fail(path, ": file ends while reading ", what);
    dst += got;
    n -= size_t(got);
    offset += uint64_t(got);
  }
}

// A JSON value that must be a non-negative integer (a dimension or an offset).
uint64_t json_uint(const nlohmann::json& v, const std::string& path, const std::string& tensor, const char* field) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) fail(path, ": tensor '", tensor, "' has a negative value ", v.dump(), " in ", field);
  fail(path, ": tensor '", tensor, "' has a non-integer value ", v.dump(), " in ", field);
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // byte offsets into the data section
};

Entry parse_entry(const std::string& name, const nlohmann::json& info, uint64_t data_size, const std::string& path) {
  if (!info.is_object()) fail(path, ": header entry for tensor '", name, "' is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field)) fail(path, ": tensor '", name, "' has no '", field, "' in the header");

  Entry e;
  e.name = name;
  const auto& dtype = info["dtype"];
  if (!dtype.is_string()) fail(path, ": tensor '", name, "' has a dtype that is not a string: ", dtype.dump());
  const std::string dtype_str = dtype.get<std::string>();
  if (dtype_str != "F32" && dtype_str != "BF16" && dtype_str != "U8" && dtype_str != "I64")
    fail(path, ": tensor '", name, "' has unsupported dtype '", dtype_str, "' (expected F32, BF16, U8 or I64)");
  e.dtype = dtype_from_name(dtype_str);

  const auto& shape = info["shape"];
  if (!shape.is_array()) fail(path, ": tensor '", name, "' has a shape that is not a list: ", shape.dump());
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : shape) {
    const uint64_t dim = json_uint(d, path, name, "shape");
    if (dim > uint64_t(INT64_MAX)) fail(path, ": tensor '", name, "' has a dimension too large: ", dim);
    e.shape.push_back(int64_t(dim));
    overflow = overflow || __builtin_mul_overflow(numel, dim, &numel);
  }
  if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end()) numel = 0, overflow = false;
  uint64_t nbytes = 0;
  if (overflow || __builtin_mul_overflow(numel, uint64_t(dtype_size(e.dtype)), &nbytes))
    fail(path, ": tensor '", name, "' has shape ", shape_str(e.shape), ", too large to address");

  const auto& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, ": tensor '", name, "' has data_offsets ", offsets.dump(), " (expected [begin, end])");
  e.begin = json_uint(offsets[0], path, name, "data_offsets");
  e.end = json_uint(offsets[1], path, name, "data_offsets");
  if (e.begin > e.end) fail(path, ": tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] with begin after end");
  if (e.end > data_size)
    fail(path, ": tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] beyond the ", data_size,
         " data bytes in the file");
  if (e.end - e.begin != nbytes)
    fail(path, ": tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] spanning ", e.end - e.begin,
         " bytes, but ", dtype_str, " ", shape_str(e.shape), " needs ", nbytes);
  return e;
}


}  // namespace

const Tensor& TensorFile::get(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail(label(path), ": no tensor '", name, "' (the file has ", tensors.size(), " tensors)");
  return it->second;
}

const Tensor& TensorFile::get(const std::string& name, DType dtype, const Shape& shape) const {
  const Tensor& t = get(name);
  if (t.dtype() != dtype)
    fail(label(path), ": tensor '", name, "' has dtype ", dtype_name(t.dtype()), ", expected ", dtype_name(dtype));
  if (t.shape() != shape)
    fail(label(path), ": tensor '", name, "' has shape ", shape_str(t.shape()), ", expected ", shape_str(shape));
  return t;
}

namespace {
std::string checksum_text(uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", crc);
  return text;
}

// The checksum's start: the metadata but the checksum itself, as key NUL value NUL in key order.
uint32_t metadata_crc(const std::map<std::string, std::string>& metadata) {
  uint32_t crc = 0;
  for (const auto& [k, v] : metadata)
    if (k != kChecksumKey) crc = crc32c(v.c_str(), v.size() + 1, crc32c(k.c_str(), k.size() + 1, crc));
  return crc;
}
}  // namespace

TensorFile read_safetensors(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) fail(path, ": cannot open: ", errno_text(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) fail(path, ": cannot stat: ", errno_text(errno));
  if (!S_ISREG(st.st_mode)) fail(path, ": not a regular file");
  const uint64_t file_size = uint64_t(st.st_size);
  if (file_size < 8) fail(path, ": file is ", file_size, " bytes, shorter than the 8-byte safetensors header length");

  unsigned char len_bytes[8];
  read_exact(fd.fd, reinterpret_cast<std::byte*>(len_bytes), 8, 0, path, "the header length");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | len_bytes[i];
  if (header_size > file_size - 8)
    fail(path, ": header length ", header_size, " is larger than the ", file_size - 8, " bytes after it (truncated or not a safetensors file)");

  std::string header(size_t(header_size), '\0');
  read_exact(fd.fd, reinterpret_cast<std::byte*>(header.data()), header.size(), 8, path, "the header");

  // Parse, rejecting a tensor name given twice (nlohmann would silently keep the last one).
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(header, on_event);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": header is not valid JSON: ", e.what());
  }
  if (!duplicate.empty()) fail(path, ": header names tensor '", duplicate, "' twice");
  if (!root.is_object()) fail(path, ": header is not a JSON object");

  TensorFile out;
  out.path = path;
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  std::vector<Entry> entries;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(path, ": __metadata__ is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail(path, ": __metadata__ value for '", mk, "' is not a string: ", mv.dump());
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(key, value, data_size, path));
  }

  // Tensors may not share bytes. Sorting by offset also makes the reads below sequential.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* last = nullptr;  // the non-empty entry that ends furthest so far
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (last && e.begin < last->end)
      fail(path, ": tensors '", last->name, "' [", last->begin, ", ", last->end, ") and '", e.name, "' [", e.begin,
           ", ", e.end, ") overlap in the data section");
    if (!last || e.end > last->end) last = &e;
  }

  uint32_t crc = metadata_crc(out.metadata);
  for (const Entry& e : entries) {
    Tensor t(e.dtype, e.shape);
    if (t.nbytes() > 0) read_exact(fd.fd, t.raw(), t.nbytes(), data_start + e.begin, path, cat("tensor '", e.name, "'").c_str());
    crc = crc32c(t.raw(), t.nbytes(), crc);
    out.tensors.emplace(e.name, std::move(t));
  }
  if (auto it = out.metadata.find(kChecksumKey); it != out.metadata.end()) {
    if (it->second != checksum_text(crc))
      fail(path, ": the contents do not match the file's checksum (", kChecksumKey, " ", it->second, ", the bytes give ",
           checksum_text(crc), "): the file is corrupt");
    out.metadata.erase(it);
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorFile& file) {
  // The header, in the reference writer's layout: "__metadata__" first, then the tensors (here in
  // name order, which std::map gives), each {"dtype", "shape", "data_offsets"}; compact JSON padded
  // with spaces so the data starts at a multiple of 8 bytes.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint32_t crc = metadata_crc(file.metadata);
  for (const auto& [name, t] : file.tensors)
    if (t.defined()) crc = crc32c(t.raw(), t.nbytes(), crc);
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : file.metadata) meta[k] = v;
  meta[kChecksumKey] = checksum_text(crc);
  header["__metadata__"] = std::move(meta);
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name == "__metadata__") fail(path, ": '__metadata__' cannot be a tensor name");
    if (name.empty()) fail(path, ": a tensor has an empty name");
    if (!t.defined()) fail(path, ": tensor '", name, "' is empty (never allocated)");
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = dtype_name(t.dtype());
    entry["shape"] = t.shape();
    entry["data_offsets"] = {offset, offset + t.nbytes()};
    header[name] = std::move(entry);
    offset += t.nbytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // a name or metadata value that is not UTF-8
    fail(path, ": cannot encode the header: ", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = (uint64_t(text.size()) >> (8 * i)) & 0xff;

  AtomicFile out(path);
  out.write(len_bytes, 8);
  out.write(text.data(), text.size());
  for (const auto& [name, t] : file.tensors)
    if (t.nbytes() > 0) out.write(t.raw(), t.nbytes());
  out.commit();
}

}  // namespace alexnet
