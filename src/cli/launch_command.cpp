// `adarts launch --nproc N [--rendezvous URL] [--grace S] -- SUBCOMMAND [ARGS...]`:
// N local ranks of a distributed run, each `adarts SUBCOMMAND ARGS...
// --world-size N --rank i --rendezvous URL`. The process logic is in launch.cpp.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adarts/error.h"
#include "commands.h"
#include "launch.h"

namespace adarts::cli {
namespace {

struct LaunchOptions {
  int nproc = 0;
  std::string rendezvous;
  double grace = 30;
  std::string program;  // for tests: replaces adarts itself
  std::vector<std::string> command;
};

// The program the ranks run and its argv[0]. /proc/self/exe is exec'd
// rather than its target so the ranks run this very binary even when a
// rebuild has replaced the file meanwhile.
std::pair<std::string, std::string> rank_program(const std::string& given) {
  if (!given.empty()) {
    if (::access(given.c_str(), X_OK) != 0) throw invalid_argument("--program '" + given + "' is not executable");
    return {given, given};
  }
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) throw unsupported("launch needs /proc/self/exe to start the ranks: " + error.message());
  return {"/proc/self/exe", self.string()};
}

int run_launch(const LaunchOptions& o) {
  if (o.nproc < 1) throw invalid_argument("--nproc must be >= 1, got " + std::to_string(o.nproc));
  if (!std::isfinite(o.grace) || o.grace < 0) throw invalid_argument("--grace must be >= 0 seconds");
  if (o.command.empty() || o.command.front().rfind('-', 0) == 0) {
    throw invalid_argument("launch needs the subcommand after `--`, e.g. `adarts launch --nproc 2 -- search ...`");
  }
  refuse_launch_set_options(o.command);
  // Without --rendezvous: a FileStore in a private directory, gone when launch ends.
  std::optional<TemporaryDirectory> scratch;
  std::string rendezvous = o.rendezvous;
  if (rendezvous.empty()) {
    scratch.emplace();
    rendezvous = "file://" + scratch->path() + "/rendezvous";
  } else {
    check_rendezvous_url(rendezvous);
    const std::string file = rendezvous.rfind("file://", 0) == 0 ? rendezvous.substr(7) : "";
    if (!file.empty() && std::filesystem::exists(file)) {
      spdlog::warn("launch: the rendezvous file {} exists; one left by an earlier run can make the ranks fail", file);
    }
  }
  const auto [program, argv0] = rank_program(o.program);
  LaunchPlan plan;
  plan.program = program;
  plan.grace_seconds = o.grace;
  for (int rank = 0; rank < o.nproc; ++rank) {
    std::vector<std::string> argv = {argv0};
    for (auto& a : rank_arguments(o.command, o.nproc, rank, rendezvous)) argv.push_back(std::move(a));
    plan.ranks.push_back(std::move(argv));
  }
  spdlog::info("launch: {} rank(s) of `adarts {}`, rendezvous {}", o.nproc, fmt::join(o.command, " "), rendezvous);
  return run_ranks(plan);
}

}  // namespace

std::function<int()> add_launch_command(CLI::App& app) {
  CLI::App* launch = app.add_subcommand(
      "launch", "start N local ranks of a distributed search or training: adarts launch --nproc N -- search ...");
  auto o = std::make_shared<LaunchOptions>();
  launch->add_option("--nproc", o->nproc, "number of ranks (processes) to start, >= 1")->required();
  launch->add_option("--rendezvous", o->rendezvous,
                     "file:///ABSOLUTE/PATH or tcp://HOST:PORT (default: a fresh file in a private temporary "
                     "directory, removed when launch ends)");
  launch->add_option("--grace", o->grace,
                     "after a rank fails, seconds the others get to end by themselves before SIGTERM "
                     "(then SIGKILL 5 s later)")
      ->capture_default_str();
  // Hidden (empty group): the tests drive the process logic with a script.
  launch->add_option("--program", o->program, "for tests: the executable the ranks run instead of adarts")->group("");
  launch->add_option("COMMAND", o->command, "after `--`: the subcommand and its arguments, e.g. -- search --epochs 5")
      ->required();
  launch->footer(
      "Each rank runs `adarts COMMAND --world-size N --rank i --rendezvous URL`; launch sets those three, so COMMAND "
      "must not contain them. Rank 0 prints the results on stdout; every rank logs on stderr.\n"
      "SIGINT/SIGTERM are forwarded to the ranks (they checkpoint and stop); a second signal kills them.\n"
      "When a rank fails, launch names it, waits --grace seconds for the others, then ends them.\n"
      "Exit status: 0 when every rank exits 0; otherwise the first failing rank's status (128 + the signal "
      "that killed it), or 128 + the forwarded signal.");
  return [launch, o]() -> int {
    if (!launch->parsed()) return -1;
    return run_launch(*o);
  };
}

}  // namespace adarts::cli
