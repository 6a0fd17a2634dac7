// The devkit's meta.mat: a MATLAB v5 MAT-file (MathWorks, "MAT-File Format", Level 5) read far
// enough for its `synsets` struct array, as torchvision reads it with scipy.io.loadmat.
//
// The file: a 128-byte header (116 bytes of text starting "MATLAB 5.0 MAT-file", 8 bytes of
// subsystem offset, version 0x0100, the endian indicator "IM" for little-endian), then data
// elements. Each element has an 8-byte tag (type, number of bytes) and its data padded to 8 bytes;
// a "small" element packs a type and up to 4 bytes in the tag alone (byte count in the upper 16
// bits of the first word). miCOMPRESSED (15) holds one zlib stream that inflates to further
// elements, and is not padded. miMATRIX (14) is an array: array flags (class in the low byte),
// dimensions (int32), name (int8), then by class:
//   numeric: the real part in any numeric type (MATLAB stores whole doubles as uint8 when they fit),
//   char:    the characters (uint16 code units from MATLAB, utf8 from scipy),
//   struct:  the field name length (int32), the names (int8, that many bytes each, NUL-padded),
//            then one miMATRIX per field per element, elements in column order.
// Cells, sparse arrays, objects and complex numbers are not read: such an array is kept as
// "unsupported" and is an error only where it is used.
#include <zlib.h>

#include <cstring>

#include "data/imagenet.h"

namespace alexnet {

namespace {

enum : uint32_t {
  miINT8 = 1, miUINT8 = 2, miINT16 = 3, miUINT16 = 4, miINT32 = 5, miUINT32 = 6, miSINGLE = 7, miDOUBLE = 9,
  miINT64 = 12, miUINT64 = 13, miMATRIX = 14, miCOMPRESSED = 15, miUTF8 = 16, miUTF16 = 17, miUTF32 = 18,
};
enum : uint32_t { mxSTRUCT = 2, mxCHAR = 4, mxDOUBLE = 6, mxUINT64 = 15 };

// The real meta.mat inflates to about 2 MB; these bounds keep a crafted file from asking for more
// than a few hundred MB of arrays.
constexpr size_t kMaxInflatedBytes = size_t(16) << 20;
constexpr uint64_t kMaxArrayElements = uint64_t(1) << 22;
constexpr int kMaxDepth = 8;

// One MATLAB array of the kinds meta.mat holds.
struct Value {
  enum class Kind { Numeric, Char, Struct, Unsupported } kind = Kind::Numeric;
  std::vector<int64_t> dims;
  std::vector<double> numbers;       // Numeric, column order
  std::string text;                  // Char, UTF-8
  std::vector<std::string> fields;   // Struct
  std::vector<Value> elements;       // Struct: element e's field f at e * fields.size() + f
  std::string unsupported;           // Unsupported: what it is
  size_t count() const {
    size_t n = 1;
    for (int64_t d : dims) n *= size_t(d);
    return n;
  }
};

uint32_t u32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

struct Element {
  uint32_t type = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

class MatReader {
 public:
  explicit MatReader(std::string name) : name_(std::move(name)) {}

  // The elements of [begin, end), in order.
  std::vector<Element> elements(const uint8_t* begin, const uint8_t* end, const char* where) const {
    std::vector<Element> out;
    const uint8_t* p = begin;
    while (p < end) {
      if (end - p < 8) fail(name_, ": ", where, ": an element tag is cut short (", end - p, " bytes left)");
      Element e;
      const uint32_t first = u32(p);
      if (first >> 16) {  // small element: type and byte count in one word, data in the next 4 bytes
        e.type = first & 0xFFFF;
        e.size = first >> 16;
        if (e.size > 4) fail(name_, ": ", where, ": a small element claims ", e.size, " bytes (at most 4)");
        e.data = p + 4;
        p += 8;
      } else {
        e.type = first;
        e.size = u32(p + 4);
        if (size_t(end - p - 8) < e.size)
          fail(name_, ": ", where, ": an element of type ", e.type, " claims ", e.size, " bytes but ", end - p - 8,
               " are left");
        e.data = p + 8;
        const size_t padded = e.type == miCOMPRESSED ? e.size : (e.size + 7) / 8 * 8;
        p += 8 + std::min(padded, size_t(end - p - 8));  // the last element's padding may be missing
      }
      out.push_back(e);
    }
    return out;
  }

