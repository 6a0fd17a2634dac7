// Processes that train one network together: who this process is among them, and the collectives
// data-parallel training needs (all-reduce, broadcast, barrier, abort).
//
// Two transports implement it: a single process (rank 0 of 1, every collective a no-op) and MPI
// (mpi_communicator.cpp, compiled when CMake finds MPI). A program picks one once, at start
// (make_communicator); code below it never asks which.
//
// Failure policy: an MPI call that fails throws alexnet::Error naming the call, file:line and MPI's
// message; so does a collective that waits longer than the collective timeout (set_collective_timeout).
// A process of a group of several that cannot continue must call abort(): the others are then
// inside a collective that would never complete, and abort() (MPI_Abort) ends all of them, or, when
// the launcher cannot be reached either, ends this process a few seconds later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace alexnet {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;        // 0 .. size() - 1
  virtual int size() const = 0;        // the number of processes (the world size)
  virtual int local_rank() const { return 0; }  // among the processes on this machine (picks its GPU)
  virtual std::string transport() const = 0;  // "single process", "MPI (Open MPI 4.1.4)", ...
  bool is_root() const { return rank() == 0; }

  // Every process passes a buffer of the same length; afterwards each holds the element-wise sum.
  virtual void allreduce_sum(std::span<float> data) = 0;
  virtual void allreduce_sum(std::span<double> data) = 0;
  // Non-blocking all-reduce (sum, in place): starts it and returns. wait_all() completes every one
  // started; progress() lets the transport move them along in between (MPI progresses them inside its
  // calls only). Every process must start the same sequence, in the same order relative to the
  // blocking collectives. The default (and the single process) completes it at once.
  virtual void start_allreduce_sum(std::span<float> data) { allreduce_sum(data); }
  virtual void progress() {}
  virtual void wait_all() {}
  // Process r contributes `mine` (counts[r] floats; counts has size() entries); afterwards every
  // process holds all contributions in rank order in `all` (sum of counts floats).
  virtual void allgather(std::span<const float> mine, std::span<float> all, std::span<const int> counts) = 0;
  // Root's bytes are copied to every process (same length everywhere).
  virtual void broadcast(std::span<std::byte> data, int root) = 0;
  virtual void barrier() = 0;
  // The processes of this group that pass the same `color`, numbered by `key` (then by rank): a new
  // group for collectives among them (the columns of one split model, the replicas of one column).
  // Every process of this group must call it. abort() of any group ends every process.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
  // Ends every process of the group with `code`, as soon as the transport can (does not return).
  [[noreturn]] virtual void abort(int code) = 0;
  // The watchdog: a collective that has not completed `seconds` after this process entered it throws
  // alexnet::Error naming the call and the limit (a process, its host or its network died: MPI
  // itself would wait forever on a peer whose link is cut). 0 waits forever. Groups made by split()
  // keep the limit of the group they came from. The single process has nothing to wait for.
  virtual void set_collective_timeout(double /*seconds*/) {}

  template <class T>
  void broadcast_values(std::span<T> data, int root) {
    broadcast(std::as_writable_bytes(data), root);
  }
};

// The single-process communicator: rank 0 of 1.
std::unique_ptr<Communicator> make_single_process_communicator();

// True when this program was built with MPI.
bool mpi_compiled_in();
// True when the environment says an MPI launcher (mpirun, mpiexec, srun with PMI) started this
// process: OMPI_COMM_WORLD_SIZE (Open MPI), PMI_SIZE (MPICH, Intel MPI, Slurm), PMIX_RANK.
bool launched_by_mpi_launcher();

// MPI when this process was started by an MPI launcher and MPI is compiled in, else the single
// process. Starting under a launcher without MPI compiled in, with a world size above 1, throws
// alexnet::Error (every process would otherwise train alone and write the same run directory).
// The MPI communicator initialises MPI here and finalises it in its destructor: make one per
// process and keep it for the process's life.
std::unique_ptr<Communicator> make_communicator();

// 64-bit FNV-1a of `text`: compares configurations across processes.
uint64_t fingerprint(std::string_view text);

}  // namespace alexnet
