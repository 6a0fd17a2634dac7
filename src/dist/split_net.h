// Model parallelism, as in Krizhevsky et al. 2012: one network split into S columns, one per
// process, each holding 1/S of every convolution's kernels and of every fully connected layer's
// outputs, exchanging activations (and their gradients) only where a layer needs what another
// column computed. The `paper` variant's groups=2 convolutions (conv2, conv4, conv5) read only their
// own column's channels, so with --split 2 the exchanges are where the paper has them: the full
// conv2 output into conv3, the conv5 output into FC6, each FC layer's output into the next, and the
// logits; plus two channels on each side of the column boundary at each LRN, whose window crosses it.
//
// How a column is built: the whole network's table is cut into stages, each a run of layers that a
// column computes from its own data, built as an ordinary Net on any CPU backend (make_net), with
// the dropout masks of the whole network (BuildOptions::layer_ids). Between stages, on the host:
//   Gather    columns' channel (or feature) slices -> the full tensor (all-gather); backward: the
//             columns' partial gradients summed (all-reduce), each keeping its slice
//   Halo      own channels -> own plus `h` channels of each neighbour (LRN); backward: keep own
//   Unhalo    the LRN's output back to own channels; backward: own gradient plus the neighbours'
//             `h` boundary channels, exchanged
//   Crop      the full tensor -> own channels (a grouped convolution after a full one); backward:
//             zeros elsewhere (a partial gradient, summed at the Gather before it)
// Everything else (ReLU, pooling, dropout on a full tensor) is local. Parameters: a column owns a
// contiguous block of rows of every weight and bias of the whole ParamTable; set_params/set_grads/
// set_momentum take those rows, and get_params/get_grads/get_momentum assemble the whole buffer on
// every column, so they are COLLECTIVE: every process of the column group calls them together.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/net.h"
#include "dist/communicator.h"

namespace alexnet {

// One transform between stages (see above). `lo, hi` are this column's channels (features when the
// tensor is flat) of the `channels` of the whole network's activation at that point, `inner` the
// values per channel (H*W; 1 when flat).
struct SplitTransform {
  enum Kind { Gather, Halo, Unhalo, Crop } kind;
  int channels = 0, inner = 1;
  std::vector<int> lo, hi;  // per column: its slice [lo, hi)
  int halo = 0;             // Halo/Unhalo: channels taken from each neighbour
  int pad = 0;              // Halo/Unhalo: zero channels after them, to a multiple of 16 (oneDNN's fast
                            // LRN kernels); further than `halo` from own channels, so they change nothing
};

// A stage of one column: the transforms that make its input from the previous stage's output (the
// net's input for the first), and its layers as a NetSpec.
struct SplitStage {
  std::vector<SplitTransform> before;
  NetSpec spec;                 // this column's layers of the stretch; a Flatten is added for a flat input
  std::vector<int> layer_ids;   // each layer's index in the whole network (-1: the added Flatten)
  struct Rows {                 // this column's parameters: `count` floats at `full` in the whole buffer,
    size_t full, local, count;  // `local` in the stage's buffer
  };
  std::vector<Rows> rows;
};

// The stages of column `column` of `full` split `columns` ways. Throws alexnet::Error naming the
// layer when a layer cannot be split (grouped convolutions other than groups 1 or a multiple of the
// split, a column left without channels, fewer channels than an LRN's window needs).
std::vector<SplitStage> plan_split(const NetSpec& full, int columns, int column);

// The processes of `world` arranged for `--split S`: processes S*r .. S*r+S-1 are the columns of
// copy r (`columns`; null for S = 1), and the copies train data parallel over the processes that hold
// the same column (`data`: a group of its own, or `world` itself for S = 1). Every process of `world`
// must call it. Throws alexnet::Error when S does not divide the process count.
struct SplitGroups {
  std::unique_ptr<Communicator> columns, replicas;
  Communicator* data = nullptr;
};
SplitGroups split_processes(Communicator& world, int split);

// The network split over `columns` (columns.size() columns; this process is columns.rank()), its
// stages on `backend` (any: on CUDA each stage is a CudaNet on this process's GPU, and the exchanges
// still go through host memory and MPI, not NCCL). The communicator must outlive the net.
std::unique_ptr<Net> make_split_net(BackendKind backend, const NetSpec& full, const BuildOptions& options,
                                    Communicator& columns);

// Where the columns of `full` split `columns` ways exchange, in words: "all-gathers before
// features.8, classifier.0, ... and of the logits; LRN halos of 4 channels at features.2, ...".
std::string describe_split(const NetSpec& full, int columns);

// What this column passed through collectives in the last forward + backward: the bytes of every
// buffer it all-gathered or all-reduced, and the seconds spent in those calls (waiting for the other
// columns included). Zeros for a net that is not split.
struct SplitExchange {
  size_t bytes = 0;
  double seconds = 0;
};
SplitExchange split_exchange(const Net& net);

}  // namespace alexnet
