// alexnet: train, evaluate, benchmark and run AlexNet from the command line.
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "train/progress.h"

namespace {

// --help in lines of at most 100 columns: descriptions wrapped beside their names.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_desc(const CLI::Option* opt) const override {
    return beside_names(CLI::Formatter::make_option_desc(opt));
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true), beside_names(sub->get_description()), get_column_width());
    return out.str();
  }
  std::string make_description(const CLI::App* app) const override {
    return alexnet::wrap_columns(CLI::Formatter::make_description(app), 0) + "\n";
  }

 private:
  // `text` wrapped to start at the description column; CLI11 indents each line after a newline.
  std::string beside_names(const std::string& description) const {
    const size_t column = get_column_width();
    std::string text = alexnet::wrap_columns(description, column, column);
    const std::string indent = "\n" + std::string(column, ' ');
    for (size_t at = text.find(indent); at != std::string::npos; at = text.find(indent, at + 1))
      text.erase(at + 1, column);
    return text;
  }
};

}  // namespace

int main(int argc, char** argv) {
  // A file-size limit (or a full disk) must fail the write with an error we report, not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  alexnet::cli::set_program_arguments(argc, argv);
  CLI::App app{"alexnet: train, evaluate and run the AlexNet image classifier on CPUs and GPUs"};
  app.formatter(std::make_shared<HelpFormatter>());  // before the subcommands, which copy it
  app.set_version_flag("--version", ALEXNET_VERSION);
  app.require_subcommand(1);
  alexnet::cli::add_train(app);
  alexnet::cli::add_eval(app);
  alexnet::cli::add_predict(app);
  alexnet::cli::add_bench(app);
  alexnet::cli::add_info(app);
  alexnet::cli::add_filters(app);
  alexnet::cli::add_export(app);
  alexnet::cli::add_report(app);
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
