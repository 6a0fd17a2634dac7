#include "api/checkpoint_net.h"

#include "model/weights.h"

namespace alexnet {

TransformConfig eval_transform(const ModelInfo& model) {
  TransformConfig t;
  t.preset = model.eval_preset;
  t.input_size = model.spec().input_size;
  t.mean = model.mean;
  t.std = model.std;
  t.small_images = model.small_images;
  return t;
}

CheckpointNet load_checkpoint_net(const std::string& path, BackendKind backend, Precision precision, int max_batch) {
  const TensorFile file = read_safetensors(path);
  CheckpointNet c;
  c.metadata = file.metadata;
  c.model = ModelInfo::from_metadata(file.metadata, path);
  const NetSpec spec = c.model.spec();
  check_weights(file, make_param_table(spec));  // before building a network of the size the metadata claims
  BuildOptions bo;
  bo.max_batch = max_batch;
  bo.precision = precision;
  c.net = make_net(backend, spec, bo);
  std::vector<float> params(c.net->params().total);
  load_weights(file, c.net->params(), params);
  c.net->set_params(params);
  c.transform = eval_transform(c.model);
  return c;
}

}  // namespace alexnet
