// alexnet train: SGD training; the defaults are the seed article's recipe (seed model, 224x224 via
// resize, batch 64, SGD lr 0.01 momentum 0.9, cross-entropy, 1 epoch, a loss line every 100 steps).
#include <csignal>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/data_flags.h"
#include "data/download.h"
#include "dist/communicator.h"
#include "train/run.h"

namespace alexnet::cli {

namespace {

struct TrainFlags {
  TrainConfig config;
  DeviceFlags device;
  DataLimitFlags limits;
  std::string resume, download;
  bool no_shuffle = false;
  CLI::App* cmd = nullptr;
};

bool given(const CLI::App* cmd, const char* name) { return cmd->get_option(name)->count() > 0; }

// Trains in this process; returns the exit code (0, or 128 + a signal that stopped the run).
int train_process(TrainFlags& f, Communicator& comm);

void run_train(TrainFlags& f) {
  // Under an MPI launcher (mpirun -np N alexnet train ...) every process trains data-parallel on
  // its shard; otherwise this is the single process. See docs/parallel.md.
  std::unique_ptr<Communicator> comm = make_communicator();
  int code = 0;
  if (comm->size() == 1) {
    code = train_process(f, *comm);
  } else {
    // One process failing leaves the others waiting in a collective: end them all, now.
    try {
      code = train_process(f, *comm);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error (process %d of %d): %s\n", comm->rank(), comm->size(), e.what());
      comm->abort(1);
    }
  }
  comm.reset();  // MPI_Finalize
  if (code) std::exit(code);
}

int train_process(TrainFlags& f, Communicator& comm) {
  f.device.apply_threads();
  f.limits.apply();
  TrainConfig c = f.config;
  const bool compute_given = given(f.cmd, "--device") || given(f.cmd, "--precision") || given(f.cmd, "--backend");
  if (f.resume.empty() || compute_given) {
    const ComputeChoice compute = comm.is_root() ? f.device.resolve_and_say() : f.device.resolve();
    c.backend = compute.backend;
    c.precision = compute.precision;
  }
  c.shuffle = !f.no_shuffle;
  if (!f.resume.empty()) {
    // The stored config wins; only how long to train, where the data is and what computes it may change.
    const ResumePoint r = load_last_checkpoint(f.resume);
    TrainConfig stored = TrainConfig::from_json(r.config_json);
    if (compute_given) stored.backend = c.backend, stored.precision = c.precision;
    if (given(f.cmd, "--epochs")) stored.epochs = c.epochs, stored.steps = 0;
    if (given(f.cmd, "--steps")) stored.steps = c.steps;
    if (given(f.cmd, "--data")) stored.data = c.data;
    if (given(f.cmd, "--resize-float")) stored.resize_float = c.resize_float;
    if (given(f.cmd, "--workers")) stored.workers = c.workers;
    if (given(f.cmd, "--print-freq")) stored.print_freq = c.print_freq;
    c = stored;
  }
  if (!f.download.empty() && resolve_data_path(c.data).empty()) c.data = download_cifar(parse_cifar_kind(f.download));
  const TrainResult r = run_training(c, f.resume, &comm);
  if (comm.is_root()) {
    std::printf("run directory: %s", r.run_dir.c_str());
    if (r.best_top1 >= 0) std::printf(" (best validation top-1 %.2f%%)", r.best_top1 * 100);
    std::printf("\n");
    std::fflush(stdout);
  }
  return r.exit_code;
}

}  // namespace

void add_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  TrainConfig& c = f->config;
  CLI::App* cmd = app.add_subcommand("train", "Train a network with SGD (defaults: the seed article's recipe)");
  f->cmd = cmd;
  cmd->add_option("--model", c.model, "Network: seed (the article's AlexNet, 224x224), paper (the 2012 paper's: groups=2 + "
                                      "LRN, 227x227), torchvision (torchvision.models.alexnet), cifar (small, 32x32)")
      ->capture_default_str()
      ->check(CLI::IsMember(net_variants()));
  cmd->add_option("--num-classes", c.num_classes, "Output classes (0 = the dataset's)")->capture_default_str()->check(CLI::Range(0, 1000000));
  cmd->add_option("--width", c.width, "Channel width multiplier (1 = the published network)")->capture_default_str()->check(CLI::Range(0.001, 16.0));
  cmd->add_option("--input-size", c.input_size, "Input height and width (0 = the model's own)")->capture_default_str()->check(CLI::Range(0, 4096));
  cmd->add_option("--dropout", c.dropout, "Dropout probability in the classifier (negative = 0.5)")->capture_default_str()->check(CLI::Range(-1.0, 0.99));
  cmd->add_option("--data", c.data, "Training data: CIFAR-10/100 binary (folder or .tar.gz), an ImageFolder (folder, .tar, "
                                    ".tar.gz) or a .safetensors tensor dataset. Default: $ALEXNET_DATA, then ./data");
  cmd->add_option("--download", f->download, "When no data is found, download cifar10 or cifar100 into $ALEXNET_CACHE "
                                             "(default ~/.cache/alexnet)")
      ->check(CLI::IsMember({"cifar10", "cifar100", "cifar-10", "cifar-100"}));
  cmd->add_option("--augment", c.augment, "Augmentation: none, seed (resize + normalise, as the article), standard "
                                          "(pad-4 crop + flip, or random-resized crop + flip), paper (256-resize, random "
                                          "crops, flips, PCA colour)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "seed", "standard", "paper"}));
  cmd->add_flag("--resize-float", c.resize_float, "Resize float tensor images of another size than the model's input "
                                                  "(shorter side, centre crop) instead of refusing them");
  f->limits.add(cmd);
  cmd->add_option("--val-split", c.val_split, "Hold out this fraction of the training data for validation (negative: the "
                                              "dataset's test split if it has one, else 0.1; 0: none)")
      ->capture_default_str()
      ->check(CLI::Range(-1.0, 0.9));
  cmd->add_option("-j,--workers", c.workers, "Data loader threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_flag("--no-shuffle", f->no_shuffle, "Visit samples in dataset order (batch s holds samples s*B .. s*B+B-1)");
  cmd->add_option("-b,--batch-size", c.batch_size, "Images per step")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--lr", c.lr, "Learning rate (peak rate for onecycle)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--wd,--weight-decay", c.weight_decay, "L2 weight decay (all parameters, as torch.optim.SGD)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--nesterov", c.nesterov, "Nesterov momentum");
  cmd->add_option("--label-smoothing", c.label_smoothing, "Cross-entropy label smoothing")->capture_default_str()->check(CLI::Range(0.0, 0.999));
  cmd->add_option("--epochs", c.epochs, "Passes over the training data")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--steps", c.steps, "Train exactly this many steps instead of --epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--schedule", c.schedule, "Learning-rate schedule: constant, step, multistep, cosine, onecycle, plateau")
      ->capture_default_str()->check(CLI::IsMember(LrSchedule::kinds()));
  cmd->add_option("--warmup-epochs", c.warmup_epochs, "Linear learning-rate warm-up, in epochs (fractions allowed)")
      ->capture_default_str()->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--milestones", c.milestones, "multistep: epochs at which the rate is multiplied by --gamma")->capture_default_str();
  cmd->add_option("--step-size", c.step_size, "step: epochs between decays")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--gamma", c.gamma, "step/multistep: decay factor")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  f->device.add(cmd);
  cmd->add_option("--seed", c.seed, "Seed of initialisation, shuffling, dropout and augmentation")->capture_default_str();
  cmd->add_option("--out", c.out, "Run directory (default runs/<model>-<date-time>)");
  cmd->add_option("--resume", f->resume, "Continue the run in this directory exactly where it stopped");
  cmd->add_option("--init", c.init, "Start from these weights (.safetensors); tensors whose shape differs (a classifier "
                                    "with another class count) are re-initialised, and the program says so");
  cmd->add_option("--save", c.save, "Also write the final weights to this file");
  cmd->add_option("-p,--print-freq", c.print_freq, "Print a progress line every this many steps")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--save-every", c.save_every, "Also checkpoint every this many steps (0: at the end of each epoch only)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-every", c.eval_every, "Validate every this many epochs (0: never)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->callback([f] { run_train(*f); });
}

}  // namespace alexnet::cli
