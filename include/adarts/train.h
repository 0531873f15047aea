// Re-training and evaluation of a genotype, as DARTS's train.py: the
// evaluation network (adarts/network.h) trained from scratch with SGD, a
// cosine learning rate stepped per epoch, drop-path ramped linearly over the
// epochs, an auxiliary head, cutout; then evaluated on the test split. A
// trained model is saved as one file holding its weights, genotype, network
// options, input normalisation and the configuration it was trained with.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adarts/data.h"
#include "adarts/device.h"
#include "adarts/genotype.h"
#include "adarts/network.h"
#include "adarts/run_progress.h"
#include "adarts/train_config.h"

namespace adarts {

class DataParallel;

struct EpochCounters;
class MetricsLog;

// The training (`train` = true) or test split a config names, cut to
// train_subset / test_subset. The synthetic set draws both splits from one
// generated set (same class patterns, disjoint samples).
Dataset load_train_dataset(const TrainConfig& config, bool train);

// Reads a genotype file in either form: versioned JSON (a document starting
// with '{') or the DARTS text. adarts::Error(io_error / parse_error) otherwise.
Genotype read_genotype_file(const std::string& path);

// What a progress callback sees after each training step (run_progress.h;
// the loss is the main head's, with label smoothing).
using TrainProgress = RunProgress;
using TrainCallback = RunCallback;

struct TrainStepResult {
  double loss = 0.0;      // the main head's loss
  double aux_loss = 0.0;  // 0 without the auxiliary head
  double accuracy = 0.0;  // of this batch
  bool skipped = false;   // nan_policy "skip": a non-finite loss or gradient, its update not applied
};

struct EvalResult {
  double loss = 0.0;  // mean cross-entropy (no smoothing)
  double top1 = 0.0;  // fractions in [0, 1]
  double top5 = 0.0;  // top-min(5, classes)
  int64_t samples = 0;
};

struct TrainEpochSummary {
  int64_t epoch = 0;  // 0-based
  int64_t steps = 0;
  double train_loss = 0.0, train_accuracy = 0.0;
  double lr = 0.0;
  double drop_path_prob = 0.0;
  double seconds = 0.0;  // training steps, plus the test evaluation when there is one
  EvalResult test;       // on the trainer's test set at the epoch end (samples 0 without one)
  // The metrics line written for this epoch (empty for an epoch stopped early):
  // epoch, steps, lr, drop_path_prob, train_loss, train_accuracy, with a test
  // set test_loss, test_top1, test_top5, test_samples; seconds.
  std::string json;
};

class Trainer {
 public:
  // Validates `config`, builds the network (weights drawn from a generator
  // seeded with config.seed) and the loaders. The normalisation is computed
  // from `train_data`. Writes config.json and genotype.json in out_dir; at
  // every epoch end run_epoch() tests on `test_data` (when given), appends
  // the epoch's line to metrics.jsonl and writes model.pt (save()).
  Trainer(Genotype genotype, TrainConfig config, Dataset train_data, std::optional<Dataset> test_data = std::nullopt);
  // The same on the config's training and test splits (load_train_dataset).
  Trainer(Genotype genotype, const TrainConfig& config);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // A model saved by save(): weights, genotype, options, normalisation and
  // config as saved. `device` overrides the saved device when not empty. The
  // result evaluates; it has no training data, so step() and run_epoch()
  // throw. Missing, unreadable or corrupt files throw adarts::Error
  // (io_error / parse_error).
  static std::unique_ptr<Trainer> load(const std::string& path, const std::string& device = "");

  // Writes the model to `path` (one file, written then renamed into place).
  void save(const std::string& path) const;

  // One SGD step on the next training batch, at the current epoch's lr and drop-path.
  TrainStepResult step();

  // Runs the remaining steps of the current epoch and ends it (test, metrics
  // line, model file, checkpoint). When the callback returns false or
  // cancel() is called, stops after the current step: `completed` is false,
  // the epoch stays open and the next call resumes it.
  TrainEpochSummary run_epoch(const TrainCallback& callback = nullptr, bool* completed = nullptr);

  // Asks a running run_epoch() to stop after its current step. Thread-safe.
  void cancel() { cancel_requested_.store(true); }

  // Calls `listener` (nullptr: none) with each epoch's metrics line from now on.
  void set_metrics_listener(MetricsListener listener) { metrics_listener_ = std::move(listener); }

