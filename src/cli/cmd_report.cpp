// alexnet report: draws a run directory's report.html and pictures again from its files (after an
// `alexnet eval --json > RUN/eval.json`, say, or while a run is going).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "report/run_report.h"

namespace alexnet::cli {

void add_report(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("report", "Draw a run directory's report.html and charts again from its files "
                                               "(metrics, config, eval.json, checkpoints)");
  cmd->add_option("run_dir", *dir, "The run directory (alexnet train --out)")->required();
  cmd->callback([dir] {
    const report::ReportResult r = report::write_report_html(*dir);
    for (const std::string& note : r.notes) std::fprintf(stderr, "report: %s\n", note.c_str());
    std::printf("%s\n", r.html_path.c_str());
  });
}

}  // namespace alexnet::cli
