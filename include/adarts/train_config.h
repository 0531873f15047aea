// The configuration of a re-training run, with its JSON form and presets.
// The same keys are the `adarts train` options (snake_case here, --kebab-case
// on the command line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adarts/run_config.h"

namespace adarts {

// The run keys (seed, device, precision, threads, out_dir, log_every,
// checkpoint_every, checkpoint_keep, nan_policy) come from RunConfig.
struct TrainConfig : RunConfig {
  TrainConfig() : RunConfig(/*default_seed=*/0, "runs/train") {}

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
};

// DARTS's CIFAR-10 evaluation setting: what TrainConfig{} holds.
TrainConfig paper_train_config();

// A small network on a subset of Fashion-MNIST that trains in a few minutes
// on 2 CPU cores: the default of `adarts train`.
TrainConfig quick_train_config();

// Throws adarts::Error(invalid_argument) naming the first bad key.
void validate(const TrainConfig& config);

// As for a search (config.h): the keys a resumed run may change are resumable_run_keys().
std::vector<std::string> resume_differences(const TrainConfig& saved, const TrainConfig& requested);

// JSON with every key; parsing starts from `base` and overrides the keys given.
// Unknown keys, wrong types and malformed JSON throw adarts::Error(parse_error).
std::string to_json(const TrainConfig& config);
TrainConfig train_config_from_json(const std::string& json, const TrainConfig& base = TrainConfig{});

// The learning rate of 0-based `epoch`: cosine from lr to lr_min over `epochs`.
double train_learning_rate(const TrainConfig& config, int64_t epoch);
// The drop-path probability of 0-based `epoch`: drop_path_prob * epoch / epochs.
double train_drop_path_prob(const TrainConfig& config, int64_t epoch);

}  // namespace adarts
