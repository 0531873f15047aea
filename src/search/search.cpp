// The search loop: construction, one step (architecture then weights), the
// epoch loop, validation. Checkpoints: search_checkpoint.cpp; the epoch's
// metrics and output files: search_outputs.cpp.
#include "adarts/search.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <torch/types.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>

#include "adarts/error.h"
#include "adarts/fidelity.h"
#include "adarts/monitor.h"
#include "adarts/supernet.h"
#include "runtime/checkpoint_io.h"
#include "runtime/data_parallel.h"
#include "runtime/host_sync.h"
#include "runtime/output_files.h"
#include "runtime/run_loop.h"
#include "runtime/splitmix64.h"
#include "runtime/torch_compat.h"
#include "search/search_state.h"

namespace adarts {
namespace {

using Clock = std::chrono::steady_clock;

// The index-th value of a SplitMix64 stream started at `seed` (0-based): independent-looking seeds from a counter.
uint64_t mix_seed(uint64_t seed, uint64_t index) { return splitmix64(seed + kSplitMix64Gamma * (index + 1)); }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace


Dataset load_search_dataset(const SearchConfig& config) {
  if (config.dataset != "synthetic") return head(load_named_split(config.dataset, config.data_dir, true), config.train_subset);
  SyntheticSpec spec;
  spec.size = config.train_subset > 0 ? config.train_subset : 512;
  return make_synthetic(spec, config.seed);  // exactly train_subset images (head() would be a no-op)
}

Search::Search(SearchConfig config, Dataset data)
    : config_(std::move(config)),
      device_(at::kCPU),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)),
      counters_(std::make_unique<EpochCounters>()) {
  validate(config_);
  config_.layers = config_.cell_count();  // 0 = the space's default, written out resolved
  device_ = prepare_run(config_);
  if (config_.world_size > 1) group_ = std::make_unique<DataParallel>(config_, to_json(config_), device_);
  if (writes_files()) check_writable_directory(config_.out_dir);
  if (data.size() < 2 * config_.batch_size) {
    throw invalid_argument("the dataset has " + std::to_string(data.size()) +
                           " images; a search needs at least two batches (2 * batch_size = " +
                           std::to_string(2 * config_.batch_size) + ")");
  }
  data_fingerprint_ = checkpoint_io::fingerprint(data);
  build_loaders(data);
  build_supernet(data);
  metrics_ = std::make_unique<MetricsLog>(writes_files() ? config_.out_dir + "/metrics.jsonl" : "");
  if (writes_files()) write_text_atomically(config_.out_dir + "/config.json", to_json(config_));
}

bool Search::writes_files() const { return !group_ || group_->rank() == 0; }

CommunicationStats Search::communication_stats() const { return group_ ? group_->stats() : CommunicationStats{}; }

void Search::average_running_statistics() {
  if (group_) group_->average_statistics(net_->buffers());
}

void Search::build_loaders(const Dataset& data) {
  auto [train_half, val_half] = split_halves(data, config_.seed);
  const Normalization normalization = compute_normalization(train_half);
  Augmentation augmentation;
  augmentation.crop_padding = config_.crop_padding;
  augmentation.horizontal_flip = config_.horizontal_flip;
  augmentation.cutout = config_.cutout;
  // Distinct, seed-derived streams so that each loader is reproducible on its own.
  train_loader_ = std::make_unique<BatchLoader>(train_half, config_.batch_size, true, true, augmentation,
                                                normalization, config_.seed * 4 + 1);
  val_loader_ = std::make_unique<BatchLoader>(val_half, config_.batch_size, true, true, augmentation,
                                              normalization, config_.seed * 4 + 2);
}

void Search::build_supernet(const Dataset& data) {
  SupernetOptions options = supernet_options(config_.search_space());
  options.in_channels = data.channels();
  options.num_classes = data.num_classes;
  options.channels = config_.channels;
  options.recompute_edges = config_.recompute_edges;
  options.layers = config_.layers;
  options.auxiliary = config_.auxiliary;
  options.auxiliary_weight = config_.auxiliary_weight;
  options.precision = parse_precision(config_.precision);
  net_ = std::make_shared<Supernet>(options, generator_, device_);
  problem_ = std::make_unique<DataParallelProblem>(*net_, group_.get());
  if (group_) group_->copy_first_replica(net_->parameters(), net_->buffers());
  estimator_ = make_estimator(config_.estimator_options());
  if (config_.fidelity_every > 0) {
    fidelity_ = std::make_unique<FidelityHook>(config_.fidelity_every, fidelity_options(config_));
  }
  optimizers_.reset(new Optimizers{
      torch::optim::Adam(net_->arch_parameters(), torch::optim::AdamOptions(config_.arch_lr)
                                                      .betas({config_.arch_beta1, config_.arch_beta2})
                                                      .weight_decay(config_.arch_weight_decay)),
      torch::optim::SGD(net_->weights(), torch::optim::SGDOptions(config_.weight_lr)
                                             .momentum(config_.weight_momentum)
                                             .weight_decay(config_.weight_decay))});
}

