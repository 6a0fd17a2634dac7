// Times the gradient all-reduce of data-parallel training: MPI_Allreduce (sum, in place) of one fp32
// buffer the size of a model's gradients, between the processes mpirun started.
//
//   mpirun -np 2 build/alexnet_allreduce_bench [--model seed] [--repeats 10]
//
// Prints (rank 0) the buffer size, the median and minimum time of `repeats` all-reduces after one
// warm-up, and the bus bandwidth as NCCL's tests define it: 2 (W-1)/W * bytes / time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "dist/communicator.h"
#include "model/net_spec.h"

int main(int argc, char** argv) {
  try {
    std::string model = "seed";
    int repeats = 10;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--model" && i + 1 < argc) model = argv[++i];
      else if (a == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
      else alexnet::fail("unknown argument ", a, " (expected --model NAME, --repeats N)");
    }
    std::unique_ptr<alexnet::Communicator> comm = alexnet::make_communicator();
    const alexnet::NetSpec spec = alexnet::make_net_spec(model, alexnet::NetOptions{});
    const size_t floats = alexnet::make_param_table(spec).total;
    std::vector<float> grads(floats, 1.f);
    std::vector<double> times;
    for (int r = 0; r <= repeats; ++r) {
      comm->barrier();
      const auto t0 = std::chrono::steady_clock::now();
      comm->allreduce_sum(std::span<float>(grads));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::vector<double> all(size_t(comm->size()), 0.0);  // the slowest process's time counts
      all[size_t(comm->rank())] = s;
      comm->allreduce_sum(std::span<double>(all));
      if (r > 0) times.push_back(*std::max_element(all.begin(), all.end()));  // the first is the warm-up
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2], best = times.front();
    const double bytes = double(floats) * sizeof(float), W = comm->size();
    if (comm->is_root())
      std::printf("all-reduce of %s's gradients: %zu floats (%.1f MB) over %d processes (%s): median %.1f ms, min %.1f ms "
                  "of %d; bus bandwidth %.2f GB/s\n",
                  model.c_str(), floats, bytes / 1e6, comm->size(), comm->transport().c_str(), median * 1e3, best * 1e3,
                  repeats, 2 * (W - 1) / W * bytes / median / 1e9);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
