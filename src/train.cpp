#include "adarts/train.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <boost/json.hpp>
#include <c10/util/Exception.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <type_traits>

#include "adarts/error.h"
#include "config_json.h"
#include "adarts/search.h"  // parse_device

namespace adarts {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kModelFormat = "adarts.model";
constexpr int64_t kModelVersion = 1;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Calls visit(key, member) for every field, in the order of the JSON output.
// The one list of keys: parsing and writing both go through it.
template <class Config, class Visitor>
void for_each_field(Config& c, Visitor&& visit) {
  visit("dataset", c.dataset);
  visit("data_dir", c.data_dir);
  visit("train_subset", c.train_subset);
  visit("test_subset", c.test_subset);
  visit("crop_padding", c.crop_padding);
  visit("horizontal_flip", c.horizontal_flip);
  visit("cutout", c.cutout);
  visit("channels", c.channels);
  visit("layers", c.layers);
  visit("auxiliary", c.auxiliary);
  visit("auxiliary_weight", c.auxiliary_weight);
  visit("imagenet", c.imagenet);
  visit("epochs", c.epochs);
  visit("batch_size", c.batch_size);
  visit("lr", c.lr);
  visit("lr_min", c.lr_min);
  visit("momentum", c.momentum);
  visit("weight_decay", c.weight_decay);
  visit("grad_clip", c.grad_clip);
  visit("drop_path_prob", c.drop_path_prob);
  visit("label_smoothing", c.label_smoothing);
  visit("seed", c.seed);
  visit("device", c.device);
  visit("threads", c.threads);
  visit("out_dir", c.out_dir);
  visit("log_every", c.log_every);
}

std::string network_options_to_json(const NetworkOptions& o) {
  json::object j;
  j["in_channels"] = o.in_channels;
  j["num_classes"] = o.num_classes;
  j["channels"] = o.channels;
  j["layers"] = o.layers;
  j["auxiliary"] = o.auxiliary;
  j["imagenet"] = o.imagenet;
  return json::serialize(j);
}

NetworkOptions network_options_from_json(const std::string& text) {
  NetworkOptions o;
  try {
    const json::object j = json::parse(text).as_object();
    o.in_channels = j.at("in_channels").to_number<int64_t>();
    o.num_classes = j.at("num_classes").to_number<int64_t>();
    o.channels = j.at("channels").to_number<int64_t>();
    o.layers = j.at("layers").to_number<int64_t>();
    o.auxiliary = j.at("auxiliary").as_bool();
    o.imagenet = j.at("imagenet").as_bool();
  } catch (const std::exception& e) {
    throw parse_error(std::string("the model's network options are malformed: ") + e.what());
  }
  return o;
}

// Every parameter and buffer of the network under its dotted name, in module order.
std::vector<std::pair<std::string, at::Tensor>> named_state(Network& net) {
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& p : net.named_parameters(/*recurse=*/true)) state.emplace_back(p.key(), p.value());
  for (const auto& b : net.named_buffers(/*recurse=*/true)) state.emplace_back(b.key(), b.value());
  return state;
}

