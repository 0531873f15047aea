#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>

#include "adarts/config.h"
#include "adarts/error.h"
#include "adarts/search.h"
#include "nn/weighted_sum.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::temp_dir;

SearchConfig tiny_config(const std::string& name) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.train_subset = 64;
  c.channels = 4;
  c.layers = 2;
  c.epochs = 2;
  c.batch_size = 8;
  c.threads = 1;
  c.out_dir = temp_dir(name);
  return c;
}

Search make_search(const SearchConfig& c) { return Search(c, load_search_dataset(c)); }

TEST(Search, StepsChangeAlphasForEveryEstimator) {
  for (const char* estimator : {"first_order", "second_order", "amended"}) {
    SearchConfig c = tiny_config(estimator);
    c.estimator = estimator;
    Search search(c, load_search_dataset(c));
    const at::Tensor before = search.alphas_normal();
    const StepResult r = search.step();
    search.step();
    EXPECT_TRUE(std::isfinite(r.train_loss));
    EXPECT_FALSE(at::equal(before, search.alphas_normal())) << estimator;
  }
}

TEST(Search, SameSeedGivesIdenticalAlphas) {
  SearchConfig c = tiny_config("seed");
  auto run = [](const SearchConfig& config) {
    Search s(config, load_search_dataset(config));
    for (int i = 0; i < 3; ++i) s.step();
    return std::make_pair(s.alphas_normal(), s.alphas_reduce());
  };
  const auto a = run(c), b = run(c);
  EXPECT_TRUE(at::equal(a.first, b.first));
  EXPECT_TRUE(at::equal(a.second, b.second));
  c.seed = 3;
  EXPECT_FALSE(at::equal(a.first, run(c).first));
}

// The fused edge sums (src/nn/weighted_sum.h) change only how the alphas'
// gradients <g, y_k> are summed (in double instead of LibTorch's float sum).
// Over five float steps that moves first-order's alphas by ~1e-6 of the
// steps' own move. The finite-difference products divide float gradient
// differences by 2r, and Adam's first steps normalise tiny gradients, so
// there a last-bit change grows to a few percent of the move (measured
// 1.6-8.7 %, bench/RESULTS.md); the bounds have a margin of 3 or more. In
// double the difference stays at rounding level for every estimator
// (Supernet.FusedEdgeSumsMatchTheUnfusedOnesOverStepsInDouble).
TEST(Search, FusedEdgeSumsStayWithinABoundOfTheUnfusedOnes) {
  struct Case {
    const char* estimator;
    const char* hvp;
    double bound;
  };
  for (const Case& e : {Case{"first_order", "finite_difference", 1e-5}, Case{"second_order", "finite_difference", 0.3},
                        Case{"amended", "finite_difference", 0.1}, Case{"amended", "exact", 0.1}}) {
    SCOPED_TRACE(std::string(e.estimator) + " " + e.hvp);
    SearchConfig c = tiny_config(std::string("fused_") + e.estimator + e.hvp);
    c.estimator = e.estimator;
    c.hvp = e.hvp;
    auto run = [&](bool fused) {
      set_fused_weighted_sum(fused);
      Search s(c, load_search_dataset(c));
      const at::Tensor start = at::cat({s.alphas_normal(), s.alphas_reduce()});
      for (int i = 0; i < 5; ++i) s.step();
      set_fused_weighted_sum(true);
      return std::make_pair(start, at::cat({s.alphas_normal(), s.alphas_reduce()}));
    };
    const auto unfused = run(false), fused = run(true);
    ASSERT_TRUE(at::equal(unfused.first, fused.first));
    const double moved = (unfused.second - unfused.first).abs().max().item<double>();
    const double differ = (fused.second - unfused.second).abs().max().item<double>();
    std::printf("[ measured ] %s %s: alphas moved %.3g, fused - unfused %.3g (%.3g of the move)\n", e.estimator, e.hvp,
                moved, differ, differ / moved);
    EXPECT_GT(moved, 0.0);
    EXPECT_LT(differ, e.bound * moved);
  }
}

