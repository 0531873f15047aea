#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "adarts/darts_state_dict.h"
#include "adarts/error.h"
#include "adarts/genotype.h"
#include "adarts/network.h"

namespace adarts {
namespace {

Genotype darts_v2() {
  std::ifstream in(std::string(ADARTS_FIXTURES_DIR) + "/genotypes/darts_v2.txt");
  std::stringstream text;
  text << in.rdbuf();
  return from_darts_text(text.str());
}

// Every DARTS operation, a strided skip (factorized reduce) in the reduction
// cell, a node feeding another twice, and concats of different sizes.
Genotype all_ops() {
  return from_darts_text(
      "Genotype(normal=[('sep_conv_5x5', 1), ('dil_conv_5x5', 0), ('avg_pool_3x3', 2), ('skip_connect', 1), "
      "('sep_conv_3x3', 3), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4], "
      "reduce=[('skip_connect', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), "
      "('avg_pool_3x3', 1), ('skip_connect', 2)], reduce_concat=[3, 4])");
}

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

std::shared_ptr<Network> make_net(const Genotype& g, NetworkOptions o, uint64_t seed = 1) {
  return std::make_shared<Network>(g, o, generator(seed));
}

NetworkOptions tiny(int64_t in_channels, bool auxiliary = false, bool imagenet = false) {
  NetworkOptions o;
  o.in_channels = in_channels;
  o.num_classes = 10;
  o.channels = 4;
  o.layers = 3;
  o.auxiliary = auxiliary;
  o.imagenet = imagenet;
  return o;
}

bool is_reduction(int64_t layer, int64_t layers) { return layer == layers / 3 || layer == 2 * layers / 3; }

// ---------------------------------------------------------------------------
// An independent derivation of the parameter and multiply-add counts, walked
// over the cell structure of DARTS's model.py with closed forms of the
// operations of its operations.py (all BN affine: weight + bias).

int64_t kernel_of(const std::string& op) { return op.back() - '0'; }  // "..._3x3" -> 3

int64_t op_parameters(const std::string& op, int64_t c, int64_t stride) {
  if (op.rfind("sep_conv", 0) == 0) {  // twice: depthwise k x k, pointwise, BN
    const int64_t k = kernel_of(op);
    return 2 * (c * k * k + c * c + 2 * c);
  }
  if (op.rfind("dil_conv", 0) == 0) {  // depthwise k x k (dilated), pointwise, BN
    const int64_t k = kernel_of(op);
    return c * k * k + c * c + 2 * c;
  }
  if (op == "skip_connect" && stride == 2) return 2 * c * (c / 2) + 2 * c;  // factorized reduce
  return 0;  // identity, pools
}

// Multiply-adds of an op whose output is ho x wo.
int64_t op_macs(const std::string& op, int64_t c, int64_t stride, int64_t ho, int64_t wo) {
  const int64_t a = ho * wo;
  if (op.rfind("sep_conv", 0) == 0) {
    const int64_t k = kernel_of(op);
    return 2 * a * (c * k * k + c * c);
  }
  if (op.rfind("dil_conv", 0) == 0) {
    const int64_t k = kernel_of(op);
    return a * (c * k * k + c * c);
  }
  if (op == "skip_connect" && stride == 2) return 2 * a * (c / 2) * c;
  return 0;
}

struct Counts {
  int64_t params_without_aux = 0;
  int64_t aux_params = 0;
  int64_t macs = 0;
};

int64_t half_up(int64_t n) { return (n + 1) / 2; }  // stride 2 with "same" padding, or 1x1 stride 2

Counts derive(const Genotype& g, const NetworkOptions& o, int64_t h, int64_t w) {
  Counts r;
  const int64_t C = o.channels;
  int64_t cpp, cp, cc = C;
  bool reduction_prev;
  if (o.imagenet) {
    const int64_t h1 = half_up(h), w1 = half_up(w), h2 = half_up(h1), w2 = half_up(w1);
    h = half_up(h2);
    w = half_up(w2);
    r.params_without_aux += o.in_channels * (C / 2) * 9 + 2 * (C / 2);  // stem0 conv, BN
    r.params_without_aux += (C / 2) * C * 9 + 2 * C;                    // stem0 conv, BN
    r.params_without_aux += C * C * 9 + 2 * C;                          // stem1
    r.macs += h1 * w1 * (C / 2) * o.in_channels * 9 + h2 * w2 * C * (C / 2) * 9 + h * w * C * C * 9;
    cpp = cp = C;
    reduction_prev = true;
  } else {
    r.params_without_aux += o.in_channels * 3 * C * 9 + 2 * 3 * C;
    r.macs += h * w * 3 * C * o.in_channels * 9;
    cpp = cp = 3 * C;
    reduction_prev = false;
  }
  int64_t c_aux = 0;
  for (int64_t i = 0; i < o.layers; ++i) {
    const bool red = is_reduction(i, o.layers);
    if (red) cc *= 2;
    // preprocess0: factorized reduce (two 1x1 convs to cc/2) or 1x1 conv; preprocess1 1x1; each with BN.
    r.params_without_aux += (reduction_prev ? 2 * cpp * (cc / 2) : cpp * cc) + 2 * cc;
    r.params_without_aux += cp * cc + 2 * cc;
    r.macs += h * w * cc * cpp + h * w * cc * cp;  // both at the resolution of c_{k-1}
    const int64_t ho = red ? half_up(h) : h, wo = red ? half_up(w) : w;
    const CellGenotype& cell = red ? g.reduce : g.normal;
    for (const auto& e : cell.edges) {
      const int64_t stride = (red && e.from < 2) ? 2 : 1;
      r.params_without_aux += op_parameters(e.op, cc, stride);
      r.macs += op_macs(e.op, cc, stride, ho, wo);
    }
    h = ho;
    w = wo;
    reduction_prev = red;
    cpp = cp;
    cp = static_cast<int64_t>(cell.concat.size()) * cc;
    if (i == 2 * o.layers / 3) c_aux = cp;
  }
  r.params_without_aux += cp * o.num_classes + o.num_classes;
  r.macs += cp * o.num_classes;
  // Auxiliary head: 1x1 conv to 128 + BN, 2x2 conv to 768 (+ BN on CIFAR only), linear.
  r.aux_params = c_aux * 128 + 2 * 128 + 128 * 768 * 4 + (o.imagenet ? 0 : 2 * 768) + 768 * o.num_classes +
                 o.num_classes;
  return r;
}

// ---------------------------------------------------------------------------

TEST(NetworkParameters, DartsV2CifarMatchesTheOriginal) {
  NetworkOptions o;  // C=36, 20 layers, 10 classes, 3 input channels
  o.auxiliary = true;
  const Genotype g = darts_v2();
  const Counts d = derive(g, o, 32, 32);
  // DARTS's count_parameters_in_MB (auxiliary head excluded) reports 3.35 for DARTS_V2.
  EXPECT_EQ(d.params_without_aux, 3349342);
  EXPECT_EQ(d.params_without_aux + d.aux_params, 3825768);
  auto net = make_net(g, o);
  EXPECT_EQ(net->parameter_count(false), 3349342);
  EXPECT_EQ(net->parameter_count(true), 3825768);
  EXPECT_EQ(net->parameter_count(), 3825768);

  o.auxiliary = false;
  auto plain = make_net(g, o);
  EXPECT_EQ(plain->parameter_count(true), 3349342);
  EXPECT_EQ(plain->parameter_count(false), 3349342);
  int64_t total = 0;
  for (const auto& p : plain->parameters()) total += p.numel();
  EXPECT_EQ(total, 3349342);
}

TEST(NetworkParameters, DartsV2ImageNetMatchesTheOriginal) {
  NetworkOptions o;
  o.num_classes = 1000;
  o.channels = 48;
  o.layers = 14;
  o.auxiliary = true;
  o.imagenet = true;
  const Genotype g = darts_v2();
  const Counts d = derive(g, o, 224, 224);
  // The DARTS paper reports 4.7M parameters for its ImageNet network.
  EXPECT_EQ(d.params_without_aux, 4718752);
  EXPECT_EQ(d.params_without_aux + d.aux_params, 5979528);
  auto net = make_net(g, o);
  EXPECT_EQ(net->parameter_count(false), 4718752);
  EXPECT_EQ(net->parameter_count(true), 5979528);
  o.auxiliary = false;
  EXPECT_EQ(make_net(g, o)->parameter_count(), 4718752);
}

TEST(NetworkParameters, EveryOperationKindMatchesTheDerivation) {
  for (bool imagenet : {false, true}) {
    NetworkOptions o = tiny(imagenet ? 3 : 1, /*auxiliary=*/true, imagenet);
    o.channels = 6;
    o.layers = 5;
    const Counts d = derive(all_ops(), o, 32, 32);
    auto net = make_net(all_ops(), o);
    EXPECT_EQ(net->parameter_count(false), d.params_without_aux) << "imagenet " << imagenet;
    EXPECT_EQ(net->parameter_count(true), d.params_without_aux + d.aux_params) << "imagenet " << imagenet;
  }
}

TEST(NetworkParameters, AuxiliaryHeadOnlyWhenAsked) {
  auto with = make_net(darts_v2(), tiny(3, true));
  auto without = make_net(darts_v2(), tiny(3, false));
  auto has_aux = [](const Network& n) {
    for (const auto& item : n.named_parameters()) {
      if (item.key().rfind("auxiliary_head.", 0) == 0) return true;
    }
    return false;
  };
  EXPECT_TRUE(has_aux(*with));
  EXPECT_FALSE(has_aux(*without));
  EXPECT_EQ(with->parameter_count(false), without->parameter_count());
}

TEST(Network, OutputShapesCifarAndFashionMnist) {
  const at::Tensor cifar = at::randn({2, 3, 32, 32});
  auto net = make_net(darts_v2(), tiny(3, true));
  net->train();
  NetworkOutput out = net->forward(cifar);
  EXPECT_EQ(out.logits.sizes(), at::IntArrayRef({2, 10}));
  ASSERT_TRUE(out.aux_logits.defined());
  EXPECT_EQ(out.aux_logits.sizes(), at::IntArrayRef({2, 10}));
  net->eval();
  out = net->forward(cifar);
  EXPECT_EQ(out.logits.sizes(), at::IntArrayRef({2, 10}));
  EXPECT_FALSE(out.aux_logits.defined());

  auto plain = make_net(darts_v2(), tiny(3, false));
  plain->train();
  EXPECT_FALSE(plain->forward(cifar).aux_logits.defined());

  // 28 -> 14 -> 7 at the auxiliary head, smaller than DARTS's 8x8; and odd sizes (7 -> 4).
  NetworkOptions fm = tiny(1, true);
  fm.layers = 5;
  auto fashion = make_net(all_ops(), fm);
  fashion->train();
  out = fashion->forward(at::randn({2, 1, 28, 28}));
  EXPECT_EQ(out.logits.sizes(), at::IntArrayRef({2, 10}));
  ASSERT_TRUE(out.aux_logits.defined());
  EXPECT_EQ(out.aux_logits.sizes(), at::IntArrayRef({2, 10}));
  EXPECT_TRUE(at::isfinite(out.logits).all().item<bool>());
  EXPECT_TRUE(at::isfinite(out.aux_logits).all().item<bool>());
}

TEST(Network, OutputShapesImageNet) {
  NetworkOptions o = tiny(3, true, true);
  o.num_classes = 7;
  auto net = make_net(darts_v2(), o);
  net->train();
  // 224 -> 28 after the stems, 7x7 at the auxiliary head and the end, as in DARTS.
  NetworkOutput out = net->forward(at::randn({2, 3, 224, 224}));
  EXPECT_EQ(out.logits.sizes(), at::IntArrayRef({2, 7}));
  ASSERT_TRUE(out.aux_logits.defined());
  EXPECT_EQ(out.aux_logits.sizes(), at::IntArrayRef({2, 7}));
  // A smaller input (2x2 at the auxiliary head) works through adaptive pooling.
  out = net->forward(at::randn({2, 3, 64, 64}));
  EXPECT_EQ(out.logits.sizes(), at::IntArrayRef({2, 7}));
  EXPECT_EQ(out.aux_logits.sizes(), at::IntArrayRef({2, 7}));
  net->eval();
  out = net->forward(at::randn({1, 3, 64, 64}));
  EXPECT_EQ(out.logits.sizes(), at::IntArrayRef({1, 7}));
  EXPECT_FALSE(out.aux_logits.defined());
}

TEST(Network, ChannelsLastWeightsAndSeededInitialisation) {
  auto a = make_net(darts_v2(), tiny(3, true), 5), b = make_net(darts_v2(), tiny(3, true), 5);
  auto c = make_net(darts_v2(), tiny(3, true), 6);
  const auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  ASSERT_EQ(pa.size(), pc.size());
  bool any_differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    if (pa[i].dim() == 4) {
      EXPECT_TRUE(pa[i].is_contiguous(at::MemoryFormat::ChannelsLast));
    }
    EXPECT_TRUE(at::equal(pa[i], pb[i]));
    any_differs = any_differs || !at::equal(pa[i], pc[i]);
  }
  EXPECT_TRUE(any_differs);
}

TEST(Network, ConstructionLeavesTheGlobalGeneratorUntouched) {
  at::manual_seed(21);
  const at::Tensor expected = at::rand({4});
  at::manual_seed(21);
  make_net(all_ops(), tiny(3, true));
  make_net(darts_v2(), tiny(3, true, true));
  count_multiply_adds(darts_v2(), tiny(3), 8, 8);
  EXPECT_TRUE(at::equal(at::rand({4}), expected));
}

TEST(Network, SaveAndLoadRoundTrip) {
  auto a = make_net(all_ops(), tiny(3, true), 1);
  auto b = make_net(all_ops(), tiny(3, true), 2);
  a->train();
  a->forward(at::randn({4, 3, 16, 16}));  // moves the BN running statistics
  std::stringstream stream;
  torch::save(a, stream);
  torch::load(b, stream);
  a->eval();
  b->eval();
  const at::Tensor x = at::randn({2, 3, 16, 16});
  EXPECT_TRUE(at::allclose(a->forward(x).logits, b->forward(x).logits));
}

TEST(Network, RejectsInvalidArguments) {
  NetworkOptions odd = tiny(3, false, true);
  odd.channels = 5;
  EXPECT_THROW(make_net(darts_v2(), odd), Error);
  NetworkOptions no_layers = tiny(3);
  no_layers.layers = 0;
  EXPECT_THROW(make_net(darts_v2(), no_layers), Error);
  Genotype bad = darts_v2();
  bad.normal.edges[0].op = "none";
  EXPECT_THROW(make_net(bad, tiny(3)), Error);
  auto net = make_net(darts_v2(), tiny(3));
  EXPECT_THROW(net->forward(at::randn({2, 1, 32, 32})), Error);
  EXPECT_THROW(net->set_drop_path_prob(1.0), Error);
  EXPECT_THROW(net->set_drop_path_prob(-0.1), Error);
  net->set_drop_path_prob(0.2);
  EXPECT_DOUBLE_EQ(net->drop_path_prob(), 0.2);
}

// ---------------------------------------------------------------------------
// Drop-path

at::Tensor generator_state(const at::Generator& g) { return g.get_state(); }

TEST(NetworkDropPath, ZeroProbabilityIsDeterministicAndDrawsNothing) {
  at::Generator g = generator(3);
  auto net = std::make_shared<Network>(darts_v2(), tiny(3), g);
  net->train();  // BN uses the batch statistics: the same batch gives the same output
  const at::Tensor x = at::randn({4, 3, 16, 16});
  const at::Tensor before = generator_state(g);
  const at::Tensor y1 = net->forward(x).logits, y2 = net->forward(x).logits;
  EXPECT_TRUE(at::equal(y1, y2));
  EXPECT_TRUE(at::equal(before, generator_state(g)));
}

TEST(NetworkDropPath, ChangesTrainingOutputsOnlyAndUsesTheNetworksGenerator) {
  at::Generator g = generator(3);
  auto net = std::make_shared<Network>(darts_v2(), tiny(3), g);
  const at::Tensor x = at::randn({4, 3, 16, 16});
  net->train();
  const at::Tensor clean = net->forward(x).logits;

  net->set_drop_path_prob(0.3);
  net->train();
  const at::Tensor global_before = generator_state(at::detail::getDefaultCPUGenerator());
  const at::Tensor before = generator_state(g);
  const at::Tensor d1 = net->forward(x).logits, d2 = net->forward(x).logits;
  EXPECT_FALSE(at::allclose(d1, clean));
  EXPECT_FALSE(at::allclose(d1, d2));  // fresh masks each pass
  EXPECT_FALSE(at::equal(before, generator_state(g)));  // drawn from the generator passed in...
  EXPECT_TRUE(at::equal(global_before, generator_state(at::detail::getDefaultCPUGenerator())));  // ...not the global one

  // Evaluation ignores the probability (and draws nothing).
  net->eval();
  const at::Tensor eval_before = generator_state(g);
  const at::Tensor dropped_eval = net->forward(x).logits;
  EXPECT_TRUE(at::equal(eval_before, generator_state(g)));
  net->set_drop_path_prob(0.0);
  EXPECT_TRUE(at::equal(net->forward(x).logits, dropped_eval));
}

TEST(NetworkDropPath, SameSeedSameMasks) {
  auto a = make_net(all_ops(), tiny(3), 9), b = make_net(all_ops(), tiny(3), 9);
  a->set_drop_path_prob(0.4);
  b->set_drop_path_prob(0.4);
  a->train();
  b->train();
  const at::Tensor x = at::randn({4, 3, 16, 16});
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_TRUE(at::equal(a->forward(x).logits, b->forward(x).logits)) << "pass " << pass;
  }
}

