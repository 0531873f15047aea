#include "adarts/config.h"

#include <boost/json.hpp>

#include <cmath>

#include "adarts/data.h"
#include "adarts/device.h"
#include "adarts/error.h"
#include "runtime/config_json.h"
#include "runtime/run_loop.h"

namespace adarts {
namespace {

namespace json = boost::json;

// Calls visit(key, member) for every field, in the order of the JSON output.
// The one list of keys: parsing and writing both go through it.
template <class Config, class Visitor>
void for_each_field(Config& c, Visitor&& visit) {
  visit("dataset", c.dataset);
  visit("data_dir", c.data_dir);
  visit("train_subset", c.train_subset);
  visit("crop_padding", c.crop_padding);
  visit("horizontal_flip", c.horizontal_flip);
  visit("cutout", c.cutout);
  visit("space", c.space);
  visit("ops", c.ops);
  visit("channels", c.channels);
  visit("layers", c.layers);
  visit("steps", c.steps);
  visit("drop_path_prob", c.drop_path_prob);
  visit("auxiliary", c.auxiliary);
  visit("auxiliary_weight", c.auxiliary_weight);
  visit("recompute_edges", c.recompute_edges);
  visit("epochs", c.epochs);
  visit("batch_size", c.batch_size);
  visit("weight_lr", c.weight_lr);
  visit("weight_lr_min", c.weight_lr_min);
  visit("weight_momentum", c.weight_momentum);
  visit("weight_decay", c.weight_decay);
  visit("grad_clip", c.grad_clip);
  visit("arch_lr", c.arch_lr);
  visit("arch_beta1", c.arch_beta1);
  visit("arch_beta2", c.arch_beta2);
  visit("arch_weight_decay", c.arch_weight_decay);
  visit("estimator", c.estimator);
  visit("eta", c.eta);
  visit("hvp", c.hvp);
  visit("implicit_inverse", c.implicit_inverse);
  visit("implicit_iterations", c.implicit_iterations);
  visit("implicit_tolerance", c.implicit_tolerance);
  visit("implicit_damping", c.implicit_damping);
  visit("neumann_step", c.neumann_step);
  visit("fidelity_every", c.fidelity_every);
  config_json::for_each_run_field(c, visit);
}

}  // namespace

EstimatorOptions SearchConfig::estimator_options() const {
  EstimatorOptions o;
  o.name = estimator;
  o.eta = eta;
  o.hvp = parse_hvp_mode(hvp);
  o.implicit.inverse = implicit_inverse;
  o.implicit.iterations = implicit_iterations;
  o.implicit.tolerance = implicit_tolerance;
  o.implicit.damping = implicit_damping;
  o.implicit.neumann_step = neumann_step;
  return o;
}

SearchSpace SearchConfig::search_space() const {
  return make_search_space(space, parse_op_list(ops), static_cast<int>(steps));
}

int64_t SearchConfig::cell_count() const { return layers > 0 ? layers : search_space().default_layers; }

SearchConfig paper_search_config() { return SearchConfig{}; }

SearchConfig consistent_search_config() {
  SearchConfig c = paper_search_config();
  c.space = "s1";
  c.channels = 36;
  c.cutout = 16;
  c.drop_path_prob = 0.2;
  c.auxiliary = true;
  return c;
}

double search_drop_path_prob(const SearchConfig& c, int64_t epoch) {
  return linear_ramp(c.drop_path_prob, epoch, c.epochs);
}

SearchConfig quick_search_config() {
  SearchConfig c;
  c.train_subset = 640;
  c.log_every = 5;
  c.channels = 8;
  c.layers = 5;
  c.epochs = 3;
  c.batch_size = 32;
  c.crop_padding = 2;
  return c;
}

void validate(const SearchConfig& c) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw invalid_argument(message);
  };
  check_dataset_name(c.dataset);
  require(c.train_subset >= 0, "train_subset must be >= 0");
  require(c.train_subset == 0 || c.train_subset >= 2 * c.batch_size,
          "train_subset must hold at least two batches (2 * batch_size)");
  require(c.crop_padding >= 0, "crop_padding must be >= 0");
  require(c.cutout >= 0, "cutout must be >= 0 (0 = off)");
  require(std::isfinite(c.drop_path_prob) && c.drop_path_prob >= 0 && c.drop_path_prob < 1,
          "drop_path_prob must be in [0, 1)");
  require(std::isfinite(c.auxiliary_weight) && c.auxiliary_weight >= 0, "auxiliary_weight must be >= 0");
  require(c.channels >= 2 && c.channels % 2 == 0, "channels must be even and >= 2");
  require(c.layers >= 0, "layers must be >= 1 (or 0 for the space's default)");
  require(c.steps >= 1, "steps must be >= 1");
  require(c.epochs >= 1, "epochs must be >= 1");
  require(c.batch_size >= 1, "batch_size must be >= 1");
  auto positive = [&](double v, const char* name) { require(std::isfinite(v) && v > 0, std::string(name) + " must be > 0"); };
  auto non_negative = [&](double v, const char* name) { require(std::isfinite(v) && v >= 0, std::string(name) + " must be >= 0"); };
  positive(c.weight_lr, "weight_lr");
  non_negative(c.weight_lr_min, "weight_lr_min");
  require(c.weight_lr_min <= c.weight_lr, "weight_lr_min must be <= weight_lr");
  require(c.weight_momentum >= 0 && c.weight_momentum < 1, "weight_momentum must be in [0, 1)");
  non_negative(c.weight_decay, "weight_decay");
  positive(c.grad_clip, "grad_clip");
  positive(c.arch_lr, "arch_lr");
  require(c.arch_beta1 >= 0 && c.arch_beta1 < 1, "arch_beta1 must be in [0, 1)");
  require(c.arch_beta2 >= 0 && c.arch_beta2 < 1, "arch_beta2 must be in [0, 1)");
  non_negative(c.arch_weight_decay, "arch_weight_decay");
  non_negative(c.eta, "eta");
  require(c.fidelity_every >= 0, "fidelity_every must be >= 0 (0 = off)");
  validate(static_cast<const RunConfig&>(c));
  validate_batch_split(c.batch_size, c);
  validate(c.estimator_options());  // the estimator, eta and the implicit options (hvp: estimator_options() parses it)
  c.search_space();  // checks the space and op names
}

std::vector<std::string> resume_differences(const SearchConfig& saved, const SearchConfig& requested) {
  return config_json::resume_differences(to_json(saved), to_json(requested));
}

std::string to_json(const SearchConfig& config) {
  return config_json::write(config, [](auto& c, auto&& visit) { for_each_field(c, visit); });
}

SearchConfig search_config_from_json(const std::string& text, const SearchConfig& base) {
  return config_json::read(text, base, [](auto& c, auto&& visit) { for_each_field(c, visit); });
}

}  // namespace adarts
