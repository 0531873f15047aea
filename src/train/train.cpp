// The Trainer: re-training a genotype (steps, epochs, test, the files it
// writes), the model file and training checkpoints. The config: train_config.cpp.
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
#include <fstream>
#include <sstream>

#include "adarts/device.h"
#include "adarts/error.h"
#include "runtime/checkpoint_io.h"
#include "runtime/data_parallel.h"
#include "runtime/host_sync.h"
#include "runtime/output_files.h"
#include "runtime/run_loop.h"

namespace adarts {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kModelFormat = "adarts.model";
constexpr int64_t kModelVersion = 2;
constexpr const char* kCheckpointFormat = "adarts.train-checkpoint";
constexpr int64_t kCheckpointVersion = 1;
constexpr const char* kCheckpointWhat = "training checkpoint";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The first `count` non-empty lines of the file at `path` (fewer when it is shorter or missing).
std::vector<std::string> read_lines(const std::string& path, int64_t count) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (static_cast<int64_t>(lines.size()) < count && std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

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
  return head(load_named_split(config.dataset, config.data_dir, train), train ? config.train_subset : config.test_subset);
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

Trainer::Trainer(Genotype genotype, TrainConfig config, Dataset train_data, std::optional<Dataset> test_data)
    : genotype_(std::move(genotype)),
      config_(std::move(config)),
      device_(at::kCPU),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)),
      test_data_(std::move(test_data)),
      counters_(std::make_unique<EpochCounters>()) {
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
  if (config_.world_size > 1) {
    group_ = std::make_unique<DataParallel>(config_, to_json(config_), device_);
    group_->copy_first_replica(net_->parameters(), net_->buffers());
  }
  metrics_ = std::make_unique<MetricsLog>(writes_files() ? config_.out_dir + "/metrics.jsonl" : "");
  if (writes_files()) {
    check_writable_directory(config_.out_dir);
    write_text_atomically(config_.out_dir + "/config.json", to_json(config_));
    write_text_atomically(config_.out_dir + "/genotype.json", to_json(genotype_));
  }
}

bool Trainer::writes_files() const { return !group_ || group_->rank() == 0; }

CommunicationStats Trainer::communication_stats() const { return group_ ? group_->stats() : CommunicationStats{}; }

void Trainer::average_running_statistics() {
  if (group_) group_->average_statistics(net_->buffers());
}

EvalResult Trainer::evaluate_shards(const Dataset& data) {
  if (!group_) return evaluate(data);
  // Contiguous rows per rank; per-sample results in eval mode, so the sums equal one process's.
  const int64_t n = data.size(), r = group_->rank(), world = group_->world_size();
  std::vector<int64_t> rows;
  for (int64_t i = r * n / world; i < (r + 1) * n / world; ++i) rows.push_back(i);
  at::Tensor sums = at::zeros({4}, at::kDouble);
  if (!rows.empty()) {
    const EvalResult part = evaluate(subset(data, rows));
    const double m = static_cast<double>(part.samples);
    sums = at::tensor({part.loss * m, part.top1 * m, part.top5 * m, m}, at::kDouble);
  }
  group_->sum({sums});
  const double total = sums[3].item<double>();
  EvalResult all;
  all.samples = static_cast<int64_t>(total);
  all.loss = sums[0].item<double>() / total;
  all.top1 = sums[1].item<double>() / total;
  all.top5 = sums[2].item<double>() / total;
  return all;
}

Trainer::Trainer(Genotype genotype, const TrainConfig& config)
    : Trainer(std::move(genotype), config, load_train_dataset(config, true), load_train_dataset(config, false)) {}

Trainer::Trainer(LoadTag, Genotype genotype, TrainConfig config, NetworkOptions options,
                 Normalization normalization, int64_t epoch)
    : genotype_(std::move(genotype)),
      config_(std::move(config)),
      device_(at::kCPU),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)),
      normalization_(std::move(normalization)),
      counters_(std::make_unique<EpochCounters>()) {
  counters_->epoch = epoch;
  // A model loaded for evaluation runs in this process alone, whatever trained it.
  config_.world_size = 1;
  config_.rank = 0;
  config_.rendezvous.clear();
  build(options);
}

void Trainer::build(const NetworkOptions& options) {
  device_ = prepare_run(config_);
  precision_ = parse_precision(config_.precision);
  net_ = std::make_shared<Network>(genotype_, options, generator_);
  net_->to(device_);
  net_->train();
  optimizer_.reset(new Optimizer{torch::optim::SGD(
      net_->parameters(),
      torch::optim::SGDOptions(config_.lr).momentum(config_.momentum).weight_decay(config_.weight_decay))});
}

