// Writing the devkit's meta.mat for tests and fuzz seeds: a MATLAB v5 MAT-file holding the struct
// array `synsets` with the devkit's eight fields, in the forms MATLAB writes (characters as uint16,
// whole doubles stored as uint8, small elements for short names and the field name length, an empty
// array as a bare tag), optionally zlib-compressed as one miCOMPRESSED element (MathWorks, "MAT-File
// Format", Level 5).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace alexnet::testing {

struct MatSynset {
  double id;
  std::string wnid, words;
  double num_children;
};

inline void mat_put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

// One element: a small element (tag and up to 4 bytes in 8) when `small` allows, else tag + data
// padded to 8 bytes.
inline void mat_element(std::vector<uint8_t>& out, uint32_t type, const std::vector<uint8_t>& data, bool small = true) {
  if (small && data.size() <= 4) {
    mat_put32(out, uint32_t(data.size()) << 16 | type);
    std::vector<uint8_t> four(data);
    four.resize(4, 0);
    out.insert(out.end(), four.begin(), four.end());
    return;
  }
  mat_put32(out, type);
  mat_put32(out, uint32_t(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  while (out.size() % 8) out.push_back(0);
}

inline std::vector<uint8_t> mat_array_header(uint32_t cls, const std::vector<int32_t>& dims, const std::string& name) {
  std::vector<uint8_t> out, flags, d;
  mat_put32(flags, cls);
  mat_put32(flags, 0);
  mat_element(out, 6 /*miUINT32*/, flags, false);
  for (int32_t v : dims) mat_put32(d, uint32_t(v));
  mat_element(out, 5 /*miINT32*/, d, false);
  mat_element(out, 1 /*miINT8*/, std::vector<uint8_t>(name.begin(), name.end()));
  return out;
}

inline std::vector<uint8_t> mat_matrix(const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out;
  mat_element(out, 14 /*miMATRIX*/, body, false);
  return out;
}

// A 1x1 double, stored as uint8 when whole and below 256 (as MATLAB stores such doubles).
inline std::vector<uint8_t> mat_double(double v) {
  std::vector<uint8_t> body = mat_array_header(6 /*mxDOUBLE*/, {1, 1}, ""), data;
  if (v >= 0 && v < 256 && v == double(int(v))) {
    mat_element(body, 2 /*miUINT8*/, {uint8_t(v)});
  } else {
    data.resize(8);
    std::memcpy(data.data(), &v, 8);
    mat_element(body, 9 /*miDOUBLE*/, data, false);
  }
  return mat_matrix(body);
}

// A 1xN char array of UTF-16 code units (ASCII here), as MATLAB writes them.
inline std::vector<uint8_t> mat_char(const std::string& s) {
  std::vector<uint8_t> body = mat_array_header(4 /*mxCHAR*/, {1, int32_t(s.size())}, ""), data;
  for (char c : s) {
    data.push_back(uint8_t(c));
    data.push_back(0);
  }
  mat_element(body, 4 /*miUINT16*/, data, false);
  return mat_matrix(body);
}

struct MatOptions {
  bool compressed = false;
  bool drop_words = false;      // leave the field 'words' out
  std::string header = "MATLAB 5.0 MAT-file, written by imagenet_test";
  std::string endian = "IM";
};

// meta.mat: synsets, an Nx1 struct array with the devkit's fields (children as an empty double).
inline std::vector<uint8_t> write_mat(const std::vector<MatSynset>& synsets, const MatOptions& o = {}) {
  std::vector<std::string> fields = {"ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children",
                                     "wordnet_height", "num_train_images"};
  if (o.drop_words) fields.erase(fields.begin() + 2);
  const uint32_t length = 32;
  std::vector<uint8_t> body = mat_array_header(2 /*mxSTRUCT*/, {int32_t(synsets.size()), 1}, "synsets"), names, len;
  mat_put32(len, length);
  mat_element(body, 5 /*miINT32*/, len);  // small element, as MATLAB writes the name length
  for (const std::string& f : fields) {
    std::vector<uint8_t> n(length, 0);
    std::memcpy(n.data(), f.data(), f.size());
    names.insert(names.end(), n.begin(), n.end());
  }
  mat_element(body, 1 /*miINT8*/, names, false);
  for (const MatSynset& s : synsets) {
    for (const std::string& f : fields) {
      std::vector<uint8_t> v;
      if (f == "ILSVRC2012_ID") v = mat_double(s.id);
      else if (f == "WNID") v = mat_char(s.wnid);
      else if (f == "words") v = mat_char(s.words);
      else if (f == "gloss") v = mat_char("a gloss");
      else if (f == "num_children") v = mat_double(s.num_children);
      else if (f == "children") v = mat_matrix({});  // an empty array: a bare tag
      else if (f == "wordnet_height") v = mat_double(0);
      else v = mat_double(1300);
      body.insert(body.end(), v.begin(), v.end());
    }
  }
  std::vector<uint8_t> var = mat_matrix(body);
  std::vector<uint8_t> out;
  out.reserve(128 + 16 + var.size() + var.size() / 8);
  out.resize(128, ' ');
  std::memcpy(out.data(), o.header.data(), std::min<size_t>(o.header.size(), 116));
  std::fill(out.begin() + 116, out.begin() + 124, 0);
  out[124] = 0x00;
  out[125] = 0x01;  // version 0x0100, little-endian
  out[126] = uint8_t(o.endian[0]);
  out[127] = uint8_t(o.endian[1]);
  if (!o.compressed) {
    out.insert(out.end(), var.begin(), var.end());
    return out;
  }
  uLongf n = compressBound(uLong(var.size()));
  std::vector<uint8_t> z(n);
  if (compress2(z.data(), &n, var.data(), uLong(var.size()), 6) != Z_OK) throw std::runtime_error("zlib cannot compress");
  z.resize(n);
  mat_put32(out, 15 /*miCOMPRESSED*/);
  mat_put32(out, uint32_t(z.size()));
  out.insert(out.end(), z.begin(), z.end());  // not padded
  return out;
}

}  // namespace alexnet::testing
