#include "adarts/supernet.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/functional/loss.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "adarts/error.h"
#include "adarts/op_names.h"
#include "nn/weighted_sum.h"

namespace adarts {

int64_t cell_edge_count(int64_t steps) { return steps * (steps + 3) / 2; }

SupernetOptions supernet_options(const SearchSpace& space) {
  SupernetOptions o;
  o.steps = space.steps;
  o.multiplier = space.steps;
  o.ops = space.ops;
  o.edges = space.edges;
  o.inputs_per_node = space.inputs_per_node;
  o.space = space.name;
  o.per_cell_alphas = space.per_cell_alphas;
  return o;
}

MixedOp::MixedOp(const std::vector<std::string>& ops, int64_t channels, int64_t stride) {
  for (size_t i = 0; i < ops.size(); ++i) {
    droppable_.push_back(!(ops[i] == "skip_connect" && stride == 1));
    if (ops[i] == "none") {
      ops_.push_back(nullptr);
      continue;
    }
    ops_.push_back(register_module(ops[i], make_operation(ops[i], channels, stride,
                                                          /*affine=*/false, /*bn_after_pool=*/true)));
  }
}

int64_t MixedOp::droppable_count() const {
  int64_t n = 0;
  for (size_t i = 0; i < ops_.size(); ++i) n += ops_[i] && droppable_[i];
  return n;
}

namespace {

// While alive, the batch-norm layers of a module update scratch copies of
// their running statistics: the forward pass has moved the real ones already,
// and the recomputation's graph keeps the copies it updated (restoring the
// real ones in place would invalidate that graph).
class ScratchStatistics {
 public:
  explicit ScratchStatistics(torch::nn::Module& module) {
    for (const auto& m : module.modules()) {
      auto* bn = m->as<torch::nn::BatchNorm2dImpl>();
      if (!bn || !bn->running_mean.defined()) continue;
      real_.push_back({bn, bn->running_mean, bn->running_var, bn->num_batches_tracked});
      bn->running_mean = bn->running_mean.clone();
      bn->running_var = bn->running_var.clone();
      bn->num_batches_tracked = bn->num_batches_tracked.clone();
    }
  }
  ~ScratchStatistics() {
    for (const auto& r : real_) {
      r.bn->running_mean = r.mean;
      r.bn->running_var = r.var;
      r.bn->num_batches_tracked = r.count;
    }
  }
  ScratchStatistics(const ScratchStatistics&) = delete;
  ScratchStatistics& operator=(const ScratchStatistics&) = delete;

