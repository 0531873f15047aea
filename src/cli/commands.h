// The subcommands of `adarts`. Each add_*_command registers its options on
// `app` and returns a runner: -1 when its subcommand was not the one parsed,
// otherwise the process exit status. Errors are thrown as adarts::Error.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace adarts::cli {

std::function<int()> add_search_command(CLI::App& app);
std::function<int()> add_train_command(CLI::App& app);
std::function<int()> add_evaluate_command(CLI::App& app);
std::function<int()> add_export_command(CLI::App& app);
std::function<int()> add_genotype_command(CLI::App& app);
std::function<int()> add_fidelity_command(CLI::App& app);
std::function<int()> add_report_command(CLI::App& app);
std::function<int()> add_random_search_command(CLI::App& app);
std::function<int()> add_launch_command(CLI::App& app);

// The whole text of a file; adarts::Error(io_error) when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace adarts::cli
