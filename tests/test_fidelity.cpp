// The fidelity probe: closed forms on the Appendix A.1 toy, cosines in range,
// an estimator against itself, central differences against double backward on
// a smooth net, the state left untouched on the real supernet, and the search
// hook writing a "fidelity" object into metrics.jsonl.
#include <gtest/gtest.h>
#include <ATen/CPUGeneratorImpl.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "adarts/config.h"
#include "adarts/error.h"
#include "adarts/fidelity.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "test_problems.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::temp_dir;

using test_problems::SmoothConvNet;
using test_problems::Toy;
using test_problems::toy_batch;

FidelityOptions exact_options(double eta) {
  FidelityOptions o;
  o.eta = eta;
  o.implicit.damping = 0.0;
  o.implicit.tolerance = 1e-12;
  return o;
}

TEST(Fidelity, AppendixToyClosedForms) {
  // g1 = -2a, g2 = 4a, g2' = -eta M H u = 16 eta a, g2'' = -xi M u = 8 xi a.
  const double a = 0.7, xi = 0.05;
  for (double eta : {0.1, 1.0}) {
    Toy toy(a, a);
    const FidelityProbe p = probe_fidelity(toy, toy_batch(1), toy_batch(2), {xi, 0.9, 0.0, {}}, exact_options(eta));
    EXPECT_NEAR(p.norm_g1, 2 * a, 1e-12);
    EXPECT_NEAR(p.norm_implicit, 4 * a, 1e-12);
    EXPECT_NEAR(p.norm_amended_exact, 16 * eta * a, 1e-12);
    EXPECT_NEAR(p.norm_amended_fd, 16 * eta * a, 1e-9);  // a quadratic: central differences are exact up to rounding
    EXPECT_NEAR(p.norm_second_order, 8 * xi * a, 1e-12);
    // One-dimensional a: every cosine is +-1.
    EXPECT_NEAR(p.cos_amended_exact, 1.0, 1e-12);
    EXPECT_NEAR(p.cos_amended_fd, 1.0, 1e-12);
    EXPECT_NEAR(p.cos_second_order, 1.0, 1e-12);
    EXPECT_NEAR(p.cos_amended_fd_vs_exact, 1.0, 1e-12);
    EXPECT_NEAR(p.cos_full_first_order, -1.0, 1e-12);       // g1 = -2a against g = 2a
    EXPECT_NEAR(p.cos_full_second_order, -1.0, 1e-12);      // -2a + 0.4a
    EXPECT_NEAR(p.cos_full_amended_exact, eta < 0.125 ? -1.0 : 1.0, 1e-12);  // -2a + 16 eta a
    EXPECT_EQ(p.implicit_converged, 1.0);
    EXPECT_EQ(p.implicit_iterations, 1.0);
  }
}