 private:
  struct Real {
    torch::nn::BatchNorm2dImpl* bn;
    at::Tensor mean, var, count;
  };
  std::vector<Real> real_;
};

// A mixed edge that saves only its inputs: the backward pass runs the edge's
// operations again (grad mode on) and differentiates that. Under create_graph
// (double backward, the exact Hessian-vector products) the recomputed
// gradients keep their graph, so second derivatives flow as without it.
struct RecomputedEdge : public torch::autograd::Function<RecomputedEdge> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weights,
                            at::TensorList masks, at::TensorList params, MixedOp* edge) {
    // The module outlives every graph built from it (the supernet owns its edges).
    ctx->saved_data["edge"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(edge));
    ctx->saved_data["masks"] = static_cast<int64_t>(masks.size());
    std::vector<at::Tensor> saved = {x, weights};
    saved.insert(saved.end(), masks.begin(), masks.end());
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    return edge->compute(x, weights, masks);  // autograd records nothing in here
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    auto* edge = reinterpret_cast<MixedOp*>(static_cast<intptr_t>(ctx->saved_data["edge"].toInt()));
    const auto mask_count = static_cast<size_t>(ctx->saved_data["masks"].toInt());
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const std::vector<at::Tensor> masks(saved.begin() + 2, saved.begin() + 2 + static_cast<std::ptrdiff_t>(mask_count));
    const std::vector<at::Tensor> params(saved.begin() + 2 + static_cast<std::ptrdiff_t>(mask_count), saved.end());
    const bool create_graph = at::GradMode::is_enabled();  // the engine enables it for a differentiable backward
    at::Tensor x = saved[0], weights = saved[1], y;
    {
      const ScratchStatistics scratch(*edge);  // the forward pass moved the running statistics once already
      at::AutoGradMode grad_mode(true);
      const AutocastScope autocast(x.device(), edge->precision());  // as in the forward pass
      if (!create_graph) {  // a graph of its own, freed after this call
        x = x.detach().requires_grad_(saved[0].requires_grad());
        weights = weights.detach().requires_grad_(saved[1].requires_grad());
      }
      y = edge->compute(x, weights, masks);
    }
    // The gradient of each input that needs one; undefined for the rest.
    std::vector<at::Tensor> inputs = {x, weights};
    inputs.insert(inputs.end(), params.begin(), params.end());
    std::vector<at::Tensor> wanted;
    std::vector<size_t> where;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].requires_grad()) {
        wanted.push_back(inputs[i]);
        where.push_back(i);
      }
    }
    std::vector<at::Tensor> grads(inputs.size());
    if (!wanted.empty()) {
      const auto found = torch::autograd::grad({y}, wanted, {grad_output[0]}, /*retain_graph=*/create_graph,
                                               create_graph, /*allow_unused=*/true);
      for (size_t k = 0; k < where.size(); ++k) grads[where[k]] = found[k];
    }
    // One entry per forward input: x, weights, each mask, each parameter, the edge.
    torch::autograd::variable_list out = {grads[0], grads[1]};
    out.insert(out.end(), mask_count, at::Tensor());
    out.insert(out.end(), grads.begin() + 2, grads.end());
    out.emplace_back();
    return out;
  }
};

}  // namespace

at::Tensor MixedOp::forward(const at::Tensor& x, const at::Tensor& weights, DropPathMasks* masks) {
  std::vector<at::Tensor> edge_masks;
  if (masks) {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i] && droppable_[i]) edge_masks.push_back(masks->next());
    }
  }
  if (recompute_ && at::GradMode::is_enabled()) {
    const std::vector<at::Tensor> params = parameters();
    return RecomputedEdge::apply(x, weights, at::TensorList(edge_masks), at::TensorList(params), this);
  }
  return compute(x, weights, edge_masks);
}

at::Tensor MixedOp::compute(const at::Tensor& x, const at::Tensor& weights, at::TensorList masks) {
  at::Tensor relu_x;
  std::vector<at::Tensor> outputs, scales;
  size_t next_mask = 0;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (!ops_[i]) continue;  // none: weight * 0 contributes nothing, to the output or any gradient
    at::Tensor y;
    if (ops_[i]->starts_with_relu()) {
      if (!relu_x.defined()) relu_x = at::relu(x);
      y = ops_[i]->forward_after_relu(relu_x);
    } else {
      y = ops_[i]->forward(x);
    }
    at::Tensor scale = weights[static_cast<int64_t>(i)];
    if (!masks.empty() && droppable_[i]) {
      // The per-sample mask folded into the edge weight: one multiplication of
      // the activation, in its dtype (bf16 under autocast stays bf16).
      scale = (scale * masks[next_mask++]).to(y.scalar_type());
    }
    outputs.push_back(y);
    scales.push_back(scale);
  }
  return weighted_sum(outputs, scales);
}

namespace {

// The weights of every convolution in `module` (itself included): each
// produces its block's output size in a DARTS operation (only the first
// convolution is strided), so weights x output pixels are its multiply-adds.
int64_t convolution_weights(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (const auto* c = m->as<torch::nn::Conv2dImpl>()) n += c->weight.numel();
  }
  return n;
}

}  // namespace

