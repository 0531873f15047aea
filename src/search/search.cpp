#include "adarts/search.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <boost/json.hpp>
#include <torch/types.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "adarts/error.h"
#include "adarts/fidelity.h"
#include "adarts/monitor.h"
#include "adarts/supernet.h"
#include "runtime/checkpoint_io.h"
#include "runtime/host_sync.h"
#include "runtime/splitmix64.h"
#include "runtime/torch_compat.h"

namespace adarts {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kCheckpointFormat = "adarts.search-checkpoint";
constexpr int64_t kCheckpointVersion = 1;

// The index-th value of a SplitMix64 stream started at `seed` (0-based): independent-looking seeds from a counter.
uint64_t mix_seed(uint64_t seed, uint64_t index) { return splitmix64(seed + kSplitMix64Gamma * (index + 1)); }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

json::array matrix_to_json(const at::Tensor& m) {
  const at::Tensor cpu = m.detach().to(at::kCPU, at::kDouble).contiguous();
  json::array rows;
  for (int64_t i = 0; i < cpu.size(0); ++i) {
    json::array row;
    for (int64_t j = 0; j < cpu.size(1); ++j) row.emplace_back(cpu[i][j].item<double>());
    rows.emplace_back(std::move(row));
  }
  return rows;
}

// The non-empty lines of `text`.
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (char ch : text) {
    if (ch == '\n') {
      if (!line.empty()) lines.push_back(line);
      line.clear();
    } else {
      line += ch;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// Any tensor as nested JSON arrays of its values (doubles print so that they read back exactly).
json::value tensor_to_json(const at::Tensor& t) {
  if (t.dim() == 0) return t.item<double>();
  json::array out;
  for (int64_t i = 0; i < t.size(0); ++i) out.emplace_back(tensor_to_json(t[i]));
  return out;
}

}  // namespace

struct Search::Optimizers {
  torch::optim::Adam arch;
  torch::optim::SGD weights;
};

Dataset load_search_dataset(const SearchConfig& config) {
  Dataset data;
  if (config.dataset == "synthetic") {
    SyntheticSpec spec;
    spec.size = config.train_subset > 0 ? config.train_subset : 512;
    data = make_synthetic(spec, config.seed);
  } else if (config.dataset == "cifar10") {
    data = load_cifar10(config.data_dir, /*train=*/true);
  } else {
    data = load_idx_dir(config.data_dir, /*train=*/true);
  }
  return head(data, config.train_subset);
}

Search::Search(SearchConfig config, Dataset data)
    : config_(std::move(config)),
      device_(at::kCPU),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)) {
  validate(config_);
  config_.layers = config_.cell_count();  // 0 = the space's default, written out resolved
  check_writable_directory(config_.out_dir);
  device_ = parse_device(config_.device);
  prepare_device(device_);
  apply_threads(config_.threads);
  if (data.size() < 2 * config_.batch_size) {
    throw invalid_argument("the dataset has " + std::to_string(data.size()) +
                           " images; a search needs at least two batches (2 * batch_size = " +
                           std::to_string(2 * config_.batch_size) + ")");
  }

  data_fingerprint_ = checkpoint_io::fingerprint(data);
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

  SupernetOptions options = supernet_options(config_.search_space());
  options.in_channels = data.channels();
  options.num_classes = data.num_classes;
  options.channels = config_.channels;
  options.layers = config_.layers;
  options.auxiliary = config_.auxiliary;
  options.auxiliary_weight = config_.auxiliary_weight;
  options.precision = parse_precision(config_.precision);
  net_ = std::make_shared<Supernet>(options, generator_, device_);
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

  std::ofstream config_file(config_.out_dir + "/config.json");
  config_file << to_json(config_) << "\n";
  if (!config_file.flush()) throw io_error("cannot write in out_dir '" + config_.out_dir + "' (is it writable?)");
}

Search::~Search() = default;

int64_t Search::steps_per_epoch() const { return train_loader_->batches_per_epoch(); }

