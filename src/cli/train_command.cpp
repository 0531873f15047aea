// `adarts train`: re-train a genotype from scratch and test it; `adarts
// evaluate`: test a saved model again; `adarts export`: a saved model as a
// PyTorch state dict with DARTS's names.
#include <CLI/CLI.hpp>
#include <ATen/Parallel.h>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "adarts/config.h"
#include "adarts/darts_state_dict.h"
#include "adarts/device.h"
#include "adarts/error.h"
#include "adarts/network.h"
#include "adarts/progress.h"
#include "adarts/train.h"
#include "commands.h"
#include "run_command.h"

namespace {

using adarts::TrainConfig;

using TrainOptions = adarts::cli::ConfigOptions<TrainConfig>;

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

// Where a run starts: a genotype and config, plus the checkpoint of a run to continue.
struct TrainStart {
  TrainConfig config;
  adarts::Genotype genotype;
  std::string genotype_source;
  std::string checkpoint;  // empty for a fresh run
};

TrainStart resume_start(const std::string& dir, const std::function<void(TrainConfig&)>& apply_user_options) {
  const adarts::Trainer::ResumePoint point = adarts::Trainer::resume_point(dir, apply_user_options);
  for (const auto& reason : point.skipped) spdlog::warn("skipping a checkpoint that does not load: {}", reason);
  return TrainStart{point.config, point.genotype, point.checkpoint, point.checkpoint};
}

void log_network(adarts::Trainer& trainer, int64_t height, int64_t width) {
  const TrainConfig& config = trainer.config();
  adarts::Network& net = trainer.network();
  spdlog::info("network: C={} layers={} auxiliary={} imagenet={}: {:.3f}M parameters ({:.3f}M with the auxiliary "
               "head), {:.2f}M multiply-adds per image; {} epochs x {} steps, batch {}, lr {} -> {}, drop-path {}, "
               "device {}, {} threads",
               config.channels, config.layers, config.auxiliary, config.imagenet,
               static_cast<double>(net.parameter_count(false)) / 1e6,
               static_cast<double>(net.parameter_count(true)) / 1e6,
               static_cast<double>(adarts::count_multiply_adds(trainer.genotype(), net.options(), height, width)) / 1e6,
               config.epochs, trainer.steps_per_epoch(), config.batch_size, config.lr, config.lr_min,
               config.drop_path_prob, config.device, at::get_num_threads());
}

void log_epoch(const adarts::Trainer& trainer, const adarts::TrainEpochSummary& s) {
  spdlog::info("epoch {}/{}: train loss {:.4f} acc {:.4f} | test loss {:.4f} top-1 {:.4f} top-5 {:.4f} | lr {:.5f} "
               "drop-path {:.3f} | {}",
               s.epoch + 1, trainer.config().epochs, s.train_loss, s.train_accuracy, s.test.loss, s.test.top1,
               s.test.top5, s.lr, s.drop_path_prob, adarts::format_duration(s.seconds));
}

// The folder of an output file made and probed before the work that fills it (as --out).
void prepare_output_file(const std::string& path) {
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) adarts::check_writable_directory(folder.string());
}

