// Checks for every call into CUDA, cuDNN and cuBLAS(Lt): on failure, an alexnet::Error naming the call,
// its file:line and the library's own message, e.g.
//   "CUDA error: cudaMalloc(&p, bytes) at src/backend/cuda/cuda_net.cpp:120: out of memory".
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdio>

#include "backend/cuda/switches.h"
#include "core/error.h"

namespace alexnet::cuda {

[[noreturn]] inline void fail_call(const char* library, const char* call, const char* file, int line, const char* message) {
  fail(library, " error: ", call, " at ", file, ":", line, ": ", message);
}

inline void check_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // reset the last-error state so that later checks report their own errors
    fail_call("CUDA", call, file, line, cudaGetErrorString(e));
  }
}
inline void check_cudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s != CUDNN_STATUS_SUCCESS) fail_call("cuDNN", call, file, line, cudnnGetErrorString(s));
}
inline void check_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    fail_call("cuBLAS", call, file, line, cat(cublasGetStatusName(s), " (", cublasGetStatusString(s), ")").c_str());
}

inline void check_launch(const char* kernel, const char* file, int line) {
  check_cuda(cudaGetLastError(), kernel, file, line);
  if (sync_each_launch())
    check_cuda(cudaDeviceSynchronize(), cat(kernel, " (ALEXNET_CUDA_SYNC=1: the device synchronised after it)").c_str(),
               file, line);
}

// For destructors, which must not throw: prints the failure instead.
inline void warn_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) std::fprintf(stderr, "CUDA error: %s at %s:%d: %s\n", call, file, line, cudaGetErrorString(e));
}
inline void warn_cudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s != CUDNN_STATUS_SUCCESS) std::fprintf(stderr, "cuDNN error: %s at %s:%d: %s\n", call, file, line, cudnnGetErrorString(s));
}
inline void warn_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS) std::fprintf(stderr, "cuBLAS error: %s at %s:%d: %s\n", call, file, line, cublasGetStatusName(s));
}

}  // namespace alexnet::cuda

#define CUDA_CHECK(call) ::alexnet::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define CUDNN_CHECK(call) ::alexnet::cuda::check_cudnn((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) ::alexnet::cuda::check_cublas((call), #call, __FILE__, __LINE__)
#define CUDA_WARN(call) ::alexnet::cuda::warn_cuda((call), #call, __FILE__, __LINE__)
#define CUDNN_WARN(call) ::alexnet::cuda::warn_cudnn((call), #call, __FILE__, __LINE__)
#define CUBLAS_WARN(call) ::alexnet::cuda::warn_cublas((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration at once. Execution errors surface at the
// next synchronising call, which is checked too, but names that call; with ALEXNET_CUDA_SYNC=1
// (switches.h) the device is waited for after every launch, so a fault names its kernel.
#define CUDA_CHECK_LAUNCH(what) ::alexnet::cuda::check_launch(what, __FILE__, __LINE__)