TEST(NetworkDropPath, OneMaskPerNonIdentityOperation) {
  // A twin network built from the same seed has its generator where this one's
  // is after construction; drawing one [N, 1, 1, 1] mask from it per operation
  // that is not skip_connect at stride 1 must leave it where a forward pass
  // leaves this network's generator.
  const Genotype g = darts_v2();
  const NetworkOptions o = tiny(3);
  at::Generator mine = generator(11), twin = generator(11);
  auto net = std::make_shared<Network>(g, o, mine);
  std::make_shared<Network>(g, o, twin);
  int64_t masks = 0;
  for (int64_t layer = 0; layer < o.layers; ++layer) {
    const bool red = is_reduction(layer, o.layers);
    for (const auto& e : (red ? g.reduce : g.normal).edges) {
      masks += !(e.op == "skip_connect" && !(red && e.from < 2));
    }
  }
  EXPECT_EQ(masks, 6 + 5 + 5);  // DARTS_V2: 2 identities in the normal cell, 3 in the reduction cell
  net->set_drop_path_prob(0.2);
  net->train();
  net->forward(at::randn({3, 3, 16, 16}));
  for (int64_t i = 0; i < masks; ++i) at::empty({3, 1, 1, 1}).bernoulli_(0.8, twin);
  EXPECT_TRUE(at::equal(generator_state(mine), generator_state(twin)));
}