// `export_path` (may be empty): where the trained network goes as a DARTS state dict.
int run_train(const TrainStart& start, const std::string& preset_note, bool overwrite, const std::string& export_path) {
  const TrainConfig& config = start.config;
  adarts::validate(config);
  if (!export_path.empty()) {  // refused before training, not after
    adarts::check_darts_equivalent(start.genotype);
    if (adarts::cli::writes_results(config)) prepare_output_file(export_path);
  }
  adarts::cli::label_rank_logs(config);
  if (adarts::cli::writes_results(config)) adarts::check_writable_directory(config.out_dir);
  if (start.checkpoint.empty() && adarts::cli::writes_results(config)) {
    spdlog::info("{}", preset_note);
    adarts::cli::refuse_earlier_run("train", config.out_dir, adarts::Trainer::latest_checkpoint(config.out_dir), overwrite);
  }
  spdlog::info("genotype {}: {}", start.genotype_source, adarts::summary_line(start.genotype));
  spdlog::info("loading {} from {}", config.dataset, config.dataset == "synthetic" ? "(generated)" : config.data_dir);
  adarts::Dataset train_data = adarts::load_train_dataset(config, /*train=*/true);
  const adarts::Dataset test_data = adarts::load_train_dataset(config, /*train=*/false);
  spdlog::info("data: {} training / {} test images {}x{}x{}, {} classes", train_data.size(), test_data.size(),
               train_data.channels(), train_data.height(), train_data.width(), train_data.num_classes);
  const int64_t height = train_data.height(), width = train_data.width();

  // The trainer writes config.json and genotype.json, and at every epoch end metrics.jsonl, model.pt and a checkpoint.
  adarts::Trainer trainer(start.genotype, config, std::move(train_data), test_data);
  if (!start.checkpoint.empty()) {
    trainer.load_checkpoint(start.checkpoint);
    spdlog::info("resumed from {}: epoch {}/{}, step {}/{}", start.checkpoint, trainer.epoch() + 1, config.epochs,
                 trainer.step_in_epoch(), trainer.steps_per_epoch());
  }
  log_network(trainer, height, width);
  adarts::EvalResult test;
  const int status = adarts::cli::run_epochs(trainer, "train", [&](const adarts::TrainEpochSummary& s) {
    log_epoch(trainer, s);
    test = s.test;
  });
  if (status != 0 || !adarts::cli::writes_results(config)) return status;
  if (test.samples == 0) test = trainer.evaluate(test_data);  // resumed after the last epoch
  fmt::print("test: loss {:.4f} top-1 {} top-5 {} ({} images)\n", test.loss, percent(test.top1), percent(test.top5),
             test.samples);
  spdlog::info("wrote {0}/model.pt, {0}/metrics.jsonl, {0}/config.json, {0}/genotype.json, {0}/checkpoints/", config.out_dir);
  if (!export_path.empty()) {
    adarts::save_darts_state_dict(trainer.network(), export_path);
    fmt::print("pytorch state dict: {}\n", export_path);
  }
  return 0;
}

// A model file, or the --out directory of `adarts train` holding model.pt.
std::string model_path(const std::string& path) {
  if (std::filesystem::is_directory(path)) return (std::filesystem::path(path) / "model.pt").string();
  return path;
}

// `adarts evaluate --logits`: the first `samples` images of `test` as the
// network sees them (normalised) with their labels and the model's logits,
// so that another implementation can be fed exactly the same inputs.
void write_logits(adarts::Trainer& trainer, const adarts::Dataset& test, int64_t samples, int64_t batch_size,
                  const std::string& path) {
  const adarts::Dataset sample = adarts::head(test, samples);
  // One batch of every sample, normalised as predict() normalises them.
  adarts::BatchLoader loader(sample, sample.size(), /*shuffle=*/false, /*drop_last=*/false, adarts::Augmentation{},
                             trainer.normalization(), 0);
  adarts::Batch batch;
  loader.next(batch);
  const at::Tensor logits = trainer.predict(sample, batch_size).to(at::kFloat);
  adarts::save_for_torch_load(
      {{"inputs", batch.images.to(at::kFloat)}, {"labels", batch.labels.to(at::kLong)}, {"logits", logits}}, path);
  fmt::print("logits: {} ({} images)\n", path, sample.size());
}

}  // namespace