double Search::current_weight_lr() const {
  // Cosine annealing per epoch, as torch's CosineAnnealingLR stepped once an epoch.
  const double progress = static_cast<double>(epoch_) / static_cast<double>(config_.epochs);
  return config_.weight_lr_min +
         0.5 * (config_.weight_lr - config_.weight_lr_min) * (1.0 + std::cos(M_PI * progress));
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
    fidelity_->before_arch_step(global_step(), *net_, train, val, state);
  }
  TensorList arch_grad = estimator_->arch_gradient(*net_, train, val, state);
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
  const at::Tensor grad_norm = clip_grad_norm(net_->weights(), config_.grad_clip);
  const at::Tensor correct_count = logits.detach().argmax(1).eq(train.labels).sum();
  const std::vector<double> read = read_scalars({loss, main_loss, grad_norm, correct_count});
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
    ++skipped_steps_;
    ++epoch_skipped_steps_;
  }

  const int64_t batch = train.labels.size(0);
  const double correct = read[3];
  result.train_accuracy = correct / static_cast<double>(batch);

  // A skipped step's non-finite loss stays out of the epoch's mean.
  if (std::isfinite(result.train_loss)) epoch_loss_sum_ += result.train_loss * static_cast<double>(batch);
  epoch_correct_ += correct;
  epoch_samples_ += batch;
  ++step_in_epoch_;
  epoch_seconds_ += seconds_since(start);
  return result;
}

std::pair<Batch, Batch> Search::next_batches() {
  Batch train = to_device(train_loader_->next_cycling(), device_);
  Batch val = to_device(val_loader_->next_cycling(), device_);
  // Drop-path masks: fixed per batch (every forward of the step sees the same
  // ones) and derived from the seed and the global step, so a resumed run draws the same.
  net_->set_drop_path_prob(search_drop_path_prob(config_, epoch_));
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
  return adarts::probe_fidelity(*net_, train, val, weight_optimizer_state(current_weight_lr()), options);
}

bool Search::check_finite(bool finite, const std::string& quantity) {
  if (finite) return true;
  const std::string where = "epoch " + std::to_string(epoch_ + 1) + " step " + std::to_string(step_in_epoch_ + 1) +
                            " (global step " + std::to_string(global_step() + 1) + ")";
  if (config_.nan_policy == "skip") return false;
  throw numerical_error("non-finite " + quantity + " at " + where + "; the run stops" +
                        (last_checkpoint_.empty() ? std::string(" (no checkpoint written yet)")
                                                  : "; the last good checkpoint is '" + last_checkpoint_ + "'") +
                        ". Lower the learning rates, or set nan_policy to skip to skip such batches");
}

void Search::after_step() {
  if (config_.checkpoint_keep > 0 && config_.checkpoint_every > 0 && step_in_epoch_ < steps_per_epoch() &&
      global_step() % config_.checkpoint_every == 0) {
    save_checkpoint();
  }
}

EpochSummary Search::run_epoch(const SearchCallback& callback, bool* completed) {
  // A cancel() that came before this call stops it before its first step.
  while (step_in_epoch_ < steps_per_epoch()) {
    if (cancel_requested_.exchange(false)) {
      if (completed) *completed = false;
      EpochSummary partial;
      partial.epoch = epoch_;
      partial.genotype = genotype();
      return partial;
    }
    step();
    after_step();
    bool keep_going = !cancel_requested_.load();
    if (callback) {
      SearchProgress p;
      p.epoch = epoch_;
      p.step = step_in_epoch_;
      p.steps_per_epoch = steps_per_epoch();
      p.train_loss = epoch_loss_sum_ / static_cast<double>(epoch_samples_);
      p.train_accuracy = epoch_correct_ / static_cast<double>(epoch_samples_);
      p.seconds = epoch_seconds_;
      keep_going = callback(p) && keep_going;
    }
    if (!keep_going || cancel_requested_.exchange(false)) {
      if (completed) *completed = false;
      EpochSummary partial;
      partial.epoch = epoch_;
      partial.genotype = genotype();
      return partial;
    }
  }
  if (completed) *completed = true;
  return finish_epoch();
}