TEST(Fidelity, EstimatorAgainstItselfGivesOne) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  SmoothConvNet net(g);
  const Batch train{at::randn({8, 2, 8, 8}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  const Batch val{at::randn({8, 2, 8, 8}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  const WeightOptimizerState opt{0.025, 0.9, 3e-4, {}};
  for (const char* name : {"implicit", "amended", "second_order", "first_order"}) {
    EstimatorOptions o;
    o.name = name;
    o.hvp = HvpMode::exact;
    auto a = make_estimator(o), b = make_estimator(o);
    const GradientComparison c = compare_estimators(net, train, val, opt, *a, *b);
    EXPECT_NEAR(c.cosine, 1.0, 1e-12) << name;
    EXPECT_GT(c.norm_a, 0.0) << name;
    EXPECT_NEAR(c.norm_a, c.norm_b, 1e-12 * c.norm_a) << name;
  }
  // And two different estimators do not give 1.
  auto first = make_estimator(test_problems::estimator_options("first_order"));
  auto implicit = make_estimator(test_problems::estimator_options("implicit"));
  EXPECT_LT(compare_estimators(net, train, val, opt, *first, *implicit).cosine, 1.0 - 1e-6);
}

TEST(Fidelity, SmoothNetFiniteDifferenceAmendedTermPointsAlongExact) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  SmoothConvNet net(g);
  const Batch train{at::randn({8, 2, 8, 8}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  const Batch val{at::randn({8, 2, 8, 8}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  FidelityOptions o;
  o.implicit.iterations = 30;
  const FidelityProbe p = probe_fidelity(net, train, val, {0.025, 0.9, 3e-4, {}}, o);
  EXPECT_GT(p.cos_amended_fd_vs_exact, 0.99);
  EXPECT_NEAR(p.norm_amended_fd, p.norm_amended_exact, 0.02 * p.norm_amended_exact);
  EXPECT_GT(p.norm_implicit, 0.0);
  for (const auto& [name, value] : p.figures()) {
    if (name.rfind("cos_", 0) == 0) {
      EXPECT_GE(value, -1.0) << name;
      EXPECT_LE(value, 1.0) << name;
    }
  }
}

// The real supernet in double precision (ReLUs: central differences and double
// backward need not agree here, so only ranges and state are checked).
TEST(Fidelity, SupernetProbeKeepsStateAndGivesCosinesInRange) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(7);
  SupernetOptions so;
  so.in_channels = 2;
  so.num_classes = 3;
  so.channels = 4;
  so.layers = 2;
  so.dtype = at::kDouble;
  auto net_ptr = std::make_shared<Supernet>(so, g);
  Supernet& net = *net_ptr;
  const Batch train{at::randn({6, 2, 8, 8}, g, at::kDouble), at::randint(3, {6}, g, at::kLong)};
  const Batch val{at::randn({6, 2, 8, 8}, g, at::kDouble), at::randint(3, {6}, g, at::kLong)};
  net.forward(train.images);  // running statistics away from their initial values
  TensorList before, buffers_before;
  for (const auto& w : net.weights()) before.push_back(w.detach().clone());
  for (const auto& b : net.buffers()) buffers_before.push_back(b.detach().clone());
  ASSERT_FALSE(buffers_before.empty());

  FidelityOptions o;
  o.implicit.iterations = 2;
  const FidelityProbe p = probe_fidelity(net, train, val, {0.025, 0.9, 3e-4, {}}, o);

  const TensorList after = net.weights(), buffers_after = net.buffers();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(at::equal(before[i], after[i])) << "weight " << i;
  for (size_t i = 0; i < buffers_before.size(); ++i) {
    EXPECT_TRUE(at::equal(buffers_before[i], buffers_after[i])) << "buffer " << i;
  }
  for (const auto& [name, value] : p.figures()) {
    EXPECT_TRUE(std::isfinite(value)) << name;
    if (name.rfind("cos_", 0) == 0) {
      EXPECT_GE(value, -1.0) << name;
      EXPECT_LE(value, 1.0) << name;
    }
  }
  EXPECT_GT(p.norm_implicit, 0.0);
  EXPECT_LE(p.implicit_iterations, 2.0);
}

TEST(Fidelity, AccumulatorMeansAndJson) {
  FidelityAccumulator acc;
  EXPECT_EQ(acc.probes(), 0);
  FidelityProbe p1, p2;
  p1.cos_amended_fd = 0.2;
  p2.cos_amended_fd = 0.6;
  p1.norm_implicit = 1.0;
  p2.norm_implicit = 3.0;
  acc.add(p1);
  acc.add(p2);
  EXPECT_EQ(acc.probes(), 2);
  const boost::json::object o = boost::json::parse(acc.to_json()).as_object();
  EXPECT_NEAR(o.at("cos_amended_fd").as_double(), 0.4, 1e-15);
  EXPECT_NEAR(o.at("norm_implicit").as_double(), 2.0, 1e-15);
  EXPECT_EQ(o.at("probes").to_number<int64_t>(), 2);
  EXPECT_EQ(o.size(), p1.figures().size() + 1);
  for (const auto& entry : o) EXPECT_TRUE(entry.value().is_number()) << entry.key();  // flat and numeric
  EXPECT_NE(acc.summary().find("2 probe(s)"), std::string::npos);
  acc.reset();
  EXPECT_EQ(acc.probes(), 0);
  EXPECT_EQ(boost::json::parse(acc.to_json()).as_object().size(), 1u);
}

SearchConfig tiny_search(const std::string& name) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.train_subset = 16;  // 8 train / 8 validation: 1 step an epoch
  c.channels = 4;
  c.layers = 2;
  c.epochs = 2;
  c.batch_size = 8;
  c.estimator = "first_order";  // cheap steps: the probes are what is tested
  c.threads = 1;
  c.implicit_iterations = 2;
  c.out_dir = temp_dir(name);
  return c;
}

TEST(Fidelity, SearchHookWritesFidelityObjectAndDoesNotChangeTheSearch) {
  SearchConfig c = tiny_search("fidelity_hook");
  c.fidelity_every = 1;  // global steps 0 and 1: one probe in each of the two epochs
  Search probed(c, load_search_dataset(c));
  ASSERT_EQ(probed.steps_per_epoch(), 1);
  const EpochSummary first = probed.run_epoch();
  const EpochSummary second = probed.run_epoch();
  EXPECT_NE(first.fidelity.find("1 probe(s)"), std::string::npos) << first.fidelity;

  std::ifstream in(c.out_dir + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    const boost::json::object m = boost::json::parse(line).as_object();
    ASSERT_TRUE(m.contains("fidelity")) << line;
    const boost::json::object& f = m.at("fidelity").as_object();
    EXPECT_EQ(f.at("probes").to_number<int64_t>(), 1);
    for (const char* key : {"cos_amended_fd", "cos_amended_exact", "cos_second_order", "cos_full_amended_fd",
                            "cos_full_second_order", "norm_implicit"}) {
      ASSERT_TRUE(f.contains(key)) << key;
      ASSERT_TRUE(f.at(key).is_number()) << key;
    }
    EXPECT_LE(std::abs(f.at("cos_amended_fd").to_number<double>()), 1.0);
  }
  EXPECT_EQ(lines, 2);

  // The probe restores weights and running statistics: the same search without it ends identically.
  SearchConfig plain = tiny_search("fidelity_plain");
  Search unprobed(plain, load_search_dataset(plain));
  unprobed.run_epoch();
  const EpochSummary plain_second = unprobed.run_epoch();
  EXPECT_TRUE(plain_second.fidelity.empty());
  EXPECT_TRUE(at::equal(probed.alphas_normal(), unprobed.alphas_normal()));
  EXPECT_TRUE(at::equal(probed.alphas_reduce(), unprobed.alphas_reduce()));
  EXPECT_EQ(second.val_loss, plain_second.val_loss);
}

std::vector<std::string> fidelity_objects(const std::string& out_dir) {
  std::ifstream in(out_dir + "/metrics.jsonl");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    boost::json::object fidelity = boost::json::parse(line).as_object().at("fidelity").as_object();
    fidelity.erase("seconds");  // wall time, the one figure a resumed run does not repeat
    out.push_back(boost::json::serialize(fidelity));
  }
  return out;
}

// The epoch's probe sums travel in the checkpoint: stopped after the first of
// an epoch's two probes and resumed, the run reports the same means.
TEST(Fidelity, ResumedMidEpochReportsTheWholeEpochsProbes) {
  auto config = [](const std::string& name) {
    SearchConfig c = tiny_search(name);
    c.train_subset = 32;  // 2 steps an epoch
    c.fidelity_every = 1;
    return c;
  };
  const SearchConfig c = config("fidelity_resume_reference");
  const Dataset data = load_search_dataset(c);
  Search reference(c, data);
  ASSERT_EQ(reference.steps_per_epoch(), 2);
  reference.advance(4);
  const auto expected = fidelity_objects(c.out_dir);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_NE(expected[0].find("\"probes\":2"), std::string::npos) << expected[0];

  const SearchConfig interrupted = config("fidelity_resume_interrupted");
  std::string path;
  {
    Search first(interrupted, data);
    first.advance(3);  // epoch 2, after its first probe
    path = first.save_checkpoint();
  }
  Search resumed(interrupted, data);
  resumed.load_checkpoint(path);
  resumed.advance(1);
  EXPECT_EQ(fidelity_objects(interrupted.out_dir), expected);
}

TEST(Fidelity, ConfigRejectsNegativeEvery) {
  SearchConfig c = tiny_search("fidelity_bad");
  c.fidelity_every = -1;
  EXPECT_THROW(validate(c), Error);
  c.fidelity_every = 0;
  c.implicit_inverse = "qr";
  EXPECT_THROW(validate(c), Error);
  EXPECT_THROW(FidelityHook(0, FidelityOptions{}), Error);
}

}  // namespace
}  // namespace adarts
