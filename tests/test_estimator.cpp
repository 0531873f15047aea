// Estimators against closed forms (Appendix A.1), finite differences against
// exact double backward, and second-order DARTS against the unrolled gradient
// computed directly by autograd, all in double precision.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstdio>

#include "adarts/error.h"
#include "adarts/estimator.h"
#include "adarts/supernet.h"
#include "nn/weighted_sum.h"
#include "test_problems.h"

namespace adarts {
namespace {

// The Appendix A.1 toy and the smooth conv net: tests/test_problems.h.
using test_problems::SmoothConvNet;
using test_problems::Toy;
using test_problems::toy_batch;

double value(const TensorList& g) { return g.at(0).item<double>(); }

class ToyProblem : public ::testing::TestWithParam<HvpMode> {};

TEST_P(ToyProblem, FirstOrderIsMinusTwoA) {
  const double a = 0.7;
  Toy toy(a, a);  // w = w*(a) = a
  auto estimator = make_estimator(test_problems::estimator_options("first_order", 0.0, GetParam(), 0.01));
  EXPECT_NEAR(value(estimator->arch_gradient(toy, toy_batch(1), toy_batch(2), {})), -2 * a, 1e-12);
}

TEST_P(ToyProblem, SecondDerivativesMatchClosedForm) {
  const double a = 0.7, x = 1.3;
  Toy toy(a, a);
  // H = d2 L_tr / dw2 = 2, M = d/da dL_tr/dw = -2.
  EXPECT_NEAR(value(hessian_vector_product(toy, toy_batch(1), {at::full({1}, x, at::kDouble)}, GetParam())), 2 * x, 1e-9);
  EXPECT_NEAR(value(mixed_vector_product(toy, toy_batch(1), {at::full({1}, x, at::kDouble)}, GetParam())), -2 * x, 1e-9);
}

TEST_P(ToyProblem, ImplicitTermIsFourA) {
  // g2 = -M H^{-1} u with u = dL_val/dw = 4a; H^{-1} is exact for this 1-D H.
  const double a = 0.7;
  Toy toy(a, a);
  const LossGradients val = loss_gradients(toy, toy_batch(2));
  EXPECT_NEAR(value(val.arch), -2 * a, 1e-12);
  EXPECT_NEAR(value(val.weights), 4 * a, 1e-12);
  const double h = value(hessian_vector_product(toy, toy_batch(1), {at::ones({1}, at::kDouble)}, GetParam()));
  const TensorList h_inv_u = {val.weights[0] / h};
  const double g2 = -value(mixed_vector_product(toy, toy_batch(1), h_inv_u, GetParam()));
  EXPECT_NEAR(g2, 4 * a, 1e-9);
  EXPECT_NEAR(value(val.arch) + g2, 2 * a, 1e-9);  // the exact gradient g = 2 a
}

TEST_P(ToyProblem, AmendedMatchesEquationSix) {
  // g = g1 - eta M H u = -2a - eta (-2)(2)(4a) = -2a + 16 eta a.
  const double a = 0.7;
  for (double eta : {0.0, 0.1, 1.0}) {
    Toy toy(a, a);
    auto estimator = make_estimator(test_problems::estimator_options("amended", eta, GetParam(), 0.01));
    EXPECT_NEAR(value(estimator->arch_gradient(toy, toy_batch(1), toy_batch(2), {})), -2 * a + 16 * eta * a, 1e-9)
        << "eta " << eta;
  }
}

TEST_P(ToyProblem, SecondOrderMatchesUnrolledClosedForm) {
  // w' = w - xi (m b + dL_tr/dw + wd w); g = (2 w' - a)(8 xi - 2), since M = -2 and u' = 4 (2 w' - a).
  const double a = 0.7, w = 0.9, xi = 0.05, m = 0.9, wd = 0.01, b = 0.3;
  Toy toy(w, a);
  WeightOptimizerState opt{xi, m, wd, {at::full({1}, b, at::kDouble)}};
  auto estimator = make_estimator(test_problems::estimator_options("second_order", 0.0, GetParam(), 0.01));
  const double w_unrolled = w - xi * (m * b + 2 * (w - a) + wd * w);
  EXPECT_NEAR(value(estimator->arch_gradient(toy, toy_batch(1), toy_batch(2), opt)),
              (2 * w_unrolled - a) * (8 * xi - 2), 1e-9);
  EXPECT_NEAR(value(toy.weights()), w, 0.0) << "the estimator must leave the weights as they were";
}

INSTANTIATE_TEST_SUITE_P(BothHvpModes, ToyProblem,
                         ::testing::Values(HvpMode::finite_difference, HvpMode::exact));

// A tiny supernet in double precision: a small conv net with batch norm, the real code.
struct TinyNet {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
  std::shared_ptr<Supernet> net;
  Batch train, val;

