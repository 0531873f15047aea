// `adarts fidelity`: the fidelity probe (fidelity.h) on a fresh small supernet
// (ProbeSubject: the model, the batches and the weight optimizer), or with
// `--checkpoint` on a search loaded from one of its checkpoints.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/types.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/sgd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/cross_entropy_loss.h>

#include <filesystem>
#include <memory>
#include <unistd.h>

#include "adarts/config.h"
#include "adarts/error.h"
#include "adarts/fidelity.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "runtime/torch_compat.h"
#include "commands.h"

namespace {

using adarts::SearchConfig;

// What the probe runs on: a supernet, its train/validation batch streams and
// the SGD state of its weights.
struct ProbeSubject {
  std::shared_ptr<adarts::Supernet> net;
  std::unique_ptr<adarts::BatchLoader> train, val;
  std::unique_ptr<torch::optim::SGD> sgd;
  at::Device device = at::kCPU;

  std::pair<adarts::Batch, adarts::Batch> next_pair() {
    return {adarts::to_device(train->next_cycling(), device), adarts::to_device(val->next_cycling(), device)};
  }

  adarts::WeightOptimizerState optimizer_state(const SearchConfig& c) {
    adarts::WeightOptimizerState s;
    s.lr = c.weight_lr;
    s.momentum = c.weight_momentum;
    s.weight_decay = c.weight_decay;
    for (const auto& w : net->weights()) {
      const auto* param = adarts::torch_compat::param_state<torch::optim::SGDParamState>(*sgd, w);
      s.momentum_buffers.push_back(param ? param->momentum_buffer() : at::Tensor());
    }
    return s;
  }
};

// The same data split, normalization and supernet as `adarts search` builds for `c`.
ProbeSubject fresh_subject(const SearchConfig& c) {
  ProbeSubject s;
  s.device = adarts::parse_device(c.device);
  adarts::Dataset data = adarts::load_search_dataset(c);
  if (data.size() < 2 * c.batch_size) {
    throw adarts::invalid_argument("the dataset has " + std::to_string(data.size()) +
                                   " images; the probe needs at least 2 * batch_size");
  }
  auto [train_half, val_half] = adarts::split_halves(data, c.seed);
  const adarts::Normalization normalization = adarts::compute_normalization(train_half);
  adarts::Augmentation augmentation;
  augmentation.crop_padding = c.crop_padding;
  augmentation.horizontal_flip = c.horizontal_flip;
  s.train = std::make_unique<adarts::BatchLoader>(train_half, c.batch_size, true, true, augmentation, normalization,
                                                  c.seed * 4 + 1);
  s.val = std::make_unique<adarts::BatchLoader>(val_half, c.batch_size, true, true, augmentation, normalization,
                                                c.seed * 4 + 2);
  adarts::SupernetOptions o = adarts::supernet_options(c.search_space());
  o.in_channels = data.channels();
  o.num_classes = data.num_classes;
  o.channels = c.channels;
  o.layers = c.cell_count();
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  s.net = std::make_shared<adarts::Supernet>(o, generator, s.device);
  s.sgd = std::make_unique<torch::optim::SGD>(
      s.net->weights(),
      torch::optim::SGDOptions(c.weight_lr).momentum(c.weight_momentum).weight_decay(c.weight_decay));
  return s;
}

// Plain SGD steps on the weights (alphas fixed), as a search's weight steps.
double train_weights(ProbeSubject& s, const SearchConfig& c, int64_t steps) {
  double loss_value = 0.0;
  for (int64_t i = 0; i < steps; ++i) {
    adarts::Batch batch = s.next_pair().first;
    s.sgd->zero_grad();
    const at::Tensor loss = at::cross_entropy_loss(s.net->forward(batch.images), batch.labels);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(s.net->weights(), c.grad_clip);
    s.sgd->step();
    for (auto& a : s.net->arch_parameters()) a.mutable_grad().reset();
    loss_value = loss.item<double>();
  }
  return loss_value;
}

void print_table(const std::vector<adarts::FidelityProbe>& probes, const adarts::FidelityAccumulator& mean) {
  std::string header = fmt::format("{:<28}", "figure");
  for (size_t i = 0; i < probes.size(); ++i) header += fmt::format(" {:>10}", fmt::format("probe {}", i + 1));
  header += fmt::format(" {:>10}", "mean");
  fmt::print("{}\n", header);
  const auto means = mean.means();
  for (size_t f = 0; f < means.size(); ++f) {
    std::string row = fmt::format("{:<28}", means[f].first);
    for (const auto& p : probes) row += fmt::format(" {:>10.4g}", p.figures()[f].second);
    row += fmt::format(" {:>10.4g}", means[f].second);
    fmt::print("{}\n", row);
  }
}

std::string report_json(const SearchConfig& c, const adarts::FidelityOptions& o, int64_t train_steps,
                    const std::vector<adarts::FidelityProbe>& probes, const adarts::FidelityAccumulator& mean) {
  boost::json::object out;
  boost::json::object setup;
  setup["dataset"] = c.dataset;
  setup["channels"] = c.channels;
  setup["layers"] = c.cell_count();
  setup["batch_size"] = c.batch_size;
  setup["seed"] = c.seed;
  setup["train_steps"] = train_steps;
  setup["eta"] = o.eta;
  setup["weight_lr"] = c.weight_lr;
  setup["implicit_inverse"] = o.implicit.inverse;
  setup["implicit_iterations"] = o.implicit.iterations;
  setup["implicit_tolerance"] = o.implicit.tolerance;
  setup["implicit_damping"] = o.implicit.damping;
  out["setup"] = std::move(setup);
  boost::json::array list;
  for (const auto& p : probes) {
    adarts::FidelityAccumulator one;
    one.add(p);
    boost::json::object figures = boost::json::parse(one.to_json()).as_object();
    figures.erase("probes");
    list.emplace_back(std::move(figures));
  }
  out["probes"] = std::move(list);
  out["mean"] = boost::json::parse(mean.to_json());
  return boost::json::serialize(out);
}

// A search loaded from a checkpoint (a file, or a run directory's newest) in
// a scratch out_dir, so that the run itself is left untouched.
class CheckpointSubject {
 public:
  CheckpointSubject(const std::string& checkpoint_or_dir, const SearchConfig& runtime) {
    path_ = checkpoint_or_dir;
    if (std::filesystem::is_directory(path_)) {
      path_ = adarts::Search::latest_checkpoint(checkpoint_or_dir);
      if (path_.empty()) throw adarts::io_error("no loadable checkpoint in '" + checkpoint_or_dir + "'");
    }
    saved_ = adarts::Search::checkpoint_config(path_);
    SearchConfig c = saved_;
    c.out_dir = scratch_.string();
    c.threads = runtime.threads;
    c.device = runtime.device;
    c.checkpoint_keep = 0;
    c.world_size = 1;  // a data-parallel run's checkpoint is probed in this process alone
    c.rank = 0;
    c.rendezvous.clear();
    search_ = std::make_unique<adarts::Search>(c, adarts::load_search_dataset(c));
    search_->load_checkpoint(path_);
  }
  ~CheckpointSubject() {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
  }
  CheckpointSubject(const CheckpointSubject&) = delete;
  CheckpointSubject& operator=(const CheckpointSubject&) = delete;

