// How a dataset's classes meet a checkpoint's: by name, so that a folder of cat/dog/ship scored with a
// CIFAR-10 checkpoint counts a cat as the checkpoint's "cat", never as its class 0 ("airplane").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace alexnet {

struct ClassMatch {
  std::vector<int64_t> to_model;  // data class k is the checkpoint's class to_model[k]
  bool by_position = true;        // to_model[k] == k
  std::string note;               // for people: how the classes were matched; empty when the lists are equal
};

// Matches the data's class names with the checkpoint's (`model`; empty: it has none, so by position).
// The same names in another order, or some of them: mapped by name. Data without names ("0" .. "K-1",
// a tensor dataset's): by position, said. Other names: an alexnet::Error naming a few of each, unless
// `by_position` (then by position, said). `checkpoint` names the checkpoint in messages.
ClassMatch match_classes(const std::vector<std::string>& model, const std::vector<std::string>& data,
                         bool by_position, const std::string& checkpoint);

// `data` with its labels mapped to the checkpoint's classes (match.to_model) and the checkpoint's
// class names; `data` itself when the match is by position.
std::shared_ptr<const Dataset> relabel(std::shared_ptr<const Dataset> data, const ClassMatch& match,
                                       std::vector<std::string> model_classes);

}  // namespace alexnet
