#include "backend/cuda/switches.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace alexnet::cuda {

namespace {

bool read_switch(const char* name, bool unset) {
  const char* v = std::getenv(name);
  if (!v || !*v) return unset;
  const std::string s(v);
  if (s == "0") return false;
  if (s == "1") return true;
  fail(name, " must be 0 or 1, not '", s, "'");
}

}  // namespace

CudaSwitches read_cuda_switches() {
  CudaSwitches s;
  s.fused = read_switch("ALEXNET_CUDA_FUSED", true);
  s.vector = read_switch("ALEXNET_CUDA_VECTOR", true);
  s.sync = read_switch("ALEXNET_CUDA_SYNC", false);
  return s;
}

bool sync_each_launch() {
  static const bool sync = read_switch("ALEXNET_CUDA_SYNC", false);
  return sync;
}

}  // namespace alexnet::cuda