TEST(NetworkDropPath, MasksArePerSample) {
  auto net = make_net(darts_v2(), tiny(3), 4);
  net->train();
  const at::Tensor x = at::randn({1, 3, 16, 16}).expand({4, 3, 16, 16}).contiguous();
  at::Tensor y = net->forward(x).logits;
  for (int64_t i = 1; i < 4; ++i) EXPECT_TRUE(at::allclose(y[i], y[0]));  // identical samples
  net->set_drop_path_prob(0.5);
  y = net->forward(x).logits;
  bool any_differs = false;
  for (int64_t i = 1; i < 4; ++i) any_differs = any_differs || !at::allclose(y[i], y[0]);
  EXPECT_TRUE(any_differs);
}

// ---------------------------------------------------------------------------
// Multiply-adds

TEST(NetworkMacs, TinyNetworkByHand) {
  // One reduction cell (layers = 1), one node: max_pool(c_{k-2}) + max_pool(c_{k-1}).
  const Genotype g = from_darts_text(
      "Genotype(normal=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], normal_concat=[2], "
      "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])");
  NetworkOptions o;
  o.in_channels = 1;
  o.num_classes = 2;
  o.channels = 2;
  o.layers = 1;
  // stem 3x3 conv 1 -> 6 on 4x4: 4*4*6*1*9 = 864; preprocess0 and preprocess1
  // 1x1 6 -> 4 on 4x4: 2 * 4*4*4*6 = 768; pools: 0; classifier 4 -> 2: 8.
  EXPECT_EQ(count_multiply_adds(g, o, 4, 4), 864 + 768 + 8);
}

