// The CUDA backend's switches, read from the environment here and nowhere else. Each fast path has
// one, and 0 gives the plain path, so that a wrong result on a GPU can be traced to the fast path that
// gives it (the GPU tests run each fast path against the plain one):
//   ALEXNET_CUDA_FUSED=0   no ReLU fused into the bias kernel of the Conv2d/Linear before it: the ReLU
//                          layer runs its own kernel
//   ALEXNET_CUDA_VECTOR=0  no vector kernels (bf16 pairs in the bias kernel, four floats per thread in
//                          SGD): one element per thread
// and one for finding faults:
//   ALEXNET_CUDA_SYNC=1    after every kernel launch, wait for the device and check, so that a kernel
//                          fault is reported with that kernel's name instead of at the next sync
// Each is 0 or 1 (unset: FUSED and VECTOR 1, SYNC 0); any other value is an error.
#pragma once

namespace alexnet::cuda {

struct CudaSwitches {
  bool fused = true;
  bool vector = true;
  bool sync = false;
};

// The environment now (an alexnet::Error names a variable with a value other than 0 or 1). A net reads
// them at construction.
CudaSwitches read_cuda_switches();

// ALEXNET_CUDA_SYNC, read once per process (the kernel launchers consult it).
bool sync_each_launch();

}  // namespace alexnet::cuda