SearchCell::SearchCell(const SupernetOptions& options, int64_t c_prev_prev, int64_t c_prev, int64_t c,
                       bool reduction, bool reduction_prev)
    : reduction_(reduction), steps_(options.steps), multiplier_(options.multiplier), edge_list_(options.edges) {
  if (reduction_prev) {
    preprocess0_ = register_module("preprocess0", std::make_shared<FactorizedReduce>(c_prev_prev, c, false));
  } else {
    preprocess0_ = register_module("preprocess0", std::make_shared<ReLUConvBN>(c_prev_prev, c, 1, 1, 0, false));
  }
  preprocess1_ = register_module("preprocess1", std::make_shared<ReLUConvBN>(c_prev, c, 1, 1, 0, false));
  for (const CellEdge& e : edge_list_) {
    const int64_t stride = (reduction && e.from < 2) ? 2 : 1;
    auto edge = std::make_shared<MixedOp>(options.ops, c, stride);
    edge->set_recompute(options.recompute_edges, options.precision);
    edges_.push_back(register_module("edge" + std::to_string(edges_.size()), edge));
  }
}

int64_t SearchCell::count_multiply_adds(int64_t height, int64_t width) const {
  const int64_t out = reduction_ ? ((height + 1) / 2) * ((width + 1) / 2) : height * width;
  int64_t macs = (convolution_weights(*preprocess0_) + convolution_weights(*preprocess1_)) * height * width;
  for (const auto& edge : edges_) macs += convolution_weights(*edge) * out;
  return macs;
}

int64_t SearchCell::droppable_count() const {
  int64_t n = 0;
  for (const auto& edge : edges_) n += edge->droppable_count();
  return n;
}

at::Tensor SearchCell::forward(const at::Tensor& s0, const at::Tensor& s1, const at::Tensor& weights,
                               DropPathMasks* masks) {
  std::vector<at::Tensor> states = {preprocess0_->forward(s0), preprocess1_->forward(s1)};
  size_t edge = 0;  // edges are ordered node by node
  for (int64_t node = 2; node < steps_ + 2; ++node) {
    at::Tensor sum;
    for (; edge < edge_list_.size() && edge_list_[edge].to == node; ++edge) {
      at::Tensor y = edges_[edge]->forward(states[edge_list_[edge].from], weights[static_cast<int64_t>(edge)], masks);
      sum = sum.defined() ? sum + y : y;
    }
    states.push_back(sum);
  }
  std::vector<at::Tensor> outputs(states.end() - multiplier_, states.end());
  return at::cat(outputs, 1);
}

