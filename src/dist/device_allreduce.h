// Data parallelism on GPUs: the gradients averaged over the processes (one GPU each) where they
// are, in device memory, by NCCL, on the stream of the backend that computed them, so nothing waits
// on the host and sgd_step() queued after it sees the average.
//
// The NCCL communicator is created once per run: rank 0 of `comm` draws the unique id, which the
// host communicator (MPI) broadcasts; every process then joins with its rank, on the GPU its net
// already selected (cudaSetDevice by local rank, BuildOptions::device).
//
// Compiled in when CMake finds CUDA and nccl.h (cmake/cuda.cmake, ALEXNET_HAVE_NCCL); libnccl.so.2
// is opened when the first one is made (dlopen), so the programs run where it is missing. Without
// it, nccl_compiled_in() is false and make_nccl_allreduce throws.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "dist/communicator.h"

namespace alexnet {

class DeviceAllReduce {
 public:
  virtual ~DeviceAllReduce() = default;
  // data[0..n) (device memory) = its mean over the processes, queued on `stream` (a cudaStream_t).
  virtual void average(float* data, size_t n, void* stream) = 0;
  virtual std::string transport() const = 0;  // "NCCL 2.27.3"
};

bool nccl_compiled_in();

// Every process of `comm` must call it, after building its CUDA net. Throws alexnet::Error naming
// the NCCL call and its message on failure, when libnccl.so.2 cannot be loaded, or when NCCL is not
// compiled in.
std::unique_ptr<DeviceAllReduce> make_nccl_allreduce(Communicator& comm);

}  // namespace alexnet