  // The variables of a whole file: name -> value.
  std::map<std::string, Value> read(const uint8_t* data, size_t size) {
    if (size < 128) fail(name_, ": ", size, " bytes is too short for a MAT-file (its header alone is 128)");
    const std::string text(reinterpret_cast<const char*>(data), 116);
    if (text.rfind("MATLAB 7.3", 0) == 0)
      fail(name_, ": a MATLAB 7.3 MAT-file (HDF5); only the version 5 format (the devkit's) is read");
    if (text.rfind("MATLAB 5.0 MAT-file", 0) != 0)
      fail(name_, ": not a MATLAB 5.0 MAT-file (its header does not start with \"MATLAB 5.0 MAT-file\")");
    if (data[126] == 'M' && data[127] == 'I') fail(name_, ": a big-endian MAT-file; only little-endian ones are read");
    if (data[126] != 'I' || data[127] != 'M')
      fail(name_, ": the MAT-file header's endian indicator is not \"IM\"");
    const unsigned version = unsigned(data[124]) | unsigned(data[125]) << 8;
    if (version != 0x0100) fail(name_, ": MAT-file version ", version, " (expected 256, version 5)");
    std::map<std::string, Value> out;
    for (const Element& e : elements(data + 128, data + size, "file")) read_top(e, out);
    return out;
  }

 private:
  void read_top(const Element& e, std::map<std::string, Value>& out, bool inside_compressed = false) {
    if (e.type == miCOMPRESSED) {
      if (inside_compressed) fail(name_, ": a compressed element inside a compressed element");
      const std::vector<uint8_t> inflated = inflate(e.data, e.size);
      for (const Element& inner : elements(inflated.data(), inflated.data() + inflated.size(), "compressed element"))
        read_top(inner, out, true);
      return;
    }
    if (e.type != miMATRIX) fail(name_, ": a top-level element of type ", e.type, " (expected an array, 14, or compressed, 15)");
    std::string var;
    Value v = matrix(e, 0, &var);
    out[var] = std::move(v);
  }

  std::vector<uint8_t> inflate(const uint8_t* data, size_t size) const {
    std::vector<uint8_t> out(std::min<size_t>(std::max<size_t>(size * 4, 4096), kMaxInflatedBytes));
    z_stream z{};
    if (inflateInit(&z) != Z_OK) fail(name_, ": cannot start zlib");
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = uInt(size);
    int rc = Z_OK;
    for (;;) {
      z.next_out = out.data() + z.total_out;
      z.avail_out = uInt(out.size() - z.total_out);
      rc = ::inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) break;
      if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended before the stream did
      if (rc != Z_OK && rc != Z_BUF_ERROR) break;
      if (z.avail_out == 0) {
        if (out.size() >= kMaxInflatedBytes) {
          inflateEnd(&z);
          fail(name_, ": a compressed element inflates to more than ", kMaxInflatedBytes, " bytes");
        }
        out.resize(std::min(out.size() * 2, kMaxInflatedBytes));
      }
    }
    const size_t n = z.total_out;
    const std::string message = z.msg ? z.msg : "";
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
      fail(name_, ": a compressed element is broken (zlib: ", message.empty() ? "the stream ends early" : message, ")");
    out.resize(n);
    return out;
  }

