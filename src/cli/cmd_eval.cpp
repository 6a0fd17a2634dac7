// alexnet eval: accuracy of a checkpoint on a dataset (top-1, top-5, loss, per class), optionally with
// the paper's 10-crop test-time augmentation.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/checkpoint_net.h"
#include "api/class_match.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/data_flags.h"
#include "data/loader.h"
#include "data/readers.h"
#include "train/evaluate.h"
#include "train/progress.h"
#include "train/run.h"

namespace alexnet::cli {

namespace {

struct EvalFlags {
  DeviceFlags device;
  std::string checkpoint, data, split = "auto", tta = "none";
  int batch_size = 100, workers = 2;
  bool json = false, resize_float = false, by_position = false;
  DataLimitFlags limits;
};

// Whether `path` is the data the checkpoint's run trained on (its config's --data), so that the
// parts the run held out can be found again in it.
bool runs_own_data(const std::string& path, const TrainConfig& cfg) {
  if (cfg.data.empty()) return false;
  std::error_code ec1, ec2;
  const std::filesystem::path a = std::filesystem::weakly_canonical(path, ec1);
  const std::filesystem::path b = std::filesystem::weakly_canonical(cfg.data, ec2);
  return !ec1 && !ec2 && a == b;
}

// The images to evaluate on. --split auto takes what the data has: its test split, else its val
// split, else (a set with a train part only, or one set for every split) the same held-out part of it
// that `alexnet train` validated on (from the checkpoint's config), or all of it when training held
// nothing out (--val-split 0). A run with --holdout is measured on its test set.
std::shared_ptr<const Dataset> eval_data(const EvalFlags& f, const CheckpointNet& c, std::string& note) {
  std::string path = resolve_data_path(f.data);
  if (path.empty() && !c.config.data.empty() && std::filesystem::exists(c.config.data)) {
    path = c.config.data;  // the data the run trained on: its held-out part
    std::fprintf(stderr, "%s\n",
                 wrap_columns(cat("data: ", path, ", the data ", f.checkpoint, " was trained on (--data to give other data)"), 2)
                     .c_str());
  }
  if (path.empty()) fail("no data: pass --data PATH or set ALEXNET_DATA");
  if (f.split == "validation") {  // what training validated on, found again from the checkpoint's config
    const TrainConfig& cfg = c.config;
    if (!runs_own_data(path, cfg))
      fail("--split validation: ", path, " is not the data ", f.checkpoint, " was trained on (",
           cfg.data.empty() ? std::string("not recorded") : cfg.data, ")");
    const TrainingData d = open_training_data(path, cfg.val_split, cfg.seed, cfg.holdout);
    if (!d.val) fail(f.checkpoint, ": its training run validated on nothing (val_split 0)");
    note = d.val_note;
    return d.val;
  }
  if (f.split == "train" || f.split == "val" || f.split == "test") {
    auto d = std::shared_ptr<const Dataset>(open_dataset(path, parse_split(f.split)));
    note = d->describe();
    return d;
  }
  DatasetSplits splits = open_dataset_splits(path);
  for (std::unique_ptr<Dataset>* part : {&splits.test, &splits.val})
    if (*part) {
      std::shared_ptr<const Dataset> d = std::move(*part);
      note = d->describe();
      return d;
    }
  const TrainConfig& cfg = c.config;
  if (!runs_own_data(path, cfg)) {  // another source: none of it was trained on by this run
    note = cat(splits.train->describe(), ", all of it (",
               cfg.data.empty() ? std::string("the run's data is not recorded") : "the run trained on " + cfg.data, ")");
    return std::shared_ptr<const Dataset>(std::move(splits.train));
  }
  HeldOut part = held_out_part(std::move(splits.train), cfg.val_split, cfg.seed, cfg.holdout);
  note = part.note;
  return part.data;
}

void run_eval(const EvalFlags& f) {
  f.device.apply_threads();
  f.limits.apply();
  const bool ten = f.tta == "10crop";
  const int max_batch = ten ? std::max(10, f.batch_size / 10 * 10) : f.batch_size;
  const ComputeChoice compute = f.device.resolve_and_say();
  CheckpointNet c = load_checkpoint_net(f.checkpoint, compute.backend, compute.precision, max_batch);
  std::string note;
  std::shared_ptr<const Dataset> data = eval_data(f, c, note);
  if (data->classes().size() > size_t(c.model.options.num_classes))
    fail("the data has ", data->classes().size(), " classes, the checkpoint's network ", c.model.options.num_classes);
  const ClassMatch match = match_classes(c.model.classes, data->classes(), f.by_position, "the checkpoint");
  if (!match.note.empty()) std::fprintf(stderr, "%s\n", wrap_columns("classes: " + match.note, 2).c_str());
  data = relabel(std::move(data), match, c.model.classes);
  std::fprintf(stderr, "%s\n", wrap_columns(cat("eval: ", c.model.variant, " on ", data->size(), " images (", note, ")",
                                                 ten ? ", 10-crop" : f.tta == "flip" ? ", with mirror images" : ""), 2).c_str());
  EvalOptions eo;
  eo.transform = c.transform;
  eo.batch_size = max_batch;
  eo.threads = f.workers;
  eo.ten_crop = ten;
  eo.flip = f.tta == "flip";
  const bool resize_float = f.resize_float || c.config.resize_float;  // or as the checkpoint was trained
  eo.resize_float_images = resize_float;
  if (!ten)
    std::fprintf(stderr, "%s\n",
                 wrap_columns(check_model_input(*data, eo.transform, BatchFormat::F32_NCHW, resize_float), 2).c_str());
  const bool tty = isatty(fileno(stderr));
  eo.progress = [&](int64_t done, int64_t total) {
    if (tty) std::fprintf(stderr, "\r%lld/%lld", (long long)done, (long long)total);
  };
  const EvalResult r = evaluate(*c.net, *data, eo);
  if (tty) std::fprintf(stderr, "\n");
  const std::vector<std::string>& names = c.model.classes.empty() ? data->classes() : c.model.classes;
  std::printf("top-1 %.2f%%  top-5 %.2f%%  loss %.4f  (%lld images%s)\n", r.top1 * 100, r.top5 * 100, r.loss, (long long)r.n,
              r.skipped_note().c_str());
  const std::vector<std::string>& words = c.model.class_descriptions.empty() ? data->class_descriptions() : c.model.class_descriptions;
  for (size_t k = 0; k < r.class_total.size(); ++k)
    if (r.class_total[k])
      std::printf("  %-20s %6.2f%%  (%lld)%s%s\n", k < names.size() ? names[k].c_str() : std::to_string(k).c_str(),
                  100.0 * double(r.class_correct[k]) / double(r.class_total[k]), (long long)r.class_total[k],
                  k < words.size() ? "  " : "", k < words.size() ? words[k].c_str() : "");
  if (f.json) print_json_line(r.json(names));
}

}  // namespace

void add_eval(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Measure a checkpoint's accuracy on a dataset");
  cmd->add_option("--checkpoint", f->checkpoint, "A checkpoint written by alexnet train, or its run directory (then its best.safetensors, else last)")->required();
  cmd->add_option("--data", f->data, "The data (any format train reads; default $ALEXNET_DATA, then ./data, then the data the checkpoint "
                                     "was trained on)");
  cmd->add_option("--split", f->split, "auto (the data's test split, else the run's --holdout test set, else the part training validated on), "
                                         "validation (the part training validated on), train, val or test")
      ->capture_default_str()->check(one_of({"auto", "validation", "train", "val", "test"}));
  cmd->add_option("--tta", f->tta, "Test-time augmentation: none, flip (each image and its mirror, softmax averaged: "
                                  "2x the work), or 10crop (4 corners + centre and mirrors, as the paper: 10x)")
      ->capture_default_str()->check(one_of({"none", "flip", "10crop"}));
  cmd->add_option("-b,--batch-size", f->batch_size, "Images per forward pass")->capture_default_str()->check(number_check(1, 1 << 16));
  cmd->add_option("-j,--workers", f->workers, "Data loader threads")->capture_default_str()->check(number_check(1, 256));
  f->device.add(cmd);
  cmd->add_flag("--resize-float", f->resize_float, "Resize float tensor images of another size than the model's input "
                                                   "(as train --resize-float; also on when the checkpoint was trained so)");
  f->limits.add(cmd);
  cmd->add_flag("--by-position", f->by_position, "Score the data's class k as the checkpoint's class k even when their "
                                                 "names differ (by default classes are matched by name)");
  cmd->add_flag("--json", f->json, "Print one JSON object on stdout (top1, top5, loss, n: fractions); everything else goes to stderr");
  cmd->callback([f] {
    if (f->json) keep_stdout_for_json();
    f->checkpoint = resolve_checkpoint(f->checkpoint);
    run_eval(*f);
  });
}

}  // namespace alexnet::cli
