// The subcommands of the `alexnet` program. Each add_* function registers one subcommand with its
// flags and the function that runs it.
#pragma once

#include <CLI/CLI.hpp>

namespace alexnet::cli {

void add_train(CLI::App& app);
void add_predict(CLI::App& app);
void add_bench(CLI::App& app);
void add_info(CLI::App& app);
void add_eval(CLI::App& app);
void add_filters(CLI::App& app);
void add_export(CLI::App& app);
void add_report(CLI::App& app);

}  // namespace alexnet::cli