Trainer::~Trainer() = default;

int64_t Trainer::steps_per_epoch() const { return train_loader_ ? train_loader_->batches_per_epoch() : 0; }
int64_t Trainer::epoch() const { return counters_->epoch; }
int64_t Trainer::step_in_epoch() const { return counters_->step_in_epoch; }
int64_t Trainer::skipped_steps() const { return counters_->skipped_steps; }

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

bool Trainer::check_finite(bool finite, const std::string& quantity) {
  return adarts::check_finite(finite, quantity, config_, *counters_, steps_per_epoch(), last_checkpoint_);
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

  // Every rank draws the whole batch (same data order and augmentation) and keeps its shard.
  const Batch global = train_loader_->next_cycling();
  const Batch batch = to_device(group_ ? group_->shard(global) : global, device_);
  const at::Tensor& labels = batch.labels;
  optimizer_->sgd.zero_grad();
  const NetworkOutput out = forward(batch.images);
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
  at::Tensor figures = at::stack({total.detach(), loss.detach(), aux_loss.defined() ? aux_loss.detach() : at::zeros_like(loss),
                                  out.logits.detach().argmax(1).eq(labels).sum().to(loss.scalar_type())});
  // Data-parallel: the gradients and figures of the whole batch, in one all-reduce, before the clip sees the norm.
  if (group_) figures = group_->reduce_weight_step(net_->parameters(), figures);
  // Loss, gradient norm and accuracy reach the host in one read (the step's only synchronisation).
  const at::Tensor grad_norm = clip_grad_norm(net_->parameters(), config_.grad_clip);
  const std::vector<double> read = read_scalars({figures[0], grad_norm, figures[1], figures[2], figures[3]});
  TrainStepResult result;
  if (check_finite(std::isfinite(read[0]), "training loss (" + std::to_string(read[0]) + ")") &&
      check_finite(std::isfinite(read[1]), "weight gradient (norm " + std::to_string(read[1]) + ")")) {
    optimizer_->sgd.step();
  } else {
    result.skipped = true;
    ++counters_->skipped_steps;
    ++counters_->epoch_skipped_steps;
  }
  result.loss = read[2];
  result.aux_loss = read[3];
  const int64_t n = labels.size(0) * (group_ ? group_->world_size() : 1);
  const double correct = read[4];
  result.accuracy = correct / static_cast<double>(n);
  counters_->add_step(result.loss, correct, n, seconds_since(start));
  return result;
}

TrainEpochSummary Trainer::summary() const {
  TrainEpochSummary s;
  s.epoch = counters_->epoch;
  s.steps = counters_->step_in_epoch;
  s.lr = current_lr();
  s.drop_path_prob = current_drop_path_prob();
  s.train_loss = counters_->mean_loss();
  s.train_accuracy = counters_->accuracy();
  s.seconds = counters_->seconds;
  return s;
}

TrainEpochSummary Trainer::run_epoch(const TrainCallback& callback, bool* completed) {
  const int64_t steps = steps_per_epoch();
  if (steps == 0) step();  // throws the no-training-data error
  const bool done = run_epoch_steps(
      *counters_, steps, cancel_requested_, [&] { step(); },
      [&] {
        if (mid_epoch_checkpoint_due(config_, *counters_, steps)) save_checkpoint();
      },
      callback, any_rank(group_.get()));
  if (completed) *completed = done;
  return done ? end_epoch() : summary();
}

