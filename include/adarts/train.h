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
#include <string>
#include <vector>

#include "adarts/data.h"
#include "adarts/device.h"
#include "adarts/genotype.h"
#include "adarts/network.h"

namespace adarts {

// The configuration of a re-training run, with its JSON form. The same keys
// are the `adarts train` options (snake_case here, --kebab-case on the command line).
struct TrainConfig {
  // Data
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist | cifar10 | synthetic
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t train_subset = 0;  // the first N training images (0 = all)
  int64_t test_subset = 0;   // the first N test images (0 = all)
  int64_t crop_padding = 4;  // random crop with this zero padding (0 = off)
  bool horizontal_flip = true;
  int64_t cutout = 16;       // side of the cutout square (0 = off)

  // Network
  int64_t channels = 36;
  int64_t layers = 20;
  bool auxiliary = true;
  double auxiliary_weight = 0.4;
  bool imagenet = false;     // ImageNet stems (input downsampled 8x before the cells)

  // Training
  int64_t epochs = 600;
  int64_t batch_size = 96;
  double lr = 0.025;
  double lr_min = 0.0;
  double momentum = 0.9;
  double weight_decay = 3e-4;
  double grad_clip = 5.0;
  double drop_path_prob = 0.2;  // reached linearly: epoch e uses drop_path_prob * e / epochs
  double label_smoothing = 0.0; // 0.1 for ImageNet as DARTS

  // Runtime
  uint64_t seed = 0;
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | bf16 (forward passes under autocast; BN, losses, weights in fp32)
  int64_t threads = 0;         // 0 = every core
  std::string out_dir = "runs/train";
  int64_t log_every = 10;      // progress lines every N steps when stderr is not a terminal

  // Checkpoints (out_dir/checkpoints): one at every epoch end, and every N steps when checkpoint_every > 0.
  int64_t checkpoint_every = 0;
  int64_t checkpoint_keep = 2;  // the newest K are kept; 0 = no checkpoints
};

// DARTS's CIFAR-10 evaluation setting: what TrainConfig{} holds.
TrainConfig paper_train_config();

// A small network on a subset of Fashion-MNIST that trains in a few minutes
// on 2 CPU cores: the default of `adarts train`.
TrainConfig quick_train_config();

// Throws adarts::Error(invalid_argument) naming the first bad key.
void validate(const TrainConfig& config);

// As for a search (config.h): the keys a resumed run may change are threads,
// log_every, checkpoint_every, checkpoint_keep, device and out_dir.
std::vector<std::string> resume_differences(const TrainConfig& saved, const TrainConfig& requested);

// JSON with every key; parsing starts from `base` and overrides the keys given.
// Unknown keys, wrong types and malformed JSON throw adarts::Error(parse_error).
std::string to_json(const TrainConfig& config);
TrainConfig train_config_from_json(const std::string& json, const TrainConfig& base = TrainConfig{});

// The learning rate of 0-based `epoch`: cosine from lr to lr_min over `epochs`.
double train_learning_rate(const TrainConfig& config, int64_t epoch);
// The drop-path probability of 0-based `epoch`: drop_path_prob * epoch / epochs.
double train_drop_path_prob(const TrainConfig& config, int64_t epoch);

// The training (`train` = true) or test split a config names, cut to
// train_subset / test_subset. The synthetic set draws both splits from one
// generated set (same class patterns, disjoint samples).
Dataset load_train_dataset(const TrainConfig& config, bool train);

// Reads a genotype file in either form: versioned JSON (a document starting
// with '{') or the DARTS text. adarts::Error(io_error / parse_error) otherwise.
Genotype read_genotype_file(const std::string& path);

// What a progress callback sees after each training step.
struct TrainProgress {
  int64_t epoch = 0;            // 0-based epoch of the step just done
  int64_t step = 0;             // 1-based step within the epoch
  int64_t steps_per_epoch = 0;
  double train_loss = 0.0;      // running mean over the epoch so far (main head, with smoothing)
  double train_accuracy = 0.0;
  double seconds = 0.0;         // since the epoch started
};

// Returns false to stop the epoch early (the step in progress completes).
using TrainCallback = std::function<bool(const TrainProgress&)>;

struct TrainStepResult {
  double loss = 0.0;      // the main head's loss
  double aux_loss = 0.0;  // 0 without the auxiliary head
  double accuracy = 0.0;  // of this batch
};

struct TrainEpochSummary {
  int64_t epoch = 0;  // 0-based
  int64_t steps = 0;
  double train_loss = 0.0, train_accuracy = 0.0;
  double lr = 0.0;
  double drop_path_prob = 0.0;
  double seconds = 0.0;
};

struct EvalResult {
  double loss = 0.0;  // mean cross-entropy (no smoothing)
  double top1 = 0.0;  // fractions in [0, 1]
  double top5 = 0.0;  // top-min(5, classes)
  int64_t samples = 0;
};

class Trainer {
 public:
  // Validates `config`, builds the network (weights drawn from a generator
  // seeded with config.seed) and the loaders. The normalisation is computed
  // from `train_data`.
  Trainer(Genotype genotype, TrainConfig config, Dataset train_data);
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

  // Runs the remaining steps of the current epoch and ends it. When the
  // callback returns false or cancel() is called, stops after the current
  // step: `completed` is false, the epoch stays open and the next call resumes it.
  TrainEpochSummary run_epoch(const TrainCallback& callback = nullptr, bool* completed = nullptr);

  // Asks a running run_epoch() to stop after its current step. Thread-safe.
  void cancel() { cancel_requested_.store(true); }

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
  // trainer built on `train_data` (nullptr: the config's training set) and the checkpoint loaded.
  static std::unique_ptr<Trainer> resume(const std::string& out_dir, const std::string& overrides_json = "",
                                         const Dataset* train_data = nullptr);

  Network& network() { return *net_; }
  const Genotype& genotype() const { return genotype_; }
  const TrainConfig& config() const { return config_; }
  const Normalization& normalization() const { return normalization_; }
  int64_t epoch() const { return epoch_; }  // epochs completed
  int64_t step_in_epoch() const { return step_in_epoch_; }
  int64_t steps_per_epoch() const;
  double current_lr() const { return train_learning_rate(config_, epoch_); }
  double current_drop_path_prob() const { return train_drop_path_prob(config_, epoch_); }

 private:
  struct LoadTag {};
  Trainer(LoadTag, Genotype genotype, TrainConfig config, NetworkOptions options, Normalization normalization,
          int64_t epoch);
  void build(const NetworkOptions& options);
  void end_epoch();
  at::Tensor to_input(const at::Tensor& images) const;
  // The network's forward pass in the configured precision, logits in fp32.
  NetworkOutput forward(const at::Tensor& images);

  Genotype genotype_;
  TrainConfig config_;
  at::Device device_;
  Precision precision_ = Precision::fp32;
  at::Generator generator_;
  Normalization normalization_;
  std::unique_ptr<BatchLoader> train_loader_;
  std::shared_ptr<Network> net_;
  struct Optimizer;
  std::unique_ptr<Optimizer> optimizer_;
  int64_t epoch_ = 0;
  int64_t step_in_epoch_ = 0;
  double epoch_loss_sum_ = 0.0, epoch_correct_ = 0.0;
  int64_t epoch_samples_ = 0;
  double epoch_seconds_ = 0.0;
  std::atomic<bool> cancel_requested_{false};
  std::string data_fingerprint_;
  bool clear_stale_checkpoints_ = true;  // a fresh run replaces an earlier run's checkpoints
};

}  // namespace adarts