  const std::string& path() const { return path_; }
  const SearchConfig& saved_config() const { return saved_; }
  adarts::Search& search() { return *search_; }

 private:
  std::filesystem::path scratch_ =
      std::filesystem::temp_directory_path() / ("adarts-fidelity-" + std::to_string(::getpid()));
  std::string path_;
  SearchConfig saved_;
  std::unique_ptr<adarts::Search> search_;
};

// What `adarts fidelity` was asked for, beyond the config.
struct FidelityRequest {
  int64_t probes = 3;
  int64_t train_steps = 0;
  bool json = false;
  std::string checkpoint;  // a saved search to probe instead of a fresh supernet
};

void check_request(const FidelityRequest& r) {
  if (r.probes < 1) throw adarts::invalid_argument("--probes must be >= 1, got " + std::to_string(r.probes));
  if (r.train_steps < 0) throw adarts::invalid_argument("--train-steps must be >= 0");
  if (!r.checkpoint.empty() && r.train_steps > 0) {
    throw adarts::invalid_argument("--train-steps trains a fresh supernet; a --checkpoint is probed as saved");
  }
}

// The saved setting of a checkpoint, with the command's solver options.
SearchConfig probed_config(const CheckpointSubject& saved, const SearchConfig& c) {
  SearchConfig probed = saved.saved_config();
  probed.implicit_inverse = c.implicit_inverse;
  probed.implicit_iterations = c.implicit_iterations;
  probed.implicit_tolerance = c.implicit_tolerance;
  probed.implicit_damping = c.implicit_damping;
  probed.neumann_step = c.neumann_step;
  adarts::validate(probed);
  return probed;
}

void log_probe(const adarts::FidelityProbe& r, int64_t index, int64_t probes, const SearchConfig& c) {
  spdlog::info("probe {}/{}: {:.1f} s, {} {} ({} iterations, residual {:.3g})", index + 1, probes, r.seconds,
               c.implicit_inverse,
               r.implicit_converged > 0            ? "converged"
               : r.implicit_negative_curvature > 0 ? "stopped on negative curvature"
                                                   : "did NOT converge (max iterations)",
               r.implicit_iterations, r.implicit_residual);
}

int run_fidelity(SearchConfig& c, const FidelityRequest& request) {
  check_request(request);
  c.crop_padding = 0;  // probes compare estimators on fixed batches: no augmentation needed
  c.horizontal_flip = false;
  adarts::validate(c);
  adarts::apply_threads(c.threads);
  std::unique_ptr<ProbeSubject> fresh;
  std::unique_ptr<CheckpointSubject> saved;
  if (request.checkpoint.empty()) {
    fresh = std::make_unique<ProbeSubject>(fresh_subject(c));
  } else {
    saved = std::make_unique<CheckpointSubject>(request.checkpoint, c);
    c = probed_config(*saved, c);
    spdlog::info("probing {}: epoch {}, step {}/{} of the saved search", saved->path(), saved->search().epoch() + 1,
                 saved->search().step_in_epoch(), saved->search().steps_per_epoch());
  }
  if (request.train_steps > 0) {
    const double loss = train_weights(*fresh, c, request.train_steps);
    spdlog::info("trained the weights for {} steps (last training loss {:.4f})", request.train_steps, loss);
  }
  const adarts::FidelityOptions options = adarts::fidelity_options(c);
  std::vector<adarts::FidelityProbe> results;
  adarts::FidelityAccumulator mean;
  for (int64_t i = 0; i < request.probes; ++i) {
    if (saved) {
      results.push_back(saved->search().probe_fidelity(options));
    } else {
      auto [train, val] = fresh->next_pair();
      results.push_back(adarts::probe_fidelity(*fresh->net, train, val, fresh->optimizer_state(c), options));
    }
    mean.add(results.back());
    log_probe(results.back(), i, request.probes, c);
  }
  if (request.json) {
    fmt::print("{}\n", report_json(c, options, request.train_steps, results, mean));
  } else {
    fmt::print("supernet C={} layers={} on {}, batch {}, {} training steps; g2 by {} ({} iterations max, damping "
               "{}), eta {}, xi {}\n",
               c.channels, c.cell_count(), c.dataset, c.batch_size, request.train_steps, c.implicit_inverse,
               c.implicit_iterations, c.implicit_damping, c.eta, c.weight_lr);
    print_table(results, mean);
    fmt::print("{}\n", mean.summary());
  }
  return 0;
}

}  // namespace

