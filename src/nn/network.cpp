#include "adarts/network.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include <algorithm>
#include <optional>
#include <mutex>

#include "adarts/error.h"
#include "adarts/operations.h"
#include "adarts/supernet.h"
#include "runtime/config_json.h"

namespace adarts {
namespace {

torch::nn::Conv2d conv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(c_in, c_out, kernel).stride(stride).padding(padding).bias(false));
}

// LibTorch's Conv2d, Linear and BatchNorm constructors draw a default
// initialisation from the global generator; the network overwrites all of it
// from its own generator. This puts the global generator back where it was,
// so that building a network leaves a caller's at::manual_seed sequence as it
// was (a thread drawing from the global generator during the construction
// would see those numbers again).
class GlobalGeneratorRestorer {
 public:
  GlobalGeneratorRestorer() : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    state_ = generator_.get_state();
  }
  ~GlobalGeneratorRestorer() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(state_);
  }
  GlobalGeneratorRestorer(const GlobalGeneratorRestorer&) = delete;
  GlobalGeneratorRestorer& operator=(const GlobalGeneratorRestorer&) = delete;

 private:
  at::Generator generator_;
  at::Tensor state_;
};

// Multiply-adds are counted on a forward pass of one image: while a
// MacCounter is alive on a thread, the network's blocks add, for each module
// they run, the multiply-adds of its convolutions at the output size the
// module actually produced (out_h * out_w * weight.numel(), weight.numel()
// being c_out * c_in / groups * k * k). Every convolution of a DARTS operation
// produces the operation's output size (only the first convolution is strided).
thread_local int64_t* t_macs = nullptr;

class MacCounter {
 public:
  explicit MacCounter(int64_t& macs) {
    if (t_macs) throw Error(ErrorKind::internal, "count_multiply_adds: nested counting");
    t_macs = &macs;
  }
  ~MacCounter() { t_macs = nullptr; }
  MacCounter(const MacCounter&) = delete;
  MacCounter& operator=(const MacCounter&) = delete;
};

bool counting() { return t_macs != nullptr; }

// The convolutions of `module` (itself included) that produce `output`, one image.
void count_convolutions(const torch::nn::Module& module, const at::Tensor& output) {
  int64_t weights = 0;
  if (const auto* c = module.as<torch::nn::Conv2dImpl>()) weights += c->weight.numel();
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (const auto* c = child->as<torch::nn::Conv2dImpl>()) weights += c->weight.numel();
  }
  *t_macs += weights * output.size(2) * output.size(3);
}

// Calls visit(key, member) for every option, in the order of the JSON output.
template <class Options, class Visitor>
void for_each_field(Options& o, Visitor&& visit) {
  visit("in_channels", o.in_channels);
  visit("num_classes", o.num_classes);
  visit("channels", o.channels);
  visit("layers", o.layers);
  visit("auxiliary", o.auxiliary);
  visit("imagenet", o.imagenet);
}

}  // namespace

std::string to_json(const NetworkOptions& options) {
  return config_json::write(options, [](auto& o, auto&& visit) { for_each_field(o, visit); });
}

NetworkOptions network_options_from_json(const std::string& json, const NetworkOptions& base,
                                         bool require_every_key) {
  config_json::ReadMode mode;
  mode.noun = "network option";
  mode.require_every_key = require_every_key;
  return config_json::read(json, base, [](auto& o, auto&& visit) { for_each_field(o, visit); }, mode);
}

// A sequence of [ReLU] -> Conv -> BN steps: the CIFAR stem, or ImageNet's stem0 and stem1.
class Network::Stem : public torch::nn::Module {
 public:
  struct Step {
    bool relu_before;
    int64_t c_in, c_out, stride;
  };
  explicit Stem(const std::vector<Step>& steps) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      relu_before_.push_back(s.relu_before);
      convs_.push_back(register_module("conv" + std::to_string(i), conv(s.c_in, s.c_out, 3, s.stride, 1)));
      bns_.push_back(register_module("bn" + std::to_string(i), torch::nn::BatchNorm2d(s.c_out)));
    }
  }
  at::Tensor forward(at::Tensor x) {
    for (size_t i = 0; i < convs_.size(); ++i) {
      if (relu_before_[i]) x = at::relu(x);
      x = convs_[i](x);
      if (counting()) count_convolutions(*convs_[i], x);
      x = bns_[i](x);
    }
    return x;
  }

 private:
  std::vector<bool> relu_before_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> bns_;
};

