#include "adarts/train.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <boost/json.hpp>
#include <c10/util/Exception.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include "adarts/error.h"
#include "runtime/config_json.h"
#include "adarts/device.h"
#include "runtime/checkpoint_io.h"
#include "runtime/host_sync.h"

namespace adarts {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kModelFormat = "adarts.model";
constexpr int64_t kModelVersion = 2;
constexpr const char* kCheckpointFormat = "adarts.train-checkpoint";
constexpr int64_t kCheckpointVersion = 1;

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
  visit("precision", c.precision);
  visit("threads", c.threads);
  visit("out_dir", c.out_dir);
  visit("log_every", c.log_every);
  visit("checkpoint_every", c.checkpoint_every);
  visit("checkpoint_keep", c.checkpoint_keep);
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
  require(c.checkpoint_every >= 0, "checkpoint_every must be >= 0 (0 = only at epoch ends)");
  require(c.checkpoint_keep >= 0, "checkpoint_keep must be >= 0 (0 = no checkpoints)");
  require(!c.out_dir.empty(), "out_dir must not be empty");
  parse_precision(c.precision);  // fp32 | bf16, naming the key when neither
  require(c.device == "cpu" || c.device.rfind("cuda", 0) == 0,
          "device must be cpu, cuda or cuda:N, got '" + c.device + "'");
}

std::vector<std::string> resume_differences(const TrainConfig& saved, const TrainConfig& requested) {
  return config_json::differences(to_json(saved), to_json(requested),
                                  {"threads", "log_every", "checkpoint_every", "checkpoint_keep", "device", "out_dir"});
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
  data_fingerprint_ = checkpoint_io::fingerprint(train_data);
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
  prepare_device(device_);
  precision_ = parse_precision(config_.precision);
  apply_threads(config_.threads);
  net_ = std::make_shared<Network>(genotype_, options, generator_);
  net_->to(device_);
  net_->train();
  optimizer_.reset(new Optimizer{torch::optim::SGD(
      net_->parameters(),
      torch::optim::SGDOptions(config_.lr).momentum(config_.momentum).weight_decay(config_.weight_decay))});
}

Trainer::~Trainer() = default;

int64_t Trainer::steps_per_epoch() const { return train_loader_ ? train_loader_->batches_per_epoch() : 0; }

at::Tensor Trainer::to_input(const at::Tensor& images) const { return to_device(images, device_); }

NetworkOutput Trainer::forward(const at::Tensor& images) {
  NetworkOutput out;
  {
    const AutocastScope autocast(device_, precision_);
    out = net_->forward(images);
  }
  // Losses in fp32 whatever the precision of the pass.
  out.logits = out.logits.to(at::kFloat);
  if (out.aux_logits.defined()) out.aux_logits = out.aux_logits.to(at::kFloat);
  return out;
}

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
  const at::Tensor labels = to_device(batch.labels, device_);

  optimizer_->sgd.zero_grad();
  const NetworkOutput out = forward(images);
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
  // Loss, gradient norm and accuracy reach the host in one read (the step's only synchronisation).
  const at::Tensor grad_norm = clip_grad_norm(net_->parameters(), config_.grad_clip);
  const at::Tensor correct_count = out.logits.detach().argmax(1).eq(labels).sum();
  const std::vector<double> read =
      read_scalars({total, grad_norm, loss, aux_loss.defined() ? aux_loss : at::zeros_like(loss), correct_count});
  const double total_value = read[0], grad_norm_value = read[1];
  if (!std::isfinite(total_value)) {
    throw numerical_error("non-finite training loss (" + std::to_string(total_value) + ") at epoch " +
                          std::to_string(epoch_ + 1) + " step " + std::to_string(step_in_epoch_ + 1) +
                          "; the run stops (its last checkpoint is kept). Lower the learning rate");
  }
  if (!std::isfinite(grad_norm_value)) {
    throw numerical_error("non-finite weight gradient (norm " + std::to_string(grad_norm_value) + ") at epoch " +
                          std::to_string(epoch_ + 1) + " step " + std::to_string(step_in_epoch_ + 1) +
                          "; the run stops (its last checkpoint is kept). Lower the learning rate");
  }
  optimizer_->sgd.step();

  TrainStepResult result;
  result.loss = read[2];
  result.aux_loss = read[3];
  const int64_t n = labels.size(0);
  const double correct = read[4];
  result.accuracy = correct / static_cast<double>(n);

  epoch_loss_sum_ += result.loss * static_cast<double>(n);
  epoch_correct_ += correct;
  epoch_samples_ += n;
  ++step_in_epoch_;
  epoch_seconds_ += seconds_since(start);
  return result;
}