std::string shape_string(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

int64_t resolve_threads(int64_t threads) {
  return threads > 0 ? threads : static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

// ---------------------------------------------------------------------------
// Config

TrainConfig paper_train_config() { return TrainConfig{}; }

// Measured with DARTS_V2 (adarts train --genotype tests/fixtures/genotypes/darts_v2.txt): about 2 minutes on
// two idle cores (26 s an epoch), 83% top-1 on the 2000 test images. OpenMP threads that share their cores
// with other busy processes can be several times slower (--threads 1 helps there).
TrainConfig quick_train_config() {
  TrainConfig c;
  c.train_subset = 6000;
  c.test_subset = 2000;
  c.channels = 8;
  c.layers = 6;
  c.epochs = 4;
  c.batch_size = 64;
  c.lr = 0.05;
  c.crop_padding = 2;
  c.cutout = 0;
  c.log_every = 10;
  c.out_dir = "runs/train";
  return c;
}

void validate(const TrainConfig& c) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw invalid_argument(message);
  };
  const std::set<std::string> datasets = {"fashion-mnist", "mnist", "cifar10", "synthetic"};
  require(datasets.count(c.dataset) == 1,
          "dataset must be fashion-mnist, mnist, cifar10 or synthetic, got '" + c.dataset + "'");
  require(c.train_subset >= 0, "train_subset must be >= 0 (0 = all)");
  require(c.test_subset >= 0, "test_subset must be >= 0 (0 = all)");
  require(c.batch_size >= 2, "batch_size must be >= 2 (batch norm needs two samples)");
  require(c.train_subset == 0 || c.train_subset >= c.batch_size,
          "train_subset must hold at least one batch (batch_size)");
  require(c.crop_padding >= 0, "crop_padding must be >= 0 (0 = off)");
  require(c.cutout >= 0, "cutout must be >= 0 (0 = off)");
  require(c.channels >= 2 && c.channels % 2 == 0, "channels must be even and >= 2");
  require(c.layers >= 1, "layers must be >= 1");
  require(c.epochs >= 1, "epochs must be >= 1");
  auto finite = [&](double v, const char* name, bool ok, const char* what) {
    require(std::isfinite(v) && ok, std::string(name) + " must be " + what);
  };
  finite(c.auxiliary_weight, "auxiliary_weight", c.auxiliary_weight >= 0, ">= 0");
  finite(c.lr, "lr", c.lr > 0, "> 0");
  finite(c.lr_min, "lr_min", c.lr_min >= 0 && c.lr_min <= c.lr, ">= 0 and <= lr");
  finite(c.momentum, "momentum", c.momentum >= 0 && c.momentum < 1, "in [0, 1)");
  finite(c.weight_decay, "weight_decay", c.weight_decay >= 0, ">= 0");
  finite(c.grad_clip, "grad_clip", c.grad_clip > 0, "> 0");
  finite(c.drop_path_prob, "drop_path_prob", c.drop_path_prob >= 0 && c.drop_path_prob < 1, "in [0, 1)");
  finite(c.label_smoothing, "label_smoothing", c.label_smoothing >= 0 && c.label_smoothing < 1, "in [0, 1)");
  require(c.threads >= 0, "threads must be >= 0 (0 = every core)");
  require(c.log_every >= 1, "log_every must be >= 1");
  require(!c.out_dir.empty(), "out_dir must not be empty");
  require(c.device == "cpu" || c.device.rfind("cuda", 0) == 0,
          "device must be cpu, cuda or cuda:N, got '" + c.device + "'");
}

std::string to_json(const TrainConfig& config) {
  return config_json::write(config, [](auto& c, auto&& visit) { for_each_field(c, visit); });
}

TrainConfig train_config_from_json(const std::string& text, const TrainConfig& base) {
  return config_json::read(text, base, [](auto& c, auto&& visit) { for_each_field(c, visit); });
}

double train_learning_rate(const TrainConfig& c, int64_t epoch) {
  // Cosine annealing per epoch, as torch's CosineAnnealingLR stepped once an epoch.
  const double progress = static_cast<double>(epoch) / static_cast<double>(c.epochs);
  return c.lr_min + 0.5 * (c.lr - c.lr_min) * (1.0 + std::cos(M_PI * progress));
}

double train_drop_path_prob(const TrainConfig& c, int64_t epoch) {
  return c.drop_path_prob * static_cast<double>(epoch) / static_cast<double>(c.epochs);
}

// ---------------------------------------------------------------------------
// Data

Dataset load_train_dataset(const TrainConfig& config, bool train) {
  if (config.dataset == "synthetic") {
    // One generated set (the class patterns depend on the seed), split in two.
    const int64_t n_train = config.train_subset > 0 ? config.train_subset : 512;
    const int64_t n_test = config.test_subset > 0 ? config.test_subset : 256;
    SyntheticSpec spec;
    spec.size = n_train + n_test;
    const Dataset all = make_synthetic(spec, config.seed);
    std::vector<int64_t> indices;
    const int64_t begin = train ? 0 : n_train, end = train ? n_train : n_train + n_test;
    for (int64_t i = begin; i < end; ++i) indices.push_back(i);
    return subset(all, indices);
  }
  const Dataset data = config.dataset == "cifar10" ? load_cifar10(config.data_dir, train)
                                                   : load_idx_dir(config.data_dir, train);
  return head(data, train ? config.train_subset : config.test_subset);
}

Genotype read_genotype_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw io_error("cannot read the genotype file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw parse_error("the genotype file '" + path + "' is empty");
  try {
    return text[first] == '{' ? genotype_from_json(text) : from_darts_text(text);
  } catch (const Error& e) {
    throw Error(e.kind(), "genotype file '" + path + "': " + e.what());
  }
}

