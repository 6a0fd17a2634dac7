#include "backend/net.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "image/sample_plan.h"

namespace alexnet {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::TF32: return "tf32";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32" || s == "f32" || s == "float32") return Precision::F32;
  if (s == "bf16" || s == "bfloat16") return Precision::BF16;
  if (s == "tf32") return Precision::TF32;
  fail("unknown precision '", s, "' (expected fp32, bf16 or tf32)");
}

const char* backend_name(BackendKind b) {
  switch (b) {
    case BackendKind::Reference: return "reference";
    case BackendKind::OneDNN: return "onednn";
    case BackendKind::CUDA: return "cuda";
  }
  return "?";
}

Net::Net(NetSpec spec, BuildOptions options)
    : spec_(std::move(spec)), table_(make_param_table(spec_)), shapes_(activation_shapes(spec_)), options_(options) {
  if (options_.max_batch < 1) fail("batch size must be at least 1, got ", options_.max_batch);
  layer_ranges_.assign(spec_.layers.size(), {0, 0});
  for (const ParamInfo& p : table_.entries) {  // a layer's tensors are adjacent (weight, then bias)
    auto& [begin, end] = layer_ranges_.at(size_t(p.layer));
    if (end == begin) begin = p.offset, end = p.offset;
    begin = std::min(begin, p.offset);
    end = std::max(end, p.offset + p.numel);
  }
  if (!options_.layer_ids.empty() && options_.layer_ids.size() != spec_.layers.size())
    fail("layer_ids names ", options_.layer_ids.size(), " layers; the network has ", spec_.layers.size());
}

void Net::get_input_grad(float* host) const {
  const Tensor t = input_grad();
  std::memcpy(host, t.data<float>(), size_t(t.numel()) * sizeof(float));
}

void Net::check_planned(int H, int W, const SamplePlan* plans, int n) const {
  if (spec_.in_channels != 3) fail("planned input is RGB; this network takes ", spec_.in_channels, " channels");
  if (n < 1 || n > options_.max_batch) fail("batch of ", n, " samples; this network was built for 1..", options_.max_batch);
  check_sample_plans(plans, n, H, W, spec_.input_size, true);
}

void Net::forward_planned(const uint8_t* images, int H, int W, const SamplePlan* plans, int n, Mode mode,
                          uint64_t step) {
  check_planned(H, W, plans, n);
  const int S = spec_.input_size;
  const size_t plane = size_t(S) * size_t(S);
  planned_input_.resize(size_t(n) * 3 * plane);
  for (int i = 0; i < n; ++i) {
    const uint8_t* image = images + size_t(i) * size_t(H) * size_t(W) * 3;
    float* out = planned_input_.data() + size_t(i) * 3 * plane;
    for (int p = 0; p < S; ++p)
      for (int q = 0; q < S; ++q) {
        float v[3];
        sample_pixel(image, plans[i], p, q, v);
        for (size_t c = 0; c < 3; ++c) out[c * plane + size_t(p) * size_t(S) + size_t(q)] = v[c];
      }
  }
  forward(planned_input_.data(), n, mode, step);
}

void Net::backward_from(const float*) {
  fail("the ", backend_name(backend()), " backend has no backward pass from an output gradient (backward_from)");
}

}  // namespace alexnet