namespace adarts::cli {

// One line per option: a table more than a function (its length is its option count).
std::function<int()> add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train", "train a genotype from scratch and test it");
  auto genotype = std::make_shared<std::string>();
  auto preset = std::make_shared<std::string>("quick");
  auto config_file = std::make_shared<std::string>();
  train->add_option("--genotype", *genotype, "genotype file: JSON or DARTS text (Genotype(normal=[...], ...))");
  train->add_option("--preset", *preset,
                    "quick: C=8, 6 cells, 6000 Fashion-MNIST images, 4 epochs, tested on 2000 (minutes on 2 cores); paper: DARTS's "
                    "CIFAR-10 evaluation setting (C=36, 20 cells, 600 epochs)")
      ->check(CLI::IsMember({"quick", "paper"}));
  train->add_option("--config", *config_file, "JSON config file (keys as the options, snake_case)");
  auto options = std::make_shared<TrainOptions>(*train);
  options->add("--dataset", &TrainConfig::dataset, "fashion-mnist | mnist | cifar10 | synthetic");
  options->add("--data-dir", &TrainConfig::data_dir, "directory of the dataset files");
  options->add("--train-subset", &TrainConfig::train_subset, "use the first N training images (0 = all)");
  options->add("--test-subset", &TrainConfig::test_subset, "test on the first N test images (0 = all)");
  options->add("--crop-padding", &TrainConfig::crop_padding, "random-crop padding (0 = off)");
  options->add("--horizontal-flip", &TrainConfig::horizontal_flip, "random horizontal flips (true/false)");
  options->add("--cutout", &TrainConfig::cutout, "cutout square side (0 = off)");
  options->add("--channels", &TrainConfig::channels, "initial channels C");
  options->add("--layers", &TrainConfig::layers, "number of cells");
  options->add("--auxiliary", &TrainConfig::auxiliary, "auxiliary head (true/false)");
  options->add("--auxiliary-weight", &TrainConfig::auxiliary_weight, "weight of the auxiliary loss");
  options->add("--imagenet", &TrainConfig::imagenet, "ImageNet stems (true/false)");
  options->add("--epochs", &TrainConfig::epochs, "training epochs");
  options->add("--batch-size", &TrainConfig::batch_size, "batch size");
  options->add("--lr", &TrainConfig::lr, "initial SGD learning rate");
  options->add("--lr-min", &TrainConfig::lr_min, "final (cosine) learning rate");
  options->add("--momentum", &TrainConfig::momentum, "SGD momentum");
  options->add("--weight-decay", &TrainConfig::weight_decay, "SGD weight decay");
  options->add("--grad-clip", &TrainConfig::grad_clip, "gradient-norm clip");
  options->add("--drop-path-prob", &TrainConfig::drop_path_prob, "final drop-path probability (ramped linearly)");
  options->add("--label-smoothing", &TrainConfig::label_smoothing, "label smoothing of the training loss");
  options->add("--seed", &TrainConfig::seed, "random seed (weights, drop-path, data order)");
  options->add("--device", &TrainConfig::device, "cpu | cuda | cuda:N");
  options->add("--precision", &TrainConfig::precision, "fp32 | bf16 (bf16: convolutions under autocast, alphas/BN/losses in fp32)");
  options->add("--threads", &TrainConfig::threads, "CPU threads (0 = every core)");
  options->add("--out", &TrainConfig::out_dir, "output directory (model.pt, metrics.jsonl, config.json, genotype.json)");
  options->add("--log-every", &TrainConfig::log_every, "progress line every N steps when not on a terminal");
  options->add("--checkpoint-every", &TrainConfig::checkpoint_every,
               "also checkpoint every N steps (0 = at epoch ends only)");
  options->add("--checkpoint-keep", &TrainConfig::checkpoint_keep, "keep the newest N checkpoints (0 = none)");
  adarts::cli::add_data_parallel_options(*options);
  auto resume_dir = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  train->add_option("--resume", *resume_dir,
                    "continue the run in this directory from its newest checkpoint (options given must match)");
  train->add_flag("--overwrite", *overwrite, "start afresh in an --out that holds an earlier run's checkpoints");
  // Not a config key: where this invocation writes a copy of its result, not
  // how the network trains (config keys go into config.json and checkpoints,
  // and a resume compares them).
  auto export_path = std::make_shared<std::string>();
  train->add_option("--export-pytorch", *export_path,
                    "after the last epoch, also write the network as a PyTorch state dict with the original DARTS "
                    "module names (torch.load; docs/pytorch-export.md)");
  return [train, genotype, preset, config_file, options, resume_dir, overwrite, export_path]() -> int {
    if (!train->parsed()) return -1;
    auto apply_user_options = [&](TrainConfig& config) {
      if (!config_file->empty()) config = adarts::train_config_from_json(read_text_file(*config_file), config);
      options->apply(config);
    };
    if (!resume_dir->empty()) {
      if (!genotype->empty()) throw adarts::invalid_argument("--resume continues the run's own genotype; drop --genotype");
      return run_train(resume_start(*resume_dir, apply_user_options), "", false, *export_path);
    }
    if (genotype->empty()) throw adarts::invalid_argument("--genotype is required (or --resume DIR to continue a run)");
    TrainStart start;
    start.config = *preset == "paper" ? adarts::paper_train_config() : adarts::quick_train_config();
    apply_user_options(start.config);
    start.genotype = adarts::read_genotype_file(*genotype);
    start.genotype_source = *genotype;
    const std::string note =
        *preset == "paper" ? "preset 'paper': DARTS's CIFAR-10 evaluation setting"
                           : "preset 'quick': a small network on a subset, for a first run in minutes -- not the "
                             "paper's setting (use --preset paper)";
    if (start.genotype.per_cell() && !options->given("--layers") &&
        start.config.layers != static_cast<int64_t>(start.genotype.cells.size())) {
      // A per-cell genotype holds one genotype per cell: it sets the cell count.
      spdlog::info("layers: {} (the cells of the per-cell genotype)", start.genotype.cells.size());
      start.config.layers = static_cast<int64_t>(start.genotype.cells.size());
    }
    return run_train(start, note, *overwrite, *export_path);
  };
}

