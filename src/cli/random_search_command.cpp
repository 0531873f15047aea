// `adarts random-search`: the paper's random-search baseline (section 4.1.3):
// sample N architectures, train each briefly, keep the best K by accuracy on
// a validation split held out from the training images.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "adarts/random_search.h"
#include "commands.h"

namespace adarts::cli {

namespace {

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

int run(const RandomSearchConfig& config, const std::string& out) {
  validate(config);
  spdlog::info("loading {} from {}", config.train.dataset,
               config.train.dataset == "synthetic" ? "(generated)" : config.train.data_dir);
  const auto [train, val] = random_search_data(config);
  const SearchSpace space = make_search_space(config.space, config.ops);
  spdlog::info("random search over space {} (10^{:.1f} architectures): {} samples, keep {}; each trained {} epoch(s) "
               "on {} images, scored on {} held-out training images; C={} layers={} batch {}",
               space.name, log10_architecture_count(space, config.train.layers ? config.train.layers
                                                                                : space.default_layers),
               config.samples, config.keep, config.train.epochs, train.size(), val.size(), config.train.channels,
               config.train.layers ? config.train.layers : space.default_layers, config.train.batch_size);
  const RandomSearchResult result =
      run_random_search(config, train, val, [&](const RandomSearchCandidate& c, const RandomSearchResult& so_far) {
        const RandomSearchCandidate& best = so_far.ranked.front();
        spdlog::info("sample {}/{}: val top-1 {} loss {:.4f} | train loss {:.4f} acc {:.4f} | {:.3f}M params | "
                     "{:.1f} s | best {} (sample {})",
                     c.sample + 1, config.samples, percent(c.val_accuracy), c.val_loss, c.train_loss,
                     c.train_accuracy, static_cast<double>(c.parameters) / 1e6, c.seconds,
                     percent(best.val_accuracy), best.sample + 1);
        spdlog::info("  {}", c.genotype.per_cell() ? summary_line(c.genotype) : to_darts_text(c.genotype));
        // Kept up to date after every sample, so that a stopped run leaves its results.
        write_random_search_outputs(config, so_far, out);
      });
  const auto written = write_random_search_outputs(config, result, out);
  const auto best = result.best(config.keep);
  for (std::size_t rank = 0; rank < best.size(); ++rank) {
    const RandomSearchCandidate& c = best[rank];
    fmt::print("rank {}: sample {} val top-1 {} loss {:.4f} ({:.3f}M params)\n", rank + 1, c.sample + 1,
               percent(c.val_accuracy), c.val_loss, static_cast<double>(c.parameters) / 1e6);
  }
  for (const auto& path : written) fmt::print("wrote {}\n", path);
  return 0;
}

}  // namespace

std::function<int()> add_random_search_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "random-search", "the random-search baseline: train N sampled architectures briefly, keep the best K");
  auto config = std::make_shared<RandomSearchConfig>();
  auto ops = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("runs/random_search");
  TrainConfig& t = config->train;
  cmd->add_option("--space", config->space, "search space: darts | s1 | s2 (s2: one sampled cell per layer)")->capture_default_str();
  cmd->add_option("--ops", *ops, "comma-separated op subset replacing the space's ops");
  cmd->add_option("--samples", config->samples, "architectures to sample (N)")->capture_default_str();
  cmd->add_option("--keep", config->keep, "best architectures to keep (K)")->capture_default_str();
  cmd->add_option("--val-subset", config->val_subset, "validation images held out from the training images")
      ->capture_default_str();
  cmd->add_option("--dataset", t.dataset, "fashion-mnist | mnist | cifar10 | synthetic")->capture_default_str();
  cmd->add_option("--data-dir", t.data_dir, "directory of the dataset files")->capture_default_str();
  cmd->add_option("--train-subset", t.train_subset, "training images each sample is trained on")
      ->capture_default_str();
  cmd->add_option("--channels", t.channels, "initial channels C")->capture_default_str();
  cmd->add_option("--layers", t.layers, "number of cells (0 = the space's default)")->capture_default_str();
  cmd->add_option("--epochs", t.epochs, "training epochs per sample")->capture_default_str();
  cmd->add_option("--batch-size", t.batch_size, "batch size")->capture_default_str();
  cmd->add_option("--lr", t.lr, "initial SGD learning rate (cosine to --lr-min)")->capture_default_str();
  cmd->add_option("--lr-min", t.lr_min, "final learning rate")->capture_default_str();
  cmd->add_option("--crop-padding", t.crop_padding, "random-crop padding (0 = off)")->capture_default_str();
  cmd->add_option("--horizontal-flip", t.horizontal_flip, "random horizontal flips (true/false)")
      ->capture_default_str();
  cmd->add_option("--seed", t.seed, "random seed (architectures, split, weights, data order)")->capture_default_str();
  cmd->add_option("--device", t.device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", t.threads, "CPU threads (0 = every core)")->capture_default_str();
  cmd->add_option("--out", *out, "output directory (results.json, best_R.json, best_R.txt for shared-cell spaces)")->capture_default_str();
  return [cmd, config, ops, out]() -> int {
    if (!cmd->parsed()) return -1;
    config->ops = adarts::parse_op_list(*ops);
    return run(*config, *out);
  };
}

}  // namespace adarts::cli