Supernet::Supernet(SupernetOptions options, at::Generator& generator, at::Device device)
    : options_(std::move(options)), device_(device) {
  if (options_.ops.empty()) options_.ops = darts_op_names();
  if (options_.edges.empty()) options_.edges = dense_edges(static_cast<int>(options_.steps));
  for (int64_t node = 2; node < options_.steps + 2; ++node) {
    int inputs = 0;
    for (const auto& e : options_.edges) {
      if (e.from < 0 || e.from >= e.to || e.to < 2 || e.to >= options_.steps + 2) {
        throw invalid_argument("supernet edge " + std::to_string(e.from) + " -> " + std::to_string(e.to) +
                               " is out of range for " + std::to_string(options_.steps) + " steps");
      }
      inputs += e.to == node;
    }
    if (inputs == 0) throw invalid_argument("supernet node " + std::to_string(node) + " has no input edge");
  }
  for (const auto& op : options_.ops) {
    if (!is_known_op(op)) throw invalid_argument("unknown operation '" + op + "' in the search space");
  }
  if (options_.channels < 1 || options_.layers < 1 || options_.steps < 1 || options_.in_channels < 1 ||
      options_.num_classes < 2 || options_.multiplier < 1 || options_.multiplier > options_.steps) {
    throw invalid_argument("supernet needs channels, layers, steps >= 1, num_classes >= 2 and 1 <= multiplier <= steps");
  }
  if (!(options_.auxiliary_weight >= 0.0 && std::isfinite(options_.auxiliary_weight))) {
    throw invalid_argument("supernet auxiliary_weight must be finite and >= 0, got " +
                           std::to_string(options_.auxiliary_weight));
  }
  const int64_t c = options_.channels;
  const int64_t c_stem = options_.stem_multiplier * c;
  stem_conv_ = register_module("stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.in_channels, c_stem, 3)
                                                                  .padding(1)
                                                                  .bias(false)));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(c_stem));

  int64_t c_prev_prev = c_stem, c_prev = c_stem, c_curr = c, c_to_auxiliary = 0;
  bool reduction_prev = false;
  auxiliary_after_ = 2 * options_.layers / 3;  // as the evaluation network
  for (int64_t layer = 0; layer < options_.layers; ++layer) {
    const bool reduction = is_reduction_layer(layer, options_.layers);
    if (reduction) c_curr *= 2;
    auto cell = std::make_shared<SearchCell>(options_, c_prev_prev, c_prev, c_curr, reduction, reduction_prev);
    cells_.push_back(register_module("cell" + std::to_string(layer), cell));
    reduction_prev = reduction;
    c_prev_prev = c_prev;
    c_prev = options_.multiplier * c_curr;
    if (layer == auxiliary_after_) c_to_auxiliary = c_prev;
  }
  if (options_.auxiliary) {
    auxiliary_head_ = register_module(
        "auxiliary_head", std::make_shared<AuxiliaryHead>(c_to_auxiliary, options_.num_classes, /*imagenet=*/false));
  }
  classifier_ = register_module("classifier", torch::nn::Linear(c_prev, options_.num_classes));
  initialize_parameters(*this, generator);

  const auto edges = static_cast<int64_t>(options_.edges.size());
  const int64_t num_ops = static_cast<int64_t>(options_.ops.size());
  if (options_.per_cell_alphas) {
    alphas_cells_ = 1e-3 * at::randn({options_.layers, edges, num_ops}, generator, at::kFloat);
  } else {
    alphas_normal_ = 1e-3 * at::randn({edges, num_ops}, generator, at::kFloat);
    alphas_reduce_ = 1e-3 * at::randn({edges, num_ops}, generator, at::kFloat);
  }

  to(device_, options_.dtype);
  if (options_.channels_last) {
    // oneDNN's CPU convolutions are several times faster on NHWC tensors.
    at::NoGradGuard no_grad;
    for (auto& p : parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  for (at::Tensor* a : {&alphas_normal_, &alphas_reduce_, &alphas_cells_}) {
    if (a->defined()) *a = a->to(device_, options_.dtype).set_requires_grad(true);
  }
}

TensorList Supernet::arch_parameters() {
  if (options_.per_cell_alphas) return {alphas_cells_};
  return {alphas_normal_, alphas_reduce_};
}

at::Tensor Supernet::forward(const at::Tensor& images) { return run(images, /*regularize=*/false, 0).logits; }

SupernetOutput Supernet::forward_batch(const Batch& batch) {
  return run(batch.images, /*regularize=*/is_training(), batch.noise_seed);
}

SupernetOutput Supernet::run(const at::Tensor& images, bool regularize, uint64_t noise_seed) {
  at::Tensor weights_normal, weights_reduce, weights_cells;
  if (options_.per_cell_alphas) {
    weights_cells = at::softmax(alphas_cells_, -1);
  } else {
    weights_normal = at::softmax(alphas_normal_, -1);
    weights_reduce = at::softmax(alphas_reduce_, -1);
  }
  // Convolutions in bf16 from here when asked; the alphas' softmax above stays fp32.
  const AutocastScope autocast(device_, options_.precision);
  std::optional<DropPathMasks> masks;
  int64_t masks_count = 0;
  if (regularize && drop_path_prob_ > 0.0) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(noise_seed);
    for (const auto& cell : cells_) masks_count += cell->droppable_count();
    masks.emplace(masks_count, images.size(0), drop_path_prob_, generator, images.options().dtype(options_.dtype));
  }
  const at::Tensor input = options_.channels_last ? images.contiguous(at::MemoryFormat::ChannelsLast) : images;
  at::Tensor s0 = stem_bn_(stem_conv_(input));
  at::Tensor s1 = s0;
  SupernetOutput out;
  for (size_t i = 0; i < cells_.size(); ++i) {
    const auto& cell = cells_[i];
    const at::Tensor weights = options_.per_cell_alphas ? weights_cells[static_cast<int64_t>(i)]
                               : cell->reduction()     ? weights_reduce
                                                       : weights_normal;
    at::Tensor s2 = cell->forward(s0, s1, weights, masks ? &*masks : nullptr);
    s0 = s1;
    s1 = s2;
    if (auxiliary_head_ && regularize && static_cast<int64_t>(i) == auxiliary_after_) {
      out.aux_logits = auxiliary_head_->forward(s1).to(options_.dtype);
    }
  }
  if (masks && masks->used() != masks_count) throw std::logic_error("drop-path: a pass used fewer masks than drawn");
  at::Tensor pooled = at::adaptive_avg_pool2d(s1, {1, 1}).flatten(1);
  // Losses and their gradients in the weights' dtype (fp32) whatever the precision of the passes.
  out.logits = classifier_(pooled).to(options_.dtype);
  return out;
}