  // Loss, top-1 and top-5 accuracy on `data` in eval mode (no drop-path, no
  // auxiliary head, no augmentation), with the training normalisation.
  // batch_size 0 = the config's.
  EvalResult evaluate(const Dataset& data, int64_t batch_size = 0);

  // The logits of every image of `data` in order, [N, classes] on the CPU, as evaluate() sees them.
  at::Tensor predict(const Dataset& data, int64_t batch_size = 0);

  // ---- Checkpoints: out_dir/checkpoints, as a search's (adarts/search.h) ----
  // run_epoch() writes one at every epoch end and, with checkpoint_every = N
  // > 0, after every N-th step: weights, BN statistics, the optimizer, the
  // generator (drop-path), the data order and the counters, so that a resumed
  // run is bit-identical to an uninterrupted one on the same CPU and threads.
  // In a data-parallel run every rank calls it (BatchNorm statistics are
  // averaged first); rank 0 writes, the others return "".
  std::string save_checkpoint();
  // Continues from a checkpoint of a compatible config (resume_differences),
  // the same genotype and the same training data; invalid_argument otherwise,
  // io_error / parse_error for a missing / corrupt file.
  void load_checkpoint(const std::string& path);
  static std::string latest_checkpoint(const std::string& out_dir, std::vector<std::string>* skipped = nullptr);
  static TrainConfig checkpoint_config(const std::string& path);
  static Genotype checkpoint_genotype(const std::string& path);
  // Where the run in `out_dir` continues, as Search::resume_point (with the run's genotype).
  struct ResumePoint {
    std::string checkpoint;
    TrainConfig config;
    Genotype genotype;
    std::vector<std::string> skipped;
  };
  static ResumePoint resume_point(const std::string& out_dir, const std::function<void(TrainConfig&)>& change = nullptr);
  // resume_point() with `overrides_json` (config keys, may be empty), the
  // trainer built on `train_data` and `test_data` (train_data nullptr: the
  // config's training and test splits) and the checkpoint loaded.
  static std::unique_ptr<Trainer> resume(const std::string& out_dir, const std::string& overrides_json = "",
                                         const Dataset* train_data = nullptr,
                                         std::optional<Dataset> test_data = std::nullopt);

  Network& network() { return *net_; }
  const Genotype& genotype() const { return genotype_; }
  const TrainConfig& config() const { return config_; }
  // What the collectives of a data-parallel run (world_size > 1) moved so far.
  CommunicationStats communication_stats() const;
  const Normalization& normalization() const { return normalization_; }
  int64_t epoch() const;  // epochs completed
  int64_t step_in_epoch() const;
  int64_t steps_per_epoch() const;
  int64_t skipped_steps() const;  // nan_policy "skip": steps whose update was not applied
  double current_lr() const { return train_learning_rate(config_, epoch()); }
  double current_drop_path_prob() const { return train_drop_path_prob(config_, epoch()); }

 private:
  struct LoadTag {};
  Trainer(LoadTag, Genotype genotype, TrainConfig config, NetworkOptions options, Normalization normalization,
          int64_t epoch);
  void build(const NetworkOptions& options);
  TrainEpochSummary summary() const;   // of the open epoch so far
  TrainEpochSummary end_epoch();       // test, metrics line, model file, checkpoint
  at::Tensor to_input(const at::Tensor& images) const;
  // The network's forward pass in the configured precision, logits in fp32.
  NetworkOutput forward(const at::Tensor& images);
  bool check_finite(bool finite, const std::string& quantity);

  Genotype genotype_;
  TrainConfig config_;
  at::Device device_;
  Precision precision_ = Precision::fp32;
  at::Generator generator_;
  Normalization normalization_;
  std::unique_ptr<BatchLoader> train_loader_;
  std::optional<Dataset> test_data_;
  std::shared_ptr<Network> net_;
  struct Optimizer;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<EpochCounters> counters_;
  std::unique_ptr<MetricsLog> metrics_;  // null for a model loaded for evaluation
  std::unique_ptr<DataParallel> group_;  // null for one process
  bool writes_files() const;             // one process, or rank 0
  void average_running_statistics();     // BatchNorm's, over the ranks
  EvalResult evaluate_shards(const Dataset& data);  // each rank its rows, the sums reduced (statistics averaged before)
  std::atomic<bool> cancel_requested_{false};
  MetricsListener metrics_listener_;
  std::string data_fingerprint_;
  bool clear_stale_checkpoints_ = true;  // a fresh run replaces an earlier run's checkpoints
  std::string last_checkpoint_;
};

}  // namespace adarts