namespace adarts::cli {

// One line per option: a table more than a function (its length is its option count).
std::function<int()> add_fidelity_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "fidelity", "how well the amended and second-order terms point along the exact implicit g2 (cosines, norms)");
  auto c = std::make_shared<SearchConfig>(adarts::quick_search_config());
  c->weight_lr = 0.025;
  auto request = std::make_shared<FidelityRequest>();
  cmd->add_option("--dataset", c->dataset, "fashion-mnist | mnist | cifar10 | synthetic")->capture_default_str();
  cmd->add_option("--data-dir", c->data_dir, "directory of the dataset files")->capture_default_str();
  cmd->add_option("--train-subset", c->train_subset, "use the first N training images (0 = all)")->capture_default_str();
  cmd->add_option("--space", c->space, "search space: darts | s1 | s2")->capture_default_str();
  cmd->add_option("--ops", c->ops, "comma-separated op subset replacing the space's ops");
  cmd->add_option("--channels", c->channels, "initial channels C of the supernet")->capture_default_str();
  cmd->add_option("--layers", c->layers, "number of cells")->capture_default_str();
  cmd->add_option("--batch-size", c->batch_size, "batch size (train and validation)")->capture_default_str();
  cmd->add_option("--weight-lr", c->weight_lr, "SGD learning rate of the warm-up and xi of second-order DARTS")
      ->capture_default_str();
  cmd->add_option("--eta", c->eta, "amending coefficient in g1 + eta g2' (the term cosines do not depend on it)")
      ->capture_default_str();
  cmd->add_option("--implicit-inverse", c->implicit_inverse, "cg | neumann")->capture_default_str();
  cmd->add_option("--implicit-iterations", c->implicit_iterations, "Hessian-vector products at most")
      ->capture_default_str();
  cmd->add_option("--implicit-tolerance", c->implicit_tolerance, "relative residual to stop at")->capture_default_str();
  cmd->add_option("--implicit-damping", c->implicit_damping, "lambda of (H + lambda I)^-1")->capture_default_str();
  cmd->add_option("--neumann-step", c->neumann_step, "Neumann series step")->capture_default_str();
  cmd->add_option("--seed", c->seed, "random seed")->capture_default_str();
  cmd->add_option("--device", c->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", c->threads, "CPU threads (0 = every core)")->capture_default_str();
  cmd->add_option("--probes", request->probes, "number of train/validation batch pairs to probe")->capture_default_str();
  cmd->add_option("--train-steps", request->train_steps, "SGD steps on the weights before probing (alphas fixed)")
      ->capture_default_str();
  cmd->add_flag("--json", request->json, "print one JSON object instead of the table");
  cmd->add_option("--checkpoint", request->checkpoint,
                  "probe a saved search instead: a checkpoint file or a search's out dir (its newest). The supernet, "
                  "data and eta come from it; --implicit-*, --probes, --threads and --device apply");
  return [cmd, c, request]() -> int {
    if (!cmd->parsed()) return -1;
    return run_fidelity(*c, *request);
  };
}

}  // namespace adarts::cli