int64_t Search::advance(int64_t steps) {
  if (steps < 0) throw invalid_argument("the number of steps must be >= 0");
  int64_t ended = 0;
  for (int64_t i = 0; i < steps; ++i) {
    step();
    after_step();
    if (step_in_epoch_ >= steps_per_epoch()) {
      finish_epoch();
      ++ended;
    }
  }
  return ended;
}

std::pair<double, double> Search::evaluate_validation() {
  at::NoGradGuard no_grad;
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
    const Batch on_device = to_device(batch, device_);
    const at::Tensor &images = on_device.images, &labels = on_device.labels;
    const at::Tensor logits = net_->forward(images);
    loss_sum += at::cross_entropy_loss(logits, labels).to(at::kDouble) * static_cast<double>(labels.size(0));
    correct += logits.argmax(1).eq(labels).sum();
    samples += labels.size(0);
  }
  net_->train();
  const std::vector<double> sums = read_scalars({loss_sum, correct});
  return {sums[0] / static_cast<double>(samples), sums[1] / static_cast<double>(samples)};
}

EpochSummary Search::finish_epoch() {
  const auto start = Clock::now();
  EpochSummary s;
  s.epoch = epoch_;
  s.weight_lr = current_weight_lr();
  if (epoch_samples_ > 0) {
    s.train_loss = epoch_loss_sum_ / static_cast<double>(epoch_samples_);
    s.train_accuracy = epoch_correct_ / static_cast<double>(epoch_samples_);
  }
  std::tie(s.val_loss, s.val_accuracy) = evaluate_validation();
  s.genotype = genotype();
  s.seconds = epoch_seconds_ + seconds_since(start);

  json::object line;
  line["epoch"] = s.epoch + 1;
  line["steps"] = step_in_epoch_;
  line["weight_lr"] = s.weight_lr;
  line["drop_path_prob"] = search_drop_path_prob(config_, epoch_);
  line["train_loss"] = s.train_loss;
  line["train_accuracy"] = s.train_accuracy;
  line["val_loss"] = s.val_loss;
  line["val_accuracy"] = s.val_accuracy;
  line["seconds"] = s.seconds;
  line["skipped_steps"] = epoch_skipped_steps_;
  json::object weights;
  if (net_->per_cell()) {
    // Per-cell spaces: "cells" [cell][edge][op] and "reduction" [cell] instead of normal/reduce.
    json::array cells;
    json::array reduction;
    const at::Tensor softmax = at::softmax(net_->alphas_cells().detach(), -1);
    for (int64_t i = 0; i < softmax.size(0); ++i) {
      cells.emplace_back(matrix_to_json(softmax[i]));
      reduction.emplace_back(static_cast<bool>(s.genotype.reduction[static_cast<size_t>(i)]));
    }
    weights["cells"] = std::move(cells);
    weights["reduction"] = std::move(reduction);
  } else {
    weights["normal"] = matrix_to_json(at::softmax(net_->alphas_normal().detach(), -1));
    weights["reduce"] = matrix_to_json(at::softmax(net_->alphas_reduce().detach(), -1));
  }
  json::array ops;
  for (const auto& op : net_->op_names()) ops.emplace_back(op);
  weights["ops"] = std::move(ops);
  line["alpha_softmax"] = std::move(weights);
  const at::Tensor normal_softmax = net_->normal_edge_weights();
  const at::Tensor reduce_softmax = net_->reduce_edge_weights();
  s.collapse = collapse_figures(normal_softmax, reduce_softmax, net_->op_names(), s.genotype);
  json::object collapse;
  collapse["none_weight_mean"] = s.collapse.none_weight_mean;
  collapse["skip_share"] = s.collapse.skip_share;
  collapse["parameter_free_share"] = s.collapse.parameter_free_share;
  collapse["normal_entropy"] = json::value_from(s.collapse.normal_entropy);
  collapse["reduce_entropy"] = json::value_from(s.collapse.reduce_entropy);
  line["collapse"] = std::move(collapse);
  line["genotype"] = json::parse(to_json(s.genotype));
  if (fidelity_) {
    line["fidelity"] = json::parse(fidelity_->epoch().to_json());
    s.fidelity = fidelity_->epoch().summary();
    fidelity_->end_epoch();
  }
  s.json = json::serialize(line);
  write_outputs(s);

  last_summary_ = s;
  ++epoch_;
  step_in_epoch_ = 0;
  epoch_loss_sum_ = epoch_correct_ = 0.0;
  epoch_samples_ = 0;
  epoch_seconds_ = 0.0;
  epoch_skipped_steps_ = 0;
  if (config_.checkpoint_keep > 0) save_checkpoint();
  return s;
}

