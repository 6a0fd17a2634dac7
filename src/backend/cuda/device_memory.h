// Owners of CUDA resources: device and pinned host memory, the stream, cuDNN and cuBLAS handles and
// descriptors. Each frees its resource on destruction (failures there are printed, not thrown).
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "backend/cuda/cuda_check.h"

namespace alexnet::cuda {

// One zero-filled device allocation. The fill runs on the legacy default stream, which the net's
// non-blocking stream does not wait for, so the constructor waits for it: the memory is zero before
// any work on any stream can touch it (allocation happens at construction and first-use planning,
// never inside a step).
class DeviceMemory {
 public:
  DeviceMemory() = default;
  explicit DeviceMemory(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    CUDA_CHECK(cudaMalloc(&ptr_, bytes));
    CUDA_CHECK(cudaMemset(ptr_, 0, bytes));
    CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
  }
  ~DeviceMemory() { release(); }
  DeviceMemory(DeviceMemory&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceMemory& operator=(DeviceMemory&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  void* get() const { return ptr_; }
  template <class T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void release() {
    if (ptr_) CUDA_WARN(cudaFree(ptr_));
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Page-locked host memory, for small device-to-host results read every step (the loss).
class PinnedMemory {
 public:
  explicit PinnedMemory(size_t bytes) { CUDA_CHECK(cudaMallocHost(&ptr_, bytes)); }
  ~PinnedMemory() { CUDA_WARN(cudaFreeHost(ptr_)); }
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;
  template <class T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

struct StreamDeleter {
  void operator()(std::remove_pointer_t<cudaStream_t>* s) const { CUDA_WARN(cudaStreamDestroy(s)); }
};
struct CudnnDeleter {
  void operator()(std::remove_pointer_t<cudnnHandle_t>* h) const { CUDNN_WARN(cudnnDestroy(h)); }
};
struct CublasDeleter {
  void operator()(std::remove_pointer_t<cublasHandle_t>* h) const { CUBLAS_WARN(cublasDestroy(h)); }
};
struct TensorDescDeleter {
  void operator()(std::remove_pointer_t<cudnnTensorDescriptor_t>* d) const { CUDNN_WARN(cudnnDestroyTensorDescriptor(d)); }
};
struct FilterDescDeleter {
  void operator()(std::remove_pointer_t<cudnnFilterDescriptor_t>* d) const { CUDNN_WARN(cudnnDestroyFilterDescriptor(d)); }
};
struct ConvDescDeleter {
  void operator()(std::remove_pointer_t<cudnnConvolutionDescriptor_t>* d) const {
    CUDNN_WARN(cudnnDestroyConvolutionDescriptor(d));
  }
};

struct EventDeleter {
  void operator()(std::remove_pointer_t<cudaEvent_t>* e) const { CUDA_WARN(cudaEventDestroy(e)); }
};

using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDeleter>;
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDeleter>;  // with timing
using CudnnHandle = std::unique_ptr<std::remove_pointer_t<cudnnHandle_t>, CudnnDeleter>;
using CublasHandle = std::unique_ptr<std::remove_pointer_t<cublasHandle_t>, CublasDeleter>;
using TensorDesc = std::unique_ptr<std::remove_pointer_t<cudnnTensorDescriptor_t>, TensorDescDeleter>;
using FilterDesc = std::unique_ptr<std::remove_pointer_t<cudnnFilterDescriptor_t>, FilterDescDeleter>;
using ConvDesc = std::unique_ptr<std::remove_pointer_t<cudnnConvolutionDescriptor_t>, ConvDescDeleter>;

inline Event make_event() {
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreate(&e));
  return Event(e);
}
inline TensorDesc make_tensor_desc() {
  cudnnTensorDescriptor_t d = nullptr;
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
  return TensorDesc(d);
}
inline FilterDesc make_filter_desc() {
  cudnnFilterDescriptor_t d = nullptr;
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
  return FilterDesc(d);
}
inline ConvDesc make_conv_desc() {
  cudnnConvolutionDescriptor_t d = nullptr;
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
  return ConvDesc(d);
}

}  // namespace alexnet::cuda