// ---------------------------------------------------------------------------
// Trainer

struct Trainer::Optimizer {
  torch::optim::SGD sgd;
};

Trainer::Trainer(Genotype genotype, TrainConfig config, Dataset train_data)
    : genotype_(std::move(genotype)),
      config_(std::move(config)),
      device_(at::kCPU),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)) {
  validate(config_);
  validate_genotype(genotype_);
  if (train_data.size() < config_.batch_size) {
    throw invalid_argument("the training set has " + std::to_string(train_data.size()) +
                           " images; training needs at least one batch (batch_size = " +
                           std::to_string(config_.batch_size) + ")");
  }
  normalization_ = compute_normalization(train_data);
  Augmentation augmentation;
  augmentation.crop_padding = config_.crop_padding;
  augmentation.horizontal_flip = config_.horizontal_flip;
  augmentation.cutout = config_.cutout;
  NetworkOptions options;
  options.in_channels = train_data.channels();
  options.num_classes = train_data.num_classes;
  options.channels = config_.channels;
  options.layers = config_.layers;
  options.auxiliary = config_.auxiliary;
  options.imagenet = config_.imagenet;
  // The data order and augmentation draws: a seed-derived stream of their own.
  train_loader_ = std::make_unique<BatchLoader>(std::move(train_data), config_.batch_size, /*shuffle=*/true,
                                                /*drop_last=*/true, augmentation, normalization_,
                                                config_.seed * 4 + 1);
  build(options);
}

Trainer::Trainer(LoadTag, Genotype genotype, TrainConfig config, NetworkOptions options,
                 Normalization normalization, int64_t epoch)
    : genotype_(std::move(genotype)),
      config_(std::move(config)),
      device_(at::kCPU),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)),
      normalization_(std::move(normalization)),
      epoch_(epoch) {
  build(options);
}

void Trainer::build(const NetworkOptions& options) {
  device_ = parse_device(config_.device);
  // LibTorch's thread pool is per process: the last trainer created sets it.
  const int threads = static_cast<int>(resolve_threads(config_.threads));
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  net_ = std::make_shared<Network>(genotype_, options, generator_);
  net_->to(device_);
  net_->train();
  optimizer_.reset(new Optimizer{torch::optim::SGD(
      net_->parameters(),
      torch::optim::SGDOptions(config_.lr).momentum(config_.momentum).weight_decay(config_.weight_decay))});
}

Trainer::~Trainer() = default;

int64_t Trainer::steps_per_epoch() const { return train_loader_ ? train_loader_->batches_per_epoch() : 0; }

at::Tensor Trainer::to_input(const at::Tensor& images) const { return images.to(device_); }

