#include "adarts/monitor.h"

#include "adarts/error.h"
#include "adarts/op_names.h"

namespace adarts {
namespace {

std::vector<double> entropies(const at::Tensor& weights) {
  const at::Tensor w = weights.detach().to(at::kCPU, at::kDouble);
  const at::Tensor h = -(w * w.clamp_min(1e-300).log()).sum(1);
  return std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
}

}  // namespace

CollapseFigures collapse_figures(const at::Tensor& normal, const at::Tensor& reduce,
                                 const std::vector<std::string>& ops, const Genotype& genotype) {
  if (normal.dim() != 2 || normal.size(1) != static_cast<int64_t>(ops.size()) || reduce.dim() != 2 ||
      reduce.size(1) != static_cast<int64_t>(ops.size())) {
    throw invalid_argument("collapse_figures: weights must be [edges, ops] with one column per op");
  }
  CollapseFigures f;
  const at::Tensor w = normal.detach().to(at::kCPU, at::kDouble);
  int64_t none_col = -1, skip_col = -1;
  for (size_t j = 0; j < ops.size(); ++j) {
    if (ops[j] == "none") none_col = static_cast<int64_t>(j);
    if (ops[j] == "skip_connect") skip_col = static_cast<int64_t>(j);
  }
  if (w.size(0) == 0) none_col = skip_col = -1;  // no normal cell (per-cell spaces with 1 or 2 layers)
  if (none_col >= 0) f.none_weight_mean = w.select(1, none_col).mean().item<double>();
  if (skip_col >= 0) {
    at::Tensor without_none = w.clone();
    if (none_col >= 0) without_none.select(1, none_col).fill_(-1.0);
    const at::Tensor strongest = without_none.argmax(1);
    f.skip_share = strongest.eq(skip_col).to(at::kDouble).mean().item<double>();
  }
  int64_t kept = 0, parameter_free = 0;
  std::vector<const CellGenotype*> cells = {&genotype.normal, &genotype.reduce};
  if (genotype.per_cell()) {
    cells.clear();
    for (const auto& c : genotype.cells) cells.push_back(&c);
  }
  for (const CellGenotype* cell : cells) {
    for (const auto& e : cell->edges) {
      ++kept;
      parameter_free += is_parameter_free_op(e.op);
    }
  }
  if (kept > 0) f.parameter_free_share = static_cast<double>(parameter_free) / static_cast<double>(kept);
  f.normal_entropy = entropies(normal);
  f.reduce_entropy = entropies(reduce);
  return f;
}

}  // namespace adarts