void Search::write_outputs(const EpochSummary& s) {
  metrics_lines_.push_back(s.json);
  if (!metrics_.is_open()) {
    // A fresh run replaces an older file; a resumed one rewrote it when it loaded.
    const std::string path = config_.out_dir + "/metrics.jsonl";
    metrics_.open(path, std::ios::out | std::ios::trunc);
    if (!metrics_) throw io_error("cannot write the metrics file '" + path + "' (is out_dir writable?)");
    for (size_t i = 0; i + 1 < metrics_lines_.size(); ++i) metrics_ << metrics_lines_[i] << "\n";
  }
  metrics_ << s.json << "\n";
  metrics_.flush();
  if (!metrics_) throw io_error("writing the metrics file in '" + config_.out_dir + "' failed");
  // The genotype so far, replaced whole each epoch (write then rename).
  auto write_atomically = [&](const std::string& name, const std::string& text) {
    const std::string path = config_.out_dir + "/" + name;
    {
      std::ofstream out(path + ".tmp", std::ios::out | std::ios::trunc);
      out << text << "\n";
      if (!out.flush()) throw io_error("cannot write '" + path + ".tmp'");
    }
    std::filesystem::rename(path + ".tmp", path);
  };
  write_atomically("genotype.json", to_json(s.genotype));
  // The raw alphas, exactly: runs can be compared bit for bit (e.g. a resumed one with an uninterrupted one).
  json::array alphas;
  for (const auto& a : net_->arch_parameters()) alphas.emplace_back(tensor_to_json(a.detach().to(at::kCPU, at::kDouble)));
  json::object alphas_doc;
  alphas_doc["epoch"] = s.epoch + 1;
  alphas_doc["arch_parameters"] = std::move(alphas);
  write_atomically("alphas.json", json::serialize(alphas_doc));
  // The DARTS text form holds only shared cells.
  if (!s.genotype.per_cell()) write_atomically("genotype.txt", to_darts_text(s.genotype));
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

// ---------------------------------------------------------------------------
// Checkpoints

std::string Search::save_checkpoint() {
  namespace io = checkpoint_io;
  io::OutputArchive archive;
  io::write_header(archive, kCheckpointFormat, kCheckpointVersion);
  archive.write("config", c10::IValue(to_json(config_)));
  archive.write("data", c10::IValue(data_fingerprint_));
  archive.write("epoch", c10::IValue(epoch_));
  archive.write("step_in_epoch", c10::IValue(step_in_epoch_));
  archive.write("epoch_loss_sum", c10::IValue(epoch_loss_sum_));
  archive.write("epoch_correct", c10::IValue(epoch_correct_));
  archive.write("epoch_samples", c10::IValue(epoch_samples_));
  archive.write("epoch_seconds", c10::IValue(epoch_seconds_));
  archive.write("skipped_steps", c10::IValue(skipped_steps_));
  archive.write("epoch_skipped_steps", c10::IValue(epoch_skipped_steps_));
  io::write_module(archive, "supernet", *net_);
  const TensorList alphas = net_->arch_parameters();
  archive.write("alphas.count", c10::IValue(static_cast<int64_t>(alphas.size())));
  for (size_t i = 0; i < alphas.size(); ++i) {
    archive.write("alphas." + std::to_string(i), alphas[i].detach().to(at::kCPU).clone());
  }
  io::OutputArchive arch_optimizer, weight_optimizer;
  optimizers_->arch.save(arch_optimizer);
  optimizers_->weights.save(weight_optimizer);
  archive.write("optimizer.arch", arch_optimizer);
  archive.write("optimizer.weights", weight_optimizer);
  archive.write("generator", generator_.get_state());
  io::write_loader(archive, "loader.train", train_loader_->state());
  io::write_loader(archive, "loader.val", val_loader_->state());
  std::string metrics;
  for (const auto& line : metrics_lines_) metrics += line + "\n";
  archive.write("metrics", c10::IValue(metrics));
  if (fidelity_) {
    // The probes of the epoch so far (names one per line; sums exactly, NaN included).
    const FidelityAccumulator::State f = fidelity_->epoch().state();
    std::string names;
    for (const auto& n : f.names) names += n + "\n";
    archive.write("fidelity.names", c10::IValue(names));
    archive.write("fidelity.sums", at::tensor(f.sums, at::kDouble));
    archive.write("fidelity.probes", c10::IValue(f.probes));
  }

  const std::string path = io::write_checkpoint(archive, config_.out_dir, epoch_, step_in_epoch_,
                                                config_.checkpoint_keep, &clear_stale_checkpoints_);
  last_checkpoint_ = path;
  return path;
}

SearchConfig Search::checkpoint_config(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, "search checkpoint");
  return search_config_from_json(reader.read_string("config"), SearchConfig{});
}