  // An miMATRIX element; `var` (when given) receives its name.
  Value matrix(const Element& e, int depth, std::string* var) const {
    if (e.type != miMATRIX) fail(name_, ": an element of type ", e.type, " where an array (14) was expected");
    if (depth > kMaxDepth) fail(name_, ": arrays nested more than ", kMaxDepth, " deep");
    Value v;
    if (e.size == 0) {  // an empty array may be written as a bare tag
      v.dims = {0, 0};
      return v;
    }
    const std::vector<Element> sub = elements(e.data, e.data + e.size, "array");
    if (sub.size() < 3) fail(name_, ": an array with ", sub.size(), " parts (at least flags, dimensions, name)");
    if (sub[0].type != miUINT32 || sub[0].size != 8) fail(name_, ": an array's flags are not 8 bytes of uint32");
    const uint32_t flags = u32(sub[0].data);
    const uint32_t cls = flags & 0xFF;
    const bool complex = (flags & 0x800) != 0;
    if (sub[1].type != miINT32 || sub[1].size < 8 || sub[1].size % 4 != 0)
      fail(name_, ": an array's dimensions are not two or more int32");
    uint64_t count = 1;
    for (size_t i = 0; i < sub[1].size / 4; ++i) {
      const int32_t d = int32_t(u32(sub[1].data + 4 * i));
      if (d < 0) fail(name_, ": an array has a negative dimension (", d, ")");
      v.dims.push_back(d);
      count *= uint64_t(d);
      if (count > kMaxArrayElements) fail(name_, ": an array of more than ", kMaxArrayElements, " elements");
    }
    if (sub[2].type != miINT8) fail(name_, ": an array's name is not int8 characters");
    if (var) *var = std::string(reinterpret_cast<const char*>(sub[2].data), sub[2].size);

    if (cls == mxSTRUCT) {
      if (sub.size() < 5 || sub[3].type != miINT32 || sub[3].size != 4)
        fail(name_, ": struct array '", var ? *var : "", "' has no field name length");
      const uint32_t length = u32(sub[3].data);
      if (length == 0 || length > 4096) fail(name_, ": a struct's field name length is ", length);
      if (sub[4].type != miINT8 || sub[4].size % length != 0)
        fail(name_, ": a struct's field names are not a whole number of ", length, "-byte names");
      for (size_t f = 0; f < sub[4].size / length; ++f) {
        const char* s = reinterpret_cast<const char*>(sub[4].data + f * length);
        v.fields.emplace_back(s, strnlen(s, length));
      }
      const size_t cells = size_t(count) * v.fields.size();
      if (sub.size() - 5 != cells)
        fail(name_, ": a struct array of ", count, " elements and ", v.fields.size(), " fields holds ", sub.size() - 5,
             " values (expected ", cells, ")");
      v.kind = Value::Kind::Struct;
      v.elements.reserve(cells);
      for (size_t i = 0; i < cells; ++i) v.elements.push_back(matrix(sub[5 + i], depth + 1, nullptr));
      return v;
    }
    if (complex) return unsupported(std::move(v), "complex numbers");
    if (cls == mxCHAR) {
      if (sub.size() < 4) {
        if (count != 0) fail(name_, ": a char array of ", count, " characters holds no data");
        v.kind = Value::Kind::Char;
        return v;
      }
      if (v.dims.size() != 2 || (v.dims[0] > 1 && v.dims[1] > 0)) return unsupported(std::move(v), "a char array of several rows");
      v.kind = Value::Kind::Char;
      v.text = characters(sub[3], count);
      return v;
    }
    if (cls >= mxDOUBLE && cls <= mxUINT64) {
      v.kind = Value::Kind::Numeric;
      if (sub.size() < 4) {
        if (count != 0) fail(name_, ": a numeric array of ", count, " values holds no data");
        return v;
      }
      v.numbers = numbers(sub[3], count);
      return v;
    }
    return unsupported(std::move(v), cat("an array of MATLAB class ", cls, " (cell, sparse or object)"));
  }

  static Value unsupported(Value v, std::string what) {
    v.kind = Value::Kind::Unsupported;
    v.unsupported = std::move(what);
    return v;
  }

  std::vector<double> numbers(const Element& e, uint64_t count) const {
    size_t width = 0;
    switch (e.type) {
      case miINT8: case miUINT8: width = 1; break;
      case miINT16: case miUINT16: width = 2; break;
      case miINT32: case miUINT32: case miSINGLE: width = 4; break;
      case miDOUBLE: case miINT64: case miUINT64: width = 8; break;
      default: fail(name_, ": numeric data of element type ", e.type);
    }
    if (e.size != count * width)
      fail(name_, ": a numeric array of ", count, " values holds ", e.size, " bytes of ", width, "-byte values");
    std::vector<double> out(e.size / width);
    for (size_t i = 0; i < out.size(); ++i) {
      const uint8_t* p = e.data + i * width;
      uint64_t bits = 0;
      for (size_t b = 0; b < width; ++b) bits |= uint64_t(p[b]) << (8 * b);
      switch (e.type) {
        case miINT8: out[i] = int8_t(bits); break;
        case miUINT8: out[i] = double(bits); break;
        case miINT16: out[i] = int16_t(bits); break;
        case miUINT16: out[i] = double(bits); break;
        case miINT32: out[i] = int32_t(bits); break;
        case miUINT32: out[i] = double(bits); break;
        case miINT64: out[i] = double(int64_t(bits)); break;
        case miUINT64: out[i] = double(bits); break;
        case miSINGLE: { float f; const uint32_t b32 = uint32_t(bits); std::memcpy(&f, &b32, 4); out[i] = f; break; }
        default: { double d; std::memcpy(&d, &bits, 8); out[i] = d; break; }
      }
    }
    return out;
  }

