// alexnet train: SGD training; the defaults are the seed article's recipe (seed model, 224x224 via
// resize, batch 64, SGD lr 0.01 momentum 0.9, cross-entropy, 1 epoch, a loss line every 100 steps).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unistd.h>
#include <csignal>
#include <limits>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <memory>
#include <span>
#include <omp.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "backend/capabilities.h"
#include "cli/data_flags.h"
#include "data/download.h"
#include "dist/communicator.h"
#include "rundir/run_dir.h"
#include "train/progress.h"
#include "train/run.h"

namespace alexnet::cli {

namespace {

struct TrainFlags {
  TrainConfig config;
  DeviceFlags device;
  DataLimitFlags limits;
  std::string resume, download, gpus, recipe;
  CLI::App* cmd = nullptr;
};

bool given(const CLI::App* cmd, const char* name) { return cmd->get_option(name)->count() > 0; }

// Trains in this process; returns the exit code (0, or 128 + a signal that stopped the run).
int train_process(TrainFlags& f, Communicator& comm);

// --gpus 0,1,...: distinct GPU numbers.
std::vector<int> parse_gpu_list(const std::string& text) {
  std::vector<int> ids;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    if (item.empty() || item.size() > 4 || item.find_first_not_of("0123456789") != std::string::npos)
      fail("--gpus ", text, ": expected GPU numbers separated by commas, as 0,1,2,3");
    const int id = std::stoi(item);
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) fail("--gpus ", text, ": GPU ", id, " is listed twice");
    ids.push_back(id);
    at = comma + 1;
  }
  return ids;
}

// The file in which process 0 of a job started by run_processes leaves its exit status: mpirun's own
// is 1 whenever a process ends non-zero (130 after SIGINT, 143 after SIGTERM) or it was signalled.
constexpr const char* kExitStatusFileVariable = "ALEXNET_EXIT_STATUS_FILE";

volatile std::sig_atomic_t g_launcher_signal = 0, g_signals_received = 0;
extern "C" void note_signal(int sig) {
  if (!g_launcher_signal) g_launcher_signal = sig;
  g_signals_received = g_signals_received + 1;
}

// The processes whose parent is `parent` (from /proc).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t close = line.rfind(')');  // "pid (comm) state ppid ...": comm may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) out.push_back(pid_t(std::stol(name)));
  }
  return out;
}

// Runs argv (mpirun) as a child and exits with process 0's exit status when it left one (a signal
// that stopped the run, an error), else with mpirun's.
//
// Signals: mpirun runs in a process group of its own, so a SIGINT from the terminal reaches this
// launcher only, and the launcher passes each SIGINT or SIGTERM it receives to the training
// processes themselves (mpirun's children), not to mpirun: Open MPI answers a signal by killing
// every process 1 s after a SIGTERM, which cuts a step or a checkpoint longer than that. The
// processes stop after the same step, process 0 saves it, they leave MPI together and mpirun ends.
[[noreturn]] void run_processes(std::vector<char*> argv, const std::string& hint) {
  char path[] = "/tmp/alexnet-exit-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) fail("cannot create a temporary file in /tmp: ", std::strerror(errno));
  ::close(fd);
  ::setenv(kExitStatusFileVariable, path, 1);
  struct sigaction sa {};
  sa.sa_handler = note_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const pid_t child = ::fork();
  if (child < 0) fail("cannot start mpirun (fork: ", std::strerror(errno), ")");
  if (child == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the job ends with its launcher
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execvp("mpirun", argv.data());
    std::fprintf(stderr, "error: cannot start mpirun (%s): install openmpi-bin, or %s\n", std::strerror(errno), hint.c_str());
    ::_exit(1);
  }
  int status = 0, passed_on = 0;
  for (;;) {  // polled, so that no signal slips in between a check and a blocking wait
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) fail("waiting for mpirun: ", std::strerror(errno));
    for (; passed_on < g_signals_received; ++passed_on)
      for (const pid_t p : children_of(child)) ::kill(p, g_launcher_signal);
    ::usleep(100 * 1000);
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  std::ifstream in(path);
  int rank0 = -1;
  if (in >> rank0 && rank0 >= 0 && rank0 < 256) code = rank0;
  ::unlink(path);
  std::exit(code);
}