std::string Search::latest_checkpoint(const std::string& out_dir, std::vector<std::string>* skipped) {
  return checkpoint_io::newest_loadable(checkpoint_io::directory(out_dir),
                                        [](const std::string& path) { checkpoint_config(path); }, skipped);
}

Search::ResumePoint Search::resume_point(const std::string& out_dir,
                                        const std::function<void(SearchConfig&)>& change) {
  ResumePoint point;
  point.checkpoint = checkpoint_io::require_newest(
      out_dir, [](const std::string& path) { checkpoint_config(path); }, &point.skipped);
  const SearchConfig saved = checkpoint_config(point.checkpoint);
  point.config = saved;
  if (change) change(point.config);
  point.config.out_dir = out_dir;
  checkpoint_io::refuse_resume("'" + out_dir + "' with these settings", resume_differences(saved, point.config));
  return point;
}

std::unique_ptr<Search> Search::resume(const std::string& out_dir, const std::string& overrides_json,
                                       const Dataset* data) {
  const ResumePoint point = resume_point(out_dir, [&](SearchConfig& c) {
    if (!overrides_json.empty()) c = search_config_from_json(overrides_json, c);
  });
  auto search = std::make_unique<Search>(point.config, data != nullptr ? *data : load_search_dataset(point.config));
  search->load_checkpoint(point.checkpoint);
  return search;
}

