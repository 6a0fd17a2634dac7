#include "dist/data_parallel.h"

#include <cmath>

#include "core/error.h"
#include "dist/device_allreduce.h"

namespace alexnet {

void average_gradients(Net& net, Communicator& comm, int n, std::vector<float>& scratch) {
  if (comm.size() == 1) return;
  // The global batch: equal per-rank batches (the sharded loader gives every rank the same count)
  // average with 1/W; unequal ones are weighted by their sizes.
  double counts[2] = {double(n), double(n) * double(n)};
  comm.allreduce_sum(counts);
  const double total = counts[0];
  const bool equal = counts[1] * comm.size() == total * total;  // sum n^2 * W == (sum n)^2 iff all n equal
  std::span<float> g = net.host_grads();
  const bool on_device = g.empty();
  if (on_device) {
    scratch.resize(net.params().total);
    net.get_grads(scratch);
    g = scratch;
  }
  if (!equal) {
    const float w = float(n);
    for (float& x : g) x *= w;
  }
  comm.allreduce_sum(g);
  const float scale = equal ? 1.f / float(comm.size()) : float(1.0 / total);
  for (float& x : g) x *= scale;
  if (on_device) net.set_grads(g);
}

void require_same_everywhere(Communicator& comm, const std::string& what, const std::string& text) {
  if (comm.size() == 1) return;
  uint64_t root_hash = fingerprint(text);
  comm.broadcast_values(std::span<uint64_t>(&root_hash, 1), 0);
  double differ[2] = {root_hash != fingerprint(text) ? 1.0 : 0.0, 0};
  differ[1] = differ[0] * comm.rank();
  const double mine = differ[0];
  comm.allreduce_sum(differ);
  if (differ[0] > 0)
    fail(what, " differs between the processes (", differ[0], " of ", comm.size(), " differ from rank 0",
         mine > 0 ? cat(", this one, rank ", comm.rank(), ", among them") : std::string(),
         "): start every process with the same flags, data and files");
}

void broadcast_params(Net& net, Communicator& comm) {
  if (comm.size() == 1) return;
  std::vector<float> params(net.params().total);
  net.get_params(params);
  comm.broadcast_values(std::span<float>(params), 0);
  net.set_params(params);
}

std::vector<size_t> evaluation_shard(size_t n, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) fail("rank ", rank, " is not in [0, world size ", world_size, ")");
  std::vector<size_t> mine;
  mine.reserve(n / size_t(world_size) + 1);
  for (size_t i = size_t(rank); i < n; i += size_t(world_size)) mine.push_back(i);
  return mine;
}

int64_t map_resumed_step(int64_t step, int64_t old_per_epoch, int64_t new_per_epoch) {
  if (old_per_epoch <= 0 || new_per_epoch <= 0) fail("steps per epoch must be positive");
  if (old_per_epoch == new_per_epoch) return step;
  const int64_t epoch = step / old_per_epoch, within = step % old_per_epoch;
  return epoch * new_per_epoch + within * new_per_epoch / old_per_epoch;
}

void average_gradients(Net& net, Communicator& comm, int n, std::vector<float>& scratch, DeviceAllReduce* device) {
  if (!device) return average_gradients(net, comm, n, scratch);
  const Net::DeviceGrads g = net.device_grads();
  device->average(g.data, net.params().total, g.stream);
}

}  // namespace alexnet
