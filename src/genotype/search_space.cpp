#include "adarts/search_space.h"

#include <algorithm>
#include <cmath>

#include "adarts/error.h"
#include "adarts/op_names.h"

namespace adarts {

std::vector<std::string> parse_op_list(const std::string& text) {
  std::vector<std::string> ops;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const size_t begin = item.find_first_not_of(" \t"), end = item.find_last_not_of(" \t");
    if (begin != std::string::npos) ops.push_back(item.substr(begin, end - begin + 1));
    start = comma + 1;
  }
  return ops;
}

std::vector<CellEdge> dense_edges(int steps) {
  std::vector<CellEdge> edges;
  for (int node = 2; node < steps + 2; ++node) {
    for (int from = 0; from < node; ++from) edges.push_back({from, node});
  }
  return edges;
}

std::vector<CellEdge> chain_edges(int steps) {
  std::vector<CellEdge> edges;
  for (int node = 2; node < steps + 2; ++node) {
    // c_{k-2} and the previous node; for the first node those are the two inputs.
    edges.push_back({0, node});
    edges.push_back({node - 1, node});
  }
  return edges;
}

SearchSpace make_search_space(const std::string& name, const std::vector<std::string>& ops, int steps) {
  if (steps < 1) throw invalid_argument("a search space needs steps >= 1");
  SearchSpace space;
  space.name = name;
  space.steps = steps;
  if (name == "darts") {
    space.ops = darts_op_names();
    space.edges = dense_edges(steps);
  } else if (name == "s1") {
    space.ops = darts_op_names();
    space.edges = chain_edges(steps);
  } else if (name == "s2") {
    space.ops = {"skip_connect", "sep_conv_3x3"};
    space.edges = chain_edges(steps);
    space.per_cell_alphas = true;
    space.default_layers = 20;
  } else {
    throw invalid_argument("space must be darts, s1 or s2, got '" + name + "'");
  }
  if (!ops.empty()) space.ops = ops;
  bool any_kept = false;
  for (const auto& op : space.ops) {
    if (!is_known_op(op)) throw invalid_argument("unknown operation '" + op + "' in the op list of space " + name);
    any_kept = any_kept || op != "none";
  }
  if (!any_kept) throw invalid_argument("the op list of space " + name + " needs an operation other than none");
  return space;
}

bool is_reduction_layer(int64_t layer, int64_t layers) {
  return layer == layers / 3 || layer == 2 * layers / 3;
}

double log10_architecture_count(const SearchSpace& space, int64_t layers) {
  int kept_ops = 0;
  for (const auto& op : space.ops) kept_ops += op != "none";
  double per_cell = 0.0;
  for (int node = 2; node < space.steps + 2; ++node) {
    int inputs = 0;
    for (const auto& e : space.edges) inputs += e.to == node;
    const int k = std::min(inputs, space.inputs_per_node);
    // log10 C(inputs, k) + k log10(kept_ops)
    per_cell += (std::lgamma(inputs + 1.0) - std::lgamma(k + 1.0) - std::lgamma(inputs - k + 1.0)) / std::log(10.0);
    per_cell += k * std::log10(static_cast<double>(kept_ops));
  }
  const double cells = space.per_cell_alphas ? static_cast<double>(layers) : 2.0;
  return cells * per_cell;
}

}  // namespace adarts