Search::~Search() = default;

int64_t Search::steps_per_epoch() const { return train_loader_->batches_per_epoch(); }
int64_t Search::epoch() const { return counters_->epoch; }
int64_t Search::step_in_epoch() const { return counters_->step_in_epoch; }
int64_t Search::skipped_steps() const { return counters_->skipped_steps; }

double Search::current_weight_lr() const {
  return cosine_schedule(config_.weight_lr, config_.weight_lr_min, counters_->epoch, config_.epochs);
}

StepResult Search::step() {
  const auto start = Clock::now();
  const double lr = current_weight_lr();
  for (auto& group : optimizers_->weights.param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
  auto [train, val] = next_batches();

  // Architecture step. The finiteness check is the step's first host read.
  const WeightOptimizerState state = weight_optimizer_state(lr);
  if (fidelity_) {
    fidelity_->before_arch_step(global_step(), *problem_, train, val, state);
  }
  TensorList arch_grad = estimator_->arch_gradient(*problem_, train, val, state);
  TensorList alphas = net_->arch_parameters();
  StepResult result;
  if (check_finite(all_finite(arch_grad).item<bool>(), "architecture gradient")) {
    for (size_t i = 0; i < alphas.size(); ++i) alphas[i].mutable_grad() = arch_grad[i].detach();
    optimizers_->arch.step();
  } else {
    result.skipped = true;
  }

  // Weight step: loss, gradient norm and accuracy stay on the device until one
  // read decides whether the update is applied (the step's second host read).
  optimizers_->weights.zero_grad();
  const SupernetOutput output = net_->forward_batch(train);
  const at::Tensor& logits = output.logits;
  const at::Tensor loss = net_->objective(output, train.labels);  // with the auxiliary term when enabled
  // Reported: the main head's loss, comparable with the validation loss.
  const at::Tensor main_loss = output.aux_logits.defined() ? at::cross_entropy_loss(logits, train.labels) : loss;
  loss.backward();
  // Data-parallel: the weight gradients and the reported figures of the whole
  // batch, in one all-reduce, before the clip sees the gradient norm.
  at::Tensor figures = at::stack({loss.detach(), main_loss.detach(),
                                  logits.detach().argmax(1).eq(train.labels).sum().to(loss.scalar_type())});
  if (group_) figures = group_->reduce_weight_step(net_->weights(), figures);
  const at::Tensor grad_norm = clip_grad_norm(net_->weights(), config_.grad_clip);
  const std::vector<double> read = read_scalars({figures[0], figures[1], grad_norm, figures[2]});
  const double objective = read[0];
  result.train_loss = read[1];
  if (check_finite(std::isfinite(objective), "training loss (" + std::to_string(objective) + ")") &&
      check_finite(std::isfinite(read[2]), "weight gradient (norm " + std::to_string(read[2]) + ")")) {
    optimizers_->weights.step();
  } else {
    result.skipped = true;
  }
  optimizers_->weights.zero_grad();
  for (auto& a : alphas) a.mutable_grad().reset();  // the weight step's alpha gradients are not used
  if (result.skipped) {
    ++counters_->skipped_steps;
    ++counters_->epoch_skipped_steps;
  }
  const int64_t batch = train.labels.size(0) * (group_ ? group_->world_size() : 1);
  const double correct = read[3];
  result.train_accuracy = correct / static_cast<double>(batch);
  counters_->add_step(result.train_loss, correct, batch, seconds_since(start));  // a non-finite loss stays out of the mean
  return result;
}

std::pair<Batch, Batch> Search::next_batches() {
  // Every rank draws the whole batch (same data order and augmentation) and keeps its shard.
  Batch train = train_loader_->next_cycling();
  Batch val = val_loader_->next_cycling();
  if (group_) {
    train = group_->shard(train);
    val = group_->shard(val);
  }
  train = to_device(train, device_);
  val = to_device(val, device_);
  // Drop-path masks: fixed per batch (every forward of the step sees the same
  // ones) and derived from the seed and the global step, so a resumed run draws the same.
  net_->set_drop_path_prob(search_drop_path_prob(config_, counters_->epoch));
  train.noise_seed = mix_seed(config_.seed, 2 * static_cast<uint64_t>(global_step()));
  val.noise_seed = mix_seed(config_.seed, 2 * static_cast<uint64_t>(global_step()) + 1);
  return {train, val};
}

WeightOptimizerState Search::weight_optimizer_state(double lr) {
  WeightOptimizerState state;
  state.lr = lr;
  state.momentum = config_.weight_momentum;
  state.weight_decay = config_.weight_decay;
  for (const auto& w : net_->weights()) {
    const auto* sgd = torch_compat::param_state<torch::optim::SGDParamState>(optimizers_->weights, w);
    state.momentum_buffers.push_back(sgd ? sgd->momentum_buffer() : at::Tensor());
  }
  return state;
}

FidelityProbe Search::probe_fidelity(const FidelityOptions& options) {
  auto [train, val] = next_batches();
  return adarts::probe_fidelity(*problem_, train, val, weight_optimizer_state(current_weight_lr()), options);
}

bool Search::check_finite(bool finite, const std::string& quantity) {
  return adarts::check_finite(finite, quantity, config_, *counters_, steps_per_epoch(), last_checkpoint_);
}

void Search::after_step() {
  if (mid_epoch_checkpoint_due(config_, *counters_, steps_per_epoch())) save_checkpoint();
}

EpochSummary Search::partial_summary() const {
  EpochSummary partial;
  partial.epoch = counters_->epoch;
  partial.genotype = genotype();
  return partial;
}

EpochSummary Search::run_epoch(const SearchCallback& callback, bool* completed) {
  const bool done = run_epoch_steps(*counters_, steps_per_epoch(), cancel_requested_, [&] { step(); },
                                    [&] { after_step(); }, callback, any_rank(group_.get()));
  if (completed) *completed = done;
  return done ? finish_epoch() : partial_summary();
}

int64_t Search::advance(int64_t steps) {
  if (steps < 0) throw invalid_argument("the number of steps must be >= 0");
  int64_t ended = 0;
  for (int64_t i = 0; i < steps; ++i) {
    step();
    after_step();
    if (counters_->step_in_epoch >= steps_per_epoch()) {
      finish_epoch();
      ++ended;
    }
  }
  return ended;
}

std::pair<double, double> Search::evaluate_validation() {
  at::NoGradGuard no_grad;
  average_running_statistics();
  net_->eval();
  // The whole validation half, in order, without augmentation.
  BatchLoader loader(val_loader_->dataset(), config_.batch_size, false, false, Augmentation{},
                     compute_normalization(train_loader_->dataset()), 0);
  // Sums stay on the device (loss in double, as the per-batch means were summed before) and are read once.
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions(device_).dtype(at::kDouble));
  at::Tensor correct = at::zeros({}, at::TensorOptions(device_).dtype(at::kLong));
  int64_t samples = 0;
  Batch batch;
  while (loader.next(batch)) {
    const Batch on_device = to_device(group_ ? group_->shard(batch) : batch, device_);  // each rank its rows
    const at::Tensor &images = on_device.images, &labels = on_device.labels;
    const at::Tensor logits = net_->forward(images);
    loss_sum += at::cross_entropy_loss(logits, labels).to(at::kDouble) * static_cast<double>(labels.size(0));
    correct += logits.argmax(1).eq(labels).sum();
    samples += labels.size(0);
  }
  net_->train();
  at::Tensor sums_tensor = at::stack({loss_sum, correct.to(at::kDouble),
                                      at::full({}, static_cast<double>(samples), loss_sum.options())});
  if (group_) group_->sum({sums_tensor});
  const std::vector<double> sums = read_scalars({sums_tensor[0], sums_tensor[1], sums_tensor[2]});  // loss, correct, samples
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

EpochSummary Search::finish_epoch() {
  const auto start = Clock::now();
  EpochSummary s;
  s.epoch = counters_->epoch;
  s.weight_lr = current_weight_lr();
  s.train_loss = counters_->mean_loss();
  s.train_accuracy = counters_->accuracy();
  std::tie(s.val_loss, s.val_accuracy) = evaluate_validation();
  s.genotype = genotype();
  s.seconds = counters_->seconds + seconds_since(start);
  fill_epoch_metrics(s);
  if (writes_files()) {
    write_outputs(s);
  } else {
    metrics_->append(s.json);  // in memory: the checkpoint carries them
  }

  last_summary_ = s;
  counters_->next_epoch();
  if (config_.checkpoint_keep > 0) save_checkpoint();
  if (metrics_listener_) metrics_listener_(s.json);
  return s;
}

Genotype Search::genotype() const { return net_->genotype(); }
at::Tensor Search::alphas_normal() const { return shared_alphas(net_->alphas_normal(), "alphas_normal"); }
at::Tensor Search::alphas_reduce() const { return shared_alphas(net_->alphas_reduce(), "alphas_reduce"); }
at::Tensor Search::alphas_cells() const {
  if (!net_->per_cell())
    throw invalid_argument("alphas_cells: space '" + config_.space + "' shares its alphas (use alphas_normal/alphas_reduce)");
  return net_->alphas_cells().detach().cpu().clone();
}
at::Tensor Search::shared_alphas(const at::Tensor& alphas, const char* name) const {
  if (net_->per_cell())
    throw invalid_argument(std::string(name) + ": space '" + config_.space + "' has one alpha set per cell (use alphas_cells)");
  return alphas.detach().cpu().clone();
}

}  // namespace adarts