  // Characters as UTF-8.
  std::string characters(const Element& e, uint64_t count) const {
    std::string out;
    if (e.type == miUTF8 || e.type == miUINT8 || e.type == miINT8) {
      out.assign(reinterpret_cast<const char*>(e.data), e.size);
      return out;
    }
    if (e.type != miUINT16 && e.type != miUTF16) fail(name_, ": character data of element type ", e.type);
    if (e.size % 2 != 0 || e.size / 2 != count)
      fail(name_, ": a char array of ", count, " characters holds ", e.size, " bytes of UTF-16");
    auto put = [&](uint32_t c) {
      if (c < 0x80) {
        out += char(c);
      } else if (c < 0x800) {
        out += char(0xC0 | c >> 6);
        out += char(0x80 | (c & 0x3F));
      } else if (c < 0x10000) {
        out += char(0xE0 | c >> 12);
        out += char(0x80 | (c >> 6 & 0x3F));
        out += char(0x80 | (c & 0x3F));
      } else {
        out += char(0xF0 | c >> 18);
        out += char(0x80 | (c >> 12 & 0x3F));
        out += char(0x80 | (c >> 6 & 0x3F));
        out += char(0x80 | (c & 0x3F));
      }
    };
    for (size_t i = 0; i < e.size / 2; ++i) {
      uint32_t c = uint32_t(e.data[2 * i]) | uint32_t(e.data[2 * i + 1]) << 8;
      if (c >= 0xD800 && c < 0xDC00 && i + 1 < e.size / 2) {
        const uint32_t low = uint32_t(e.data[2 * i + 2]) | uint32_t(e.data[2 * i + 3]) << 8;
        if (low >= 0xDC00 && low < 0xE000) {
          c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
          ++i;
        }
      }
      if (c >= 0xD800 && c < 0xE000) c = 0xFFFD;  // an unpaired surrogate
      put(c);
    }
    return out;
  }

  std::string name_;
};

}  // namespace

std::vector<Synset> read_meta_mat(const uint8_t* data, size_t size, const std::string& name) {
  const std::map<std::string, Value> vars = MatReader(name).read(data, size);
  auto it = vars.find("synsets");
  if (it == vars.end()) fail(name, ": no variable 'synsets' (the devkit's meta.mat holds one)");
  const Value& s = it->second;
  if (s.kind != Value::Kind::Struct) fail(name, ": 'synsets' is not a struct array");
  auto field = [&](const char* f) -> size_t {
    for (size_t i = 0; i < s.fields.size(); ++i)
      if (s.fields[i] == f) return i;
    fail(name, ": 'synsets' has no field '", f, "'");
  };
  const size_t id_f = field("ILSVRC2012_ID"), wnid_f = field("WNID"), words_f = field("words"),
               children_f = field("num_children");
  const size_t nf = s.fields.size(), n = s.count();
  auto number = [&](size_t e, size_t f) -> int64_t {
    const Value& v = s.elements[e * nf + f];
    if (v.kind != Value::Kind::Numeric || v.numbers.size() != 1)
      fail(name, ": synsets(", e + 1, ").", s.fields[f], " is not one number",
           v.kind == Value::Kind::Unsupported ? " (" + v.unsupported + ")" : "");
    const double x = v.numbers[0];
    if (!(x >= 0 && x < 1e9) || x != double(int64_t(x)))
      fail(name, ": synsets(", e + 1, ").", s.fields[f], " is ", x, " (expected a whole number from 0)");
    return int64_t(x);
  };
  auto text = [&](size_t e, size_t f) -> const std::string& {
    const Value& v = s.elements[e * nf + f];
    if (v.kind != Value::Kind::Char)
      fail(name, ": synsets(", e + 1, ").", s.fields[f], " is not text",
           v.kind == Value::Kind::Unsupported ? " (" + v.unsupported + ")" : "");
    return v.text;
  };
  std::vector<Synset> out(n);
  for (size_t e = 0; e < n; ++e) {
    out[e].id = number(e, id_f);
    out[e].wnid = text(e, wnid_f);
    out[e].words = text(e, words_f);
    out[e].num_children = number(e, children_f);
  }
  return out;
}

}  // namespace alexnet
