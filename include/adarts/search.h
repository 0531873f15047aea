// The search loop: per step, an architecture update (Adam on the estimator's
// gradient, validation batch) and then a weight update (SGD on a training
// batch); per epoch a cosine learning-rate step, an evaluation on the
// validation half, a log line and one JSON line in the metrics file.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adarts/config.h"
#include "adarts/data.h"
#include "adarts/device.h"
#include "adarts/genotype.h"
#include "adarts/monitor.h"
#include "adarts/run_progress.h"

namespace adarts {

struct EpochCounters;
class MetricsLog;
class Supernet;
class DataParallel;
class DataParallelProblem;
class FidelityHook;
struct FidelityOptions;
struct FidelityProbe;

struct StepResult {
  double train_loss = 0.0;
  double train_accuracy = 0.0;  // of the weight step's batch
  bool skipped = false;         // nan_policy "skip": a non-finite loss or gradient, its update not applied
};

// What a progress callback sees after each step (run_progress.h).
using SearchProgress = RunProgress;
using SearchCallback = RunCallback;

struct EpochSummary {
  int64_t epoch = 0;  // 0-based
  double train_loss = 0.0, train_accuracy = 0.0;
  double val_loss = 0.0, val_accuracy = 0.0;
  double weight_lr = 0.0;
  double seconds = 0.0;
  Genotype genotype;
  CollapseFigures collapse;
  // The metrics line written for this epoch: epoch, steps, weight_lr, train/val
  // loss and accuracy, seconds; "alpha_softmax": {"normal": [edge][op],
  // "reduce": [edge][op], "ops": [..]}, for per-cell spaces (s2) {"cells":
  // [cell][edge][op], "reduction": [cell], "ops"} instead; "collapse" (the
  // CollapseFigures; per-cell: over every normal cell, entropies cell by cell);
  // "genotype" (JSON version 1, or 2 for per-cell spaces).
  std::string json;
  std::string fidelity;  // a one-line summary of the epoch's fidelity probes ("" when fidelity_every = 0)
};

// Loads the dataset a config names (training split).
Dataset load_search_dataset(const SearchConfig& config);

class Search {
 public:
  // Validates `config`, splits `data` into disjoint train/validation halves and
  // builds the supernet. Writes nothing until an epoch ends. With world_size
  // > 1 it first meets the other ranks at config.rendezvous (blocking, at most
  // dist_timeout; docs/distributed.md): each rank trains on its shard of
  // every batch, and only rank 0 writes files.
  Search(SearchConfig config, Dataset data);
  ~Search();
  Search(const Search&) = delete;
  Search& operator=(const Search&) = delete;

  // One architecture step then one weight step.
  StepResult step();

  // Runs the remaining steps of the current epoch, then ends it (evaluation,
  // learning-rate step, metrics line). Returns the summary; when the callback
  // or cancel() stopped it early, `completed` is false and the epoch stays open.
  EpochSummary run_epoch(const SearchCallback& callback = nullptr, bool* completed = nullptr);

  // Asks a running run_epoch() to stop after its current step. Thread-safe.
  void cancel() { cancel_requested_.store(true); }

  // Calls `listener` (nullptr: none) with each epoch's metrics line from now on.
  void set_metrics_listener(MetricsListener listener) { metrics_listener_ = std::move(listener); }

  // Evaluates, logs and records the epoch (also called by run_epoch).
  EpochSummary finish_epoch();

  // Runs `steps` steps, ending each epoch (finish_epoch) when its last step is
  // done: the host-driven loop. Returns the number of epochs ended.
  int64_t advance(int64_t steps);

  // ---- Checkpoints: out_dir/checkpoints/epoch-EEEEEE-step-SSSSSS.pt ----
  // run_epoch() and advance() write one at every epoch end and, with
  // checkpoint_every = N > 0, after every N-th step; step() alone writes none.
  // A checkpoint holds everything a bit-identical continuation needs: weights,
  // BN statistics, alphas, both optimizers, every generator, the data order,
  // the counters, the metrics so far and the config. Written atomically; the
  // newest checkpoint_keep are kept. The first checkpoint of a fresh (not
  // resumed) search replaces any checkpoints an earlier run left in out_dir.
  // Returns the path written. In a data-parallel run every rank calls it
  // (BatchNorm statistics are averaged first); rank 0 writes, the others
  // return "".
  std::string save_checkpoint();

  // Continues from a checkpoint: this search must have been built from a config
  // that resume_differences() accepts and from the same dataset; otherwise
  // adarts::Error(invalid_argument) listing the differences. A missing file is
  // an io_error, a truncated or corrupt one a parse_error; after a failed load
  // the search must not be used. Rewrites metrics.jsonl from the checkpoint.
  void load_checkpoint(const std::string& path);

  // The newest checkpoint of out_dir/checkpoints that opens; "" when there is
  // none. Files that do not open are skipped and listed in `skipped` with the reason.
  static std::string latest_checkpoint(const std::string& out_dir, std::vector<std::string>* skipped = nullptr);

