// Where the program keeps what it downloads or derives once (the CIFAR archives, tar indexes).
#pragma once

#include <string>

namespace alexnet {

// $ALEXNET_CACHE, else $HOME/.cache/alexnet.
std::string default_cache_dir();

}  // namespace alexnet
