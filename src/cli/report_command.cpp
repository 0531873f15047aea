// `adarts report METRICS.jsonl --out DIR`: SVG figures of a search's metrics
// file (adarts/report.h).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "adarts/report.h"
#include "commands.h"

namespace adarts::cli {

std::function<int()> add_report_command(CLI::App& app) {
  CLI::App* report = app.add_subcommand(
      "report", "draw a search's metrics file as SVG: collapse curves, per-edge op weights and entropies, losses");
  auto metrics = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  report->add_option("METRICS", *metrics, "metrics.jsonl of `adarts search` (or its --out directory)")->required();
  report->add_option("--out", *out, "directory for the figures (default: report/ beside the metrics file)");
  return [report, metrics, out]() -> int {
    if (!report->parsed()) return -1;
    std::filesystem::path path(*metrics);
    if (std::filesystem::is_directory(path)) path /= "metrics.jsonl";
    const std::string dir = out->empty() ? (path.parent_path() / "report").string() : *out;
    const auto epochs = read_metrics_file(path.string());
    for (const auto& file : write_report(epochs, dir)) fmt::print("{}\n", file);
    return 0;
  };
}

}  // namespace adarts::cli