  // The config a checkpoint was written with.
  static SearchConfig checkpoint_config(const std::string& path);

  // Where the run in `out_dir` continues: its newest checkpoint that loads and
  // its config with `change` applied (e.g. the options a user gave). Refused
  // with invalid_argument listing the keys when `change` alters what
  // resume_differences() forbids; io_error when there is no checkpoint.
  struct ResumePoint {
    std::string checkpoint;
    SearchConfig config;
    std::vector<std::string> skipped;  // checkpoints that did not load, with the reasons
  };
  static ResumePoint resume_point(const std::string& out_dir,
                                  const std::function<void(SearchConfig&)>& change = nullptr);
  // resume_point() with `overrides_json` (config keys, may be empty), the
  // search built on `data` (nullptr: the config's dataset) and the checkpoint loaded.
  static std::unique_ptr<Search> resume(const std::string& out_dir, const std::string& overrides_json = "",
                                        const Dataset* data = nullptr);

  // The fidelity probe (fidelity.h) at the current weights and alphas, on the
  // next training/validation batch pair and the weight optimizer's state:
  // e.g. of a search loaded from a checkpoint late in training. Changes
  // nothing but the loaders' positions.
  FidelityProbe probe_fidelity(const FidelityOptions& options);

  // Steps whose update was skipped (nan_policy "skip") since the start of the run.
  int64_t skipped_steps() const;

  // The summary of the last ended epoch (epoch -1 and empty json before any).
  const EpochSummary& last_epoch_summary() const { return last_summary_; }

  Genotype genotype() const;
  // CPU copies. Shared spaces: [edges, ops] each (alphas_cells throws).
  // Per-cell spaces (s2): alphas_cells is [layers, edges, ops] and the other two throw.
  at::Tensor alphas_normal() const;
  at::Tensor alphas_reduce() const;
  at::Tensor alphas_cells() const;
  Supernet& supernet() { return *net_; }

  const SearchConfig& config() const { return config_; }
  // What the collectives of a data-parallel run (world_size > 1) moved so far.
  CommunicationStats communication_stats() const;
  int64_t epoch() const;  // epochs ended
  int64_t step_in_epoch() const;
  int64_t steps_per_epoch() const;
  int64_t global_step() const { return epoch() * steps_per_epoch() + step_in_epoch(); }
  double current_weight_lr() const;

 private:
  struct Optimizers;
  struct SavedState;
  static EpochSummary make_empty_summary() {
    EpochSummary s;
    s.epoch = -1;
    return s;
  }
  void build_loaders(const Dataset& data);   // the train/validation halves and their loaders
  void build_supernet(const Dataset& data);  // the supernet, the estimator, the optimizers
  std::pair<double, double> evaluate_validation();
  // The epoch's figures and metrics line (search_outputs.cpp), and the files written from them.
  void fill_epoch_metrics(EpochSummary& summary);
  void write_outputs(const EpochSummary& summary);
  void after_step();  // the mid-epoch checkpoint of run_epoch() and advance()
  EpochSummary partial_summary() const;  // of an epoch stopped early
  // The next training and validation batches on the device, their drop-path seeds set.
  std::pair<Batch, Batch> next_batches();
  // The weight optimizer's learning rate and momentum buffers, for estimators that unroll it.
  WeightOptimizerState weight_optimizer_state(double lr);
  // nan_policy: throws (stop) or counts the step as skipped (skip); returns false to skip.
  bool check_finite(bool finite, const std::string& quantity);
  at::Tensor shared_alphas(const at::Tensor& alphas, const char* name) const;
  // Loading a checkpoint in two steps: read and check everything (nothing changes), then apply.
  SavedState read_checkpoint(const std::string& path);
  void apply_checkpoint(SavedState& saved);

  SearchConfig config_;
  at::Device device_;
  at::Generator generator_;
  std::unique_ptr<BatchLoader> train_loader_, val_loader_;
  std::shared_ptr<Supernet> net_;
  std::unique_ptr<DataParallel> group_;           // null for one process
  std::unique_ptr<DataParallelProblem> problem_;  // what the estimator sees: the supernet on this rank's shard
  bool writes_files() const;                      // one process, or rank 0
  void average_running_statistics();              // BatchNorm's, over the ranks
  std::unique_ptr<ArchGradientEstimator> estimator_;
  std::unique_ptr<Optimizers> optimizers_;
  std::unique_ptr<FidelityHook> fidelity_;  // null when fidelity_every = 0
  std::unique_ptr<EpochCounters> counters_;
  std::unique_ptr<MetricsLog> metrics_;
  std::atomic<bool> cancel_requested_{false};
  EpochSummary last_summary_ = make_empty_summary();
  MetricsListener metrics_listener_;
  std::string data_fingerprint_;
  bool clear_stale_checkpoints_ = true;  // a fresh run replaces an earlier run's checkpoints
  std::string last_checkpoint_;
};

}  // namespace adarts
