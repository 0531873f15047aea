// TrainConfig: its keys (the one list, for JSON in and out), presets,
// validation and schedules. Mirrors src/search/search_config.cpp.
#include "adarts/train_config.h"

#include <cmath>

#include "adarts/data.h"
#include "adarts/error.h"
#include "runtime/config_json.h"
#include "runtime/run_loop.h"

namespace adarts {
namespace {

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
  config_json::for_each_run_field(c, visit);
}

}  // namespace

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
  check_dataset_name(c.dataset);
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
  validate(static_cast<const RunConfig&>(c));
  validate_batch_split(c.batch_size, c);
}

std::vector<std::string> resume_differences(const TrainConfig& saved, const TrainConfig& requested) {
  return config_json::resume_differences(to_json(saved), to_json(requested));
}

std::string to_json(const TrainConfig& config) {
  return config_json::write(config, [](auto& c, auto&& visit) { for_each_field(c, visit); });
}

TrainConfig train_config_from_json(const std::string& text, const TrainConfig& base) {
  return config_json::read(text, base, [](auto& c, auto&& visit) { for_each_field(c, visit); });
}

double train_learning_rate(const TrainConfig& c, int64_t epoch) {
  return cosine_schedule(c.lr, c.lr_min, epoch, c.epochs);
}

double train_drop_path_prob(const TrainConfig& c, int64_t epoch) {
  return linear_ramp(c.drop_path_prob, epoch, c.epochs);
}

}  // namespace adarts
