// The random-search baseline of the paper (section 4.1.3, following DARTS):
// sample N valid architectures of a search space, train each briefly on a
// small subset of the training images, score it on a validation split held
// out from the training images (never the test set), keep the best K.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "adarts/data.h"
#include "adarts/genotype.h"
#include "adarts/search_space.h"
#include "adarts/train.h"

namespace adarts {

// A seeded stream of uniform choices, the same on every platform (SplitMix64;
// the standard distributions differ between standard libraries).
class ArchitectureSampler {
 public:
  explicit ArchitectureSampler(uint64_t seed) : state_(seed) {}

  // One cell of `space`: each intermediate node keeps `inputs_per_node`
  // distinct inputs among its edges in the space (darts: any two earlier
  // nodes; s1/s2: its two fixed edges), each with an op of the space other
  // than none, all choices uniform. Edges are listed node by node, inputs
  // ascending; concat is every intermediate node.
  CellGenotype sample_cell(const SearchSpace& space);

  // A normal and a reduction cell drawn independently, `space` named in the
  // genotype; for per-cell spaces (s2) one cell per layer (`layers`, 0 = the
  // space's default_layers), reductions at layers/3 and 2*layers/3.
  Genotype sample(const SearchSpace& space, int64_t layers = 0);

  // Uniform in [0, n), n >= 1.
  uint64_t below(uint64_t n);

 private:
  uint64_t next();
  uint64_t state_;
};

// `count` genotypes drawn in order from ArchitectureSampler(seed); `layers` as in sample().
std::vector<Genotype> sample_genotypes(const SearchSpace& space, int64_t count, uint64_t seed, int64_t layers = 0);

struct RandomSearchConfig {
  std::string space = "s1";      // darts | s1 | s2 (per-cell genotypes of train.layers cells)
  std::vector<std::string> ops;  // a subset replacing the space's ops (empty = the space's)
  int64_t samples = 20;          // N architectures (the paper: 20)
  int64_t keep = 2;              // K best kept (the paper: 2)
  int64_t val_subset = 1000;     // validation images held out from the training images
  // How each sample is trained: dataset, train_subset (images trained on),
  // network width and depth (layers 0 = the space's default_layers), epochs,
  // optimiser, seed, device, threads. test_subset and out_dir are not used.
  TrainConfig train = default_train();

  // Short training: C=8, 3 epochs on 2000 images, no auxiliary head, cutout or drop-path.
  static TrainConfig default_train();
};

// Throws adarts::Error(invalid_argument) naming the first bad key.
void validate(const RandomSearchConfig& config);

struct RandomSearchCandidate {
  int64_t sample = 0;  // 0-based draw number
  Genotype genotype;
  double val_loss = 0.0, val_accuracy = 0.0;
  double train_loss = 0.0, train_accuracy = 0.0;  // of the last epoch
  int64_t parameters = 0;                          // without an auxiliary head
  double seconds = 0.0;                            // training and scoring
};

struct RandomSearchResult {
  std::vector<RandomSearchCandidate> ranked;  // every sample, best first
  // The first `keep` of `ranked`.
  std::vector<RandomSearchCandidate> best(int64_t keep) const;
};

// Ranks by validation accuracy, then lower validation loss, then draw order.
bool better_candidate(const RandomSearchCandidate& a, const RandomSearchCandidate& b);

// Called after each sample: the candidate, and the ranking so far.
using RandomSearchCallback = std::function<void(const RandomSearchCandidate&, const RandomSearchResult&)>;

// The training images of config.train, cut to train_subset + val_subset
// images, shuffled with the seed and split: the first train_subset to train
// on, the remaining val_subset to score with.
std::pair<Dataset, Dataset> random_search_data(const RandomSearchConfig& config);

// Samples, trains and scores config.samples architectures on `train` and
// `val`. Deterministic for a seed on a given device and thread count.
RandomSearchResult run_random_search(const RandomSearchConfig& config, const Dataset& train, const Dataset& val,
                                     const RandomSearchCallback& callback = nullptr);

// results.json: {"format":"adarts.random_search","version":1, settings,
// "sample" 1-based as in the progress lines,
// "results":[{"rank","sample","kept","val_accuracy","val_loss","train_loss",
// "train_accuracy","parameters","seconds","genotype"}...]}, best first.
std::string random_search_json(const RandomSearchConfig& config, const RandomSearchResult& result);

// Writes results.json and, for rank r = 1..keep, best_r.json (genotype with
// metadata) and best_r.txt (DARTS text) into `out_dir`; returns the paths.
std::vector<std::string> write_random_search_outputs(const RandomSearchConfig& config,
                                                     const RandomSearchResult& result, const std::string& out_dir);

}  // namespace adarts
