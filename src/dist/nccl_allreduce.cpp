// The NCCL all-reduce of device buffers (device_allreduce.h), and its stand-in without NCCL.
#include "dist/device_allreduce.h"

#include "core/error.h"

#ifdef ALEXNET_HAVE_NCCL
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>

#include <cstring>
#include <type_traits>

namespace alexnet {

namespace {

// NCCL is opened at run time (dlopen), not linked: a program that never averages on GPUs, or a
// machine without NCCL, loads and runs without it.
struct NcclApi {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclGetVersion) get_version = nullptr;
};

const NcclApi& nccl() {
  static const NcclApi api = [] {
    void* lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) fail("cannot load NCCL (", dlerror(), "): install it or put libnccl.so.2 on LD_LIBRARY_PATH");
    NcclApi a;
    auto get = [lib](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn) fail("libnccl.so.2 has no ", name);
    };
    get(a.get_unique_id, "ncclGetUniqueId");
    get(a.comm_init_rank, "ncclCommInitRank");
    get(a.comm_destroy, "ncclCommDestroy");
    get(a.all_reduce, "ncclAllReduce");
    get(a.error_string, "ncclGetErrorString");
    get(a.get_version, "ncclGetVersion");
    return a;
  }();
  return api;
}

// Every NCCL call goes through this: a failure throws naming the call, file:line and NCCL's message.
#define ALEXNET_NCCL(call) ::alexnet::nccl_check((call), #call, __FILE__, __LINE__)
void nccl_check(ncclResult_t rc, const char* call, const char* file, int line) {
  if (rc == ncclSuccess) return;
  fail(call, " failed at ", file, ":", line, ": ", nccl().error_string(rc));
}

class NcclAllReduce final : public DeviceAllReduce {
 public:
  explicit NcclAllReduce(Communicator& comm) {
    ncclUniqueId id;
    std::memset(&id, 0, sizeof id);
    if (comm.is_root()) ALEXNET_NCCL(nccl().get_unique_id(&id));
    comm.broadcast(std::span<std::byte>(reinterpret_cast<std::byte*>(&id), sizeof id), 0);
    ALEXNET_NCCL(nccl().comm_init_rank(&comm_, comm.size(), id, comm.rank()));
    int version = 0;
    ALEXNET_NCCL(nccl().get_version(&version));
    version_ = cat("NCCL ", version / 10000, ".", version / 100 % 100, ".", version % 100);
  }
  ~NcclAllReduce() override { nccl().comm_destroy(comm_); }

  void average(float* data, size_t n, void* stream) override {
    ALEXNET_NCCL(nccl().all_reduce(data, data, n, ncclFloat32, ncclAvg, comm_, static_cast<cudaStream_t>(stream)));
  }
  std::string transport() const override { return version_; }

 private:
  ncclComm_t comm_ = nullptr;
  std::string version_;
};

}  // namespace

bool nccl_compiled_in() { return true; }

std::unique_ptr<DeviceAllReduce> make_nccl_allreduce(Communicator& comm) { return std::make_unique<NcclAllReduce>(comm); }

}  // namespace alexnet

#else  // no NCCL

namespace alexnet {

bool nccl_compiled_in() { return false; }

std::unique_ptr<DeviceAllReduce> make_nccl_allreduce(Communicator&) {
  fail("this alexnet was built without NCCL (it needs the CUDA toolkit's NCCL: libnccl and nccl.h)");
}

}  // namespace alexnet

#endif
