// `adarts search`: options, presets, config file, the epoch loop with progress.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <fstream>
#include <sstream>
#include <vector>

#include "adarts/config.h"
#include "adarts/error.h"
#include "adarts/progress.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "commands.h"
#include "run_command.h"

namespace {

using adarts::SearchConfig;

using SearchOptions = adarts::cli::ConfigOptions<SearchConfig>;

// Where a run starts: a fresh config, or the newest checkpoint of a run to continue.
struct RunStart {
  SearchConfig config;
  std::string checkpoint;  // empty for a fresh run
};

RunStart resume_start(const std::string& dir, const std::function<void(SearchConfig&)>& apply_user_options) {
  const adarts::Search::ResumePoint point = adarts::Search::resume_point(dir, apply_user_options);
  for (const auto& reason : point.skipped) spdlog::warn("skipping a checkpoint that does not load: {}", reason);
  return RunStart{point.config, point.checkpoint};
}

void log_setup(adarts::Search& search, const adarts::Dataset& data) {
  const SearchConfig& config = search.config();
  int64_t params = 0;
  for (const auto& w : search.supernet().weights()) params += w.numel();
  spdlog::info("data: {} images {}x{}x{}, {} classes -> {} train / {} validation", data.size(), data.channels(),
               data.height(), data.width(), data.num_classes, data.size() - data.size() / 2, data.size() / 2);
  spdlog::info("supernet: C={} layers={} steps={}, {:.2f}M weights; estimator {} (eta {}, hvp {}); {} epochs x {} steps, "
               "batch {}, device {}, {} threads",
               config.channels, config.layers, config.steps, static_cast<double>(params) / 1e6, config.estimator,
               config.eta, config.hvp, config.epochs, search.steps_per_epoch(), config.batch_size, config.device,
               at::get_num_threads());
  if (config.cutout > 0 || config.drop_path_prob > 0 || config.auxiliary) {
    spdlog::info("consistency options: cutout {}, drop-path {} (ramped over epochs), auxiliary head {}", config.cutout,
                 config.drop_path_prob, config.auxiliary ? fmt::format("weight {}", config.auxiliary_weight) : "off");
  }
}

void log_epoch(const adarts::Search& search, const adarts::EpochSummary& s) {
  const SearchConfig& config = search.config();
  spdlog::info("epoch {}/{}: train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f} | lr {:.5f} | {}", s.epoch + 1,
               config.epochs, s.train_loss, s.train_accuracy, s.val_loss, s.val_accuracy, s.weight_lr,
               adarts::format_duration(s.seconds));
  spdlog::info("collapse: none weight {:.3f} | skip share {:.2f} | parameter-free share {:.2f}{}",
               s.collapse.none_weight_mean, s.collapse.skip_share, s.collapse.parameter_free_share,
               search.skipped_steps() > 0 ? fmt::format(" | {} steps skipped (non-finite)", search.skipped_steps())
                                          : std::string());
  if (!s.fidelity.empty()) spdlog::info("fidelity: {}", s.fidelity);
  spdlog::info("genotype: {}", adarts::summary_line(s.genotype));
}

int run_search(const RunStart& start, const std::string& preset_note, bool overwrite) {
  const SearchConfig& config = start.config;
  adarts::validate(config);
  adarts::cli::label_rank_logs(config);
  if (adarts::cli::writes_results(config)) adarts::check_writable_directory(config.out_dir);
  if (start.checkpoint.empty() && adarts::cli::writes_results(config)) {
    spdlog::info("{}", preset_note);
    adarts::cli::refuse_earlier_run("search", config.out_dir, adarts::Search::latest_checkpoint(config.out_dir), overwrite);
  }
  spdlog::info("loading {} from {}", config.dataset, config.dataset == "synthetic" ? "(generated)" : config.data_dir);
  adarts::Dataset data = adarts::load_search_dataset(config);
  adarts::Search search(config, data);
  if (!start.checkpoint.empty()) {
    search.load_checkpoint(start.checkpoint);
    spdlog::info("resumed from {}: epoch {}/{}, step {}/{}", start.checkpoint, search.epoch() + 1, config.epochs,
                 search.step_in_epoch(), search.steps_per_epoch());
  }
  log_setup(search, data);
  const int status =
      adarts::cli::run_epochs(search, "search", [&](const adarts::EpochSummary& s) { log_epoch(search, s); });
  if (status != 0 || !adarts::cli::writes_results(config)) return status;
  const adarts::Genotype final_genotype = search.genotype();
  fmt::print("{}\n", adarts::summary_line(final_genotype));
  fmt::print("{}", adarts::to_table(final_genotype));
  spdlog::info("wrote {0}/genotype.json, {1}{0}/metrics.jsonl, {0}/alphas.json, {0}/config.json, {0}/checkpoints/",
               config.out_dir, final_genotype.per_cell() ? "" : config.out_dir + "/genotype.txt, ");
  return 0;
}

}  // namespace

