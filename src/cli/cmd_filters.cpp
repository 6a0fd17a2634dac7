// alexnet filters: the first convolution's kernels of a weights file as a PNG image grid.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "report/charts.h"
#include "tensor/safetensors.h"

namespace alexnet::cli {

namespace {

constexpr const char* kConv1Weight = "features.0.weight";  // [K, 3, R, S] under PyTorch's names

struct FiltersFlags {
  std::string checkpoint;
  std::string out = "conv1.png";
  int scale = 4;
  std::string normalise = "filter";
};

void run_filters(const FiltersFlags& f) {
  const TensorFile file = read_safetensors(f.checkpoint);
  if (!file.has(kConv1Weight)) {
    std::string names;
    size_t listed = 0;
    for (const auto& [name, t] : file.tensors) {
      if (listed++ == 8) {
        names += ", ...";
        break;
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    fail(f.checkpoint, ": no tensor ", kConv1Weight,
         " (the first convolution's weights under PyTorch's names); the file holds ",
         file.tensors.empty() ? std::string("no tensors") : cat(file.tensors.size(), " tensors: ", names),
         ". Give a weights file such as RUN_DIR/last.safetensors, not a state-*.safetensors file");
  }
  const Tensor& weight = file.get(kConv1Weight);
  if (weight.ndim() != 4 || weight.dim(1) != 3)
    fail(f.checkpoint, ": ", kConv1Weight, " has shape ", shape_str(weight.shape()), "; expected [K, 3, R, S]");
  const report::FilterNorm norm = f.normalise == "global" ? report::FilterNorm::Global : report::FilterNorm::PerFilter;
  report::write_filters_png(f.out, weight, f.scale, norm);
  const report::FilterGrid g = report::filter_grid(weight.dim(0), weight.dim(2), weight.dim(3), f.scale);
  std::printf("wrote %s: %lld kernels of %lldx%lld, %d x %d grid, %d x %d pixels\n", f.out.c_str(),
              static_cast<long long>(weight.dim(0)), static_cast<long long>(weight.dim(2)),
              static_cast<long long>(weight.dim(3)), g.columns, g.rows, g.width, g.height);
}

}  // namespace

void add_filters(CLI::App& app) {
  auto f = std::make_shared<FiltersFlags>();
  CLI::App* cmd = app.add_subcommand("filters", "Draw the first convolution's kernels of a weights file as a PNG grid");
  cmd->add_option("--checkpoint", f->checkpoint, "Weights file (.safetensors) holding features.0.weight, or a run directory (its best, else last)")->required();
  cmd->add_option("--out", f->out, "The PNG to write")->capture_default_str();
  cmd->add_option("--scale", f->scale, "Integer upscaling of each kernel pixel")
      ->capture_default_str()
      ->check(number_check(1, 64));
  cmd->add_option("--normalise", f->normalise,
                  "filter: each kernel stretched to its own min..max; global: one range for all kernels")
      ->capture_default_str()
      ->check(one_of({"filter", "global"}));
  cmd->callback([f] {
    f->checkpoint = resolve_checkpoint(f->checkpoint);
    run_filters(*f);
  });
}

}  // namespace alexnet::cli