int64_t Supernet::count_multiply_adds(int64_t height, int64_t width) const {
  if (height < 1 || width < 1) throw invalid_argument("count_multiply_adds: height and width must be >= 1");
  int64_t macs = stem_conv_->weight.numel() * height * width;  // the stem keeps the image size
  for (const auto& cell : cells_) {
    macs += cell->count_multiply_adds(height, width);
    if (cell->reduction()) {
      height = (height + 1) / 2;
      width = (width + 1) / 2;
    }
  }
  return macs + classifier_->weight.numel();
}

at::Tensor Supernet::objective(const SupernetOutput& output, const at::Tensor& labels) const {
  at::Tensor loss = at::cross_entropy_loss(output.logits, labels);
  if (output.aux_logits.defined()) loss = loss + options_.auxiliary_weight * at::cross_entropy_loss(output.aux_logits, labels);
  return loss;
}

at::Tensor Supernet::loss(const Batch& batch) { return objective(forward_batch(batch), batch.labels); }

void Supernet::set_drop_path_prob(double p) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw invalid_argument("drop-path probability must be in [0, 1), got " + std::to_string(p));
  }
  drop_path_prob_ = p;
}

namespace {

// softmax rows of the cells whose reduction flag is `reduction`, cell by cell.
at::Tensor per_cell_edge_weights(const at::Tensor& alphas_cells, int64_t layers, bool reduction) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < layers; ++i) {
    if (is_reduction_layer(i, layers) == reduction) rows.push_back(at::softmax(alphas_cells[i], -1));
  }
  if (rows.empty()) return at::empty({0, alphas_cells.size(2)}, alphas_cells.options().requires_grad(false));
  return at::cat(rows, 0);
}

}  // namespace

at::Tensor Supernet::normal_edge_weights() const {
  if (options_.per_cell_alphas) return per_cell_edge_weights(alphas_cells_, options_.layers, false);
  return at::softmax(alphas_normal_.detach(), -1);
}

at::Tensor Supernet::reduce_edge_weights() const {
  if (options_.per_cell_alphas) return per_cell_edge_weights(alphas_cells_, options_.layers, true);
  return at::softmax(alphas_reduce_.detach(), -1);
}

CellGenotype derive_cell(const at::Tensor& weights, const std::vector<std::string>& op_names,
                         int steps, int inputs_per_node) {
  if (steps < 1) throw invalid_argument("derive_cell: steps must be >= 1, got " + std::to_string(steps));
  if (inputs_per_node < 1 || inputs_per_node > 2)
    throw invalid_argument("derive_cell: inputs_per_node must be 1 or 2 (the first node has 2 inputs), got " +
                           std::to_string(inputs_per_node));
  if (!weights.defined()) throw invalid_argument("derive_cell: weights is an undefined tensor");
  const std::int64_t num_edges = static_cast<std::int64_t>(steps) * (steps + 3) / 2;
  if (weights.dim() != 2 || weights.size(0) != num_edges ||
      weights.size(1) != static_cast<std::int64_t>(op_names.size())) {
    std::ostringstream shape;
    shape << weights.sizes();
    throw invalid_argument("derive_cell: weights must have shape [" + std::to_string(num_edges) + ", " +
                           std::to_string(op_names.size()) + "] (edges of " + std::to_string(steps) +
                           " steps, ops), got " + shape.str());
  }
  if (!at::isFloatingType(weights.scalar_type()))
    throw invalid_argument("derive_cell: weights must be a floating-point tensor");
  std::vector<std::size_t> candidates;  // op columns other than none
  for (std::size_t j = 0; j < op_names.size(); ++j) {
    if (!is_known_op(op_names[j]))
      throw invalid_argument("derive_cell: unknown op name '" + op_names[j] + "' in column " + std::to_string(j));
    if (op_names[j] != "none") candidates.push_back(j);
  }
  if (candidates.empty()) throw invalid_argument("derive_cell: no op other than 'none' to choose from");

  return derive_cell_on_edges(weights, op_names, dense_edges(steps), steps, inputs_per_node);
}