// Process 0 of a job started by run_processes leaves its exit status for the launcher.
void leave_exit_status(const Communicator& comm, int code) {
  const char* path = std::getenv(kExitStatusFileVariable);
  if (!path || !*path || !comm.is_root()) return;
  std::ofstream(path) << code << "\n";
}

// Replaces this process by `n` copies of this program with the same arguments (less the flag `drop`
// and its value, plus `extra`): `mpirun -np n` (Open MPI's; as root with --allow-run-as-root, more
// processes than cores allowed), run as a child whose process 0's exit status becomes this one's, or
// itself alone for n = 1. `hint` ends the error when that fails.
[[noreturn]] void replace_by_processes(int n, const std::vector<std::string>& mpirun_options, const std::string& drop,
                                       const std::vector<std::string>& extra, const std::string& hint) {
  std::vector<std::string> args;
  if (n > 1) {
    args = {"mpirun", "--bind-to", "none", "--oversubscribe", "--stdin", "none", "-np", std::to_string(n), "-x", kExitStatusFileVariable};
    if (::geteuid() == 0) args.push_back("--allow-run-as-root");
    args.insert(args.end(), mpirun_options.begin(), mpirun_options.end());
  }
  const std::vector<std::string>& mine = program_arguments();
  // This program's own path: "/proc/self/exe" would name mpirun (or its daemon) in the processes
  // mpirun starts.
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec || self.empty()) fail("cannot find this program's path (/proc/self/exe: ", ec.message(), ")");
  args.push_back(self);
  for (size_t i = 1; i < mine.size(); ++i) {
    if (!drop.empty() && mine[i] == drop) {
      ++i;
      continue;
    }
    if (!drop.empty() && mine[i].rfind(drop + "=", 0) == 0) continue;
    args.push_back(mine[i]);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  if (n > 1) run_processes(argv, hint);
  ::execv(self.c_str(), argv.data());
  fail("cannot start ", args[0], " (", std::strerror(errno), ")");
}

// --gpus: checks the list against the GPUs this machine has, then replaces this process by one
// process per GPU (`mpirun -np N`, or itself for one GPU) that sees only the listed GPUs
// (CUDA_VISIBLE_DEVICES) and trains with --device cuda; each process takes the GPU of its local rank.
[[noreturn]] void start_on_gpus(const TrainFlags& f) {
  const std::vector<int> ids = parse_gpu_list(f.gpus);
  if (launched_by_mpi_launcher())
    fail("--gpus starts one process per GPU itself; under mpirun pass --device cuda instead (each process takes "
         "the GPU of its local rank)");
  if (given(f.cmd, "--device") && f.device.device != "cuda") fail("--gpus trains on GPUs: drop --device ", f.device.device);
  const GpuCapabilities gpu = gpu_capabilities();
  if (gpu.count == 0)
    fail("--gpus ", f.gpus, ": ", gpu.compiled ? "no CUDA device is visible (" + gpu.why_none + ")" : gpu.why_none,
         "; without GPUs train with --device cpu, or data-parallel over CPU processes with mpirun -np N alexnet train");
  for (int id : ids)
    if (id >= gpu.count) fail("--gpus ", f.gpus, ": there is no GPU ", id, " (", gpu.count, " visible, numbered 0 to ", gpu.count - 1, ")");
  if (ids.size() > 1 && !mpi_compiled_in())
    fail("--gpus with more than one GPU needs MPI, and this alexnet was built without it: install libopenmpi-dev "
         "and rebuild");
  std::string visible;
  for (int id : ids) visible += (visible.empty() ? "" : ",") + std::to_string(id);
  ::setenv("CUDA_VISIBLE_DEVICES", visible.c_str(), 1);
  std::vector<std::string> extra;
  if (!given(f.cmd, "--device")) extra = {"--device", "cuda"};
  replace_by_processes(int(ids.size()), {"-x", "CUDA_VISIBLE_DEVICES"}, "--gpus", extra,
                       "--gpus: start the processes yourself: mpirun -np N alexnet train --device cuda");
}

// --split N without a launcher: N processes on this machine (mpirun -np N), each with its share of
// the cores, so `alexnet train --model paper --split 2` runs the two columns as the paper did.
[[noreturn]] void start_columns(const TrainFlags& f) {
  const int n = f.config.split;
  if (!mpi_compiled_in())
    fail("--split ", n, " runs one process per column and needs MPI, and this alexnet was built without it: install "
         "libopenmpi-dev and rebuild");
  const int cores = std::max(1, (f.device.threads > 0 ? f.device.threads : omp_get_max_threads()) / n);
  ::setenv("OMP_NUM_THREADS", std::to_string(cores).c_str(), 1);
  replace_by_processes(n, {"-x", "OMP_NUM_THREADS"}, "", {},
                       "start the processes yourself: mpirun -np " + std::to_string(n) + " alexnet train --split " +
                           std::to_string(n) + " ...");
}

