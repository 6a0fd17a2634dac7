// safetensors files: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
// then the raw little-endian tensor bytes. https://github.com/huggingface/safetensors
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace alexnet {

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"

  // The named tensor; throws alexnet::Error naming the file when it is missing.
  const Tensor& get(const std::string& name) const;
  // The named tensor, checked for dtype and shape; throws alexnet::Error naming what differs.
  const Tensor& get(const std::string& name, DType dtype, const Shape& shape) const;
  bool has(const std::string& name) const { return tensors.count(name) != 0; }

  std::string path;  // where it was read from (for messages); empty when built in memory
};

// The metadata key under which write_safetensors records a CRC-32C of the file's contents (the other
// metadata, as key NUL value NUL in key order, then the tensor bytes in offset order), as 8 hexadecimal
// digits: other readers (PyTorch, safetensors) see one more string. read_safetensors checks it and
// leaves it out of TensorFile::metadata.
inline constexpr char kChecksumKey[] = "alexnet.crc32c";

// Reads a whole file. Throws alexnet::Error with the path and the problem for a missing file,
// a truncated or malformed header, an unsupported dtype, offsets outside the file, or contents that
// do not match the file's checksum (when it has one: files from elsewhere may not).
TensorFile read_safetensors(const std::string& path);

// Writes atomically: to PATH.tmp.<pid>, fsync, rename over PATH. Throws alexnet::Error (and leaves
// any previous PATH intact) when the disk is full or the folder is not writable. The metadata gets
// the checksum (kChecksumKey).
void write_safetensors(const std::string& path, const TensorFile& file);

}  // namespace alexnet
