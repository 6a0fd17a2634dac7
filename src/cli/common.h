// Flags shared by several subcommands, and small helpers for the command line.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "backend/capabilities.h"
#include "backend/net.h"
#include "model/net_spec.h"

namespace alexnet::cli {

// The program's command line as main() received it (for commands that start copies of themselves).
void set_program_arguments(int argc, char** argv);
const std::vector<std::string>& program_arguments();

// Where the data is: `flag` if given, else $ALEXNET_DATA, else ./data if it exists; empty if none.
std::string resolve_data_path(const std::string& flag);

// --model, --num-classes, --width, --input-size, --dropout
struct ModelFlags {
  std::string model = "seed";
  int num_classes = 10;
  double width = 1.0;
  int input_size = 0;
  float dropout = -1.f;

  void add(CLI::App* cmd, bool with_dropout);
  NetSpec spec() const;
};

// --device, --precision, --threads, --backend
struct DeviceFlags {
  std::string device = "auto";
  std::string precision = "auto";
  int threads = 0;
  std::string backend;  // empty: the device's fast backend

  void add(CLI::App* cmd);
  // The device, backend and precision these flags resolve to on this machine ("auto" decided here);
  // throws alexnet::Error, in the user's words, for what this machine cannot run.
  ComputeChoice resolve() const { return choose_compute(device, backend, precision); }
  // resolve(), with its two notes printed to stderr (the first lines of a run).
  ComputeChoice resolve_and_say() const;
  // Sets the number of CPU threads (OpenMP) when --threads was given; returns the number in use.
  int apply_threads() const;
};

// Seconds since an arbitrary start, monotonic.
double now_seconds();

// --json: from here on stdout holds JSON only. Everything printed for people (printf included) goes
// to stderr; print_json_line writes to the original stdout. Call it first thing in a command.
void keep_stdout_for_json();

// Prints one JSON object on its own line (to the original stdout after keep_stdout_for_json).
void print_json_line(const std::string& json);

// Checks a number flag and says what is wrong in words: "'abc' is not a number", "'1.5' is not a
// whole number", "must be at least 1, not 0", "must be from 0 to 1, not 2". Bounds are inclusive
// unless min_exclusive; an infinite bound is no bound.
CLI::Validator number_check(double min, double max, bool whole, bool min_exclusive = false);
template <typename T>
CLI::Validator number_check(T min, T max) {
  return number_check(double(min), double(max), std::is_integral_v<T>);
}
// Checks a word flag: "'x' is not one of a, b or c".
CLI::Validator one_of(std::vector<std::string> choices);

// --model's names (net_variants()), and pytorch/examples' `-a alexnet` taken as torchvision's, said.
CLI::Validator model_check();

// A --checkpoint argument: a file as given; a run directory gives its best.safetensors, else its
// last.safetensors, and says which on stderr.
std::string resolve_checkpoint(const std::string& path);

// For a command line CLI11 refused: "; did you mean --lr?" for the spellings of PyTorch's scripts
// (--learning-rate, --batch_size, --num-workers, ...), or "" when none applies.
std::string flag_hint(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace alexnet::cli