void run_train(TrainFlags& f) {
  if (!f.gpus.empty()) start_on_gpus(f);
  if (f.config.split > 1 && !launched_by_mpi_launcher()) start_columns(f);
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
      leave_exit_status(*comm, 1);
      comm->abort(1);
    }
  }
  leave_exit_status(*comm, code);
  comm.reset();  // MPI_Finalize
  if (code) std::exit(code);
}

// The flag of a config field: --key with '-' for '_', "!--no-key" for a setting that is on by
// default (CLI11's negated flag), with the short names users know from PyTorch's examples.
std::string long_flag(const ConfigField& field) {
  std::string name = std::string("--") + field.key;
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string flag_names(const ConfigField& field, bool on_by_default) {
  const std::string name = long_flag(field).substr(2);
  if (on_by_default) return "!--no-" + name;
  static const std::map<std::string, std::string> aliases = {
      {"batch-size", "-b,"}, {"workers", "-j,"}, {"print-freq", "-p,"}, {"weight-decay", "--wd,"}, {"model", "-a,--arch,"}};
  const auto it = aliases.find(name);
  return (it == aliases.end() ? "" : it->second) + "--" + name;
}

// One flag per config field that has help, bound to the field, checked against its range.
void add_config_flags(CLI::App* cmd, TrainConfig& c) {
  for (const ConfigField& field : train_config_fields()) {
    if (!field.help) continue;
    std::string help = field.help;
    // Where the command line looks when --data is not given (the table does not know the environment).
    if (std::string_view(field.key) == "data") help += ". Default: $ALEXNET_DATA, then ./data (or --download)";
    std::visit(
        [&](auto member) {
          auto& value = c.*member;
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>) {
            cmd->add_flag(flag_names(field, value), value, help);
          } else if constexpr (std::is_same_v<T, BackendKind> || std::is_same_v<T, Precision>) {
            // chosen by --device/--precision/--backend
          } else {
            CLI::Option* o = cmd->add_option(flag_names(field, false), value, help);
            if constexpr (!std::is_same_v<T, std::string>) o->capture_default_str();
            else if (!value.empty()) o->capture_default_str();
            if (std::string_view(field.key) == "model") o->transform(model_check());  // may rename
            else if (field.choices) o->check(one_of(field.choices()));
            if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::vector<int>>) {
              using N = std::conditional_t<std::is_same_v<T, std::vector<int>>, int, T>;
              // The type's own limits close an open range (a float's largest value, an int's).
              const double top = std::isfinite(field.max) ? field.max : double(std::numeric_limits<N>::max());
              if (std::isfinite(field.min) || std::isfinite(field.max))
                o->check(number_check(field.min, top, std::is_integral_v<N>, field.min_exclusive));
            }
          }
        },
        field.member);
  }
}

// A recipe's settings as flags, one "--flag value" each: "--model cifar", "--nesterov", "--lr 0.05".
std::vector<std::string> recipe_flags(const Recipe& r, const std::vector<std::string>& except = {}) {
  std::vector<std::string> out;
  for (const auto& [key, value] : r.settings) {
    const std::string flag = long_flag(train_config_field(key));
    if (std::find(except.begin(), except.end(), flag) != except.end()) continue;
    out.push_back(flag + (std::string_view(value) == "true" ? "" : " " + std::string(value)));
  }
  return out;
}

// --recipe NAME: its settings, except those given on the command line, which win; says what it set.
void apply_recipe(TrainFlags& f, bool say) {
  if (f.recipe.empty()) return;
  if (!f.resume.empty()) fail("--recipe starts a run and --resume continues one with its own settings: drop --recipe");
  const Recipe& r = train_recipe(f.recipe);
  std::vector<std::string> beside;
  for (const auto& [key, value] : r.settings) {
    const ConfigField& field = train_config_field(key);
    if (given(f.cmd, long_flag(field).c_str())) beside.push_back(long_flag(field));
    else set_field(field, f.config, value);
  }
  if (!say) return;
  std::vector<std::string> words = recipe_flags(r, beside);
  words.insert(words.begin(), "recipe " + f.recipe + ":");
  if (!beside.empty()) {
    words.push_back("(given beside it:");
    for (size_t i = 0; i < beside.size(); ++i) words.push_back(beside[i] + (i + 1 < beside.size() ? "," : ")"));
  }
  std::fprintf(stderr, "%s\n", wrap_columns(words, 2).c_str());
}

