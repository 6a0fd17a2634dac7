#include "model/weights.h"

#include <cstring>

namespace alexnet {

namespace {

void copy_tensor(const Tensor& t, float* dst) {
  if (t.dtype() == DType::F32) {
    std::memcpy(dst, t.raw(), t.nbytes());
  } else {
    const bf16* src = t.data<bf16>();
    for (int64_t i = 0; i < t.numel(); ++i) dst[i] = bf16_to_float(src[i]);
  }
}

std::string where(const TensorFile& file) { return file.path.empty() ? std::string("weights") : file.path; }

}  // namespace

void check_weights(const TensorFile& file, const ParamTable& table) {
  for (const ParamInfo& p : table.entries) {
    auto it = file.tensors.find(p.name);
    if (it == file.tensors.end())
      fail(where(file), ": tensor '", p.name, "' is missing (is this a checkpoint of another model?)");
    const Tensor& t = it->second;
    if (t.dtype() != DType::F32 && t.dtype() != DType::BF16)
      fail(where(file), ": tensor '", p.name, "' is ", dtype_name(t.dtype()), ", expected F32 or BF16");
    if (t.shape() != p.shape)
      fail(where(file), ": tensor '", p.name, "' has shape ", shape_str(t.shape()), ", expected ", shape_str(p.shape),
           " (another model or number of classes?)");
  }
}

void load_weights(const TensorFile& file, const ParamTable& table, std::span<float> params) {
  ALEXNET_ASSERT(params.size() == table.total, "load_weights: buffer size");
  check_weights(file, table);
  for (const ParamInfo& p : table.entries) copy_tensor(file.tensors.at(p.name), params.data() + p.offset);
}

PartialLoad load_matching_weights(const TensorFile& file, const ParamTable& table, std::span<float> params) {
  ALEXNET_ASSERT(params.size() == table.total, "load_matching_weights: buffer size");
  PartialLoad result;
  for (const ParamInfo& p : table.entries) {
    auto it = file.tensors.find(p.name);
    if (it == file.tensors.end()) {
      result.skipped.push_back(p.name + " (not in the file)");
    } else if (it->second.shape() != p.shape) {
      result.skipped.push_back(p.name + " (shape " + shape_str(it->second.shape()) + " in the file, " +
                               shape_str(p.shape) + " here)");
    } else if (it->second.dtype() != DType::F32 && it->second.dtype() != DType::BF16) {
      result.skipped.push_back(p.name + " (dtype " + dtype_name(it->second.dtype()) + ")");
    } else {
      copy_tensor(it->second, params.data() + p.offset);
      result.loaded.push_back(p.name);
    }
  }
  if (result.loaded.empty()) fail(where(file), ": no tensor matches this model's parameters");
  return result;
}

TensorFile weights_to_file(const ParamTable& table, std::span<const float> params) {
  ALEXNET_ASSERT(params.size() == table.total, "weights_to_file: buffer size");
  TensorFile file;
  for (const ParamInfo& p : table.entries) {
    Tensor t(DType::F32, p.shape);
    std::memcpy(t.raw(), params.data() + p.offset, p.numel * sizeof(float));
    file.tensors.emplace(p.name, std::move(t));
  }
  return file;
}

void save_weights(const std::string& path, const ParamTable& table, std::span<const float> params,
                  const std::map<std::string, std::string>& metadata) {
  TensorFile file = weights_to_file(table, params);
  file.metadata = metadata;
  write_safetensors(path, file);
}

}  // namespace alexnet