TEST(NetworkMacs, MatchTheDerivationForEveryOperationAndOddSizes) {
  struct Case {
    Genotype g;
    NetworkOptions o;
    int64_t h, w;
  };
  NetworkOptions fm = tiny(1);
  fm.layers = 5;
  NetworkOptions in = tiny(3, true, true);
  in.layers = 4;
  const std::vector<Case> cases = {
      {darts_v2(), tiny(3), 8, 8},      {all_ops(), tiny(3), 8, 8},  {all_ops(), fm, 28, 28},
      {all_ops(), tiny(1), 27, 13},     {all_ops(), in, 64, 64},     {darts_v2(), in, 224, 224},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    EXPECT_EQ(count_multiply_adds(c.g, c.o, c.h, c.w), derive(c.g, c.o, c.h, c.w).macs) << "case " << i;
  }
}

TEST(NetworkMacs, DartsV2Cifar) {
  const NetworkOptions o;  // C=36, 20 layers
  const int64_t macs = count_multiply_adds(darts_v2(), o, 32, 32);
  std::cout << "DARTS_V2 CIFAR-10 (C=36, 20 layers): " << macs << " multiply-adds\n";
  EXPECT_EQ(macs, derive(darts_v2(), o, 32, 32).macs);
  EXPECT_EQ(macs, 528359040);
  NetworkOptions aux = o;
  aux.auxiliary = true;  // excluded from the count
  EXPECT_EQ(count_multiply_adds(darts_v2(), aux, 32, 32), macs);
}

