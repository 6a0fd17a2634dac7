// Data parallelism over a Communicator: every process holds the whole network, trains on its own
// shard of each epoch (LoaderOptions rank/world_size, as torch's DistributedSampler) and applies the
// same update, because the gradients are averaged over all processes before every SGD step.
//
//   per step, on every rank r:  forward(own batch), backward()          -> g_r, the mean over n_r samples
//                               allreduce_sum(n_r * g_r) / sum(n_r)      -> the mean over the global batch
//                               sgd_step()                               -> identical parameters everywhere
//
// The helpers below are the pieces of that which are not the training loop itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/net.h"
#include "dist/communicator.h"

namespace alexnet {

// Replaces the net's gradients of the last backward() (the mean over this rank's `n` samples) by
// the mean over all ranks' samples. In place on a host gradient buffer; through `scratch` (resized to
// the buffer) with get_grads/set_grads on a device. Every rank must call it at the same step.
void average_gradients(Net& net, Communicator& comm, int n, std::vector<float>& scratch);

class DeviceAllReduce;
// The same, on the device in place when `device` is given (NCCL, queued on the net's stream; every
// rank's batch must then be of one size), else through the host as above.
void average_gradients(Net& net, Communicator& comm, int n, std::vector<float>& scratch, DeviceAllReduce* device);

// Fails on every rank (alexnet::Error) unless all ranks passed the same text: a process started
// with other flags, another data set or another checkpoint would silently train something else.
void require_same_everywhere(Communicator& comm, const std::string& what, const std::string& text);

// Sends rank 0's parameters to every rank (the same seed already gives the same initial weights;
// this makes it so whatever the initialiser or a rank's files do).
void broadcast_params(Net& net, Communicator& comm);

// This rank's part of an evaluation set: samples rank, rank + W, rank + 2W, ... with no padding, so
// over all ranks each sample is counted exactly once.
std::vector<size_t> evaluation_shard(size_t n, int rank, int world_size);

// A checkpoint's step taken with `old_per_epoch` steps per epoch, in a run with `new_per_epoch`
// (another world size or batch): the same epoch, at the same fraction of it rounded down. Epoch
// boundaries, where checkpoints are written by default, map exactly.
int64_t map_resumed_step(int64_t step, int64_t old_per_epoch, int64_t new_per_epoch);

}  // namespace alexnet