TrainStepResult Trainer::step() {
  if (!train_loader_) {
    throw invalid_argument("this model was loaded for evaluation and has no training data; build a Trainer "
                           "from a dataset to train");
  }
  const auto start = Clock::now();
  const double lr = current_lr();
  for (auto& group : optimizer_->sgd.param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
  net_->train();
  net_->set_drop_path_prob(current_drop_path_prob());

  const Batch batch = train_loader_->next_cycling();
  const at::Tensor images = to_input(batch.images);
  const at::Tensor labels = batch.labels.to(device_);

  optimizer_->sgd.zero_grad();
  const NetworkOutput out = net_->forward(images);
  const at::Tensor loss =
      at::cross_entropy_loss(out.logits, labels, {}, at::Reduction::Mean, -100, config_.label_smoothing);
  at::Tensor total = loss;
  at::Tensor aux_loss;
  if (config_.auxiliary && out.aux_logits.defined()) {
    aux_loss =
        at::cross_entropy_loss(out.aux_logits, labels, {}, at::Reduction::Mean, -100, config_.label_smoothing);
    total = loss + config_.auxiliary_weight * aux_loss;
  }
  total.backward();
  torch::nn::utils::clip_grad_norm_(net_->parameters(), config_.grad_clip);
  optimizer_->sgd.step();

  TrainStepResult result;
  result.loss = loss.item<double>();
  result.aux_loss = aux_loss.defined() ? aux_loss.item<double>() : 0.0;
  const int64_t n = labels.size(0);
  const double correct = out.logits.detach().argmax(1).eq(labels).sum().item<double>();
  result.accuracy = correct / static_cast<double>(n);

  epoch_loss_sum_ += result.loss * static_cast<double>(n);
  epoch_correct_ += correct;
  epoch_samples_ += n;
  ++step_in_epoch_;
  epoch_seconds_ += seconds_since(start);
  return result;
}

TrainEpochSummary Trainer::run_epoch(const TrainCallback& callback, bool* completed) {
  cancel_requested_.store(false);
  const int64_t steps = steps_per_epoch();
  if (steps == 0) step();  // throws the no-training-data error
  auto summary = [&] {
    TrainEpochSummary s;
    s.epoch = epoch_;
    s.steps = step_in_epoch_;
    s.lr = current_lr();
    s.drop_path_prob = current_drop_path_prob();
    if (epoch_samples_ > 0) {
      s.train_loss = epoch_loss_sum_ / static_cast<double>(epoch_samples_);
      s.train_accuracy = epoch_correct_ / static_cast<double>(epoch_samples_);
    }
    s.seconds = epoch_seconds_;
    return s;
  };
  while (step_in_epoch_ < steps) {
    step();
    bool keep_going = !cancel_requested_.load();
    if (callback) {
      TrainProgress p;
      p.epoch = epoch_;
      p.step = step_in_epoch_;
      p.steps_per_epoch = steps;
      p.train_loss = epoch_loss_sum_ / static_cast<double>(epoch_samples_);
      p.train_accuracy = epoch_correct_ / static_cast<double>(epoch_samples_);
      p.seconds = epoch_seconds_;
      keep_going = callback(p) && keep_going;
    }
    if (!keep_going || cancel_requested_.load()) {
      if (completed) *completed = false;
      return summary();
    }
  }
  if (completed) *completed = true;
  const TrainEpochSummary s = summary();
  ++epoch_;
  step_in_epoch_ = 0;
  epoch_loss_sum_ = epoch_correct_ = 0.0;
  epoch_samples_ = 0;
  epoch_seconds_ = 0.0;
  return s;
}

at::Tensor Trainer::predict(const Dataset& data, int64_t batch_size) {
  if (data.size() == 0) throw invalid_argument("cannot evaluate on an empty dataset");
  if (data.channels() != net_->options().in_channels) {
    throw invalid_argument("the dataset has " + std::to_string(data.channels()) + " channels; the model expects " +
                           std::to_string(net_->options().in_channels));
  }
  const int64_t b = batch_size > 0 ? batch_size : config_.batch_size;
  at::NoGradGuard no_grad;
  const bool was_training = net_->is_training();
  net_->eval();
  BatchLoader loader(data, b, /*shuffle=*/false, /*drop_last=*/false, Augmentation{}, normalization_, 0);
  std::vector<at::Tensor> logits;
  Batch batch;
  while (loader.next(batch)) logits.push_back(net_->forward(to_input(batch.images)).logits.to(at::kCPU));
  net_->train(was_training);
  return at::cat(logits, 0);
}

EvalResult Trainer::evaluate(const Dataset& data, int64_t batch_size) {
  const at::Tensor logits = predict(data, batch_size).to(at::kFloat);
  const at::Tensor labels = data.labels.to(at::kLong);
  if (labels.numel() > 0 && labels.max().item<int64_t>() >= logits.size(1)) {
    throw invalid_argument("the dataset has labels >= the model's " + std::to_string(logits.size(1)) + " classes");
  }
  EvalResult r;
  r.samples = labels.size(0);
  r.loss = at::cross_entropy_loss(logits, labels).item<double>();
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  const at::Tensor top = std::get<1>(logits.topk(k, 1));  // sorted: column 0 is the top-1 class
  const at::Tensor hits = top.eq(labels.unsqueeze(1));
  const double n = static_cast<double>(r.samples);
  r.top1 = hits.select(1, 0).sum().item<double>() / n;
  r.top5 = hits.any(1).sum().item<double>() / n;
  return r;
}

// ---------------------------------------------------------------------------
// Save / load: one torch archive of named entries.

void Trainer::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kModelFormat)));
  archive.write("version", c10::IValue(kModelVersion));
  archive.write("genotype", c10::IValue(to_json(genotype_)));
  archive.write("config", c10::IValue(to_json(config_)));
  archive.write("network_options", c10::IValue(network_options_to_json(net_->options())));
  archive.write("epoch", c10::IValue(epoch_));
  archive.write("normalization_mean",
                at::tensor(at::ArrayRef<float>(normalization_.mean), at::kFloat));
  archive.write("normalization_std", at::tensor(at::ArrayRef<float>(normalization_.std), at::kFloat));
  json::array names;
  c10::List<at::Tensor> tensors;
  for (const auto& [name, tensor] : named_state(*net_)) {
    names.emplace_back(name);
    tensors.push_back(tensor.detach().to(at::kCPU).clone());
  }
  archive.write("state_names", c10::IValue(json::serialize(names)));
  archive.write("state", c10::IValue(tensors));

  const std::filesystem::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
  }
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    throw io_error("cannot write the model file '" + tmp + "': " + e.what_without_backtrace());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error("cannot write the model file '" + path + "': " + ec.message());
}