// ---------------------------------------------------------------------------
// The PyTorch export under DARTS's names (docs/pytorch-export.md); loading it
// into DARTS's own modules in PyTorch: tests/export_pytorch.py.

TEST(DartsStateDict, EveryTensorOnceUnderItsDartsName) {
  for (bool imagenet : {false, true}) {
    for (bool auxiliary : {false, true}) {
      const int64_t in_channels = imagenet ? 3 : 1;  // 1: a Fashion-MNIST network, same names
      auto net = make_net(all_ops(), tiny(in_channels, auxiliary, imagenet));
      const NamedTensors state = darts_state_dict(*net);
      std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
      const std::string where = std::string(imagenet ? "imagenet" : "cifar") + (auxiliary ? " + auxiliary" : "");
      EXPECT_EQ(by_name.size(), state.size()) << where << ": names are unique";
      EXPECT_EQ(state.size(), net->named_parameters().size() + net->named_buffers().size()) << where;
      int64_t parameters = 0;
      for (const auto& [name, t] : state) {
        EXPECT_TRUE(t.is_contiguous() && t.device().is_cpu()) << name;
        const bool counter = name.find("num_batches_tracked") != std::string::npos;
        EXPECT_EQ(t.scalar_type(), counter ? at::kLong : at::kFloat) << name;
        const bool buffer = counter || name.find("running_") != std::string::npos;
        if (!buffer) parameters += t.numel();
      }
      EXPECT_EQ(parameters, net->parameter_count(true)) << where;
      auto shape = [&](const std::string& name) {
        return by_name.count(name) ? by_name.at(name).sizes().vec() : std::vector<int64_t>{-1};
      };
      if (imagenet) {
        EXPECT_EQ(shape("stem0.0.weight"), (std::vector<int64_t>{2, 3, 3, 3}));
        EXPECT_EQ(shape("stem0.4.running_var"), (std::vector<int64_t>{4}));
        EXPECT_EQ(shape("stem1.1.weight"), (std::vector<int64_t>{4, 4, 3, 3}));
        // Cell 0 follows stem1's reduction: a FactorizedReduce preprocess0.
        EXPECT_EQ(shape("cells.0.preprocess0.conv_1.weight"), (std::vector<int64_t>{2, 4, 1, 1}));
      } else {
        EXPECT_EQ(shape("stem.0.weight"), (std::vector<int64_t>{12, 1, 3, 3}));
        EXPECT_EQ(shape("stem.1.num_batches_tracked"), (std::vector<int64_t>{}));
        EXPECT_EQ(shape("cells.0.preprocess0.op.1.weight"), (std::vector<int64_t>{4, 12, 1, 1}));
      }
      // Cell 0 (normal, C=4): sep_conv_5x5, dil_conv_5x5, avg_pool_3x3 (nothing), ...
      EXPECT_EQ(shape("cells.0._ops.0.op.1.weight"), (std::vector<int64_t>{4, 1, 5, 5}));
      EXPECT_EQ(shape("cells.0._ops.0.op.7.bias"), (std::vector<int64_t>{4}));
      EXPECT_EQ(shape("cells.0._ops.1.op.2.weight"), (std::vector<int64_t>{4, 4, 1, 1}));
      EXPECT_EQ(by_name.count("cells.0._ops.2.op.1.weight"), 0u);
      // Cell 1 (reduction, C=8): a strided skip is a FactorizedReduce; after it, cell 2's preprocess0
      // too (from cell 0's 3 x 4 channels to C=16).
      EXPECT_EQ(shape("cells.1._ops.0.conv_2.weight"), (std::vector<int64_t>{4, 8, 1, 1}));
      EXPECT_EQ(shape("cells.1._ops.0.bn.running_mean"), (std::vector<int64_t>{8}));
      EXPECT_EQ(shape("cells.2.preprocess0.conv_1.weight"), (std::vector<int64_t>{8, 12, 1, 1}));
      EXPECT_EQ(shape("classifier.weight")[0], 10);
      EXPECT_EQ(by_name.count("auxiliary_head.features.2.weight"), auxiliary ? 1u : 0u) << where;
      EXPECT_EQ(by_name.count("auxiliary_head.features.6.weight"), auxiliary && !imagenet ? 1u : 0u) << where;
    }
  }
}

