// The DARTS search network: cells of mixed operations weighted by
// softmax(alpha), reduction cells at layers/3 and 2*layers/3, a stem and a
// classifier. Alphas are kept apart from the network weights.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "adarts/device.h"
#include "adarts/bilevel_problem.h"
#include "adarts/genotype.h"
#include "adarts/operations.h"
#include "adarts/search_space.h"

namespace adarts {

struct SupernetOptions {
  int64_t in_channels = 1;
  int64_t num_classes = 10;
  int64_t channels = 16;  // C of the first cells
  int64_t layers = 8;     // number of cells
  int64_t steps = 4;      // intermediate nodes per cell
  int64_t multiplier = 4; // intermediate nodes concatenated into the output
  int64_t stem_multiplier = 3;
  std::vector<std::string> ops;  // candidate operations; empty = darts_op_names()
  std::vector<CellEdge> edges;   // the edges of a cell; empty = every earlier node (darts)
  int inputs_per_node = 2;       // inputs each node keeps in the derived genotype
  std::string space = "darts";   // the name written into derived genotypes
  bool per_cell_alphas = false;  // s2: one alpha set per cell instead of a shared normal and reduce set
  at::ScalarType dtype = at::kFloat;  // kDouble for numerical checks
  Precision precision = Precision::fp32;  // bf16: forward passes under autocast (device.h)
  bool channels_last = true;          // NHWC activations and weights (faster CPU convolutions)
  // Each mixed edge keeps only its input for the backward pass and runs its
  // operations again there: the same gradients (first and second order), a
  // fraction of the activation memory, about one more forward of time.
  bool recompute_edges = false;
  // Search/evaluation consistency (paper 4.1.2): DARTS's auxiliary head after
  // cell 2*layers/3, its loss added with this weight to training-mode losses.
  bool auxiliary = false;
  double auxiliary_weight = 0.4;
};

// SupernetOptions{} over `space`: its ops, edges, inputs kept per node, name
// and alpha sharing (shapes, classes and the rest keep their defaults).
SupernetOptions supernet_options(const SearchSpace& space);

struct SupernetOutput {
  at::Tensor logits;
  at::Tensor aux_logits;  // defined only in training mode with the auxiliary head
};

// Number of edges of a dense (darts) cell with `steps` intermediate nodes (14 for 4).
int64_t cell_edge_count(int64_t steps);

// Genotype derivation from architecture weights, used by Supernet::genotype.

// DARTS derivation for one cell: `weights` is softmax(alpha) as [edges, ops],
// edges ordered node by node (node 2: from 0, 1; node 3: from 0, 1, 2; ...).
// For each intermediate node keep the `inputs_per_node` incoming edges whose
// strongest op other than `none` is strongest, and on each the strongest op
// other than `none`. `op_names` names the columns.
CellGenotype derive_cell(const at::Tensor& weights, const std::vector<std::string>& op_names,
                         int steps, int inputs_per_node = 2);

// The same for any edge list (e.g. the fixed edges of s1/s2): `weights` has one
// row per entry of `edges`; each node keeps its `inputs_per_node` strongest inputs.
CellGenotype derive_cell_on_edges(const at::Tensor& weights, const std::vector<std::string>& op_names,
                                  const std::vector<CellEdge>& edges, int steps, int inputs_per_node = 2);

// One edge: the weighted sum of every candidate operation.
class MixedOp : public torch::nn::Module {
 public:
  MixedOp(const std::vector<std::string>& ops, int64_t channels, int64_t stride);
  // `weights` is the edge's softmax row. With masks, every operation but the
  // identity (skip_connect at stride 1) has its output multiplied by the next
  // mask (dropped per sample), as drop-path in the evaluation network.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& weights, DropPathMasks* masks = nullptr);
  // How many masks forward() takes: its operations other than none and the identity.
  int64_t droppable_count() const;
  // SupernetOptions::recompute_edges for this edge; the recomputation runs in
  // `precision` (autocast is off by the time the backward pass runs).
  void set_recompute(bool recompute, Precision precision) {
    recompute_ = recompute;
    precision_ = precision;
  }

  // The edge's output, the k-th droppable operation scaled by masks[k] when
  // masks are given: forward() and the recomputation in its backward pass.
  at::Tensor compute(const at::Tensor& x, const at::Tensor& weights, at::TensorList masks);
  Precision precision() const { return precision_; }

