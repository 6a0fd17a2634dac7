#include "dist/process_net.h"

#include <span>

#include "dist/communicator.h"
#include "dist/split_net.h"

namespace alexnet {

NetRequest net_request(const ComputeChoice& compute, int max_batch) {
  NetRequest r;
  r.backend = compute.backend;
  r.precision = compute.precision;
  r.max_batch = max_batch;
  return r;
}

std::unique_ptr<Net> build_net(const NetSpec& spec, const NetRequest& request) {
  BuildOptions options;
  options.max_batch = request.max_batch;
  options.precision = request.precision;
  options.seed = request.seed;
  options.label_smoothing = request.label_smoothing;
  options.device = request.local_rank;
  return request.columns ? make_split_net(request.backend, spec, options, *request.columns)
                         : make_net(request.backend, spec, options);
}

ComputeChoice agree_on_compute(Communicator& comm, ComputeChoice mine) {
  if (comm.size() == 1) return mine;
  int chosen[2] = {int(mine.backend), int(mine.precision)};
  comm.broadcast_values(std::span<int>(chosen), 0);
  mine.backend = BackendKind(chosen[0]);
  mine.precision = Precision(chosen[1]);
  return mine;
}

}  // namespace alexnet