// One cell of the genotype: preprocessing of the two inputs, one operation per
// kept edge, each intermediate node the sum of its inputs, the output the
// channel concatenation of the `concat` nodes.
class Network::Cell : public torch::nn::Module {
 public:
  Cell(const CellGenotype& genotype, int64_t c_prev_prev, int64_t c_prev, int64_t c, bool reduction,
       bool reduction_prev)
      : concat_(genotype.concat) {
    if (reduction_prev) {
      preprocess0_ = register_module("preprocess0", std::make_shared<FactorizedReduce>(c_prev_prev, c, true));
    } else {
      preprocess0_ = register_module("preprocess0", std::make_shared<ReLUConvBN>(c_prev_prev, c, 1, 1, 0, true));
    }
    preprocess1_ = register_module("preprocess1", std::make_shared<ReLUConvBN>(c_prev, c, 1, 1, 0, true));
    // Node by node; a node's inputs in their given order (validate_genotype
    // has checked that nodes are contiguous and edges point backwards).
    std::vector<GenotypeEdge> edges = genotype.edges;
    std::stable_sort(edges.begin(), edges.end(),
                     [](const GenotypeEdge& a, const GenotypeEdge& b) { return a.to < b.to; });
    for (const auto& e : edges) {
      const int64_t stride = (reduction && e.from < 2) ? 2 : 1;
      Edge edge;
      edge.from = e.from;
      edge.to = e.to;
      edge.identity = e.op == "skip_connect" && stride == 1;
      edge.op = register_module("op" + std::to_string(edges_.size()), make_operation(e.op, c, stride, true));
      edges_.push_back(std::move(edge));
      nodes_ = std::max<int64_t>(nodes_, e.to + 1);
    }
  }

  int64_t multiplier() const { return static_cast<int64_t>(concat_.size()); }

  // Drop-path masks one forward() takes: one per edge but the identities.
  int64_t droppable_count() const {
    int64_t n = 0;
    for (const auto& e : edges_) n += !e.identity;
    return n;
  }

  // `masks` is null when no path is dropped.
  at::Tensor forward(const at::Tensor& s0, const at::Tensor& s1, DropPathMasks* masks) {
    std::vector<at::Tensor> states(static_cast<size_t>(nodes_));
    states[0] = preprocess0_->forward(s0);
    states[1] = preprocess1_->forward(s1);
    if (counting()) {
      count_convolutions(*preprocess0_, states[0]);
      count_convolutions(*preprocess1_, states[1]);
    }
    for (const auto& e : edges_) {
      at::Tensor h = e.op->forward(states[static_cast<size_t>(e.from)]);
      if (counting()) count_convolutions(*e.op, h);
      if (masks && !e.identity) h = h * masks->next().to(h.scalar_type());
      at::Tensor& node = states[static_cast<size_t>(e.to)];
      node = node.defined() ? node + h : h;
    }
    std::vector<at::Tensor> outputs;
    outputs.reserve(concat_.size());
    for (int n : concat_) outputs.push_back(states[static_cast<size_t>(n)]);
    return at::cat(outputs, 1);
  }

 private:
  struct Edge {
    int from = 0, to = 2;
    bool identity = false;
    std::shared_ptr<Operation> op;
  };
  std::vector<int> concat_;
  int64_t nodes_ = 2;
  std::shared_ptr<Operation> preprocess0_, preprocess1_;
  std::vector<Edge> edges_;
};