// --resume takes a run directory, or a checkpoint file inside one: that run, from where it stopped.
std::string resume_run_dir(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return path;
  const fs::path dir = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  if (!fs::is_regular_file(dir / rundir::kLast, ec))
    fail("--resume ", path, ": a file, and ", dir.string(), " is not a run directory (no last.safetensors); --resume "
         "takes the run directory");
  const bool last = fs::path(path).filename() == rundir::kLast;
  std::fprintf(stderr, "--resume %s: resuming the run in %s%s\n", path.c_str(), dir.c_str(),
               last ? "" : " from where it stopped (its last.safetensors)");
  return dir.string();
}

// Whether the flag of a config field was given (as --key, or as --no-key for a setting on by default).
bool field_given(const CLI::App* cmd, const ConfigField& field) {
  const std::string name = long_flag(field);
  for (const std::string& flag : {name, "--no-" + name.substr(2)})
    if (const CLI::Option* o = cmd->get_option_no_throw(flag); o && o->count() > 0) return true;
  return false;
}

// --resume: the stored settings win. A setting that may change (a resumable row of the table) and was
// given applies, and the change is said; any other setting given must equal the stored one, or the
// run is refused with one error naming the flag and both values.
void apply_resume_flags(const TrainFlags& f, const TrainConfig& flags, const std::string& dir, TrainConfig& stored,
                        bool say) {
  namespace fs = std::filesystem;
  const nlohmann::json was = nlohmann::json::parse(stored.to_json()), now = nlohmann::json::parse(flags.to_json());
  std::string may_change;
  for (const ConfigField& field : train_config_fields())
    if (field.resumable) may_change += (may_change.empty() ? "" : ", ") + long_flag(field);
  for (const ConfigField& field : train_config_fields()) {
    if (!field.help || !field_given(f.cmd, field)) continue;
    const std::string before = was.value(field.key, nlohmann::json()).dump(), after = now.value(field.key, nlohmann::json()).dump();
    if (std::string_view(field.key) == "out") {  // a resumed run writes where it was
      std::error_code e1, e2;
      if (fs::weakly_canonical(flags.out, e1) != fs::weakly_canonical(dir, e2))
        fail("--out ", flags.out, " with --resume ", dir, ": a resumed run writes in its own directory; to train on "
             "from its weights elsewhere, start a new run with --init ", rundir::file(dir, rundir::kLast));
      continue;
    }
    if (before == after) continue;
    if (!field.resumable)
      fail(long_flag(field), " ", after, " contradicts the run being resumed, which has ", before, " (", dir,
           "); with --resume only ", may_change, " and the device may change. To train with other settings, start a "
           "new run (--init ", rundir::file(dir, rundir::kLast), " starts from its weights)");
    copy_field(field, flags, stored);
    if (say) std::fprintf(stderr, "resume: %s changed from %s to %s\n", long_flag(field).c_str(), before.c_str(), after.c_str());
  }
}

// The CPU threads of a resumed run: as it was trained unless --threads says otherwise (the sums inside
// the kernels are ordered by thread, so another count gives other last bits).
void resume_threads(const TrainFlags& f, int threads, TrainConfig& stored, bool say) {
  if (f.device.threads > 0 || stored.threads == 0) {
    if (say && stored.threads > 0 && stored.threads != threads)
      std::fprintf(stderr, "resume: --threads changed from %d to %d (the steps are then not bitwise those of an "
                           "uninterrupted run)\n", stored.threads, threads);
    stored.threads = threads;
    return;
  }
  if (stored.threads == threads) return;
  omp_set_num_threads(stored.threads);
  if (say)
    std::fprintf(stderr, "resume: %d CPU threads, as the run was trained (--threads N changes it)\n", stored.threads);
}