CellGenotype derive_cell_on_edges(const at::Tensor& weights, const std::vector<std::string>& op_names,
                                  const std::vector<CellEdge>& edges, int steps, int inputs_per_node) {
  if (!weights.defined() || weights.dim() != 2 || weights.size(0) != static_cast<std::int64_t>(edges.size()) ||
      weights.size(1) != static_cast<std::int64_t>(op_names.size())) {
    throw invalid_argument("derive_cell_on_edges: weights must have shape [" + std::to_string(edges.size()) + ", " +
                           std::to_string(op_names.size()) + "] (edges, ops)");
  }
  std::vector<std::size_t> candidates;  // op columns other than none
  for (std::size_t j = 0; j < op_names.size(); ++j) {
    if (op_names[j] != "none") candidates.push_back(j);
  }
  if (candidates.empty()) throw invalid_argument("derive_cell: no op other than 'none' to choose from");
  const at::Tensor w = weights.detach().to(at::kCPU, at::kDouble).contiguous();
  const double* p = w.data_ptr<double>();
  const std::size_t num_ops = op_names.size();
  for (std::int64_t i = 0; i < w.numel(); ++i)
    if (std::isnan(p[i])) throw invalid_argument("derive_cell: weights contain NaN");

  CellGenotype cell;
  for (int node = 2; node < steps + 2; ++node) {
    std::vector<std::size_t> incoming;  // edge indices into `edges`
    for (std::size_t e = 0; e < edges.size(); ++e) {
      if (edges[e].to == node) incoming.push_back(e);
    }
    std::vector<std::size_t> best_op(incoming.size());
    std::vector<double> strength(incoming.size());
    for (std::size_t k = 0; k < incoming.size(); ++k) {
      const double* row = p + incoming[k] * num_ops;
      std::size_t best = candidates[0];
      for (std::size_t j : candidates)
        if (row[j] > row[best]) best = j;  // strict: the lower column wins ties
      best_op[k] = best;
      strength[k] = row[best];
    }
    std::vector<std::size_t> order(incoming.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return strength[a] > strength[b]; });
    order.resize(std::min(order.size(), static_cast<std::size_t>(inputs_per_node)));
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return edges[incoming[a]].from < edges[incoming[b]].from; });
    for (std::size_t k : order)
      cell.edges.push_back(GenotypeEdge{op_names[best_op[k]], edges[incoming[k]].from, node});
  }
  for (int node = 2; node < steps + 2; ++node) cell.concat.push_back(node);
  return cell;
}

Genotype Supernet::genotype() const {
  at::NoGradGuard no_grad;
  Genotype g;
  g.space = options_.space;
  const int steps = static_cast<int>(options_.steps);
  if (options_.per_cell_alphas) {
    const at::Tensor weights = at::softmax(alphas_cells_, -1);
    for (int64_t i = 0; i < options_.layers; ++i) {
      g.cells.push_back(derive_cell_on_edges(weights[i], options_.ops, options_.edges, steps, options_.inputs_per_node));
      g.reduction.push_back(is_reduction_layer(i, options_.layers));
    }
    return g;
  }
  g.normal = derive_cell_on_edges(at::softmax(alphas_normal_, -1), options_.ops, options_.edges, steps,
                                  options_.inputs_per_node);
  g.reduce = derive_cell_on_edges(at::softmax(alphas_reduce_, -1), options_.ops, options_.edges, steps,
                                  options_.inputs_per_node);
  return g;
}

}  // namespace adarts