void Search::load_checkpoint(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, "search checkpoint");
  // Everything that can refuse the checkpoint is checked before anything changes.
  const SearchConfig saved = search_config_from_json(reader.read_string("config"), SearchConfig{});
  checkpoint_io::refuse_resume("from '" + path + "' (written with another configuration)", resume_differences(saved, config_));
  const std::string saved_data = reader.read_string("data");
  if (saved_data != data_fingerprint_) {
    throw invalid_argument("cannot resume from '" + path + "': it was written for other data (" + saved_data +
                           "; this search has " + data_fingerprint_ + ")");
  }
  const TensorList alphas = net_->arch_parameters();
  const int64_t saved_alpha_count = reader.read_int("alphas.count");
  if (saved_alpha_count != static_cast<int64_t>(alphas.size())) {
    throw reader.bad("it holds " + std::to_string(saved_alpha_count) + " alpha tensors, expected " +
                     std::to_string(alphas.size()));
  }
  std::vector<at::Tensor> saved_alphas;
  for (size_t i = 0; i < alphas.size(); ++i) {
    saved_alphas.push_back(reader.read_tensor("alphas." + std::to_string(i)));
    if (!saved_alphas.back().sizes().equals(alphas[i].sizes())) throw reader.bad("alpha tensor " + std::to_string(i) + " has another shape");
  }
  const std::string metrics = reader.read_string("metrics");
  const BatchLoader::State train_state = reader.read_loader("loader.train");
  const BatchLoader::State val_state = reader.read_loader("loader.val");
  const at::Tensor generator_state = reader.read_tensor("generator");
  checkpoint_io::InputArchive arch_optimizer = reader.read_archive("optimizer.arch");
  checkpoint_io::InputArchive weight_optimizer = reader.read_archive("optimizer.weights");
  FidelityAccumulator::State fidelity_state;
  if (fidelity_ && reader.has("fidelity.probes")) {
    fidelity_state.names = split_lines(reader.read_string("fidelity.names"));
    const at::Tensor sums = reader.read_tensor("fidelity.sums").to(at::kDouble).contiguous();
    fidelity_state.sums.assign(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel());
    fidelity_state.probes = reader.read_int("fidelity.probes");
    if (fidelity_state.names.size() != fidelity_state.sums.size()) throw reader.bad("its fidelity sums do not match their names");
  }

  reader.read_module("supernet", *net_);
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < alphas.size(); ++i) alphas[i].copy_(saved_alphas[i]);
  }
  reader.guarded([&] {
    optimizers_->arch.load(arch_optimizer);
    optimizers_->weights.load(weight_optimizer);
    checkpoint_io::move_optimizer_state(optimizers_->arch, device_);
    checkpoint_io::move_optimizer_state(optimizers_->weights, device_);
    generator_.set_state(generator_state);
    train_loader_->restore(train_state);
    val_loader_->restore(val_state);
  });
  epoch_ = reader.read_int("epoch");
  step_in_epoch_ = reader.read_int("step_in_epoch");
  epoch_loss_sum_ = reader.read_double("epoch_loss_sum");
  epoch_correct_ = reader.read_double("epoch_correct");
  epoch_samples_ = reader.read_int("epoch_samples");
  epoch_seconds_ = reader.read_double("epoch_seconds");
  skipped_steps_ = reader.read_int("skipped_steps");
  epoch_skipped_steps_ = reader.read_int("epoch_skipped_steps");

  metrics_lines_ = split_lines(metrics);
  // The metrics file as of the checkpoint: lines written after it are dropped.
  if (metrics_.is_open()) metrics_.close();
  const std::string metrics_path = config_.out_dir + "/metrics.jsonl";
  metrics_.open(metrics_path, std::ios::out | std::ios::trunc);
  for (const auto& l : metrics_lines_) metrics_ << l << "\n";
  if (!metrics_.flush()) throw io_error("cannot write the metrics file '" + metrics_path + "'");

  last_summary_ = make_empty_summary();
  if (!metrics_lines_.empty()) {
    try {
      const json::object last = json::parse(metrics_lines_.back()).as_object();
      last_summary_.epoch = last.at("epoch").to_number<int64_t>() - 1;
      last_summary_.train_loss = last.at("train_loss").to_number<double>();
      last_summary_.train_accuracy = last.at("train_accuracy").to_number<double>();
      last_summary_.val_loss = last.at("val_loss").to_number<double>();
      last_summary_.val_accuracy = last.at("val_accuracy").to_number<double>();
      last_summary_.weight_lr = last.at("weight_lr").to_number<double>();
      last_summary_.seconds = last.at("seconds").to_number<double>();
      last_summary_.genotype = genotype_from_json(json::serialize(last.at("genotype")));
      last_summary_.json = metrics_lines_.back();
    } catch (const std::exception& e) {
      throw reader.bad(std::string("its last metrics line is malformed: ") + e.what());
    }
  }
  // Checkpoints of runs without probes start the epoch's figures afresh.
  if (fidelity_) fidelity_->epoch().restore(fidelity_state);
  clear_stale_checkpoints_ = false;
  last_checkpoint_ = path;
}

}  // namespace adarts
