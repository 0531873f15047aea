#include "adarts/random_search.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>

#include "adarts/error.h"
#include "genotype/genotype_json.h"
#include "runtime/splitmix64.h"

namespace adarts {

namespace json = boost::json;

// ---------------------------------------------------------------------------
// Sampling

uint64_t ArchitectureSampler::next() { return splitmix64(state_ += kSplitMix64Gamma); }

uint64_t ArchitectureSampler::below(uint64_t n) {
  if (n == 0) throw invalid_argument("ArchitectureSampler::below: n must be >= 1");
  // Rejection keeps every residue equally likely.
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - max % n;
  uint64_t x = next();
  while (x >= limit) x = next();
  return x % n;
}

CellGenotype ArchitectureSampler::sample_cell(const SearchSpace& space) {
  std::vector<std::string> ops;
  for (const auto& op : space.ops)
    if (op != "none") ops.push_back(op);
  if (ops.empty()) throw invalid_argument("space " + space.name + " has no operation other than none to sample");
  CellGenotype cell;
  for (int node = 2; node < space.steps + 2; ++node) {
    std::vector<int> inputs;
    for (const auto& e : space.edges)
      if (e.to == node) inputs.push_back(e.from);
    const std::size_t k = std::min<std::size_t>(inputs.size(), static_cast<std::size_t>(space.inputs_per_node));
    // A partial Fisher-Yates shuffle picks k distinct inputs.
    for (std::size_t i = 0; i < k; ++i) std::swap(inputs[i], inputs[i + below(inputs.size() - i)]);
    inputs.resize(k);
    std::sort(inputs.begin(), inputs.end());
    for (int from : inputs) cell.edges.push_back({ops[below(ops.size())], from, node});
    cell.concat.push_back(node);
  }
  return cell;
}

Genotype ArchitectureSampler::sample(const SearchSpace& space, int64_t layers) {
  if (layers < 0) throw invalid_argument("ArchitectureSampler::sample: layers must be >= 0, got " + std::to_string(layers));
  Genotype g;
  g.space = space.name;
  if (space.per_cell_alphas) {
    const int64_t cells = layers > 0 ? layers : space.default_layers;
    for (int64_t i = 0; i < cells; ++i) {
      g.cells.push_back(sample_cell(space));
      g.reduction.push_back(is_reduction_layer(i, cells));
    }
  } else {
    g.normal = sample_cell(space);
    g.reduce = sample_cell(space);
  }
  validate_genotype(g);  // a sampler bug must not pass silently
  return g;
}

std::vector<Genotype> sample_genotypes(const SearchSpace& space, int64_t count, uint64_t seed, int64_t layers) {
  if (count < 0) throw invalid_argument("sample_genotypes: count must be >= 0, got " + std::to_string(count));
  ArchitectureSampler sampler(seed);
  std::vector<Genotype> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(sampler.sample(space, layers));
  return out;
}

// ---------------------------------------------------------------------------
// Configuration

TrainConfig RandomSearchConfig::default_train() {
  TrainConfig c = quick_train_config();
  c.train_subset = 2000;
  c.test_subset = 0;
  c.channels = 8;
  c.layers = 0;  // the space's default_layers
  // After a single epoch the learning rate has not decayed and the scores
  // are noise (Fashion-MNIST, C=8: val loss 3.4 against train 1.4); after
  // three they agree (0.63 against 0.66, 75.7% top-1).
  c.epochs = 3;
  c.auxiliary = false;
  c.cutout = 0;
  c.drop_path_prob = 0.0;
  c.checkpoint_keep = 0;  // each brief training is cheap to redo; no checkpoints
  c.out_dir = "runs/random_search";
  return c;
}

namespace {

SearchSpace space_of(const RandomSearchConfig& config) { return make_search_space(config.space, config.ops); }

// The training config with the layers resolved.
TrainConfig resolved_train(const RandomSearchConfig& config, const SearchSpace& space) {
  TrainConfig c = config.train;
  if (c.layers == 0) c.layers = space.default_layers;
  return c;
}

using Clock = std::chrono::steady_clock;

}  // namespace

void validate(const RandomSearchConfig& config) {
  const SearchSpace space = space_of(config);
  if (config.samples < 1) throw invalid_argument(fmt::format("samples must be >= 1, got {}", config.samples));
  if (config.keep < 1 || config.keep > config.samples) {
    throw invalid_argument(fmt::format("keep must be in [1, samples = {}], got {}", config.samples, config.keep));
  }
  if (config.val_subset < 1) throw invalid_argument(fmt::format("val_subset must be >= 1, got {}", config.val_subset));
  if (config.train.layers < 0) throw invalid_argument("layers must be >= 1 (0 = the space's default)");
  if (config.train.train_subset < 1) {
    throw invalid_argument("train_subset must be >= 1: random search trains on a small subset, got " +
                           std::to_string(config.train.train_subset));
  }
  validate(resolved_train(config, space));
}

// ---------------------------------------------------------------------------
// The search

bool better_candidate(const RandomSearchCandidate& a, const RandomSearchCandidate& b) {
  if (a.val_accuracy != b.val_accuracy) return a.val_accuracy > b.val_accuracy;
  if (a.val_loss != b.val_loss) return a.val_loss < b.val_loss;
  return a.sample < b.sample;
}

std::vector<RandomSearchCandidate> RandomSearchResult::best(int64_t keep) const {
  const auto n = std::min<std::size_t>(ranked.size(), static_cast<std::size_t>(std::max<int64_t>(keep, 0)));
  return {ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::pair<Dataset, Dataset> random_search_data(const RandomSearchConfig& config) {
  validate(config);
  const int64_t n_train = config.train.train_subset, n_val = config.val_subset;
  TrainConfig c = config.train;
  c.train_subset = n_train + n_val;
  const Dataset all = load_train_dataset(c, /*train=*/true);  // training images only
  if (all.size() < n_train + n_val) {
    throw invalid_argument(fmt::format("the {} training split has {} images, fewer than train_subset + val_subset = {}",
                                       c.dataset, all.size(), n_train + n_val));
  }
  // A seeded shuffle (a stream apart from the architectures') before the cut,
  // so that both parts draw from every class.
  std::vector<int64_t> order(static_cast<std::size_t>(all.size()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  ArchitectureSampler shuffle(config.train.seed ^ 0x5EEDDA7A5EEDDA7AULL);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
  const std::vector<int64_t> train(order.begin(), order.begin() + n_train);
  const std::vector<int64_t> val(order.begin() + n_train, order.end());
  return {subset(all, train), subset(all, val)};
}

RandomSearchResult run_random_search(const RandomSearchConfig& config, const Dataset& train, const Dataset& val,
                                     const RandomSearchCallback& callback) {
  validate(config);
  if (train.size() < config.train.batch_size) {
    throw invalid_argument(fmt::format("random search: {} training images do not fill one batch of {}", train.size(),
                                       config.train.batch_size));
  }
  if (val.size() < 1) throw invalid_argument("random search: the validation split is empty");
  const SearchSpace space = space_of(config);
  const TrainConfig train_config = resolved_train(config, space);
  const std::vector<Genotype> genotypes = sample_genotypes(space, config.samples, config.train.seed, train_config.layers);
  RandomSearchResult result;
  for (std::size_t i = 0; i < genotypes.size(); ++i) {
    const auto start = Clock::now();
    RandomSearchCandidate c;
    c.sample = static_cast<int64_t>(i);
    c.genotype = genotypes[i];
    // Every sample is trained from the same seed: the same data order, so
    // that the architectures differ and little else does.
    Trainer trainer(c.genotype, train_config, train);
    for (int64_t epoch = 0; epoch < train_config.epochs; ++epoch) {
      const TrainEpochSummary s = trainer.run_epoch();
      c.train_loss = s.train_loss;
      c.train_accuracy = s.train_accuracy;
    }
    const EvalResult r = trainer.evaluate(val);
    c.val_loss = r.loss;
    c.val_accuracy = r.top1;
    c.parameters = trainer.network().parameter_count(false);
    c.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.ranked.insert(std::upper_bound(result.ranked.begin(), result.ranked.end(), c, better_candidate), c);
    if (callback) callback(c, result);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Outputs

std::string random_search_json(const RandomSearchConfig& config, const RandomSearchResult& result) {
  const SearchSpace space = space_of(config);
  json::array ops;
  for (const auto& op : space.ops) ops.emplace_back(op);
  std::string out = "{\n";
  out += "  \"format\": \"adarts.random_search\",\n  \"version\": 1,\n";
  out += "  \"space\": " + json::serialize(json::string(space.name)) + ",\n";
  out += "  \"ops\": " + json::serialize(ops) + ",\n";
  out += fmt::format("  \"samples\": {},\n  \"keep\": {},\n  \"val_subset\": {},\n", config.samples, config.keep,
                     config.val_subset);
  out += "  \"train\": " + json::serialize(json::parse(to_json(resolved_train(config, space)))) + ",\n";
  out += "  \"results\": [";
  for (std::size_t i = 0; i < result.ranked.size(); ++i) {
    const RandomSearchCandidate& c = result.ranked[i];
    json::object o;
    o["rank"] = i + 1;
    o["sample"] = c.sample + 1;  // 1-based, as the progress lines
    o["kept"] = static_cast<int64_t>(i) < config.keep;
    o["val_accuracy"] = c.val_accuracy;
    o["val_loss"] = c.val_loss;
    o["train_accuracy"] = c.train_accuracy;
    o["train_loss"] = c.train_loss;
    o["parameters"] = c.parameters;
    o["seconds"] = c.seconds;
    o["genotype"] = genotype_to_value(c.genotype);
    out += (i ? ",\n    " : "\n    ") + json::serialize(o);
  }
  out += result.ranked.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

namespace {

// Written beside, then renamed into place: a reader never sees half a file.
void write_file(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".tmp", std::ios::out | std::ios::trunc);
    out << text;
    if (!text.empty() && text.back() != '\n') out << "\n";
    if (!out.flush()) throw io_error("cannot write '" + path + ".tmp'");
  }
  std::error_code ec;
  std::filesystem::rename(path + ".tmp", path, ec);
  if (ec) throw io_error("cannot rename '" + path + ".tmp' to '" + path + "': " + ec.message());
}

}  // namespace

std::vector<std::string> write_random_search_outputs(const RandomSearchConfig& config,
                                                     const RandomSearchResult& result, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw io_error("cannot create the output directory '" + out_dir + "': " + ec.message());
  const std::filesystem::path dir(out_dir);
  std::vector<std::string> written;
  written.push_back((dir / "results.json").string());
  write_file(written.back(), random_search_json(config, result));
  const auto best = result.best(config.keep);
  for (std::size_t r = 0; r < best.size(); ++r) {
    const RandomSearchCandidate& c = best[r];
    json::object meta;
    meta["source"] = "adarts random-search";
    meta["rank"] = r + 1;
    meta["sample"] = c.sample + 1;
    meta["val_accuracy"] = c.val_accuracy;
    meta["val_loss"] = c.val_loss;
    meta["parameters"] = c.parameters;
    meta["seed"] = config.train.seed;
    const std::string stem = (dir / fmt::format("best_{}", r + 1)).string();
    write_file(stem + ".json", to_json(c.genotype, json::serialize(meta)));
    written.push_back(stem + ".json");
    if (!c.genotype.per_cell()) {  // the DARTS text form holds only shared cells
      write_file(stem + ".txt", to_darts_text(c.genotype));
      written.push_back(stem + ".txt");
    }
  }
  return written;
}

}  // namespace adarts
