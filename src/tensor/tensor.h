// A dense, contiguous, row-major host tensor with shared storage.
//
// Dimension letters used throughout the project:
//   N batch, C channels (input), K channels (output, i.e. kernels), H/W height/width of an input,
//   P/Q height/width of an output, R/S kernel height/width, G groups, F features (fully connected).
// Images and activations are NCHW unless a name says otherwise (NHWC for uint8 images as decoded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tensor/bf16.h"

namespace alexnet {

enum class DType : uint8_t { F32, BF16, U8, I64 };

size_t dtype_size(DType t);
// The safetensors spelling: "F32", "BF16", "U8", "I64".
const char* dtype_name(DType t);
// Parses the safetensors spelling; throws alexnet::Error for anything else.
DType dtype_from_name(std::string_view name);

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<bf16>() { return DType::BF16; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[2, 3, 224, 224]"

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled, 64-byte aligned.
  Tensor(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return int(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(size_t(i)); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }
  bool defined() const { return storage_ != nullptr; }

  std::byte* raw() { return storage_.get(); }
  const std::byte* raw() const { return storage_.get(); }

  // Typed access; asserts that T matches the dtype.
  template <class T> T* data() {
    check_dtype(dtype_of<T>());
    return reinterpret_cast<T*>(storage_.get());
  }
  template <class T> const T* data() const {
    check_dtype(dtype_of<T>());
    return reinterpret_cast<const T*>(storage_.get());
  }
  template <class T> std::span<T> span() { return {data<T>(), size_t(numel_)}; }
  template <class T> std::span<const T> span() const { return {data<T>(), size_t(numel_)}; }

  // Same storage, new shape (same number of elements).
  Tensor reshape(Shape shape) const;
  // A deep copy.
  Tensor clone() const;
  // A copy converted to another dtype (F32 <-> BF16; U8/I64 -> F32).
  Tensor to(DType dtype) const;

  static Tensor from(std::span<const float> values, Shape shape);

 private:
  void check_dtype(DType t) const;

  DType dtype_ = DType::F32;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<std::byte[]> storage_;
};

}  // namespace alexnet
