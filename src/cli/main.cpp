// The `adarts` command. Each subcommand lives in its own file (commands.h).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "adarts/adarts_version.h"
#include "adarts/error.h"
#include "adarts/torch_info.h"
#include "commands.h"

namespace adarts::cli {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw adarts::io_error("cannot read '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace adarts::cli

namespace {

// `adarts --version`: what adarts_build_info() reports through the C ABI (the
// same version header and torch_info()), as text.
std::string version_text() {
  const adarts::TorchInfo torch = adarts::torch_info();
  return fmt::format("adarts {}.{}.{}\nC ABI: {}\nLibTorch: {}\nCUDA available: {}", ADARTS_VERSION_MAJOR,
                     ADARTS_VERSION_MINOR, ADARTS_VERSION_PATCH, ADARTS_VERSION_MAJOR, torch.version,
                     torch.cuda_available ? "yes" : "no");
}

}  // namespace

int main(int argc, char** argv) {
  // Log lines and errors on stderr; stdout carries only results (genotypes, tables, JSON), for pipes.
  spdlog::set_default_logger(spdlog::stderr_color_mt("adarts"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  CLI::App app{"adarts: differentiable architecture search with the amended gradient"};
  // Handled while parsing, before the subcommand requirement is checked.
  app.set_version_flag("--version", version_text, "print the library, C ABI and LibTorch versions, CUDA availability");
  app.require_subcommand(1);
  const std::vector<std::function<int()>> commands = {
      adarts::cli::add_search_command(app),
      adarts::cli::add_train_command(app),
      adarts::cli::add_evaluate_command(app),
      adarts::cli::add_export_command(app),
      adarts::cli::add_genotype_command(app),
      adarts::cli::add_fidelity_command(app),
      adarts::cli::add_report_command(app),
      adarts::cli::add_random_search_command(app),
      adarts::cli::add_launch_command(app),
  };
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& run : commands) {
      const int status = run();
      if (status >= 0) return status;
    }
  } catch (const adarts::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return 3;
  }
  return 0;
}
