// The MPI communicator (MPI_COMM_WORLD), and make_communicator's choice between it and a single
// process. Compiled with or without MPI: without, mpi_compiled_in() is false.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>
#include <vector>

#include "core/error.h"
#include "dist/communicator.h"

#ifdef ALEXNET_HAVE_MPI
// The C API only: Open MPI's and MPICH's mpi.h would otherwise pull in their deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

// Every MPI call goes through this: a failure throws alexnet::Error naming the call, file:line and
// MPI's own message (MPI_COMM_WORLD's handler is set to MPI_ERRORS_RETURN so failures come back).
#define ALEXNET_MPI(call) ::alexnet::mpi_check((call), #call, __FILE__, __LINE__)

namespace alexnet {

namespace {

void mpi_check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(rc, message, &length) != MPI_SUCCESS) std::snprintf(message, sizeof message, "MPI error %d", rc);
  fail(call, " failed at ", file, ":", line, ": ", message);
}

// MPI counts are ints: large buffers go in pieces of at most 2^30 elements.
constexpr size_t kMaxCount = size_t(1) << 30;
// How long abort() waits for MPI_Abort before this process ends by itself.
constexpr int kAbortGraceSeconds = 5;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    ALEXNET_MPI(MPI_Initialized(&initialized));
    if (initialized) fail("MPI is already initialised: make one communicator per process");
    // Only the main thread calls MPI (the loader's workers never do).
    int provided = 0;
    ALEXNET_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    ALEXNET_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    ALEXNET_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    ALEXNET_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
    // The processes sharing this machine's memory, numbered: each takes the GPU of its number.
    MPI_Comm local = MPI_COMM_NULL;
    ALEXNET_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
    ALEXNET_MPI(MPI_Comm_rank(local, &local_rank_));
    ALEXNET_MPI(MPI_Comm_free(&local));
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    ALEXNET_MPI(MPI_Get_library_version(version, &length));
    library_ = version;
    if (const size_t cut = library_.find_first_of(",\n"); cut != std::string::npos) library_.resize(cut);
  }
  // A group split off another (split()): the same process, another communicator.
  MpiCommunicator(MPI_Comm comm, int local_rank, std::string library, double timeout)
      : comm_(comm), owns_(true), local_rank_(local_rank), library_(std::move(library)), timeout_(timeout) {
    ALEXNET_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    ALEXNET_MPI(MPI_Comm_rank(comm_, &rank_));
    ALEXNET_MPI(MPI_Comm_size(comm_, &size_));
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return;
    if (owns_)
      MPI_Comm_free(&comm_);
    else
      MPI_Finalize();  // nothing to report to at exit
  }

  std::unique_ptr<Communicator> split(int color, int key) override {
    MPI_Comm sub = MPI_COMM_NULL;
    ALEXNET_MPI(MPI_Comm_split(comm_, color, key, &sub));
    return std::make_unique<MpiCommunicator>(sub, local_rank_, library_, timeout_);
  }
  void allgather(std::span<const float> mine, std::span<float> all, std::span<const int> counts) override {
    if (counts.size() != size_t(size_) || size_t(counts[size_t(rank_)]) != mine.size())
      fail("allgather: ", mine.size(), " floats from rank ", rank_, ", counts for ", counts.size(), " processes");
    std::vector<int> displs(counts.size(), 0);
    size_t total = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
      if (total > size_t(std::numeric_limits<int>::max())) fail("allgather: more than 2^31 floats");
      displs[r] = int(total);
      total += size_t(counts[r]);
    }
    if (total != all.size()) fail("allgather: ", total, " floats into a buffer of ", all.size());
    MPI_Request r = MPI_REQUEST_NULL;
    ALEXNET_MPI(MPI_Iallgatherv(mine.data(), int(mine.size()), MPI_FLOAT, all.data(), counts.data(), displs.data(),
                                MPI_FLOAT, comm_, &r));
    complete(r, "MPI_Allgatherv");
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string transport() const override { return cat("MPI (", library_, ")"); }

  void allreduce_sum(std::span<float> data) override {
    for (size_t at = 0; at < data.size(); at += kMaxCount) {
      const int n = int(std::min(kMaxCount, data.size() - at));
      MPI_Request r = MPI_REQUEST_NULL;
      ALEXNET_MPI(MPI_Iallreduce(MPI_IN_PLACE, data.data() + at, n, MPI_FLOAT, MPI_SUM, comm_, &r));
      complete(r, "MPI_Allreduce");
    }
  }
  void allreduce_sum(std::span<double> data) override {
    for (size_t at = 0; at < data.size(); at += kMaxCount) {
      const int n = int(std::min(kMaxCount, data.size() - at));
      MPI_Request r = MPI_REQUEST_NULL;
      ALEXNET_MPI(MPI_Iallreduce(MPI_IN_PLACE, data.data() + at, n, MPI_DOUBLE, MPI_SUM, comm_, &r));
      complete(r, "MPI_Allreduce");
    }
  }
  void start_allreduce_sum(std::span<float> data) override {
    for (size_t at = 0; at < data.size(); at += kMaxCount) {
      const int n = int(std::min(kMaxCount, data.size() - at));
      MPI_Request r = MPI_REQUEST_NULL;
      ALEXNET_MPI(MPI_Iallreduce(MPI_IN_PLACE, data.data() + at, n, MPI_FLOAT, MPI_SUM, comm_, &r));
      pending_.push_back(r);
    }
  }
  void progress() override {
    if (pending_.empty()) return;
    int done = 0;
    ALEXNET_MPI(MPI_Testall(int(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE));
    if (done) pending_.clear();
  }
  void wait_all() override {
    if (pending_.empty()) return;
    complete(pending_, "MPI_Iallreduce of the gradients");
    pending_.clear();
  }
  void broadcast(std::span<std::byte> data, int root) override {
    for (size_t at = 0; at < data.size(); at += kMaxCount) {
      const int n = int(std::min(kMaxCount, data.size() - at));
      MPI_Request r = MPI_REQUEST_NULL;
      ALEXNET_MPI(MPI_Ibcast(data.data() + at, n, MPI_BYTE, root, comm_, &r));
      complete(r, "MPI_Bcast");
    }
  }
  void barrier() override {
    MPI_Request r = MPI_REQUEST_NULL;
    ALEXNET_MPI(MPI_Ibarrier(comm_, &r));
    complete(r, "MPI_Barrier");
  }
  [[noreturn]] void abort(int code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    // MPI_Abort asks the launcher to end every process; with the launcher's host unreachable (a cut
    // link) it may never return: this process ends by itself a few seconds later.
    std::thread([code] {
      std::this_thread::sleep_for(std::chrono::seconds(kAbortGraceSeconds));
      std::_Exit(code);
    }).detach();
    MPI_Abort(MPI_COMM_WORLD, code);  // every process of every group; does not return when it works, else exit anyway
    std::_Exit(code);
  }
  void set_collective_timeout(double seconds) override { timeout_ = seconds; }

 private:
  MPI_Comm comm_ = MPI_COMM_WORLD;
  bool owns_ = false;  // a split-off group, freed by its destructor (the world finalises MPI instead)
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::string library_;
  double timeout_ = 0;  // seconds a collective may wait (set_collective_timeout); 0: forever
  std::vector<MPI_Request> pending_;  // started, not yet completed non-blocking collectives

  // Waits for `requests` as MPI_Waitall does (spinning on MPI_Testall, as Open MPI's own wait spins),
  // but no longer than the collective timeout: then it throws, and the caller's error path runs
  // (rank 0 saves a checkpoint of the last completed step, cmd_train aborts the job).
  void complete(std::span<MPI_Request> requests, const char* call) {
    using clock = std::chrono::steady_clock;
    const clock::time_point start = clock::now();
    for (;;) {
      int done = 0;
      ALEXNET_MPI(MPI_Testall(int(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE));
      if (done) return;
      if (timeout_ > 0 && std::chrono::duration<double>(clock::now() - start).count() > timeout_)
        fail(call, " did not complete within the collective timeout of ", timeout_, " s (process ", rank_, " of ",
             size_, " waited for the others: one of them, its host or its network link is gone); raise "
             "--collective-timeout if a process can legitimately be that late");
    }
  }
  void complete(MPI_Request& request, const char* call) { complete(std::span<MPI_Request>(&request, 1), call); }
};

}  // namespace

bool mpi_compiled_in() { return true; }

std::unique_ptr<Communicator> make_communicator() {
  if (!launched_by_mpi_launcher()) return make_single_process_communicator();
  return std::make_unique<MpiCommunicator>();
}

}  // namespace alexnet

#else  // no MPI

namespace alexnet {

bool mpi_compiled_in() { return false; }

std::unique_ptr<Communicator> make_communicator() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(name); v && std::atoi(v) > 1)
      fail("started by an MPI launcher with ", v, " processes, but this alexnet was built without MPI; install MPI "
           "(libopenmpi-dev) and rebuild, or run a single process");
  return make_single_process_communicator();
}

}  // namespace alexnet

#endif