std::function<int()> add_evaluate_command(CLI::App& app) {
  CLI::App* evaluate = app.add_subcommand("evaluate", "test a model saved by `adarts train`");
  auto model = std::make_shared<std::string>();
  auto dataset = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  auto test_subset = std::make_shared<int64_t>(-1);
  auto batch_size = std::make_shared<int64_t>(0);
  auto device = std::make_shared<std::string>();
  auto threads = std::make_shared<int64_t>(-1);
  auto logits = std::make_shared<std::string>();
  auto logits_samples = std::make_shared<int64_t>(16);
  evaluate->add_option("MODEL", *model, "model file (or the --out directory of `adarts train`)")->required();
  evaluate->add_option("--dataset", *dataset, "fashion-mnist | mnist | cifar10 | synthetic (default: the model's)");
  evaluate->add_option("--data-dir", *data_dir, "directory of the dataset files (default: the model's)");
  evaluate->add_option("--test-subset", *test_subset, "the first N test images (0 = all; default: the model's)")
      ->check(CLI::NonNegativeNumber);
  evaluate->add_option("--batch-size", *batch_size, "evaluation batch size (default: the model's)")
      ->check(CLI::PositiveNumber);
  evaluate->add_option("--device", *device, "cpu | cuda | cuda:N (default: the model's)");
  evaluate->add_option("--threads", *threads, "CPU threads (0 = every core; default: the model's)")
      ->check(CLI::NonNegativeNumber);
  evaluate->add_option("--logits", *logits,
                       "also write the first --logits-samples test images and their logits to this file, a dict "
                       "{\"inputs\": [N,C,H,W] float32 as the network sees them (normalised), \"labels\": [N] "
                       "int64, \"logits\": [N,classes] float32} that torch.load reads");
  evaluate->add_option("--logits-samples", *logits_samples, "test images in the --logits file (0 = all)")
      ->check(CLI::NonNegativeNumber);
  return [=]() -> int {
    if (!evaluate->parsed()) return -1;
    const std::string path = model_path(*model);
    std::unique_ptr<adarts::Trainer> trainer = adarts::Trainer::load(path, *device);
    if (!logits->empty()) prepare_output_file(*logits);
    TrainConfig data_config = trainer->config();
    if (!dataset->empty()) data_config.dataset = *dataset;
    if (!data_dir->empty()) data_config.data_dir = *data_dir;
    if (*test_subset >= 0) data_config.test_subset = *test_subset;
    adarts::validate(data_config);
    if (*threads >= 0) adarts::apply_threads(*threads);  // replaces the thread count the model was saved with
    spdlog::info("model {}: trained {} epochs; genotype {}", path, trainer->epoch(),
                 adarts::summary_line(trainer->genotype()));
    spdlog::info("loading the {} test split from {}", data_config.dataset,
                 data_config.dataset == "synthetic" ? "(generated)" : data_config.data_dir);
    const adarts::Dataset test = adarts::load_train_dataset(data_config, /*train=*/false);
    const adarts::EvalResult r = trainer->evaluate(test, *batch_size);
    fmt::print("loss {:.4f} top-1 {} top-5 {} ({} images)\n", r.loss, percent(r.top1), percent(r.top5), r.samples);
    if (!logits->empty()) write_logits(*trainer, test, *logits_samples, *batch_size, *logits);
    return 0;
  };
}

std::function<int()> add_export_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "export", "write a model saved by `adarts train` as a PyTorch state dict with the original DARTS module names");
  auto model = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  command->add_option("MODEL", *model, "model file (or the --out directory of `adarts train`)")->required();
  command->add_option("--out", *out, "the state dict file to write (torch.load reads it; docs/pytorch-export.md)")
      ->required();
  return [=]() -> int {
    if (!command->parsed()) return -1;
    const std::string path = model_path(*model);
    // On the CPU: the file holds CPU tensors, and a model trained on CUDA exports without a GPU.
    std::unique_ptr<adarts::Trainer> trainer = adarts::Trainer::load(path, "cpu");
    spdlog::info("model {}: trained {} epochs; genotype {}", path, trainer->epoch(),
                 adarts::summary_line(trainer->genotype()));
    prepare_output_file(*out);
    adarts::save_darts_state_dict(trainer->network(), *out);
    fmt::print("{}\n", *out);
    return 0;
  };
}

}  // namespace adarts::cli