TEST(DartsStateDict, FileHoldsTheTensorsInOrder) {
  auto net = make_net(darts_v2(), tiny(3, /*auxiliary=*/true));
  const std::string path = ::testing::TempDir() + "/darts_state_dict_test.pt";
  save_darts_state_dict(*net, path);
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 2u);
  EXPECT_EQ(std::string(bytes.data(), 2), "PK");  // torch.save's zip format
  const c10::Dict<c10::IValue, c10::IValue> loaded = torch::jit::pickle_load(bytes).toGenericDict();
  const NamedTensors expected = darts_state_dict(*net);
  ASSERT_EQ(loaded.size(), expected.size());
  size_t i = 0;
  for (const auto& entry : loaded) {
    EXPECT_EQ(entry.key().toStringRef(), expected[i].first);
    EXPECT_TRUE(entry.value().toTensor().equal(expected[i].second)) << expected[i].first;
    ++i;
  }
  EXPECT_THROW(save_darts_state_dict(*net, ::testing::TempDir() + "/no_such_dir/darts.pt"), Error);
}

TEST(DartsStateDict, PerCellGenotypeRefusedSayingWhy) {
  std::ifstream in(std::string(ADARTS_FIXTURES_DIR) + "/genotypes/s2_three_cells.json");
  std::stringstream text;
  text << in.rdbuf();
  const Genotype g = genotype_from_json(text.str());
  auto net = make_net(g, tiny(1));
  try {
    darts_state_dict(*net);
    FAIL() << "a per-cell genotype was exported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("share one normal and one reduction cell"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace adarts
