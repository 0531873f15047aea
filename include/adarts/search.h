// The search loop: per step, an architecture update (Adam on the estimator's
// gradient, validation batch) and then a weight update (SGD on a training
// batch); per epoch a cosine learning-rate step, an evaluation on the
// validation half, a log line and one JSON line in the metrics file.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "adarts/config.h"
#include "adarts/data.h"
#include "adarts/genotype.h"
#include "adarts/monitor.h"

namespace adarts {

class Supernet;
class FidelityHook;

struct StepResult {
  double train_loss = 0.0;
  double train_accuracy = 0.0;  // of the weight step's batch
};

// What a progress callback sees after each step.
struct SearchProgress {
  int64_t epoch = 0;            // 0-based epoch of the step just done
  int64_t step = 0;             // 1-based step within the epoch
  int64_t steps_per_epoch = 0;
  double train_loss = 0.0;      // running mean over the epoch so far
  double train_accuracy = 0.0;
  double seconds = 0.0;         // since the epoch started
};

// Returns false to stop the epoch early (the step in progress completes).
using SearchCallback = std::function<bool(const SearchProgress&)>;

struct EpochSummary {
  int64_t epoch = 0;  // 0-based
  double train_loss = 0.0, train_accuracy = 0.0;
  double val_loss = 0.0, val_accuracy = 0.0;
  double weight_lr = 0.0;
  double seconds = 0.0;
  Genotype genotype;
  CollapseFigures collapse;
  std::string json;  // the metrics line written for this epoch
  std::string fidelity;  // a one-line summary of the epoch's fidelity probes ("" when fidelity_every = 0)
};

// Loads the dataset a config names (training split).
Dataset load_search_dataset(const SearchConfig& config);

// Resolves "cpu", "cuda", "cuda:N"; a clear error when CUDA is not available.
at::Device parse_device(const std::string& name);

class Search {
 public:
  // Validates `config`, splits `data` into disjoint train/validation halves and
  // builds the supernet. Writes nothing until an epoch ends.
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

  // Evaluates, logs and records the epoch (also called by run_epoch).
  EpochSummary finish_epoch();

  // Runs `steps` steps, ending each epoch (finish_epoch) when its last step is
  // done: the host-driven loop. Returns the number of epochs ended.
  int64_t advance(int64_t steps);

  // The summary of the last ended epoch (epoch -1 and empty json before any).
  const EpochSummary& last_epoch_summary() const { return last_summary_; }

  Genotype genotype() const;
  at::Tensor alphas_normal() const;  // a CPU copy
  at::Tensor alphas_reduce() const;
  Supernet& supernet() { return *net_; }

  const SearchConfig& config() const { return config_; }
  int64_t epoch() const { return epoch_; }
  int64_t step_in_epoch() const { return step_in_epoch_; }
  int64_t steps_per_epoch() const;
  double current_weight_lr() const;

 private:
  struct Optimizers;
  static EpochSummary make_empty_summary() {
    EpochSummary s;
    s.epoch = -1;
    return s;
  }
  std::pair<double, double> evaluate_validation();
  void write_outputs(const EpochSummary& summary);

  SearchConfig config_;
  at::Device device_;
  at::Generator generator_;
  std::unique_ptr<BatchLoader> train_loader_, val_loader_;
  std::shared_ptr<Supernet> net_;
  std::unique_ptr<ArchGradientEstimator> estimator_;
  std::unique_ptr<Optimizers> optimizers_;
  std::unique_ptr<FidelityHook> fidelity_;  // null when fidelity_every = 0
  int64_t epoch_ = 0;
  int64_t step_in_epoch_ = 0;
  double epoch_loss_sum_ = 0.0, epoch_correct_ = 0.0;
  int64_t epoch_samples_ = 0;
  double epoch_seconds_ = 0.0;
  std::atomic<bool> cancel_requested_{false};
  EpochSummary last_summary_ = make_empty_summary();
  std::ofstream metrics_;
};

}  // namespace adarts
