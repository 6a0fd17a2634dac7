// alexnet: train, evaluate, benchmark and run AlexNet from the command line.
#include <csignal>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"

int main(int argc, char** argv) {
  // A file-size limit (or a full disk) must fail the write with an error we report, not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  alexnet::cli::set_program_arguments(argc, argv);
  CLI::App app{"alexnet: train, evaluate and run the AlexNet image classifier on CPUs and GPUs"};
  app.set_version_flag("--version", ALEXNET_VERSION);
  app.require_subcommand(1);
  alexnet::cli::add_train(app);
  alexnet::cli::add_eval(app);
  alexnet::cli::add_predict(app);
  alexnet::cli::add_bench(app);
  alexnet::cli::add_info(app);
  alexnet::cli::add_filters(app);
  alexnet::cli::add_export(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end the parse with success: CLI11 prints them. A bad flag is an error
    // like any other: one line, exit 1.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::fprintf(stderr, "error: %s%s (see --help)\n", e.what(),
                 alexnet::cli::flag_hint(app, alexnet::cli::program_arguments()).c_str());
    return 1;
  } catch (const alexnet::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory (try a smaller --batch-size)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