TEST(Search, EpochWritesOneMetricsLineWithAlphasAndGenotype) {
  SearchConfig c = tiny_config("metrics");
  Search search(c, load_search_dataset(c));
  int calls = 0;
  bool completed = false;
  const EpochSummary s = search.run_epoch([&](const SearchProgress& p) {
    ++calls;
    EXPECT_EQ(p.step, calls);
    return true;
  }, &completed);
  EXPECT_TRUE(completed);
  EXPECT_EQ(calls, search.steps_per_epoch());
  EXPECT_EQ(search.epoch(), 1);
  EXPECT_GE(s.val_accuracy, 0.0);
  EXPECT_LE(s.val_accuracy, 1.0);
  search.run_epoch();

  std::ifstream in(c.out_dir + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    const boost::json::object o = boost::json::parse(line).as_object();
    EXPECT_EQ(o.at("epoch").as_int64(), lines);
    for (const char* key : {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "weight_lr"}) {
      EXPECT_TRUE(o.contains(key)) << key;
    }
    const auto& normal = o.at("alpha_softmax").at("normal").as_array();
    ASSERT_EQ(normal.size(), 14u);
    double row_sum = 0;
    for (const auto& v : normal[0].as_array()) row_sum += v.as_double();
    EXPECT_NEAR(row_sum, 1.0, 1e-6);
    EXPECT_EQ(o.at("genotype").at("normal").as_array().size(), 8u);
  }
  EXPECT_EQ(lines, 2);
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/genotype.json"));
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/genotype.txt"));
}

TEST(Search, CallbackCanStopTheEpoch) {
  SearchConfig c = tiny_config("stop");
  Search search(c, load_search_dataset(c));
  bool completed = true;
  search.run_epoch([](const SearchProgress& p) { return p.step < 2; }, &completed);
  EXPECT_FALSE(completed);
  EXPECT_EQ(search.step_in_epoch(), 2);
  EXPECT_EQ(search.epoch(), 0);
  search.run_epoch(nullptr, &completed);  // resumes the open epoch
  EXPECT_TRUE(completed);
  EXPECT_EQ(search.epoch(), 1);
}

TEST(Search, CosineScheduleGoesFromLrToLrMin) {
  SearchConfig c = tiny_config("lr");
  c.epochs = 4;
  Search search(c, load_search_dataset(c));
  EXPECT_DOUBLE_EQ(search.current_weight_lr(), c.weight_lr);
  search.run_epoch();
  search.run_epoch();
  EXPECT_NEAR(search.current_weight_lr(), 0.5 * (c.weight_lr + c.weight_lr_min), 1e-12);
}

TEST(Config, JsonRoundTripAndErrors) {
  SearchConfig c = quick_search_config();
  c.eta = 0.25;
  c.estimator = "second_order";
  const SearchConfig back = search_config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_THROW(search_config_from_json("{\"etta\": 1}"), Error);
  EXPECT_THROW(search_config_from_json("{\"eta\": \"big\"}"), Error);
  EXPECT_THROW(search_config_from_json("{\"epochs\": 1.5}"), Error);
  EXPECT_THROW(search_config_from_json("{\"epochs\": 1} trailing"), Error);
  EXPECT_THROW(search_config_from_json("[1]"), Error);
  try {
    search_config_from_json("{\"etta\": 1}");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("etta"), std::string::npos);
    EXPECT_EQ(e.kind(), ErrorKind::parse_error);
  }
}

