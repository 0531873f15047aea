// The random-search baseline: the architecture sampler, the held-out
// validation split and a tiny end-to-end search.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "adarts/error.h"
#include "adarts/genotype.h"
#include "adarts/random_search.h"
#include "adarts/search_space.h"

namespace {

using adarts::Genotype;

std::set<std::string> ops_used(const std::vector<Genotype>& genotypes) {
  std::set<std::string> ops;
  for (const auto& g : genotypes)
    for (const auto* cell : {&g.normal, &g.reduce})
      for (const auto& e : cell->edges) ops.insert(e.op);
  return ops;
}

TEST(RandomSearchSampler, BelowIsUniform) {
  adarts::ArchitectureSampler sampler(3);
  std::vector<int> counts(7, 0);
  const int draws = 70000;
  for (int i = 0; i < draws; ++i) ++counts[sampler.below(7)];
  // Each count is binomial(70000, 1/7): mean 10000, sd ~93; 5 sd = 465.
  for (int c : counts) EXPECT_NEAR(c, 10000, 465);
  EXPECT_EQ(sampler.below(1), 0u);
  EXPECT_THROW(sampler.below(0), adarts::Error);
}

TEST(RandomSearchSampler, GenotypesAreValidAndDeterministicBySeed) {
  for (const char* name : {"darts", "s1"}) {
    const adarts::SearchSpace space = adarts::make_search_space(name);
    const auto a = adarts::sample_genotypes(space, 50, 7);
    const auto b = adarts::sample_genotypes(space, 50, 7);
    const auto c = adarts::sample_genotypes(space, 50, 8);
    ASSERT_EQ(a.size(), 50u);
    EXPECT_EQ(a, b) << name;
    EXPECT_NE(a, c) << name;
    for (const auto& g : a) {
      EXPECT_NO_THROW(adarts::validate_genotype(g));
      EXPECT_EQ(g.space, name);
      for (const auto* cell : {&g.normal, &g.reduce}) {
        ASSERT_EQ(cell->edges.size(), 8u);
        EXPECT_EQ(cell->concat, (std::vector<int>{2, 3, 4, 5}));
        for (std::size_t k = 0; k < 8; k += 2) {
          const auto& first = cell->edges[k];
          const auto& second = cell->edges[k + 1];
          EXPECT_EQ(first.to, static_cast<int>(2 + k / 2));
          EXPECT_EQ(second.to, first.to);
          EXPECT_LT(first.from, second.from);  // distinct inputs
          EXPECT_LT(second.from, second.to);
          if (std::string(name) == "s1") {  // the fixed chain: c_{k-2} and the previous node
            EXPECT_EQ(first.from, 0);
            EXPECT_EQ(second.from, first.to - 1);
          }
        }
      }
    }
  }
}

TEST(RandomSearchSampler, EveryOpAndInputAppearsRoughlyUniformly) {
  const adarts::SearchSpace space = adarts::make_search_space("darts");
  const auto genotypes = adarts::sample_genotypes(space, 300, 11);
  std::map<std::string, int> op_counts;
  std::map<int, int> node5_inputs;
  for (const auto& g : genotypes) {
    for (const auto* cell : {&g.normal, &g.reduce}) {
      for (const auto& e : cell->edges) {
        ++op_counts[e.op];
        if (e.to == 5) ++node5_inputs[e.from];
      }
    }
  }
  // 300 genotypes x 2 cells x 8 edges over the 7 ops other than none.
  EXPECT_EQ(op_counts.size(), 7u);
  EXPECT_EQ(op_counts.count("none"), 0u);
  const double expected_op = 4800.0 / 7.0;  // sd ~24
  for (const auto& [op, n] : op_counts) EXPECT_NEAR(n, expected_op, 130) << op;
  // Node 5 keeps 2 of its 5 inputs: each is kept in 2/5 of 600 cells (sd ~12).
  ASSERT_EQ(node5_inputs.size(), 5u);
  for (const auto& [from, n] : node5_inputs) EXPECT_NEAR(n, 240, 65) << "input " << from;
}

TEST(RandomSearchSampler, RespectsAnOpSubset) {
  const adarts::SearchSpace space = adarts::make_search_space("s1", {"none", "skip_connect", "sep_conv_3x3"});
  const auto genotypes = adarts::sample_genotypes(space, 40, 1);
  EXPECT_EQ(ops_used(genotypes), (std::set<std::string>{"skip_connect", "sep_conv_3x3"}));
  const adarts::SearchSpace one = adarts::make_search_space("darts", {"dil_conv_5x5"});
  EXPECT_EQ(ops_used(adarts::sample_genotypes(one, 5, 1)), (std::set<std::string>{"dil_conv_5x5"}));
}

// s2: one independently drawn cell per layer, every fixed edge kept with
// skip_connect or sep_conv_3x3, reductions at layers/3 and 2*layers/3.
TEST(RandomSearchSampler, PerCellSpaceDrawsOneCellPerLayer) {
  const adarts::SearchSpace s2 = adarts::make_search_space("s2");
  const auto genotypes = adarts::sample_genotypes(s2, 3, 7);
  ASSERT_EQ(genotypes.size(), 3u);
  const Genotype& g = genotypes[0];
  ASSERT_TRUE(g.per_cell());
  ASSERT_EQ(g.cells.size(), 20u);  // the space's default
  std::set<std::string> ops;
  std::set<std::vector<std::string>> distinct_cells;
  for (std::size_t i = 0; i < g.cells.size(); ++i) {
    EXPECT_EQ(g.reduction[i], i == 6 || i == 13) << "cell " << i;
    ASSERT_EQ(g.cells[i].edges.size(), s2.edges.size());
    std::vector<std::string> cell_ops;
    for (std::size_t e = 0; e < s2.edges.size(); ++e) {
      EXPECT_EQ(g.cells[i].edges[e].from, s2.edges[e].from);
      EXPECT_EQ(g.cells[i].edges[e].to, s2.edges[e].to);
      ops.insert(g.cells[i].edges[e].op);
      cell_ops.push_back(g.cells[i].edges[e].op);
    }
    distinct_cells.insert(cell_ops);
  }
  EXPECT_EQ(ops, (std::set<std::string>{"skip_connect", "sep_conv_3x3"}));
  EXPECT_GT(distinct_cells.size(), 10u);  // 2^8 choices per cell: 20 draws are mostly distinct
  EXPECT_FALSE(genotypes[0] == genotypes[1]);
  EXPECT_EQ(adarts::sample_genotypes(s2, 3, 7), genotypes);  // deterministic by seed
  const auto five = adarts::sample_genotypes(s2, 1, 7, /*layers=*/5);
  EXPECT_EQ(five[0].cells.size(), 5u);
  EXPECT_EQ(five[0].reduction, (std::vector<bool>{false, true, false, true, false}));
}

adarts::RandomSearchConfig tiny_config() {
  adarts::RandomSearchConfig c;
  c.space = "s1";
  c.samples = 3;
  c.keep = 2;
  c.val_subset = 32;
  c.train.dataset = "synthetic";
  c.train.train_subset = 32;
  c.train.channels = 4;
  c.train.layers = 3;
  c.train.epochs = 1;
  c.train.batch_size = 16;
  c.train.threads = 1;
  c.train.seed = 5;
  return c;
}

TEST(RandomSearch, ValidationIsHeldOutFromTheTrainingImages) {
  adarts::RandomSearchConfig config = tiny_config();
  const auto [train, val] = adarts::random_search_data(config);
  ASSERT_EQ(train.size(), 32);
  ASSERT_EQ(val.size(), 32);
  adarts::TrainConfig whole = config.train;
  whole.train_subset = 64;  // test_subset as the search's: the same generated set
  const adarts::Dataset all = adarts::load_train_dataset(whole, true);
  const adarts::Dataset test = adarts::load_train_dataset(whole, false);
  auto rows = [](const adarts::Dataset& d) { return d.images.reshape({d.size(), -1}).to(at::kLong); };
  const at::Tensor a = rows(all), t = rows(train), v = rows(val), x = rows(test);
  auto index_in = [](const at::Tensor& row, const at::Tensor& set) {
    const at::Tensor hits = set.eq(row.unsqueeze(0)).all(1).nonzero();
    return hits.size(0) > 0 ? hits[0].item<int64_t>() : -1;
  };
  std::set<int64_t> seen;
  for (int64_t i = 0; i < 32; ++i) {
    const int64_t in_val = index_in(v[i], a);
    EXPECT_GE(in_val, 0) << "validation image " << i << " is not a training image";
    EXPECT_EQ(index_in(v[i], t), -1) << "validation image " << i << " is also trained on";
    EXPECT_EQ(index_in(v[i], x), -1) << "validation image " << i << " is a test image";
    seen.insert(in_val);
    seen.insert(index_in(t[i], a));
  }
  EXPECT_EQ(seen.size(), 64u);  // together, all 64 training images once

  config.val_subset = 0;
  EXPECT_THROW(adarts::random_search_data(config), adarts::Error);
  config.val_subset = 10;
  config.keep = 4;
  EXPECT_THROW(adarts::random_search_data(config), adarts::Error);  // keep > samples
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(RandomSearch, TinySearchKeepsTheBestTwoInOrder) {
  const adarts::RandomSearchConfig config = tiny_config();
  const auto [train, val] = adarts::random_search_data(config);
  int calls = 0;
  const adarts::RandomSearchResult result = adarts::run_random_search(
      config, train, val, [&](const adarts::RandomSearchCandidate&, const adarts::RandomSearchResult& so_far) {
        EXPECT_EQ(so_far.ranked.size(), static_cast<std::size_t>(++calls));
      });
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(result.ranked.size(), 3u);
  const auto expected = adarts::sample_genotypes(adarts::make_search_space("s1"), 3, config.train.seed);
  std::set<int64_t> samples;
  for (const auto& c : result.ranked) {
    samples.insert(c.sample);
    EXPECT_EQ(c.genotype, expected[static_cast<std::size_t>(c.sample)]);
    EXPECT_GE(c.val_accuracy, 0.0);
    EXPECT_LE(c.val_accuracy, 1.0);
    EXPECT_TRUE(std::isfinite(c.val_loss));
    EXPECT_GT(c.parameters, 0);
    EXPECT_GT(c.seconds, 0.0);
  }
  EXPECT_EQ(samples.size(), 3u);
  const auto best = result.best(config.keep);
  ASSERT_EQ(best.size(), 2u);
  for (const auto& c : best) EXPECT_NO_THROW(adarts::validate_genotype(c.genotype));
  EXPECT_FALSE(adarts::better_candidate(best[1], best[0]));
  EXPECT_GE(best[0].val_accuracy, best[1].val_accuracy);
  EXPECT_GE(best[1].val_accuracy, result.ranked[2].val_accuracy);

  // The outputs: results.json ranked, best_1/2 as JSON and DARTS text.
  const std::string dir = (std::filesystem::temp_directory_path() / "adarts_test_random_search").string();
  std::filesystem::remove_all(dir);
  const auto files = adarts::write_random_search_outputs(config, result, dir);
  ASSERT_EQ(files.size(), 5u);
  const boost::json::value doc = boost::json::parse(read_file(dir + "/results.json"));
  EXPECT_EQ(doc.at("format").as_string(), "adarts.random_search");
  const auto& rows = doc.at("results").as_array();
  ASSERT_EQ(rows.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i].at("rank").to_number<int64_t>(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(rows[i].at("kept").as_bool(), i < 2);
    EXPECT_DOUBLE_EQ(rows[i].at("val_accuracy").to_number<double>(), result.ranked[i].val_accuracy);
    EXPECT_EQ(adarts::genotype_from_json(boost::json::serialize(rows[i].at("genotype"))), result.ranked[i].genotype);
  }
  std::string metadata;
  EXPECT_EQ(adarts::genotype_from_json(read_file(dir + "/best_2.json"), &metadata), best[1].genotype);
  EXPECT_NE(metadata.find("\"rank\":2"), std::string::npos) << metadata;
  const Genotype text = adarts::from_darts_text(read_file(dir + "/best_1.txt"));
  EXPECT_EQ(text.normal, best[0].genotype.normal);
  EXPECT_EQ(text.reduce, best[0].genotype.reduce);
  std::filesystem::remove_all(dir);

  // The same seed gives the same scores (1 CPU thread).
  adarts::RandomSearchConfig one = config;
  one.samples = 1;
  one.keep = 1;
  const auto again = adarts::run_random_search(one, train, val);
  const auto it = std::find_if(result.ranked.begin(), result.ranked.end(), [](const auto& c) { return c.sample == 0; });
  ASSERT_EQ(again.ranked.size(), 1u);
  EXPECT_DOUBLE_EQ(again.ranked[0].val_loss, it->val_loss);
  EXPECT_DOUBLE_EQ(again.ranked[0].val_accuracy, it->val_accuracy);
}

TEST(RandomSearch, PerCellSpaceTrainsTheSampledNetworks) {
  adarts::RandomSearchConfig config = tiny_config();
  config.space = "s2";
  config.samples = 2;
  config.keep = 1;
  const auto [train, val] = adarts::random_search_data(config);
  const adarts::RandomSearchResult result = adarts::run_random_search(config, train, val);
  ASSERT_EQ(result.ranked.size(), 2u);
  const auto expected = adarts::sample_genotypes(adarts::make_search_space("s2"), 2, config.train.seed, 3);
  for (const auto& c : result.ranked) {
    EXPECT_EQ(c.genotype, expected[static_cast<std::size_t>(c.sample)]);
    EXPECT_EQ(c.genotype.cells.size(), 3u);  // train.layers
    EXPECT_TRUE(std::isfinite(c.val_loss));
    EXPECT_GT(c.parameters, 0);
  }
  // Per-cell genotypes have no DARTS text form: results.json and best_1.json only.
  const std::string dir = (std::filesystem::temp_directory_path() / "adarts_test_random_search_s2").string();
  std::filesystem::remove_all(dir);
  const auto files = adarts::write_random_search_outputs(config, result, dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(adarts::genotype_from_json(read_file(dir + "/best_1.json")), result.ranked[0].genotype);
  EXPECT_FALSE(std::filesystem::exists(dir + "/best_1.txt"));
  std::filesystem::remove_all(dir);
}

}  // namespace
