// libFuzzer harness: what `alexnet train --resume` and `eval` read back from a run directory besides
// the tensors: the training config (a checkpoint's "config" metadata, as config.json holds it) and
// the model description in the checkpoint's metadata. The first byte picks which:
//   even: the rest is a config JSON text: parsed and checked (TrainConfig::from_json); one that parses
//         must survive a round trip through to_json unchanged;
//   odd:  the rest is metadata, one KEY=VALUE per line: ModelInfo::from_metadata, the network it
//         describes and its parameter table (no allocation for it).
// Anything may throw alexnet::Error; nothing may crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "train/checkpoint.h"
#include "train/config.h"

using namespace alexnet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool metadata = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (!metadata) {
      const TrainConfig c = TrainConfig::from_json(text);
      const std::string once = c.to_json();
      if (TrainConfig::from_json(once).to_json() != once) __builtin_trap();
    } else {
      std::map<std::string, std::string> meta;
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        const size_t eq = line.find('=');
        if (eq != std::string::npos) meta[line.substr(0, eq)] = line.substr(eq + 1);
        start = end + 1;
      }
      const ModelInfo m = ModelInfo::from_metadata(meta, "fuzz-metadata");
      const ParamTable table = make_param_table(m.spec());
      if (table.entries.empty()) __builtin_trap();
      ModelInfo::from_metadata(m.metadata(), "round-trip");
    }
  } catch (const Error&) {
  }
  return 0;
}