// Every rule of validate(SearchConfig): the error is invalid_argument and names the key.
TEST(Config, EveryValidationRuleRejectsAndNamesTheKey) {
  auto rejects = [](const char* key, const std::function<void(SearchConfig&)>& mutate) {
    SearchConfig c = quick_search_config();
    mutate(c);
    try {
      validate(c);
      ADD_FAILURE() << "validate accepted a bad " << key;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << e.what();
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what() << " does not name " << key;
    }
  };
  rejects("dataset", [](SearchConfig& c) { c.dataset = "imagenet"; });
  rejects("train_subset", [](SearchConfig& c) { c.train_subset = -1; });
  rejects("train_subset", [](SearchConfig& c) { c.train_subset = 10; });  // fewer than two batches
  rejects("crop_padding", [](SearchConfig& c) { c.crop_padding = -1; });
  rejects("channels", [](SearchConfig& c) { c.channels = 3; });
  rejects("layers", [](SearchConfig& c) { c.layers = -1; });
  rejects("cutout", [](SearchConfig& c) { c.cutout = -1; });
  rejects("drop_path_prob", [](SearchConfig& c) { c.drop_path_prob = 1.0; });
  rejects("drop_path_prob", [](SearchConfig& c) { c.drop_path_prob = std::nan(""); });
  rejects("auxiliary_weight", [](SearchConfig& c) { c.auxiliary_weight = -0.1; });
  rejects("steps", [](SearchConfig& c) { c.steps = 0; });
  rejects("epochs", [](SearchConfig& c) { c.epochs = 0; });
  rejects("batch_size", [](SearchConfig& c) { c.batch_size = 0; });
  rejects("weight_lr", [](SearchConfig& c) { c.weight_lr = 0; });
  rejects("weight_lr_min", [](SearchConfig& c) { c.weight_lr_min = -1; });
  rejects("weight_lr_min", [](SearchConfig& c) { c.weight_lr_min = 1.0; });
  rejects("weight_momentum", [](SearchConfig& c) { c.weight_momentum = 1.0; });
  rejects("weight_decay", [](SearchConfig& c) { c.weight_decay = -1e-4; });
  rejects("grad_clip", [](SearchConfig& c) { c.grad_clip = std::nan(""); });
  rejects("arch_lr", [](SearchConfig& c) { c.arch_lr = -3e-4; });
  rejects("arch_beta1", [](SearchConfig& c) { c.arch_beta1 = 1.0; });
  rejects("arch_beta2", [](SearchConfig& c) { c.arch_beta2 = -0.1; });
  rejects("arch_weight_decay", [](SearchConfig& c) { c.arch_weight_decay = -1; });
  rejects("eta", [](SearchConfig& c) { c.eta = -1; });
  rejects("threads", [](SearchConfig& c) { c.threads = -1; });
  rejects("log_every", [](SearchConfig& c) { c.log_every = 0; });
  rejects("out_dir", [](SearchConfig& c) { c.out_dir = ""; });
  rejects("checkpoint_every", [](SearchConfig& c) { c.checkpoint_every = -1; });
  rejects("checkpoint_keep", [](SearchConfig& c) { c.checkpoint_keep = -2; });
  rejects("nan_policy", [](SearchConfig& c) { c.nan_policy = "ignore"; });
  rejects("zeroth_order", [](SearchConfig& c) { c.estimator = "zeroth_order"; });
  rejects("magic", [](SearchConfig& c) { c.hvp = "magic"; });
  rejects("s9", [](SearchConfig& c) { c.space = "s9"; });
  rejects("conv_9x9", [](SearchConfig& c) { c.ops = "skip_connect,conv_9x9"; });
  EXPECT_NO_THROW(validate(quick_search_config()));
  EXPECT_NO_THROW(validate(paper_search_config()));
}

TEST(Config, UnknownKeysSuggestTheNearestKnownOne) {
  auto message = [](const std::string& json) {
    try {
      search_config_from_json(json);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::parse_error);
      return std::string(e.what());
    }
    ADD_FAILURE() << json << " was accepted";
    return std::string();
  };
  EXPECT_NE(message(R"({"etta": 1})").find("did you mean 'eta'?"), std::string::npos);
  EXPECT_NE(message(R"({"batchsize": 8})").find("did you mean 'batch_size'?"), std::string::npos);
  EXPECT_NE(message(R"({"wieght_lr": 0.1})").find("did you mean 'weight_lr'?"), std::string::npos);
  // Nothing close: no suggestion, but the key is named.
  const std::string far = message(R"({"colour": "red"})");
  EXPECT_NE(far.find("'colour'"), std::string::npos);
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(Config, OutputDirectoryMustBeWritable) {
  const std::string dir = temp_dir("writable") + "/nested/out";
  EXPECT_NO_THROW(check_writable_directory(dir));
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  // A directory cannot be made under a regular file (holds for root too).
  const std::string file = temp_dir("writable_file") + "/a_file";
  std::ofstream(file) << "x";
  try {
    check_writable_directory(file + "/out");
    ADD_FAILURE() << "a directory under a file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io_error);
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_writable_directory(""), Error);
}

TEST(Config, ResumeDifferencesListChangedKeysOnly) {
  const SearchConfig saved = quick_search_config();
  SearchConfig requested = saved;
  requested.threads = 7;
  requested.log_every = 3;
  requested.checkpoint_keep = 9;
  requested.out_dir = "/elsewhere";
  EXPECT_TRUE(resume_differences(saved, requested).empty());
  requested.eta = 0.5;
  requested.epochs = 40;
  const auto d = resume_differences(saved, requested);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "epochs: 3 -> 40");
  EXPECT_EQ(d[1].rfind("eta: ", 0), 0u) << d[1];
}

TEST(Search, ClearErrorsForBadDeviceAndTooLittleData) {
  SearchConfig c = tiny_config("device");
  c.device = "tpu";
  EXPECT_THROW(make_search(c), Error);
  c.device = "cuda:0";
  if (!at::hasCUDA()) {
    EXPECT_THROW(make_search(c), Error);
  }
  c = tiny_config("small");
  Dataset data = load_search_dataset(c);
  EXPECT_THROW(Search(c, head(data, 10)), Error);
}

}  // namespace
}  // namespace adarts
