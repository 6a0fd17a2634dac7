// Flags shared by several subcommands, and small helpers for the command line.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
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

// Prints one JSON object on its own line (the last line of --json output).
void print_json_line(const std::string& json);

}  // namespace alexnet::cli