std::unique_ptr<Trainer> Trainer::load(const std::string& path, const std::string& device) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw io_error("the model file '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, ec)) throw io_error("the model path '" + path + "' is a directory");
  if (!std::ifstream(path)) throw io_error("cannot read the model file '" + path + "'");
  auto bad = [&](const std::string& what) { return parse_error("'" + path + "' is not a valid adarts model: " + what); };

  torch::serialize::InputArchive archive;
  std::string genotype_json, config_json, options_json, names_json;
  int64_t epoch = 0;
  at::Tensor mean, stddev;
  c10::List<at::Tensor> tensors;
  try {
    archive.load_from(path);
    c10::IValue v;
    if (!archive.try_read("format", v) || !v.isString() || v.toStringRef() != kModelFormat) {
      throw bad("no 'adarts.model' format tag");
    }
    if (!archive.try_read("version", v) || !v.isInt()) throw bad("no version");
    if (v.toInt() != kModelVersion) {
      throw bad("version " + std::to_string(v.toInt()) + " (this build reads version " +
                std::to_string(kModelVersion) + ")");
    }
    auto read_string = [&](const char* key) {
      c10::IValue s;
      if (!archive.try_read(key, s) || !s.isString()) throw bad(std::string("no '") + key + "' entry");
      return s.toStringRef();
    };
    genotype_json = read_string("genotype");
    config_json = read_string("config");
    options_json = read_string("network_options");
    names_json = read_string("state_names");
    if (!archive.try_read("epoch", v) || !v.isInt()) throw bad("no 'epoch' entry");
    epoch = v.toInt();
    if (!archive.try_read("normalization_mean", mean) || !archive.try_read("normalization_std", stddev)) {
      throw bad("no normalisation");
    }
    if (!archive.try_read("state", v) || !v.isTensorList()) throw bad("no 'state' entry");
    tensors = v.toTensorList();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw bad(e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw bad(e.what());
  }

  Genotype genotype = genotype_from_json(genotype_json);
  TrainConfig config = train_config_from_json(config_json, TrainConfig{});
  if (!device.empty()) config.device = device;
  const NetworkOptions options = network_options_from_json(options_json);
  Normalization normalization;
  if (mean.dim() != 1 || stddev.dim() != 1 || mean.size(0) != options.in_channels ||
      stddev.size(0) != options.in_channels) {
    throw bad("the normalisation does not match the input channels");
  }
  const at::Tensor m = mean.to(at::kFloat).contiguous(), s = stddev.to(at::kFloat).contiguous();
  normalization.mean.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
  normalization.std.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());

  std::vector<std::string> names;
  try {
    const json::value parsed = json::parse(names_json);
    for (const auto& n : parsed.as_array()) names.emplace_back(n.as_string());
  } catch (const std::exception& e) {
    throw bad(std::string("malformed state names: ") + e.what());
  }
  if (names.size() != tensors.size()) throw bad("state names and tensors differ in number");

  std::unique_ptr<Trainer> trainer(
      new Trainer(LoadTag{}, std::move(genotype), std::move(config), options, std::move(normalization), epoch));
  auto state = named_state(*trainer->net_);
  if (state.size() != names.size()) {
    throw bad("it holds " + std::to_string(names.size()) + " tensors; the network built from its genotype has " +
              std::to_string(state.size()));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < state.size(); ++i) {
    auto& [name, target] = state[i];
    const at::Tensor source = tensors.get(i);
    if (names[i] != name) throw bad("tensor " + std::to_string(i) + " is '" + names[i] + "', expected '" + name + "'");
    if (!source.sizes().equals(target.sizes()) || source.scalar_type() != target.scalar_type()) {
      throw bad("tensor '" + name + "' has shape " + shape_string(source) + ", expected " + shape_string(target));
    }
    target.copy_(source);
  }
  trainer->net_->eval();
  return trainer;
}

}  // namespace adarts
