// Human-readable renderings of a genotype: a table, a one-line summary and
// Graphviz DOT (one cell, or a per-cell genotype's whole network).
#include "adarts/genotype.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "adarts/error.h"
#include "genotype/genotype_internal.h"
#include "genotype/genotype_json.h"

namespace adarts {

using namespace genotype_internal;

namespace {

int cell_steps(const CellGenotype& cell) {
  int max_to = 1;
  for (const auto& e : cell.edges) max_to = std::max(max_to, e.to);
  return max_to - 1;
}

std::string input_name(int node) {
  if (node == 0) return "c_{k-2}";
  if (node == 1) return "c_{k-1}";
  return std::to_string(node);
}

}  // namespace

std::string to_table(const Genotype& genotype) {
  check_for_writer(genotype, "to_table");
  std::vector<std::vector<std::string>> rows;
  // Rows of one cell, each starting with `prefix` (the cell's name columns).
  auto add_cell = [&rows](const CellGenotype& cell, const std::vector<std::string>& prefix) {
    for (const auto& e : edges_by_node(cell)) {
      rows.push_back(prefix);
      rows.back().insert(rows.back().end(), {std::to_string(e.to), input_name(e.from), e.op});
    }
    std::string concat;
    for (std::size_t i = 0; i < cell.concat.size(); ++i) concat += (i ? "," : "") + std::to_string(cell.concat[i]);
    rows.push_back(prefix);
    rows.back().insert(rows.back().end(), {"out", concat, "concat"});
  };
  if (genotype.per_cell()) {
    rows.push_back({"cell", "type", "node", "input", "op"});
    for (std::size_t c = 0; c < genotype.cells.size(); ++c)
      add_cell(genotype.cells[c], {std::to_string(c), genotype.reduction[c] ? "reduce" : "normal"});
  } else {
    rows.push_back({"cell", "node", "input", "op"});
    add_cell(genotype.normal, {"normal"});
    add_cell(genotype.reduce, {"reduce"});
  }
  const std::size_t columns = rows[0].size();
  std::vector<std::size_t> width(columns, 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < columns; ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  auto emit = [&](const std::vector<std::string>& r) {
    std::string line;
    for (std::size_t c = 0; c < columns; ++c) {
      line += r[c];
      if (c + 1 < columns) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    out += line + "\n";
  };
  emit(rows[0]);
  std::vector<std::string> rule;
  for (std::size_t c = 0; c < columns; ++c) rule.emplace_back(width[c], '-');
  emit(rule);
  for (std::size_t i = 1; i < rows.size(); ++i) emit(rows[i]);
  return out;
}

std::string summary_line(const Genotype& genotype) {
  if (!genotype.per_cell()) return to_darts_text(genotype);
  check_for_writer(genotype, "summary_line");
  std::map<std::string, int> counts;
  for (const auto& cell : genotype.cells)
    for (const auto& e : cell.edges) ++counts[e.op];
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = genotype.space + " per-cell genotype, " + std::to_string(genotype.cells.size()) + " cells:";
  for (std::size_t i = 0; i < sorted.size(); ++i)
    out += (i ? ", " : " ") + sorted[i].first + " x" + std::to_string(sorted[i].second);
  return out;
}

namespace {

// One cell in the style of the DARTS plots (see genotype.h).
std::string cell_dot(const CellGenotype& cell, const std::string& graph_name) {
  const int steps = cell_steps(cell);
  auto node = [](int n) {
    if (n == 0) return std::string("\"c_{k-2}\"");
    if (n == 1) return std::string("\"c_{k-1}\"");
    return "\"" + std::to_string(n - 2) + "\"";
  };
  std::string out = "digraph " + graph_name + " {\n";
  out += "  rankdir=LR;\n";
  out += "  node [style=\"rounded, filled\", shape=rect, align=center, fontsize=20, height=0.5, "
         "width=0.5, penwidth=2, fontname=times];\n";
  out += "  edge [fontsize=20, fontname=times, fillcolor=gray];\n";
  out += "  \"c_{k-2}\" [fillcolor=darkseagreen2];\n";
  out += "  \"c_{k-1}\" [fillcolor=darkseagreen2];\n";
  for (int i = 0; i < steps; ++i) out += "  " + node(i + 2) + " [fillcolor=lightblue];\n";
  for (const auto& e : edges_by_node(cell))
    out += "  " + node(e.from) + " -> " + node(e.to) + " [label=" + json_string(e.op) + "];\n";
  out += "  \"c_{k}\" [fillcolor=palegoldenrod];\n";
  for (int c : cell.concat) out += "  " + node(c) + " -> \"c_{k}\";\n";
  out += "}\n";
  return out;
}

// The whole network of a per-cell genotype, as the paper's Figure 3.
std::string network_dot(const Genotype& g) {
  const int n = static_cast<int>(g.cells.size());
  auto output = [](int cell) { return cell < 0 ? std::string("\"stem\"") : "\"c" + std::to_string(cell) + "\""; };
  auto inner = [](int cell, int node) { return "\"" + std::to_string(cell) + "." + std::to_string(node - 2) + "\""; };
  std::string out = "digraph network {\n";
  out += "  rankdir=LR;\n";
  out += "  node [style=\"rounded, filled\", shape=rect, align=center, fontsize=14, height=0.4, "
         "width=0.4, penwidth=1.5, fontname=times];\n";
  out += "  edge [fontsize=12, fontname=times, penwidth=1.5];\n";
  out += "  \"legend\" [shape=note, style=filled, fillcolor=white, label=\"red: skip_connect\\nblue: "
         "sep_conv_3x3\\nblack: labelled op\\ngray: concat\"];\n";
  out += "  \"stem\" [fillcolor=darkseagreen2];\n";
  for (int c = 0; c < n; ++c) {
    const CellGenotype& cell = g.cells[static_cast<std::size_t>(c)];
    const bool reduction = g.reduction[static_cast<std::size_t>(c)];
    out += "  subgraph cluster_" + std::to_string(c) + " {\n";
    out += "    label=\"cell " + std::to_string(c) + (reduction ? " (reduction)" : " (normal)") + "\";\n";
    out += std::string("    style=filled; fillcolor=") + (reduction ? "mistyrose" : "gray95") + ";\n";
    const int steps = cell_steps(cell);
    for (int i = 0; i < steps; ++i)
      out += "    " + inner(c, i + 2) + " [label=\"" + std::to_string(i) + "\", fillcolor=lightblue];\n";
    out += "    " + output(c) + " [fillcolor=palegoldenrod];\n";
    out += "  }\n";
    for (const auto& e : edges_by_node(cell)) {
      // Inputs 0 and 1 are the outputs of the two cells before (the stem for the first cells).
      const std::string from = e.from == 0 ? output(c - 2 < 0 ? -1 : c - 2)
                               : e.from == 1 ? output(c - 1)
                                             : inner(c, e.from);
      std::string style;
      if (e.op == "skip_connect") {
        style = "color=red";
      } else if (e.op == "sep_conv_3x3") {
        style = "color=blue";
      } else {
        style = "color=black, label=" + json_string(e.op);
      }
      out += "  " + from + " -> " + inner(c, e.to) + " [" + style + "];\n";
    }
    for (int k : cell.concat) out += "  " + inner(c, k) + " -> " + output(c) + " [color=gray];\n";
  }
  out += "  \"classifier\" [fillcolor=palegoldenrod];\n";
  out += "  " + output(n - 1) + " -> \"classifier\";\n";
  out += "}\n";
  return out;
}

}  // namespace

std::string to_dot(const Genotype& genotype, const std::string& cell_name) {
  if (genotype.per_cell()) {
    check_for_writer(genotype, "to_dot");
    if (cell_name == "network") return network_dot(genotype);
    const std::size_t n = genotype.cells.size();
    if (cell_name.rfind("cell", 0) == 0 && cell_name.size() > 4 && cell_name.size() < 10 &&
        std::all_of(cell_name.begin() + 4, cell_name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      const std::size_t index = static_cast<std::size_t>(std::stoul(cell_name.substr(4)));
      if (index < n) return cell_dot(genotype.cells[index], cell_name);
    }
    throw invalid_argument("to_dot: a per-cell genotype draws \"network\" or \"cellN\" with N in [0, " +
                           std::to_string(n) + "), got \"" + cell_name + "\"");
  }
  if (cell_name != "normal" && cell_name != "reduce")
    throw invalid_argument("to_dot: cell must be \"normal\" or \"reduce\", got \"" + cell_name + "\"");
  check_for_writer(genotype, "to_dot");
  return cell_dot(cell_name == "normal" ? genotype.normal : genotype.reduce, cell_name);
}

}  // namespace adarts
