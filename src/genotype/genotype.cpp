// Genotypes: the data types' checks (validate_genotype, cell_for_layer) and
// the helpers the other genotype files share (genotype_internal.h).
#include "adarts/genotype.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adarts/error.h"
#include "adarts/op_names.h"
#include "genotype/genotype_internal.h"

namespace adarts {

using namespace genotype_internal;

namespace {

constexpr int kInputsPerNode = 2;  // every intermediate node of the shared-cell spaces

const std::vector<std::string>& known_spaces() {
  static const std::vector<std::string> spaces = {"darts", "s1", "s2"};
  return spaces;
}

bool is_known_space(const std::string& space) {
  const auto& s = known_spaces();
  return std::find(s.begin(), s.end(), space) != s.end();
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string known_genotype_ops() {
  std::vector<std::string> ops;
  for (const auto& n : darts_op_names())
    if (n != "none") ops.push_back(n);
  return join(ops);
}

bool is_per_cell_space(const std::string& space) { return make_search_space(space).per_cell_alphas; }

// "" if `cell` is valid, otherwise a message that starts with the field at
// fault. `name` names the edge list (e.g. "normal", "cells[3].edges") and
// `cname` the concat list ("normal_concat", "cells[3].concat").
std::string cell_problem(const CellGenotype& cell, const std::string& name, const std::string& cname) {
  if (cell.edges.empty()) return name + ": a cell needs at least one intermediate node, got no edges";
  int max_to = 2;
  for (std::size_t i = 0; i < cell.edges.size(); ++i) {
    const GenotypeEdge& e = cell.edges[i];
    const std::string f = field(name, i);
    if (!is_genotype_op(e.op)) return f + ".op: " + op_problem(e.op);
    if (e.to < 2)
      return f + ".to: " + std::to_string(e.to) +
             " is not an intermediate node (nodes 0 and 1 are the cell inputs; to must be >= 2)";
    if (e.from < 0) return f + ".from: " + std::to_string(e.from) + " is out of range (must be >= 0)";
    if (e.from >= e.to)
      return f + ".from: " + std::to_string(e.from) + " must be an earlier node than to (" +
             std::to_string(e.to) + "): edges point from lower to higher nodes";
    max_to = std::max(max_to, e.to);
  }
  std::map<int, int> inputs;
  for (const auto& e : cell.edges) ++inputs[e.to];
  // The loop returns at the first node without exactly two inputs, which comes
  // within edges.size() / 2 + 1 nodes, so a huge `to` costs nothing.
  for (int node = 2; node <= max_to; ++node) {
    auto it = inputs.find(node);
    const int n = it == inputs.end() ? 0 : it->second;
    if (n != kInputsPerNode)
      return name + ": node " + std::to_string(node) + " has " + std::to_string(n) +
             " input(s), expected " + std::to_string(kInputsPerNode) +
             " (intermediate nodes are numbered contiguously from 2 up to the largest `to`, " +
             std::to_string(max_to) + ")";
  }
  const int end = max_to + 1;  // intermediate nodes are [2, end)
  if (cell.concat.empty()) return cname + ": must list at least one node";
  std::set<int> seen;
  for (std::size_t i = 0; i < cell.concat.size(); ++i) {
    const int c = cell.concat[i];
    if (c < 2 || c >= end)
      return field(cname, i) + ": node " + std::to_string(c) + " is out of range [2, " +
             std::to_string(end) + ") (the intermediate nodes of " + name + ")";
    if (!seen.insert(c).second) return field(cname, i) + ": duplicate node " + std::to_string(c);
  }
  return "";
}

std::string per_cell_problem(const Genotype& g) {
  if (!is_per_cell_space(g.space))
    return "cells: space '" + g.space +
           "' shares one normal and one reduction cell (normal/reduce, version 1); only per-cell spaces (s2) "
           "list a genotype per cell";
  if (!g.normal.edges.empty() || !g.normal.concat.empty())
    return "normal: must be empty in a per-cell genotype (its cells are in `cells`)";
  if (!g.reduce.edges.empty() || !g.reduce.concat.empty())
    return "reduce: must be empty in a per-cell genotype (its cells are in `cells`)";
  if (g.reduction.size() != g.cells.size())
    return "reduction: " + std::to_string(g.reduction.size()) + " flag(s) for " + std::to_string(g.cells.size()) +
           " cells (one per cell)";
  const auto layers = static_cast<std::int64_t>(g.cells.size());
  for (std::size_t i = 0; i < g.cells.size(); ++i) {
    const bool want = is_reduction_layer(static_cast<std::int64_t>(i), layers);
    if (g.reduction[i] != want)
      return cells_field(i) + ".reduction: cell " + std::to_string(i) + " of " + std::to_string(layers) +
             " must be " + (want ? "a reduction" : "a normal") + " cell (reductions are at cells " +
             std::to_string(layers / 3) + " and " + std::to_string(2 * layers / 3) + ": layers/3 and 2*layers/3)";
    const std::string p = cell_problem(g.cells[i], cells_field(i) + ".edges", cells_field(i) + ".concat");
    if (!p.empty()) return p;
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------
// Shared helpers (genotype_internal.h)

std::string genotype_internal::field(const std::string& name, std::size_t index) {
  return name + "[" + std::to_string(index) + "]";
}

std::string genotype_internal::cells_field(std::size_t i) { return "cells[" + std::to_string(i) + "]"; }

bool genotype_internal::is_genotype_op(std::string_view name) { return name != "none" && is_known_op(name); }

std::string genotype_internal::op_problem(const std::string& op) {
  if (op == "none") return "'none' cannot be a kept op (known: " + known_genotype_ops() + ")";
  return "unknown op '" + op + "' (known: " + known_genotype_ops() + ")";
}

std::string genotype_internal::genotype_problem(const Genotype& g) {
  if (!is_known_space(g.space))
    return "space: unknown space '" + g.space + "' (known: " + join(known_spaces()) + ")";
  if (g.per_cell()) return per_cell_problem(g);
  if (!g.reduction.empty())
    return "reduction: " + std::to_string(g.reduction.size()) + " flag(s) but no per-cell genotypes in `cells`";
  if (is_per_cell_space(g.space))
    return "cells: space '" + g.space + "' has one genotype per cell (`cells`, version 2), got shared normal/reduce cells";
  std::string p = cell_problem(g.normal, "normal", "normal_concat");
  if (p.empty()) p = cell_problem(g.reduce, "reduce", "reduce_concat");
  return p;
}

void genotype_internal::check_for_writer(const Genotype& g, const char* writer) {
  const std::string problem = genotype_problem(g);
  if (!problem.empty()) throw invalid_argument(std::string(writer) + ": invalid genotype: " + problem);
}

std::vector<GenotypeEdge> genotype_internal::edges_by_node(const CellGenotype& cell) {
  std::vector<GenotypeEdge> edges = cell.edges;
  std::stable_sort(edges.begin(), edges.end(),
                   [](const GenotypeEdge& a, const GenotypeEdge& b) { return a.to < b.to; });
  return edges;
}

std::string genotype_internal::describe_position(const std::string& text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col) + " (offset " +
         std::to_string(offset) + ")";
}

// ---------------------------------------------------------------------------

const CellGenotype& Genotype::cell_for_layer(int64_t layer, int64_t layers) const {
  if (layer < 0 || layer >= layers)
    throw invalid_argument("cell_for_layer: layer " + std::to_string(layer) + " is out of range for " +
                           std::to_string(layers) + " cells");
  if (!per_cell()) return is_reduction_layer(layer, layers) ? reduce : normal;
  if (layers != static_cast<int64_t>(cells.size()))
    throw invalid_argument("the per-cell genotype (space " + space + ") has " + std::to_string(cells.size()) +
                           " cells but the network has " + std::to_string(layers) + " layers; they must match");
  return cells[static_cast<std::size_t>(layer)];
}

void validate_genotype(const Genotype& genotype) { check_for_writer(genotype, "validate_genotype"); }

}  // namespace adarts
