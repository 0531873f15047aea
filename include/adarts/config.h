// The configuration of a search, with its JSON form. The same keys are the
// `adarts search` options (snake_case here, --kebab-case on the command line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adarts/estimator.h"
#include "adarts/run_config.h"
#include "adarts/search_space.h"

namespace adarts {

// The run keys (seed, device, precision, threads, out_dir, log_every,
// checkpoint_every, checkpoint_keep, nan_policy) come from RunConfig.
struct SearchConfig : RunConfig {
  SearchConfig() : RunConfig(/*default_seed=*/2, "runs/search") {}

  // Data
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist | cifar10 | synthetic
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t train_subset = 0;  // use only the first N training images (0 = all); split in halves
  int64_t crop_padding = 4;  // random crop with this zero padding (0 = off)
  bool horizontal_flip = true;
  int64_t cutout = 0;        // side of the cutout square on training batches (0 = off)

  // Search space (docs/search-spaces.md): darts | s1 | s2 (s2: one alpha set per cell)
  std::string space = "darts";
  std::string ops;           // comma-separated op subset replacing the space's ops ("" = the space's)

  // Supernet
  int64_t channels = 16;     // search width; set it to the evaluation width for consistency (paper 4.1.2)
  int64_t layers = 0;        // number of cells; 0 = the space's default (8, or 20 for s2)
  int64_t steps = 4;

  // Search/evaluation consistency (paper 4.1.2): the re-training regularisers during search.
  double drop_path_prob = 0.0;   // reached linearly: epoch e uses drop_path_prob * e / epochs (0 = off)
  bool auxiliary = false;        // auxiliary head after cell 2*layers/3, in the training and validation losses
  double auxiliary_weight = 0.4;
  // Memory: each mixed edge keeps only its input and recomputes its
  // operations in the backward pass (SupernetOptions::recompute_edges).
  bool recompute_edges = false;

  // Search
  int64_t epochs = 100;
  int64_t batch_size = 96;
  double weight_lr = 0.025;
  double weight_lr_min = 0.001;
  double weight_momentum = 0.9;
  double weight_decay = 3e-4;
  double grad_clip = 5.0;
  double arch_lr = 3e-4;
  double arch_beta1 = 0.5;
  double arch_beta2 = 0.999;
  double arch_weight_decay = 1e-3;
  std::string estimator = "amended";
  double eta = 0.1;
  std::string hvp = "finite_difference";
  // The implicit estimator and the fidelity probe (implicit_gradient.h, fidelity.h).
  std::string implicit_inverse = ImplicitOptions{}.inverse;  // cg | neumann
  int64_t implicit_iterations = ImplicitOptions{}.iterations;
  double implicit_tolerance = ImplicitOptions{}.tolerance;
  double implicit_damping = ImplicitOptions{}.damping;
  double neumann_step = ImplicitOptions{}.neumann_step;
  int64_t fidelity_every = 0;  // a fidelity probe every N steps, before the arch step (0 = off)

  EstimatorOptions estimator_options() const;
  SearchSpace search_space() const;  // the space with `ops` applied
  int64_t cell_count() const;        // layers, or the space's default_layers when layers is 0
};

// The paper's setting (docs/configuration.md): what SearchConfig{} holds.
SearchConfig paper_search_config();

// A small supernet on a subset of Fashion-MNIST that finishes in a few
// minutes on 2 CPU cores: the default of `adarts search`.
SearchConfig quick_search_config();

// The paper's setting with search and evaluation made consistent (section
// 4.1.2): space s1, width 36 as in re-training, cutout 16, drop-path 0.2 and
// the auxiliary head (weight 0.4) during search.
SearchConfig consistent_search_config();

// The drop-path probability of 0-based `epoch`: drop_path_prob * epoch / epochs.
double search_drop_path_prob(const SearchConfig& config, int64_t epoch);

// Throws adarts::Error(invalid_argument) naming the first bad value.
void validate(const SearchConfig& config);

// The keys a resumed run may change are resumable_run_keys() (run_config.h).
// Returns "key: saved -> requested" for every other key that differs.
std::vector<std::string> resume_differences(const SearchConfig& saved, const SearchConfig& requested);

// JSON with every key; parsing starts from `base` and overrides the keys given.
// Unknown keys, wrong types and malformed JSON throw adarts::Error(parse_error).
std::string to_json(const SearchConfig& config);
SearchConfig search_config_from_json(const std::string& json, const SearchConfig& base = SearchConfig{});

}  // namespace adarts