namespace adarts::cli {

// One line per option: a table more than a function (its length is its option count).
std::function<int()> add_search_command(CLI::App& app) {
  CLI::App* search = app.add_subcommand("search", "search an architecture on a dataset");
  auto preset = std::make_shared<std::string>("quick");
  auto config_file = std::make_shared<std::string>();
  search->add_option("--preset", *preset,
                     "quick: a small supernet on 640 images (minutes on 2 cores); paper: the paper's setting; "
                     "consistent: the paper's setting with search and evaluation made consistent (s1, C=36, "
                     "cutout, drop-path, auxiliary head; paper 4.1.2)")
      ->check(CLI::IsMember({"quick", "paper", "consistent"}));
  search->add_option("--config", *config_file, "JSON config file (keys as the options, snake_case)");
  auto options = std::make_shared<SearchOptions>(*search);
  options->add("--dataset", &SearchConfig::dataset, "fashion-mnist | mnist | cifar10 | synthetic");
  options->add("--data-dir", &SearchConfig::data_dir, "directory of the dataset files");
  options->add("--train-subset", &SearchConfig::train_subset, "use the first N training images (0 = all)");
  options->add("--crop-padding", &SearchConfig::crop_padding, "random-crop padding (0 = off)");
  options->add("--horizontal-flip", &SearchConfig::horizontal_flip, "random horizontal flips (true/false)");
  options->add("--cutout", &SearchConfig::cutout, "cutout square side on training batches (0 = off; paper 4.1.2)");
  options->add("--space", &SearchConfig::space, "search space: darts | s1 | s2 (s2: one alpha set per cell; the paper uses 20 cells)");
  options->add("--ops", &SearchConfig::ops, "comma-separated op subset replacing the space's ops");
  options->add("--channels", &SearchConfig::channels, "initial channels C of the supernet");
  options->add("--layers", &SearchConfig::layers, "number of cells (0 = the space's default: 8, s2 20)");
  options->add("--steps", &SearchConfig::steps, "intermediate nodes per cell");
  options->add("--drop-path-prob", &SearchConfig::drop_path_prob,
               "drop-path on candidate ops, ramped linearly over epochs (0 = off; paper 4.1.2)");
  options->add("--auxiliary", &SearchConfig::auxiliary, "auxiliary head during search (true/false; paper 4.1.2)");
  options->add("--auxiliary-weight", &SearchConfig::auxiliary_weight, "weight of the auxiliary loss");
  options->add("--recompute-edges", &SearchConfig::recompute_edges,
               "keep only each mixed edge's input and recompute its operations in the backward pass (less memory, "
               "same gradients; true/false)");
  options->add("--epochs", &SearchConfig::epochs, "search epochs");
  options->add("--batch-size", &SearchConfig::batch_size, "batch size (train and validation)");
  options->add("--weight-lr", &SearchConfig::weight_lr, "initial SGD learning rate of the weights");
  options->add("--weight-lr-min", &SearchConfig::weight_lr_min, "final (cosine) learning rate of the weights");
  options->add("--weight-momentum", &SearchConfig::weight_momentum, "SGD momentum");
  options->add("--weight-decay", &SearchConfig::weight_decay, "SGD weight decay");
  options->add("--grad-clip", &SearchConfig::grad_clip, "gradient-norm clip of the weights");
  options->add("--arch-lr", &SearchConfig::arch_lr, "Adam learning rate of the alphas");
  options->add("--arch-beta1", &SearchConfig::arch_beta1, "Adam beta1 of the alphas");
  options->add("--arch-beta2", &SearchConfig::arch_beta2, "Adam beta2 of the alphas");
  options->add("--arch-weight-decay", &SearchConfig::arch_weight_decay, "Adam weight decay of the alphas");
  options->add("--estimator", &SearchConfig::estimator, "first_order | second_order | amended | implicit");
  options->add("--eta", &SearchConfig::eta, "amending coefficient of the amended estimator");
  options->add("--hvp", &SearchConfig::hvp, "finite_difference | exact (double backward)");
  options->add("--implicit-inverse", &SearchConfig::implicit_inverse, "implicit estimator / probe: cg | neumann");
  options->add("--implicit-iterations", &SearchConfig::implicit_iterations, "implicit: Hessian-vector products at most");
  options->add("--implicit-tolerance", &SearchConfig::implicit_tolerance, "implicit: relative residual to stop at");
  options->add("--implicit-damping", &SearchConfig::implicit_damping, "implicit: lambda of (H + lambda I)^-1");
  options->add("--neumann-step", &SearchConfig::neumann_step, "implicit: Neumann series step");
  options->add("--fidelity-every", &SearchConfig::fidelity_every,
               "a fidelity probe (g2 vs amended / second-order terms) every N steps (0 = off)");
  options->add("--seed", &SearchConfig::seed, "random seed");
  options->add("--device", &SearchConfig::device, "cpu | cuda | cuda:N");
  options->add("--precision", &SearchConfig::precision, "fp32 | bf16 (bf16: convolutions under autocast, alphas/BN/losses in fp32)");
  options->add("--threads", &SearchConfig::threads, "CPU threads (0 = every core)");
  options->add("--out", &SearchConfig::out_dir, "output directory");
  options->add("--log-every", &SearchConfig::log_every, "progress line every N steps when not on a terminal");
  options->add("--checkpoint-every", &SearchConfig::checkpoint_every,
               "also checkpoint every N steps (0 = at epoch ends only)");
  options->add("--checkpoint-keep", &SearchConfig::checkpoint_keep, "keep the newest N checkpoints (0 = none)");
  options->add("--nan-policy", &SearchConfig::nan_policy,
               "stop: a non-finite loss or gradient ends the run; skip: skip that update and count it");
  adarts::cli::add_data_parallel_options(*options);
  auto resume_dir = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  search->add_option("--resume", *resume_dir,
                     "continue the run in this directory from its newest checkpoint (options given must match)");
  search->add_flag("--overwrite", *overwrite, "start afresh in an --out that holds an earlier run's checkpoints");
  return [search, preset, config_file, options, resume_dir, overwrite]() -> int {
    if (!search->parsed()) return -1;
    auto apply_user_options = [&](SearchConfig& config) {
      if (!config_file->empty()) config = adarts::search_config_from_json(read_text_file(*config_file), config);
      options->apply(config);
    };
    if (!resume_dir->empty()) return run_search(resume_start(*resume_dir, apply_user_options), "", false);
    RunStart start;
    start.config = *preset == "paper"        ? adarts::paper_search_config()
                   : *preset == "consistent" ? adarts::consistent_search_config()
                                             : adarts::quick_search_config();
    apply_user_options(start.config);
    const std::string note =
        *preset == "paper"        ? "preset 'paper': the paper's search setting (docs/configuration.md)"
        : *preset == "consistent" ? "preset 'consistent': the paper's setting with the consistency options of its "
                                    "section 4.1.2 (s1, C=36, cutout 16, drop-path 0.2, auxiliary head)"
                                  : "preset 'quick': a small supernet on a subset, for a first run in minutes -- not "
                                    "the paper's setting (use --preset paper)";
    return run_search(start, note, *overwrite);
  };
}

}  // namespace adarts::cli