TrainEpochSummary Trainer::run_epoch(const TrainCallback& callback, bool* completed) {
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
    // A cancel() that came before this call stops it before its first step.
    if (cancel_requested_.exchange(false)) {
      if (completed) *completed = false;
      return summary();
    }
    step();
    if (config_.checkpoint_keep > 0 && config_.checkpoint_every > 0 && step_in_epoch_ < steps &&
        (epoch_ * steps + step_in_epoch_) % config_.checkpoint_every == 0) {
      save_checkpoint();
    }
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
    if (!keep_going || cancel_requested_.exchange(false)) {
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
  if (config_.checkpoint_keep > 0) save_checkpoint();
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
  while (loader.next(batch)) logits.push_back(forward(to_input(batch.images)).logits);
  net_->train(was_training);
  return at::cat(logits, 0).cpu();  // one copy back to the host
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
// Save / load: one torch archive of named entries (src/runtime/checkpoint_io.h).

void Trainer::save(const std::string& path) const {
  namespace io = checkpoint_io;
  io::OutputArchive archive;
  io::write_header(archive, kModelFormat, kModelVersion);
  archive.write("genotype", c10::IValue(to_json(genotype_)));
  archive.write("config", c10::IValue(to_json(config_)));
  archive.write("network_options", c10::IValue(network_options_to_json(net_->options())));
  archive.write("epoch", c10::IValue(epoch_));
  archive.write("normalization_mean", at::tensor(at::ArrayRef<float>(normalization_.mean), at::kFloat));
  archive.write("normalization_std", at::tensor(at::ArrayRef<float>(normalization_.std), at::kFloat));
  io::write_module(archive, "state", *net_);
  io::save_atomically(archive, path);
}

std::unique_ptr<Trainer> Trainer::load(const std::string& path, const std::string& device) {
  checkpoint_io::Reader reader(path, kModelFormat, kModelVersion, "adarts model");
  Genotype genotype = genotype_from_json(reader.read_string("genotype"));
  TrainConfig config = train_config_from_json(reader.read_string("config"), TrainConfig{});
  if (!device.empty()) config.device = device;
  const NetworkOptions options = network_options_from_json(reader.read_string("network_options"));
  const int64_t epoch = reader.read_int("epoch");
  const at::Tensor mean = reader.read_tensor("normalization_mean").to(at::kFloat).contiguous();
  const at::Tensor stddev = reader.read_tensor("normalization_std").to(at::kFloat).contiguous();
  if (mean.dim() != 1 || stddev.dim() != 1 || mean.size(0) != options.in_channels ||
      stddev.size(0) != options.in_channels) {
    throw reader.bad("the normalisation does not match the input channels");
  }
  Normalization normalization;
  normalization.mean.assign(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
  normalization.std.assign(stddev.data_ptr<float>(), stddev.data_ptr<float>() + stddev.numel());
  std::unique_ptr<Trainer> trainer(
      new Trainer(LoadTag{}, std::move(genotype), std::move(config), options, std::move(normalization), epoch));
  reader.read_module("state", *trainer->net_);
  trainer->net_->eval();
  return trainer;
}

// ---------------------------------------------------------------------------
// Checkpoints

std::string Trainer::save_checkpoint() {
  namespace io = checkpoint_io;
  if (!train_loader_) throw invalid_argument("a model loaded for evaluation has no training state to checkpoint");
  io::OutputArchive archive;
  io::write_header(archive, kCheckpointFormat, kCheckpointVersion);
  archive.write("config", c10::IValue(to_json(config_)));
  archive.write("genotype", c10::IValue(to_json(genotype_)));
  archive.write("data", c10::IValue(data_fingerprint_));
  archive.write("epoch", c10::IValue(epoch_));
  archive.write("step_in_epoch", c10::IValue(step_in_epoch_));
  archive.write("epoch_loss_sum", c10::IValue(epoch_loss_sum_));
  archive.write("epoch_correct", c10::IValue(epoch_correct_));
  archive.write("epoch_samples", c10::IValue(epoch_samples_));
  archive.write("epoch_seconds", c10::IValue(epoch_seconds_));
  io::write_module(archive, "network", *net_);
  io::OutputArchive optimizer;
  optimizer_->sgd.save(optimizer);
  archive.write("optimizer", optimizer);
  archive.write("generator", generator_.get_state());
  io::write_loader(archive, "loader.train", train_loader_->state());

  const std::string path = io::write_checkpoint(archive, config_.out_dir, epoch_, step_in_epoch_,
                                                config_.checkpoint_keep, &clear_stale_checkpoints_);
  return path;
}

TrainConfig Trainer::checkpoint_config(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, "training checkpoint");
  return train_config_from_json(reader.read_string("config"), TrainConfig{});
}

Genotype Trainer::checkpoint_genotype(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, "training checkpoint");
  return genotype_from_json(reader.read_string("genotype"));
}

std::string Trainer::latest_checkpoint(const std::string& out_dir, std::vector<std::string>* skipped) {
  return checkpoint_io::newest_loadable(checkpoint_io::directory(out_dir),
                                        [](const std::string& path) { checkpoint_config(path); }, skipped);
}

Trainer::ResumePoint Trainer::resume_point(const std::string& out_dir,
                                          const std::function<void(TrainConfig&)>& change) {
  ResumePoint point;
  point.checkpoint = checkpoint_io::require_newest(
      out_dir, [](const std::string& path) { checkpoint_config(path); }, &point.skipped);
  const TrainConfig saved = checkpoint_config(point.checkpoint);
  point.config = saved;
  if (change) change(point.config);
  point.config.out_dir = out_dir;
  point.genotype = checkpoint_genotype(point.checkpoint);
  checkpoint_io::refuse_resume("'" + out_dir + "' with these settings", resume_differences(saved, point.config));
  return point;
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& out_dir, const std::string& overrides_json,
                                         const Dataset* train_data) {
  const ResumePoint point = resume_point(out_dir, [&](TrainConfig& c) {
    if (!overrides_json.empty()) c = train_config_from_json(overrides_json, c);
  });
  auto trainer = std::make_unique<Trainer>(point.genotype, point.config,
                                           train_data != nullptr ? *train_data : load_train_dataset(point.config, true));
  trainer->load_checkpoint(point.checkpoint);
  return trainer;
}

void Trainer::load_checkpoint(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, "training checkpoint");
  if (!train_loader_) throw invalid_argument("a model loaded for evaluation cannot resume training");
  // Everything that can refuse the checkpoint is checked before anything changes.
  const TrainConfig saved = train_config_from_json(reader.read_string("config"), TrainConfig{});
  checkpoint_io::refuse_resume("from '" + path + "' (written with another configuration)", resume_differences(saved, config_));
  if (reader.read_string("genotype") != to_json(genotype_)) {
    throw invalid_argument("cannot resume from '" + path + "': it was written for another genotype");
  }
  if (reader.read_string("data") != data_fingerprint_) {
    throw invalid_argument("cannot resume from '" + path + "': it was written for other training data");
  }
  const BatchLoader::State loader_state = reader.read_loader("loader.train");
  const at::Tensor generator_state = reader.read_tensor("generator");
  checkpoint_io::InputArchive optimizer = reader.read_archive("optimizer");
  reader.read_module("network", *net_);
  reader.guarded([&] {
    optimizer_->sgd.load(optimizer);
    checkpoint_io::move_optimizer_state(optimizer_->sgd, device_);
    generator_.set_state(generator_state);
    train_loader_->restore(loader_state);
  });
  epoch_ = reader.read_int("epoch");
  step_in_epoch_ = reader.read_int("step_in_epoch");
  epoch_loss_sum_ = reader.read_double("epoch_loss_sum");
  epoch_correct_ = reader.read_double("epoch_correct");
  epoch_samples_ = reader.read_int("epoch_samples");
  epoch_seconds_ = reader.read_double("epoch_seconds");
  clear_stale_checkpoints_ = false;
}

}  // namespace adarts
