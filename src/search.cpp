#include "adarts/search.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <boost/json.hpp>
#include <c10/util/string_utils.h>
#include <torch/cuda.h>
#include <torch/types.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "adarts/error.h"
#include "adarts/fidelity.h"
#include "adarts/monitor.h"
#include "adarts/supernet.h"

namespace adarts {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

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

}  // namespace

struct Search::Optimizers {
  torch::optim::Adam arch;
  torch::optim::SGD weights;
};

at::Device parse_device(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw unsupported("device '" + name + "' requested but CUDA is not available in this build or machine");
    }
    at::Device device(at::kCUDA);
    try {
      device = at::Device(name);
    } catch (const std::exception&) {
      throw invalid_argument("device must be cpu, cuda or cuda:N, got '" + name + "'");
    }
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw invalid_argument("device '" + name + "' does not exist: " + std::to_string(torch::cuda::device_count()) +
                             " CUDA device(s) found");
    }
    return device;
  }
  throw invalid_argument("device must be cpu, cuda or cuda:N, got '" + name + "'");
}

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
  device_ = parse_device(config_.device);
  // LibTorch's thread pool is per process: the last search created sets it.
  const int threads = config_.threads > 0 ? static_cast<int>(config_.threads)
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  if (data.size() < 2 * config_.batch_size) {
    throw invalid_argument("the dataset has " + std::to_string(data.size()) +
                           " images; a search needs at least two batches (2 * batch_size = " +
                           std::to_string(2 * config_.batch_size) + ")");
  }

  auto [train_half, val_half] = split_halves(data, config_.seed);
  const Normalization normalization = compute_normalization(train_half);
  Augmentation augmentation;
  augmentation.crop_padding = config_.crop_padding;
  augmentation.horizontal_flip = config_.horizontal_flip;
  // Distinct, seed-derived streams so that each loader is reproducible on its own.
  train_loader_ = std::make_unique<BatchLoader>(train_half, config_.batch_size, true, true, augmentation,
                                                normalization, config_.seed * 4 + 1);
  val_loader_ = std::make_unique<BatchLoader>(val_half, config_.batch_size, true, true, augmentation,
                                              normalization, config_.seed * 4 + 2);

  SupernetOptions options;
  options.in_channels = data.channels();
  options.num_classes = data.num_classes;
  options.channels = config_.channels;
  options.layers = config_.layers;
  options.steps = config_.steps;
  options.multiplier = config_.steps;
  const SearchSpace space = config_.search_space();
  options.ops = space.ops;
  options.edges = space.edges;
  options.inputs_per_node = space.inputs_per_node;
  options.space = space.name;
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

  std::error_code ec;
  std::filesystem::create_directories(config_.out_dir, ec);
  const std::string metrics_path = config_.out_dir + "/metrics.jsonl";
  metrics_.open(metrics_path, std::ios::out | std::ios::trunc);
  if (!metrics_) throw io_error("cannot write the metrics file '" + metrics_path + "' (is out_dir writable?)");
  std::ofstream(config_.out_dir + "/config.json") << to_json(config_) << "\n";
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
  Batch train = train_loader_->next_cycling();
  Batch val = val_loader_->next_cycling();
  train.images = train.images.to(device_);
  train.labels = train.labels.to(device_);
  val.images = val.images.to(device_);
  val.labels = val.labels.to(device_);

  // Architecture step.
  WeightOptimizerState state;
  state.lr = lr;
  state.momentum = config_.weight_momentum;
  state.weight_decay = config_.weight_decay;
  auto& sgd_state = optimizers_->weights.state();
  for (const auto& w : net_->weights()) {
    auto it = sgd_state.find(c10::guts::to_string(w.unsafeGetTensorImpl()));
    state.momentum_buffers.push_back(
        it == sgd_state.end() ? at::Tensor()
                              : static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
  }
  if (fidelity_) {
    fidelity_->before_arch_step(epoch_ * steps_per_epoch() + step_in_epoch_, *net_, train, val, state);
  }
  TensorList arch_grad = estimator_->arch_gradient(*net_, train, val, state);
  TensorList alphas = net_->arch_parameters();
  for (size_t i = 0; i < alphas.size(); ++i) alphas[i].mutable_grad() = arch_grad[i].detach();
  optimizers_->arch.step();

  // Weight step.
  optimizers_->weights.zero_grad();
  const at::Tensor logits = net_->forward(train.images);
  const at::Tensor loss = at::cross_entropy_loss(logits, train.labels);
  loss.backward();
  torch::nn::utils::clip_grad_norm_(net_->weights(), config_.grad_clip);
  optimizers_->weights.step();
  for (auto& a : alphas) a.mutable_grad().reset();  // the weight step's alpha gradients are not used

  StepResult result;
  result.train_loss = loss.item<double>();
  const int64_t batch = train.labels.size(0);
  const double correct = logits.argmax(1).eq(train.labels).sum().item<double>();
  result.train_accuracy = correct / static_cast<double>(batch);

  epoch_loss_sum_ += result.train_loss * static_cast<double>(batch);
  epoch_correct_ += correct;
  epoch_samples_ += batch;
  ++step_in_epoch_;
  epoch_seconds_ += seconds_since(start);
  return result;
}

EpochSummary Search::run_epoch(const SearchCallback& callback, bool* completed) {
  cancel_requested_.store(false);
  while (step_in_epoch_ < steps_per_epoch()) {
    step();
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
    if (!keep_going || cancel_requested_.load()) {
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
  double loss_sum = 0.0, correct = 0.0;
  int64_t samples = 0;
  Batch batch;
  while (loader.next(batch)) {
    const at::Tensor images = batch.images.to(device_), labels = batch.labels.to(device_);
    const at::Tensor logits = net_->forward(images);
    loss_sum += at::cross_entropy_loss(logits, labels).item<double>() * static_cast<double>(labels.size(0));
    correct += logits.argmax(1).eq(labels).sum().item<double>();
    samples += labels.size(0);
  }
  net_->train();
  return {loss_sum / static_cast<double>(samples), correct / static_cast<double>(samples)};
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
  line["train_loss"] = s.train_loss;
  line["train_accuracy"] = s.train_accuracy;
  line["val_loss"] = s.val_loss;
  line["val_accuracy"] = s.val_accuracy;
  line["seconds"] = s.seconds;
  json::object weights;
  weights["normal"] = matrix_to_json(at::softmax(net_->alphas_normal().detach(), -1));
  weights["reduce"] = matrix_to_json(at::softmax(net_->alphas_reduce().detach(), -1));
  json::array ops;
  for (const auto& op : net_->op_names()) ops.emplace_back(op);
  weights["ops"] = std::move(ops);
  line["alpha_softmax"] = std::move(weights);
  const at::Tensor normal_softmax = at::softmax(net_->alphas_normal().detach(), -1);
  const at::Tensor reduce_softmax = at::softmax(net_->alphas_reduce().detach(), -1);
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
  return s;
}

void Search::write_outputs(const EpochSummary& s) {
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
  write_atomically("genotype.txt", to_darts_text(s.genotype));
}

Genotype Search::genotype() const { return net_->genotype(); }
at::Tensor Search::alphas_normal() const { return net_->alphas_normal().detach().cpu().clone(); }
at::Tensor Search::alphas_reduce() const { return net_->alphas_reduce().detach().cpu().clone(); }

}  // namespace adarts
