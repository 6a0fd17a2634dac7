// The network of one process: which device and precision every process agrees on, and the one
// function that builds a network for train, eval, predict, bench and the C++ API.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/capabilities.h"
#include "backend/net.h"

namespace alexnet {

class Communicator;

// What a process builds `spec` on.
struct NetRequest {
  BackendKind backend = BackendKind::OneDNN;
  Precision precision = Precision::F32;
  int max_batch = 64;               // the largest batch forward() will see
  uint64_t seed = 0;                // training: dropout masks derive from it
  float label_smoothing = 0.f;      // training: cross-entropy target smoothing
  int local_rank = 0;               // CUDA: the visible GPU of this process (one process per GPU)
  Communicator* columns = nullptr;  // the model split over these processes (dist/split_net.h); null: whole
};

// The request for a resolved device and precision.
NetRequest net_request(const ComputeChoice& compute, int max_batch);

// Builds the network (split over request.columns when given); the communicator must outlive it.
std::unique_ptr<Net> build_net(const NetSpec& spec, const NetRequest& request);

// Every process takes rank 0's backend and precision (`auto` may time the precisions, and machines
// may differ); every process must call it. One process: `mine` unchanged.
ComputeChoice agree_on_compute(Communicator& comm, ComputeChoice mine);

}  // namespace alexnet
