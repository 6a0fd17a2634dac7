// Helpers shared by the dataset readers (readers.cpp, cifar.cpp, image_folder.cpp,
// tensor_dataset.cpp); not part of the public interface.
#pragma once

#include <string>

#include "data/readers.h"

namespace alexnet {

// Sends one line to options.warn, or prints "warning: LINE" on stderr when none is set.
void dataset_warning(const DatasetOptions& options, const std::string& line);

// The last component of a '/'-separated path: "a/b/c.bin" -> "c.bin".
std::string base_name(const std::string& path);

// An archive member's name without leading "./" and "/".
std::string strip_leading_dot_slash(std::string name);

// Whether a member name has a ".." component (it could name something outside the archive's tree).
bool climbs_out(const std::string& name);

}  // namespace alexnet
