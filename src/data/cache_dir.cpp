#include "data/cache_dir.h"

#include <cstdlib>

#include "core/error.h"

namespace alexnet {

std::string default_cache_dir() {
  const char* cache = std::getenv("ALEXNET_CACHE");
  if (cache && *cache) return cache;
  const char* home = std::getenv("HOME");
  if (!home || !*home) fail("neither ALEXNET_CACHE nor HOME is set; cannot choose a cache folder");
  return cat(home, "/.cache/alexnet");
}

}  // namespace alexnet