 private:
  bool recompute_ = false;
  Precision precision_ = Precision::fp32;
  std::vector<std::shared_ptr<Operation>> ops_;  // nullptr for `none`: it adds nothing
  std::vector<bool> droppable_;                  // drop-path applies (every op but the identity)
};

class SearchCell : public torch::nn::Module {
 public:
  SearchCell(const SupernetOptions& options, int64_t c_prev_prev, int64_t c_prev, int64_t c,
             bool reduction, bool reduction_prev);
  at::Tensor forward(const at::Tensor& s0, const at::Tensor& s1, const at::Tensor& weights,
                     DropPathMasks* masks = nullptr);
  bool reduction() const { return reduction_; }
  int64_t droppable_count() const;  // drop-path masks one forward() takes
  // Multiply-adds of this cell's convolutions for one image whose cell inputs
  // are `height` x `width` (s1's size; the edges' outputs are halved in a reduction cell).
  int64_t count_multiply_adds(int64_t height, int64_t width) const;

 private:
  bool reduction_;
  int64_t steps_, multiplier_;
  std::vector<CellEdge> edge_list_;
  std::shared_ptr<Operation> preprocess0_, preprocess1_;
  std::vector<std::shared_ptr<MixedOp>> edges_;
};

class Supernet : public torch::nn::Module, public BilevelProblem {
 public:
  // Weights and alphas are drawn from `generator` (on the CPU) and then moved to `device`.
  Supernet(SupernetOptions options, at::Generator& generator, at::Device device = at::kCPU);

  // The logits alone: no drop-path, no auxiliary head (evaluation).
  at::Tensor forward(const at::Tensor& images);
  // The forward pass of a training batch: in training mode, drop-path masks
  // drawn from batch.noise_seed and the auxiliary logits when enabled.
  SupernetOutput forward_batch(const Batch& batch);
  // Cross-entropy of the logits plus auxiliary_weight times that of the auxiliary logits when defined.
  at::Tensor objective(const SupernetOutput& output, const at::Tensor& labels) const;

  // Multiply-adds of one image's forward pass through every convolution and
  // the classifier (batch-norm, pooling and the weighted sums not counted),
  // for `height` x `width` images: the work measure of a step's FLOP/s.
  int64_t count_multiply_adds(int64_t height, int64_t width) const;

  // BilevelProblem: w = every module parameter, a = {alphas_normal, alphas_reduce}
  // for shared alphas, {alphas_cells} for per-cell alphas. loss = objective(forward_batch(batch)).
  TensorList weights() override { return parameters(); }
  TensorList arch_parameters() override;
  at::Tensor loss(const Batch& batch) override;
  TensorList running_statistics() override { return buffers(); }

  // Probability of dropping a candidate operation's output per sample, in
  // training mode (paper 4.1.2 consistency option; 0 = off).
  void set_drop_path_prob(double p);
  double drop_path_prob() const { return drop_path_prob_; }

  bool per_cell() const { return options_.per_cell_alphas; }
  // Shared alphas, [edges, ops] each; undefined tensors when per_cell().
  const at::Tensor& alphas_normal() const { return alphas_normal_; }
  const at::Tensor& alphas_reduce() const { return alphas_reduce_; }
  // Per-cell alphas, [layers, edges, ops]: row i belongs to cell i; undefined unless per_cell().
  const at::Tensor& alphas_cells() const { return alphas_cells_; }
  // softmax(alpha) of every normal (reduction) edge as [rows, ops]: the shared
  // set, or for per-cell alphas the edges of every normal (reduction) cell,
  // cell by cell ([0, ops] when there is no such cell). No gradient.
  at::Tensor normal_edge_weights() const;
  at::Tensor reduce_edge_weights() const;
  const SupernetOptions& options() const { return options_; }
  const std::vector<std::string>& op_names() const { return options_.ops; }
  at::Device device() const { return device_; }

  // The genotype derived from the current alphas (top-2 inputs per node, never
  // none); per-cell alphas give a per-cell genotype, one cell per layer.
  Genotype genotype() const;

 private:
  // regularize: drop-path (masks seeded by noise_seed) and the auxiliary logits.
  SupernetOutput run(const at::Tensor& images, bool regularize, uint64_t noise_seed);

  SupernetOptions options_;
  at::Device device_;
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<std::shared_ptr<SearchCell>> cells_;
  std::shared_ptr<AuxiliaryHead> auxiliary_head_;  // only with options.auxiliary
  int64_t auxiliary_after_ = -1;                   // the cell whose output feeds it
  torch::nn::Linear classifier_{nullptr};
  double drop_path_prob_ = 0.0;
  at::Tensor alphas_normal_, alphas_reduce_;
  at::Tensor alphas_cells_;
};

}  // namespace adarts
