#include "tensor/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace alexnet {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::U8: return 1;
    case DType::I64: return 8;
  }
  ALEXNET_ASSERT(false, "unknown dtype");
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::U8: return "U8";
    case DType::I64: return "I64";
  }
  ALEXNET_ASSERT(false, "unknown dtype");
}

DType dtype_from_name(std::string_view name) {
  if (name == "F32") return DType::F32;
  if (name == "BF16") return DType::BF16;
  if (name == "U8") return DType::U8;
  if (name == "I64") return DType::I64;
  fail("unsupported dtype '", name, "' (expected F32, BF16, U8 or I64)");
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) fail("negative dimension in shape ", shape_str(s));
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

namespace {
std::shared_ptr<std::byte[]> allocate(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)), numel_(shape_numel(shape_)), storage_(allocate(nbytes())) {}

void Tensor::check_dtype(DType t) const {
  ALEXNET_ASSERT(t == dtype_, cat("tensor is ", dtype_name(dtype_), ", accessed as ", dtype_name(t)));
}

Tensor Tensor::reshape(Shape shape) const {
  ALEXNET_ASSERT(shape_numel(shape) == numel_, cat("cannot reshape ", shape_str(shape_), " to ", shape_str(shape)));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (numel_) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor t(dtype, shape_);
  auto get = [&](int64_t i) -> float {
    switch (dtype_) {
      case DType::F32: return data<float>()[i];
      case DType::BF16: return bf16_to_float(data<bf16>()[i]);
      case DType::U8: return float(data<uint8_t>()[i]);
      case DType::I64: return float(data<int64_t>()[i]);
    }
    return 0.f;
  };
  for (int64_t i = 0; i < numel_; ++i) {
    float v = get(i);
    switch (dtype) {
      case DType::F32: t.data<float>()[i] = v; break;
      case DType::BF16: t.data<bf16>()[i] = float_to_bf16(v); break;
      case DType::U8: t.data<uint8_t>()[i] = uint8_t(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f); break;
      case DType::I64: t.data<int64_t>()[i] = int64_t(v); break;
    }
  }
  return t;
}

Tensor Tensor::from(std::span<const float> values, Shape shape) {
  Tensor t(DType::F32, std::move(shape));
  ALEXNET_ASSERT(size_t(t.numel()) == values.size(), "Tensor::from: size mismatch");
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

}  // namespace alexnet