TrainEpochSummary Trainer::end_epoch() {
  average_running_statistics();  // the statistics of the test and the model file are every rank's
  TrainEpochSummary s = summary();
  json::object line;
  line["epoch"] = s.epoch + 1;
  line["steps"] = s.steps;
  line["lr"] = s.lr;
  line["drop_path_prob"] = s.drop_path_prob;
  line["train_loss"] = s.train_loss;
  line["train_accuracy"] = s.train_accuracy;
  if (test_data_) {
    const auto start = Clock::now();
    s.test = evaluate_shards(*test_data_);
    s.seconds += seconds_since(start);
    line["test_loss"] = s.test.loss;
    line["test_top1"] = s.test.top1;
    line["test_top5"] = s.test.top5;
    line["test_samples"] = s.test.samples;
  }
  line["seconds"] = s.seconds;
  s.json = json::serialize(line);
  metrics_->append(s.json);
  counters_->next_epoch();
  if (writes_files()) save(config_.out_dir + "/model.pt");  // the model so far, replaced whole
  if (config_.checkpoint_keep > 0) save_checkpoint();
  if (metrics_listener_) metrics_listener_(s.json);
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
  archive.write("network_options", c10::IValue(to_json(net_->options())));
  archive.write("epoch", c10::IValue(counters_->epoch));
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
  const std::string options_json = reader.read_string("network_options");
  NetworkOptions options;
  try {
    options = network_options_from_json(options_json, NetworkOptions{}, /*require_every_key=*/true);
  } catch (const Error& e) {
    throw parse_error(std::string("the model's network options are malformed: ") + e.what());
  }
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
  average_running_statistics();  // the statistics rank 0 saves are every rank's
  if (!writes_files()) return "";
  io::OutputArchive archive;
  io::write_header(archive, kCheckpointFormat, kCheckpointVersion);
  archive.write("config", c10::IValue(to_json(config_)));
  archive.write("genotype", c10::IValue(to_json(genotype_)));
  archive.write("data", c10::IValue(data_fingerprint_));
  counters_->write(archive);
  io::write_module(archive, "network", *net_);
  io::OutputArchive optimizer;
  optimizer_->sgd.save(optimizer);
  archive.write("optimizer", optimizer);
  archive.write("generator", generator_.get_state());
  io::write_loader(archive, "loader.train", train_loader_->state());
  archive.write("metrics", c10::IValue(metrics_->text()));
  last_checkpoint_ = io::write_checkpoint(archive, config_.out_dir, counters_->epoch, counters_->step_in_epoch,
                                          config_.checkpoint_keep, &clear_stale_checkpoints_);
  return last_checkpoint_;
}

TrainConfig Trainer::checkpoint_config(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, kCheckpointWhat);
  return train_config_from_json(reader.read_string("config"), TrainConfig{});
}

Genotype Trainer::checkpoint_genotype(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, kCheckpointWhat);
  return genotype_from_json(reader.read_string("genotype"));
}

std::string Trainer::latest_checkpoint(const std::string& out_dir, std::vector<std::string>* skipped) {
  return checkpoint_io::newest_loadable(checkpoint_io::directory(out_dir),
                                        [](const std::string& path) { checkpoint_config(path); }, skipped);
}

Trainer::ResumePoint Trainer::resume_point(const std::string& out_dir,
                                          const std::function<void(TrainConfig&)>& change) {
  Genotype genotype;  // of the newest checkpoint that opens: the last one read
  const std::function<TrainConfig(const std::string&)> read = [&](const std::string& path) {
    checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, kCheckpointWhat);
    TrainConfig config = train_config_from_json(reader.read_string("config"), TrainConfig{});
    genotype = genotype_from_json(reader.read_string("genotype"));
    return config;
  };
  ResumeStart<TrainConfig> start = find_resume_start<TrainConfig>(out_dir, read, change);
  return ResumePoint{start.checkpoint, start.config, genotype, start.skipped};
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& out_dir, const std::string& overrides_json,
                                         const Dataset* train_data, std::optional<Dataset> test_data) {
  const ResumePoint point = resume_point(out_dir, [&](TrainConfig& c) {
    if (!overrides_json.empty()) c = train_config_from_json(overrides_json, c);
  });
  if (train_data == nullptr && !test_data) test_data = load_train_dataset(point.config, false);
  auto trainer = std::make_unique<Trainer>(
      point.genotype, point.config, train_data != nullptr ? *train_data : load_train_dataset(point.config, true),
      std::move(test_data));
  trainer->load_checkpoint(point.checkpoint);
  return trainer;
}

void Trainer::load_checkpoint(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, kCheckpointWhat);
  if (!train_loader_) throw invalid_argument("a model loaded for evaluation cannot resume training");
  // Read and check everything first: a refused checkpoint changes nothing.
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
  EpochCounters counters;
  counters.read(reader);
  // Checkpoints written before they carried the metrics: the file's lines of the epochs ended by then.
  std::vector<std::string> metrics = reader.has("metrics") ? split_lines(reader.read_string("metrics"))
                                                           : read_lines(metrics_->path(), counters.epoch);
  // Then apply.
  reader.read_module("network", *net_);
  reader.guarded([&] {
    optimizer_->sgd.load(optimizer);
    checkpoint_io::move_optimizer_state(optimizer_->sgd, device_);
    generator_.set_state(generator_state);
    train_loader_->restore(loader_state);
  });
  *counters_ = counters;
  metrics_->restore(std::move(metrics));
  clear_stale_checkpoints_ = false;
  last_checkpoint_ = path;
}

}  // namespace adarts