Network::Network(const Genotype& genotype, NetworkOptions options, at::Generator generator)
    : genotype_(genotype), options_(options), generator_(std::move(generator)) {
  validate_genotype(genotype_);
  if (!generator_.defined()) throw invalid_argument("network: the generator is undefined");
  const NetworkOptions& o = options_;
  if (o.in_channels < 1 || o.channels < 1 || o.layers < 1 || o.num_classes < 2) {
    throw invalid_argument("network needs in_channels, channels, layers >= 1 and num_classes >= 2 (got in_channels " +
                           std::to_string(o.in_channels) + ", channels " + std::to_string(o.channels) + ", layers " +
                           std::to_string(o.layers) + ", num_classes " + std::to_string(o.num_classes) + ")");
  }
  if (o.imagenet && o.channels % 2 != 0) {
    throw invalid_argument("the ImageNet network needs an even channel count (its stem halves it), got " +
                           std::to_string(o.channels));
  }
  if (genotype_.per_cell() && static_cast<int64_t>(genotype_.cells.size()) != o.layers) {
    throw invalid_argument("network: the per-cell genotype (space " + genotype_.space + ") has " +
                           std::to_string(genotype_.cells.size()) + " cells but layers is " + std::to_string(o.layers) +
                           "; a per-cell genotype is built with exactly its cell count (e.g. --layers " +
                           std::to_string(genotype_.cells.size()) + ")");
  }
  const GlobalGeneratorRestorer restore_global_generator;
  const int64_t c = o.channels;
  int64_t c_prev_prev, c_prev, c_curr = c;
  bool reduction_prev;
  if (o.imagenet) {
    stems_.push_back(register_module(
        "stem0", std::make_shared<Stem>(std::vector<Stem::Step>{{false, o.in_channels, c / 2, 2}, {true, c / 2, c, 2}})));
    stems_.push_back(register_module("stem1", std::make_shared<Stem>(std::vector<Stem::Step>{{true, c, c, 2}})));
    c_prev_prev = c_prev = c;
    reduction_prev = true;
  } else {
    const int64_t c_stem = 3 * c;  // stem_multiplier
    stems_.push_back(register_module("stem", std::make_shared<Stem>(std::vector<Stem::Step>{{false, o.in_channels, c_stem, 1}})));
    c_prev_prev = c_prev = c_stem;
    reduction_prev = false;
  }
  int64_t c_to_auxiliary = 0;
  auxiliary_after_ = 2 * o.layers / 3;
  for (int64_t layer = 0; layer < o.layers; ++layer) {
    const bool reduction = is_reduction_layer(layer, o.layers);
    if (reduction) c_curr *= 2;
    // Shared genotypes: the normal or the reduce cell; per-cell genotypes: cell `layer`.
    auto cell = std::make_shared<Cell>(genotype_.cell_for_layer(layer, o.layers), c_prev_prev, c_prev, c_curr,
                                       reduction, reduction_prev);
    cells_.push_back(register_module("cell" + std::to_string(layer), cell));
    reduction_prev = reduction;
    c_prev_prev = c_prev;
    c_prev = cell->multiplier() * c_curr;
    if (layer == auxiliary_after_) c_to_auxiliary = c_prev;
  }
  if (o.auxiliary) {
    auxiliary_head_ = register_module("auxiliary_head", std::make_shared<AuxiliaryHead>(c_to_auxiliary, o.num_classes, o.imagenet));
  }
  classifier_ = register_module("classifier", torch::nn::Linear(c_prev, o.num_classes));

  initialize_parameters(*this, generator_);
  // oneDNN's CPU convolutions are several times faster on NHWC tensors.
  at::NoGradGuard no_grad;
  for (auto& p : parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

NetworkOutput Network::forward(const at::Tensor& images) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != options_.in_channels) {
    throw invalid_argument("network: expected images of shape [N, " + std::to_string(options_.in_channels) +
                           ", H, W]" + (images.defined() ? ", got " + c10::str(images.sizes()) : ", got an undefined tensor"));
  }
  const at::Tensor input = images.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor s0 = stems_[0]->forward(input);
  at::Tensor s1 = stems_.size() > 1 ? stems_[1]->forward(s0) : s0;
  // The masks of the whole pass in one draw from the network's generator, in cell and edge order.
  std::optional<DropPathMasks> masks;
  if (is_training() && drop_path_prob_ > 0.0) {
    int64_t count = 0;
    for (const auto& cell : cells_) count += cell->droppable_count();
    masks.emplace(count, images.size(0), drop_path_prob_, generator_, classifier_->weight.options());
  }
  NetworkOutput out;
  for (size_t i = 0; i < cells_.size(); ++i) {
    at::Tensor s2 = cells_[i]->forward(s0, s1, masks ? &*masks : nullptr);
    s0 = s1;
    s1 = s2;
    if (static_cast<int64_t>(i) == auxiliary_after_ && auxiliary_head_ && is_training()) {
      out.aux_logits = auxiliary_head_->forward(s1);
    }
  }
  out.logits = classifier_(at::adaptive_avg_pool2d(s1, {1, 1}).flatten(1));
  if (counting()) *t_macs += classifier_->weight.numel();  // in * out, one image
  return out;
}

void Network::set_drop_path_prob(double p) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw invalid_argument("drop-path probability must be in [0, 1), got " + std::to_string(p));
  }
  drop_path_prob_ = p;
}

int64_t Network::parameter_count(bool include_auxiliary) const {
  int64_t n = 0;
  for (const auto& item : named_parameters(/*recurse=*/true)) {
    if (!include_auxiliary && item.key().rfind("auxiliary_head.", 0) == 0) continue;
    n += item.value().numel();
  }
  return n;
}

// ---------------------------------------------------------------------------

NetworkOptions default_network_options(const Genotype& genotype) {
  NetworkOptions o;
  if (genotype.per_cell()) o.layers = static_cast<int64_t>(genotype.cells.size());
  return o;
}

int64_t count_multiply_adds(const Genotype& genotype, const NetworkOptions& options, int64_t height,
                            int64_t width) {
  if (height < 1 || width < 1) {
    throw invalid_argument("count_multiply_adds: height and width must be >= 1, got " + std::to_string(height) +
                           "x" + std::to_string(width));
  }
  NetworkOptions o = options;
  o.auxiliary = false;  // excluded from the count (and never run in eval mode anyway)
  auto net = std::make_shared<Network>(genotype, o, at::make_generator<at::CPUGeneratorImpl>(0));
  net->eval();
  at::NoGradGuard no_grad;
  int64_t macs = 0;
  {
    MacCounter counter(macs);
    net->forward(at::zeros({1, o.in_channels, height, width}));
  }
  return macs;
}

}  // namespace adarts
