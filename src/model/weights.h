// Weights on disk: safetensors files whose tensor names and shapes are the PyTorch state_dict's, so
// files move both ways (torch: `save_file(model.state_dict(), path)` / `load_state_dict(load_file(path))`).
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/net_spec.h"
#include "tensor/safetensors.h"

namespace alexnet {

// Copies every parameter of `table` from `file` into `params` (F32 or BF16 tensors, converted).
// Throws alexnet::Error naming the file and the first missing tensor or wrong shape/dtype.
void load_weights(const TensorFile& file, const ParamTable& table, std::span<float> params);
// The checks load_weights makes (every parameter present, F32 or BF16, of its shape), without
// copying: for callers that must know the file holds the model before allocating for it.
void check_weights(const TensorFile& file, const ParamTable& table);

struct PartialLoad {
  std::vector<std::string> loaded;    // names copied from the file
  std::vector<std::string> skipped;   // names kept at their current (initial) values, with the reason
};
// For fine-tuning: copies the tensors whose name and shape match and keeps the others as they are
// (e.g. a classifier whose class count differs). Throws if nothing at all matches.
PartialLoad load_matching_weights(const TensorFile& file, const ParamTable& table, std::span<float> params);

// Writes the parameters under their PyTorch names, with `metadata` in __metadata__ (atomically).
void save_weights(const std::string& path, const ParamTable& table, std::span<const float> params,
                  const std::map<std::string, std::string>& metadata = {});

// The tensors of the parameter buffer as a TensorFile (for writers that add more).
TensorFile weights_to_file(const ParamTable& table, std::span<const float> params);

}  // namespace alexnet