int train_process(TrainFlags& f, Communicator& comm) {
  apply_recipe(f, comm.is_root());
  const int threads = f.device.apply_threads();
  f.limits.apply();
  TrainConfig c = f.config;
  c.threads = threads;
  const bool compute_given = given(f.cmd, "--device") || given(f.cmd, "--precision") || given(f.cmd, "--backend");
  if (f.resume.empty() || compute_given) {
    const ComputeChoice compute = comm.is_root() ? f.device.resolve_and_say() : f.device.resolve();
    c.backend = compute.backend;
    c.precision = compute.precision;
    // `auto` may time the precisions: every process takes rank 0's choice.
    int chosen[2] = {int(c.backend), int(c.precision)};
    comm.broadcast_values(std::span<int>(chosen), 0);
    c.backend = BackendKind(chosen[0]);
    c.precision = Precision(chosen[1]);
  }
  std::unique_ptr<ResumeFrom> resume;
  if (!f.resume.empty()) {
    // The stored config wins; only the resumable settings (how long to train, where the data is, how
    // it is read, how often to print) and what computes it may change.
    const std::string dir = resume_run_dir(f.resume);
    if (comm.is_root()) rundir::check_no_writer(dir);  // before reading what a running writer replaces
    resume = std::make_unique<ResumeFrom>(open_resume(dir));
    TrainConfig& stored = resume->config;
    apply_resume_flags(f, c, resume->dir, stored, comm.is_root());
    if (given(f.cmd, "--epochs") && !given(f.cmd, "--steps")) stored.steps = 0;
    if (compute_given) stored.backend = c.backend, stored.precision = c.precision;
    // The columns are how the processes are arranged, not what is trained: a split run resumes in a
    // process count its split does not divide (one process, say) as an unsplit one, and back.
    if (!given(f.cmd, "--split") && comm.size() % stored.split) stored.split = 1;
    resume_threads(f, threads, stored, comm.is_root());
    c = stored;
  }
  c.data = resolve_data_path(c.data);
  if (c.data.empty() && !f.download.empty()) c.data = download_cifar(parse_cifar_kind(f.download));
  if (c.data.empty())
    fail("no training data: pass --data PATH (CIFAR-10/100 binary folder or .tar.gz, an ImageFolder folder/.tar/.tar.gz, "
         "or a .safetensors tensor dataset), set ALEXNET_DATA, put it in ./data, or use --download cifar10");
  comm.set_collective_timeout(c.collective_timeout);  // the watchdog (dist/communicator.h)
  const TrainResult r = run_training(c, resume.get(), &comm);
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
  CLI::App* cmd = app.add_subcommand("train", "Train a network with SGD (defaults: the seed article's recipe)");
  f->cmd = cmd;
  add_config_flags(cmd, f->config);
  cmd->add_option("--download", f->download, "When no data is found, download cifar10 or cifar100 into $ALEXNET_CACHE "
                                             "(default ~/.cache/alexnet)")
      ->check(one_of({"cifar10", "cifar100", "cifar-10", "cifar-100"}));
  f->limits.add(cmd);
  f->device.add(cmd);
  cmd->add_option("--gpus", f->gpus, "Train on these GPUs, one process each (data parallel), as 0,1,2,3: starts the "
                                     "processes itself (mpirun -np N for several); under mpirun use --device cuda instead");
  std::string may_change;
  for (const ConfigField& field : train_config_fields())
    if (field.resumable) may_change += long_flag(field) + ", ";
  cmd->add_option("--resume", f->resume, "Continue the run in this directory (or of this checkpoint file) exactly where it "
                                         "stopped. " + may_change + "--threads and the device may change (each change is "
                                         "said); any other flag given must equal the run's, or the run is refused");
  std::vector<std::string> recipe_names;
  std::string recipes = "Recipes (--recipe NAME sets these flags; flags given beside it win):";
  for (const Recipe& r : train_recipes()) {
    recipe_names.push_back(r.name);
    const std::string name = r.name;
    recipes += "\n  " + name + std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') + wrap_columns(r.source, 16, 16) + "\n" +
               std::string(16, ' ') + wrap_columns(recipe_flags(r), 16, 16);
  }
  cmd->add_option("--recipe", f->recipe, "A named group of flags: " + [&] {
        std::string list;
        for (const std::string& n : recipe_names) list += (list.empty() ? "" : ", ") + n;
        return list;
      }() + " (listed below; flags given beside it win)")
      ->check(one_of(recipe_names));
  cmd->footer(recipes);
  cmd->callback([f] { run_train(*f); });
}

}  // namespace alexnet::cli
