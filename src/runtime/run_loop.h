// Internal: what a search and a re-training run share while they run — the
// open epoch's counters and running statistics (and their checkpoint
// entries), the step loop with progress callback and cancel, when a
// mid-epoch checkpoint is due, the non-finite policy, and where a resumed
// run starts.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "adarts/device.h"
#include "adarts/run_config.h"
#include "adarts/run_progress.h"
#include "runtime/checkpoint_io.h"

namespace adarts {

// The run's device, ready (cuDNN autotuning on CUDA), and the process's
// thread count set (RunConfig::threads; 0 = every core). A data-parallel rank
// given plain "cuda" gets cuda:(rank mod device count).
at::Device prepare_run(const RunConfig& config);

// Cosine annealing from `start` to `end` over `epochs`, at 0-based `epoch`
// (torch's CosineAnnealingLR stepped once an epoch).
double cosine_schedule(double start, double end, int64_t epoch, int64_t epochs);
// `final_value` reached linearly: final_value * epoch / epochs (the drop-path ramp).
double linear_ramp(double final_value, int64_t epoch, int64_t epochs);

// Where a run is and the running statistics of its open epoch.
struct EpochCounters {
  int64_t epoch = 0;          // epochs completed
  int64_t step_in_epoch = 0;  // steps done in the open epoch
  double loss_sum = 0.0;      // sum over the epoch's samples of the (finite) batch losses
  double correct = 0.0;
  int64_t samples = 0;
  double seconds = 0.0;
  int64_t skipped_steps = 0;        // nan_policy "skip": steps whose update was not applied, whole run
  int64_t epoch_skipped_steps = 0;  // the same, open epoch

  int64_t global_step(int64_t steps_per_epoch) const { return epoch * steps_per_epoch + step_in_epoch; }
  // Counts a finished step on a batch of `n` samples; a non-finite loss stays out of the mean.
  void add_step(double loss, double correct_count, int64_t n, double step_seconds);
  double mean_loss() const;  // 0 before the first step
  double accuracy() const;
  RunProgress progress(int64_t steps_per_epoch) const;
  // Closes the open epoch: the next one starts at step 0 with fresh statistics.
  void next_epoch();

  void write(checkpoint_io::OutputArchive& archive) const;
  // Reads what write() wrote; checkpoints written before the skip counters existed read them as 0.
  void read(checkpoint_io::Reader& reader);
};

// Runs the open epoch's remaining steps: `step`, then `after_step`, then the
// callback with the progress. Returns true when the epoch's last step is done;
// false when the callback returned false or `cancel` was set (before or
// during the call; the flag is cleared): the epoch stays open. `any_rank`
// (data-parallel runs) turns this rank's wish to stop into the ranks' common
// decision, so that all stop after the same step.
bool run_epoch_steps(const EpochCounters& counters, int64_t steps_per_epoch, std::atomic<bool>& cancel,
                     const std::function<void()>& step, const std::function<void()>& after_step,
                     const RunCallback& callback, const std::function<bool(bool)>& any_rank = nullptr);

// Whether the step just done ends a run of checkpoint_every steps inside an
// epoch (epoch ends have their own checkpoint).
bool mid_epoch_checkpoint_due(const RunConfig& config, const EpochCounters& counters, int64_t steps_per_epoch);

// The non-finite policy: true when `finite`; otherwise false under "skip",
// and under "stop" numerical_error naming `quantity`, the step and the last
// good checkpoint (`last_checkpoint`, "" when none was written yet).
bool check_finite(bool finite, const std::string& quantity, const RunConfig& config, const EpochCounters& counters,
                  int64_t steps_per_epoch, const std::string& last_checkpoint);

// Where a resumed run starts: the newest checkpoint in out_dir that opens
// (each file opened once by `read_config`), the config saved in it, and that
// config with `change` applied and out_dir set. invalid_argument listing the
// keys when `change` alters one that resume_differences() refuses; io_error
// when no checkpoint opens.
template <class Config>
struct ResumeStart {
  std::string checkpoint;
  Config saved;
  Config config;
  std::vector<std::string> skipped;  // checkpoints that did not open, with the reasons
};

template <class Config>
ResumeStart<Config> find_resume_start(const std::string& out_dir,
                                      const std::function<Config(const std::string&)>& read_config,
                                      const std::function<void(Config&)>& change) {
  ResumeStart<Config> start;
  start.checkpoint = checkpoint_io::require_newest(
      out_dir, [&](const std::string& path) { start.saved = read_config(path); }, &start.skipped);
  start.config = start.saved;  // the newest that opened is the last one read
  if (change) change(start.config);
  start.config.out_dir = out_dir;
  checkpoint_io::refuse_resume("'" + out_dir + "' with these settings", resume_differences(start.saved, start.config));
  return start;
}

}  // namespace adarts