  explicit TinyNet(at::ScalarType dtype = at::kDouble, bool recompute_edges = false) {
    SupernetOptions o;
    o.recompute_edges = recompute_edges;
    o.in_channels = 2;
    o.num_classes = 3;
    o.channels = 4;
    o.layers = 3;
    o.dtype = dtype;
    net = std::make_shared<Supernet>(o, generator);
    {
      at::NoGradGuard no_grad;  // alphas away from uniform so that second derivatives are generic
      for (auto& a : net->arch_parameters()) a.normal_(0.0, 0.5, generator);
    }
    train = Batch{at::randn({6, 2, 8, 8}, generator, dtype), at::randint(3, {6}, generator, at::kLong)};
    val = Batch{at::randn({6, 2, 8, 8}, generator, dtype), at::randint(3, {6}, generator, at::kLong)};
  }

  TensorList random_weight_direction() {
    TensorList v;
    for (const auto& w : net->weights()) v.push_back(at::randn(w.sizes(), generator, w.scalar_type()));
    return v;
  }
};

double relative_error(const TensorList& approx, const TensorList& exact) {
  TensorList diff;
  for (size_t i = 0; i < exact.size(); ++i) diff.push_back(approx[i] - exact[i]);
  return norm(diff) / norm(exact);
}

struct SmoothSetup {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  SmoothConvNet net{g};
  Batch train{at::randn({8, 2, 8, 8}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  Batch val{at::randn({8, 2, 8, 8}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  TensorList direction() {
    TensorList v;
    for (const auto& w : net.weights()) v.push_back(at::randn(w.sizes(), g, at::kDouble));
    return v;
  }
};

TEST(SmoothConvNet, ExactHessianVectorProductMatchesCentralDifferences) {
  SmoothSetup s;
  const TensorList v = s.direction();
  const TensorList exact = hessian_vector_product(s.net, s.train, v, HvpMode::exact);
  // r = 1e-5 / ||v||: truncation ~ r^2 |L'''| and rounding ~ 1e-16 / r are both far below 1e-5.
  const TensorList fd = hessian_vector_product(s.net, s.train, v, HvpMode::finite_difference, 1e-5);
  EXPECT_GT(norm(exact), 0.0);
  EXPECT_LT(relative_error(fd, exact), 1e-5);
}

TEST(SmoothConvNet, ExactMixedProductMatchesCentralDifferences) {
  SmoothSetup s;
  const TensorList v = s.direction();
  const TensorList exact = mixed_vector_product(s.net, s.train, v, HvpMode::exact);
  const TensorList fd = mixed_vector_product(s.net, s.train, v, HvpMode::finite_difference, 1e-5);
  EXPECT_GT(norm(exact), 0.0);
  EXPECT_LT(relative_error(fd, exact), 1e-5);
}

TEST(SmoothConvNet, FiniteDifferenceAmendedPointsAlongExact) {
  SmoothSetup s;
  // The default step r = 0.01 / ||x|| of DARTS and of the amended estimator.
  const TensorList g1 = make_estimator(test_problems::estimator_options("first_order"))->arch_gradient(s.net, s.train, s.val, {});
  const TensorList fd = make_estimator(test_problems::estimator_options("amended", 1.0, HvpMode::finite_difference))->arch_gradient(s.net, s.train, s.val, {});
  const TensorList exact = make_estimator(test_problems::estimator_options("amended", 1.0, HvpMode::exact))->arch_gradient(s.net, s.train, s.val, {});
  EXPECT_GT(cosine(fd, exact), 0.99);
  TensorList c_fd, c_exact;  // the amending terms alone
  for (size_t i = 0; i < g1.size(); ++i) {
    c_fd.push_back(fd[i] - g1[i]);
    c_exact.push_back(exact[i] - g1[i]);
  }
  EXPECT_GT(norm(c_exact), 0.0);
  EXPECT_GT(cosine(c_fd, c_exact), 0.99);
}

TEST(Supernet, ExactHessianIsSymmetric) {
  // <v1, H v2> = <v2, H v1> holds for the double-backward Hessian of the real supernet.
  TinyNet t;
  const TensorList v1 = t.random_weight_direction(), v2 = t.random_weight_direction();
  const double a = dot(v1, hessian_vector_product(*t.net, t.train, v2, HvpMode::exact));
  const double b = dot(v2, hessian_vector_product(*t.net, t.train, v1, HvpMode::exact));
  EXPECT_GT(std::abs(a), 0.0);
  EXPECT_NEAR(a, b, 1e-9 * std::abs(a));
}

TEST(Supernet, EstimatorsLeaveWeightsUnchanged) {
  TinyNet t;
  TensorList before;
  for (const auto& w : t.net->weights()) before.push_back(w.detach().clone());
  for (const char* name : {"first_order", "second_order", "amended"}) {
    make_estimator(test_problems::estimator_options(name, 0.1, HvpMode::finite_difference, 0.01))->arch_gradient(*t.net, t.train, t.val, {0.025, 0.9, 3e-4, {}});
  }
  const TensorList after = t.net->weights();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(at::equal(before[i], after[i])) << "weight " << i;
}

// Recomputed edges (SupernetOptions::recompute_edges) give every estimator the
// gradients of the stored edges: the same operations run again, so only the
// order in which an edge input's gradient sums its contributions may differ
// (double precision: relative 1e-12 bounds that with room). Also with
// drop-path masks, and the batch-norm running statistics move once.
TEST(Supernet, RecomputedEdgesGiveTheSameGradientsForEveryEstimator) {
  for (const double drop_path : {0.0, 0.3}) {
    std::vector<EstimatorOptions> estimators = {
        test_problems::estimator_options("first_order"), test_problems::estimator_options("second_order"),
        test_problems::estimator_options("amended", 0.5),
        test_problems::estimator_options("amended", 0.5, HvpMode::exact), test_problems::estimator_options("implicit")};
    estimators.back().implicit.iterations = 4;
    for (const EstimatorOptions& options : estimators) {
      SCOPED_TRACE(options.name + " hvp " + to_string(options.hvp) + " drop-path " + std::to_string(drop_path));
      TinyNet stored, recomputed(at::kDouble, /*recompute_edges=*/true);
      for (TinyNet* t : {&stored, &recomputed}) {
        t->net->set_drop_path_prob(drop_path);
        t->train.noise_seed = 11;
        t->val.noise_seed = 12;
      }
      WeightOptimizerState state{0.025, 0.9, 3e-4, {}};
      for (const auto& w : stored.net->weights()) state.momentum_buffers.push_back(0.1 * at::ones_like(w));
      const TensorList a = make_estimator(options)->arch_gradient(*stored.net, stored.train, stored.val, state);
      const TensorList b = make_estimator(options)->arch_gradient(*recomputed.net, recomputed.train, recomputed.val, state);
      EXPECT_LT(test_problems::relative_difference(b, a), 1e-12);
      const LossGradients ga = loss_gradients(*stored.net, stored.train);
      const LossGradients gb = loss_gradients(*recomputed.net, recomputed.train);
      EXPECT_LT(test_problems::relative_difference(gb.weights, ga.weights), 1e-12);
      // Moved once per forward pass, not again by the recomputations (a second
      // update would move them by momentum 0.1 x (batch statistic - running)).
      // Equal but for the last bits where an estimator ran forward passes at
      // weights computed from gradients (w', w +- r u).
      const TensorList sa = stored.net->buffers(), sb = recomputed.net->buffers();
      EXPECT_LT(test_problems::relative_difference(sb, sa), 1e-10);
      for (size_t i = 0; i < sa.size(); ++i) {
        if (!sa[i].is_floating_point()) {
          EXPECT_TRUE(at::equal(sa[i], sb[i])) << "batches tracked, buffer " << i;
        }
      }
    }
  }
}

// Four steps (alphas and weights by plain SGD) of every estimator with the
// fused and the unfused edge sums, in double: they differ only in the order
// of the alphas' gradient sums, so the alphas agree to rounding, amplified by
// the finite differences' 1 / (2 r) (measured: below 1e-12 relative).
TEST(Supernet, FusedEdgeSumsMatchTheUnfusedOnesOverStepsInDouble) {
  for (const EstimatorOptions& options :
       {test_problems::estimator_options("first_order"), test_problems::estimator_options("second_order"),
        test_problems::estimator_options("amended", 0.5),
        test_problems::estimator_options("amended", 0.5, HvpMode::exact)}) {
    SCOPED_TRACE(options.name + " hvp " + to_string(options.hvp));
    auto run = [&](bool fused) {
      set_fused_weighted_sum(fused);
      TinyNet t;
      auto estimator = make_estimator(options);
      for (int step = 0; step < 4; ++step) {
        const TensorList g = estimator->arch_gradient(*t.net, t.train, t.val, {0.025, 0.9, 3e-4, {}});
        const TensorList gw = loss_gradients(*t.net, t.train).weights;
        at::NoGradGuard no_grad;
        TensorList alphas = t.net->arch_parameters(), weights = t.net->weights();
        for (size_t i = 0; i < alphas.size(); ++i) alphas[i].sub_(0.5 * g[i]);
        for (size_t i = 0; i < weights.size(); ++i) weights[i].sub_(0.05 * gw[i]);
      }
      set_fused_weighted_sum(true);
      TensorList alphas;
      for (const auto& a : t.net->arch_parameters()) alphas.push_back(a.detach().clone());
      return alphas;
    };
    const TensorList unfused = run(false), fused = run(true);
    const double difference = test_problems::relative_difference(fused, unfused);
    std::printf("[ measured ] %s %s: relative difference of the alphas after 4 steps %.3g\n", options.name.c_str(),
                to_string(options.hvp).c_str(), difference);
    EXPECT_LT(difference, 1e-10);
  }
}

TEST(Supernet, AmendedWithEtaZeroEqualsFirstOrder) {
  TinyNet t(at::kFloat);
  const TensorList first = make_estimator(test_problems::estimator_options("first_order"))->arch_gradient(*t.net, t.train, t.val, {});
  const TensorList amended = make_estimator(test_problems::estimator_options("amended", 0.0))->arch_gradient(*t.net, t.train, t.val, {});
  ASSERT_EQ(first.size(), amended.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(at::allclose(first[i], amended[i], 1e-6, 1e-9));
}

// A small smooth model with explicit weights, so the unrolled step w'(a) can be
// differentiated directly: logits = W2 (s0(a) tanh(W1 x) + s1(a) sigmoid(W1 x)).
class SmoothNet : public BilevelProblem {
 public:
  explicit SmoothNet(at::Generator& g)
      : w1_(at::randn({5, 4}, g, at::kDouble).set_requires_grad(true)),
        w2_(at::randn({3, 5}, g, at::kDouble).set_requires_grad(true)),
        a_(at::randn({2}, g, at::kDouble).set_requires_grad(true)) {}
  TensorList weights() override { return {w1_, w2_}; }
  TensorList arch_parameters() override { return {a_}; }
  at::Tensor loss(const Batch& b) override { return loss_with(w1_, w2_, b); }
  at::Tensor loss_with(const at::Tensor& w1, const at::Tensor& w2, const Batch& b) {
    const at::Tensor s = at::softmax(a_, 0);
    const at::Tensor h = at::matmul(b.images, w1.t());
    const at::Tensor mixed = s[0] * at::tanh(h) + s[1] * at::sigmoid(h);
    return at::cross_entropy_loss(at::matmul(mixed, w2.t()), b.labels);
  }

 private:
  at::Tensor w1_, w2_, a_;
};

TEST(SecondOrder, MatchesDirectUnrolledGradient) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
  SmoothNet net(g);
  const Batch train{at::randn({8, 4}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  const Batch val{at::randn({8, 4}, g, at::kDouble), at::randint(3, {8}, g, at::kLong)};
  const double xi = 0.1, m = 0.9, wd = 3e-4;
  TensorList buffers;
  for (const auto& w : net.weights()) buffers.push_back(at::randn(w.sizes(), g, at::kDouble));

  // Direct: differentiate L_val(w'(a), a) through the virtual step.
  TensorList w = net.weights();
  TensorList grad_tr = torch::autograd::grad({net.loss(train)}, w, {}, true, /*create_graph=*/true);
  TensorList unrolled;
  for (size_t i = 0; i < w.size(); ++i) unrolled.push_back(w[i] - xi * (m * buffers[i] + grad_tr[i] + wd * w[i]));
  const TensorList direct =
      torch::autograd::grad({net.loss_with(unrolled[0], unrolled[1], val)}, net.arch_parameters());

  const WeightOptimizerState opt{xi, m, wd, buffers};
  // DARTS's r = 0.01/||u||: central-difference error O(r^2) relative.
  const TensorList fd_default = make_estimator(test_problems::estimator_options("second_order"))->arch_gradient(net, train, val, opt);
  EXPECT_LT(relative_error(fd_default, direct), 1e-3);
  // A smaller step in double precision must converge to the direct value.
  const TensorList fd_small =
      make_estimator(test_problems::estimator_options("second_order", 0.0, HvpMode::finite_difference, 1e-4))->arch_gradient(net, train, val, opt);
  EXPECT_LT(relative_error(fd_small, direct), 1e-6);
  const TensorList exact = make_estimator(test_problems::estimator_options("second_order", 0.0, HvpMode::exact))->arch_gradient(net, train, val, opt);
  EXPECT_LT(relative_error(exact, direct), 1e-10);
}

TEST(Estimator, RejectsBadOptions) {
  EXPECT_THROW(make_estimator(test_problems::estimator_options("third_order")), Error);
  EXPECT_THROW(make_estimator(test_problems::estimator_options("amended", -0.1)), Error);
  EXPECT_THROW(parse_hvp_mode("exactly"), Error);
  try {
    make_estimator(test_problems::estimator_options("nope"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
}

}  // namespace
}  // namespace adarts
