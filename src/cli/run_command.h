// What `adarts search` and `adarts train` share: options bound to config
// fields, the check of an out_dir holding an earlier run, the epoch loop with
// a progress bar and signals, and the stop after a signal.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "adarts/error.h"
#include "adarts/progress.h"
#include "adarts/run_config.h"
#include "adarts/run_progress.h"
#include "interrupt.h"

namespace adarts::cli {

// Binds `--flag` to a field of a scratch config; apply() copies it into the
// real config only when the user gave it, so that presets and --config stay in force.
template <class Config>
class ConfigOptions {
 public:
  explicit ConfigOptions(CLI::App& app) : app_(app) {}

  // `Owner` is Config or one of its bases (RunConfig: seed, device, ...).
  template <class T, class Owner>
  void add(const std::string& flag, T Owner::*member, const std::string& help) {
    static_assert(std::is_base_of_v<Owner, Config>, "a field of the config");
    CLI::Option* option = app_.add_option(flag, cli_.*member, help);
    overrides_.push_back([option, member, this](Config& config) {
      if (option->count() > 0) config.*member = cli_.*member;
    });
  }

  void apply(Config& config) const {
    for (const auto& o : overrides_) o(config);
  }

  bool given(const std::string& flag) const { return app_.get_option(flag)->count() > 0; }

 private:
  CLI::App& app_;
  Config cli_;
  std::vector<std::function<void(Config&)>> overrides_;
};

// The keys of a data-parallel run (docs/distributed.md), for search and train.
template <class Config>
void add_data_parallel_options(ConfigOptions<Config>& options) {
  options.add("--world-size", &Config::world_size, "data-parallel ranks of the run (1 = this process alone)");
  options.add("--rank", &Config::rank, "this process's rank, 0 .. world-size - 1 (rank 0 writes the files)");
  options.add("--rendezvous", &Config::rendezvous,
              "where the ranks meet: file:///abs/path (a fresh file per run) | tcp://HOST:PORT (rank 0 listens on HOST)");
  options.add("--dist-backend", &Config::dist_backend, "auto (gloo on CPU, nccl on CUDA) | gloo | nccl");
  options.add("--dist-timeout", &Config::dist_timeout, "seconds a rendezvous or collective may wait for the other ranks");
}

// Rank 0 (or a run alone) checks out_dir, prints results and writes files;
// the other ranks' log lines say which rank they come from.
inline bool writes_results(const RunConfig& config) { return config.rank == 0; }
inline void label_rank_logs(const RunConfig& config) {
  if (config.world_size > 1 && config.rank > 0) {
    spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S.%e] [%l] [rank {}] %v", config.rank));
  }
}

// A fresh run refuses an out_dir holding an earlier run's checkpoints
// (`newest`, "" when none) unless told to overwrite them.
inline void refuse_earlier_run(const std::string& command, const std::string& out_dir, const std::string& newest,
                               bool overwrite) {
  if (newest.empty() || overwrite) return;
  throw invalid_argument("'" + out_dir + "' holds checkpoints of an earlier run (newest: " + newest +
                         "). Continue it with `adarts " + command + " --resume " + out_dir +
                         "`, or pass --overwrite to start afresh there.");
}

// After SIGINT/SIGTERM: a checkpoint of the open epoch (unless
// checkpoint_keep is 0) and the exit status of the signal. `Run` is Search or Trainer.
template <class Run>
int stop_after_signal(Run& run, const std::string& command, int signal) {
  const auto& config = run.config();
  const std::string where = run.step_in_epoch() == 0
                                ? "after epoch " + std::to_string(run.epoch())
                                : "at epoch " + std::to_string(run.epoch() + 1) + ", step " +
                                      std::to_string(run.step_in_epoch()) + "/" + std::to_string(run.steps_per_epoch());
  if (config.checkpoint_keep == 0) {
    spdlog::warn("{}: stopped {}; no checkpoint written (checkpoint_keep is 0)", InterruptHandler::signal_name(signal),
                 where);
  } else {
    // At an epoch end the run has just written this very checkpoint. Ranks > 0 write none.
    std::string path = run.step_in_epoch() == 0 ? Run::latest_checkpoint(config.out_dir) : run.save_checkpoint();
    if (path.empty()) path = "(written by rank 0)";
    spdlog::warn("{}: stopped {}; checkpoint {}. Continue with `adarts {} --resume {}`",
                 InterruptHandler::signal_name(signal), where, path, command, config.out_dir);
  }
  return InterruptHandler::exit_status(signal);
}

// The remaining epochs of `run`, a progress bar each; `on_epoch` logs each
// ended epoch's summary. Returns the exit status of a signal that stopped the
// run (after its checkpoint), 0 when every epoch ended.
template <class Run, class OnEpoch>
int run_epochs(Run& run, const std::string& command, OnEpoch&& on_epoch) {
  const auto& config = run.config();
  InterruptHandler interrupts;
  while (run.epoch() < config.epochs) {
    ProgressBar bar(fmt::format("epoch {}/{}", run.epoch() + 1, config.epochs), run.steps_per_epoch(), config.log_every);
    bool completed = false;
    const auto summary = run.run_epoch(
        [&](const RunProgress& p) {
          bar.update(p.step, fmt::format("loss {:.4f} acc {:.3f}", p.train_loss, p.train_accuracy));
          return InterruptHandler::signal_received() == 0;
        },
        &completed);
    bar.finish();
    if (!completed) return stop_after_signal(run, command, InterruptHandler::signal_received());
    on_epoch(summary);
    if (const int signal = InterruptHandler::signal_received()) return stop_after_signal(run, command, signal);
  }
  return 0;
}

}  // namespace adarts::cli
