#include "api/checkpoint_net.h"

#include "dist/process_net.h"
#include "model/weights.h"

namespace alexnet {

TransformConfig eval_transform(const ModelInfo& model) { return model.transform(model.eval_preset); }

CheckpointNet load_checkpoint_net(const std::string& path, BackendKind backend, Precision precision, int max_batch) {
  const TensorFile file = read_safetensors(path);
  CheckpointNet c;
  c.metadata = file.metadata;
  c.model = ModelInfo::from_metadata(file.metadata, path);
  const NetSpec spec = c.model.spec();
  check_weights(file, make_param_table(spec));  // before building a network of the size the metadata claims
  if (auto it = c.metadata.find("config"); it != c.metadata.end()) c.config = TrainConfig::from_json(it->second);
  c.net = build_net(spec, {.backend = backend, .precision = precision, .max_batch = max_batch});
  std::vector<float> params(c.net->params().total);
  load_weights(file, c.net->params(), params);
  c.net->set_params(params);
  c.transform = eval_transform(c.model);
  return c;
}

}  // namespace alexnet
