// Genotypes: the versioned JSON form, the original DARTS text form, a table
// and Graphviz DOT.
#include "adarts/genotype.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adarts/error.h"
#include "adarts/op_names.h"

namespace adarts {
namespace {

namespace json = boost::json;

constexpr int kInputsPerNode = 2;  // every intermediate node of the shared-cell spaces
constexpr const char* kFormat = "adarts.genotype";
constexpr std::int64_t kVersion = 1;         // shared normal and reduce cells
constexpr std::int64_t kPerCellVersion = 2;  // one genotype per network cell

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

// The ops a genotype may hold: every DARTS op except `none`.
bool is_genotype_op(std::string_view name) { return name != "none" && is_known_op(name); }

std::string known_genotype_ops() {
  std::vector<std::string> ops;
  for (const auto& n : darts_op_names())
    if (n != "none") ops.push_back(n);
  return join(ops);
}

std::string op_problem(const std::string& op) {
  if (op == "none") return "'none' cannot be a kept op (known: " + known_genotype_ops() + ")";
  return "unknown op '" + op + "' (known: " + known_genotype_ops() + ")";
}

std::string field(const std::string& cell, std::size_t index) {
  return cell + "[" + std::to_string(index) + "]";
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

std::string cells_field(std::size_t i) { return "cells[" + std::to_string(i) + "]"; }

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

std::string genotype_problem(const Genotype& g) {
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

// Edges grouped by node, keeping the written order of each node's inputs.
std::vector<GenotypeEdge> edges_by_node(const CellGenotype& cell) {
  std::vector<GenotypeEdge> edges = cell.edges;
  std::stable_sort(edges.begin(), edges.end(),
                   [](const GenotypeEdge& a, const GenotypeEdge& b) { return a.to < b.to; });
  return edges;
}

int cell_steps(const CellGenotype& cell) {
  int max_to = 1;
  for (const auto& e : cell.edges) max_to = std::max(max_to, e.to);
  return max_to - 1;
}

// ---------------------------------------------------------------------------
// JSON

std::string json_string(std::string_view s) { return json::serialize(json::string(s)); }

bool is_scalar(const json::value& v) { return !v.is_object() && !v.is_array(); }

// Deterministic pretty printing of free-form metadata: objects one key a line
// in their stored order, arrays of scalars on one line.
void write_pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& kv : o) {
      out += pad + json_string(kv.key()) + ": ";
      write_pretty(out, kv.value(), indent + 2);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    if (std::all_of(a.begin(), a.end(), is_scalar)) {
      out += "[";
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ", ";
        out += json::serialize(a[i]);
      }
      out += "]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      out += pad;
      write_pretty(out, a[i], indent + 2);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + "]";
  } else {
    out += json::serialize(v);
  }
}

std::string concat_json(const std::vector<int>& concat) {
  std::string out = "[";
  for (std::size_t i = 0; i < concat.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(concat[i]);
  }
  return out + "]";
}

std::string edge_json(const GenotypeEdge& e) {
  return "{\"op\": " + json_string(e.op) + ", \"from\": " + std::to_string(e.from) + ", \"to\": " +
         std::to_string(e.to) + "}";
}

void write_cell_json(std::string& out, const CellGenotype& cell, const std::string& name) {
  const auto edges = edges_by_node(cell);
  out += "  " + json_string(name) + ": [\n";
  for (std::size_t i = 0; i < edges.size(); ++i) {
    out += "    " + edge_json(edges[i]);
    out += i + 1 < edges.size() ? ",\n" : "\n";
  }
  out += "  ],\n";
  out += "  " + json_string(name + "_concat") + ": " + concat_json(cell.concat);
}

// Version 2: one object per cell, its edges one a line.
void write_cells_json(std::string& out, const Genotype& g) {
  out += "  \"cells\": [\n";
  for (std::size_t c = 0; c < g.cells.size(); ++c) {
    const auto edges = edges_by_node(g.cells[c]);
    out += "    {\n";
    out += std::string("      \"reduction\": ") + (g.reduction[c] ? "true" : "false") + ",\n";
    out += "      \"edges\": [\n";
    for (std::size_t i = 0; i < edges.size(); ++i) {
      out += "        " + edge_json(edges[i]);
      out += i + 1 < edges.size() ? ",\n" : "\n";
    }
    out += "      ],\n";
    out += "      \"concat\": " + concat_json(g.cells[c].concat) + "\n";
    out += c + 1 < g.cells.size() ? "    },\n" : "    }\n";
  }
  out += "  ]";
}

std::string write_json(const Genotype& g, const json::object* metadata) {
  const std::string problem = genotype_problem(g);
  if (!problem.empty()) throw invalid_argument("to_json: invalid genotype: " + problem);
  std::string out = "{\n";
  out += "  \"format\": " + json_string(kFormat) + ",\n";
  out += "  \"version\": " + std::to_string(g.per_cell() ? kPerCellVersion : kVersion) + ",\n";
  out += "  \"space\": " + json_string(g.space) + ",\n";
  if (g.per_cell()) {
    write_cells_json(out, g);
  } else {
    write_cell_json(out, g.normal, "normal");
    out += ",\n";
    write_cell_json(out, g.reduce, "reduce");
  }
  if (metadata) {
    out += ",\n  \"metadata\": ";
    write_pretty(out, json::value(*metadata), 2);
  }
  out += "\n}\n";
  return out;
}

// 1-based line and column of a byte offset.
std::string describe_position(const std::string& text, std::size_t offset) {
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

[[noreturn]] void json_fail(const std::string& msg) { throw parse_error("genotype JSON: " + msg); }

json::value parse_json_text(const std::string& text) {
  json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t n = p.write_some(text.data(), text.size(), ec);
  if (ec) json_fail("invalid JSON at " + describe_position(text, n) + ": " + ec.message());
  if (p.done()) {
    std::size_t rest = n;
    while (rest < text.size() && (text[rest] == ' ' || text[rest] == '\t' || text[rest] == '\n' ||
                                  text[rest] == '\r'))
      ++rest;
    if (rest < text.size())
      json_fail("trailing characters after the JSON document at " + describe_position(text, rest));
  }
  p.finish(ec);
  if (ec) json_fail("invalid JSON at " + describe_position(text, text.size()) + ": " + ec.message());
  return p.release();
}

const char* type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a floating-point number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

int get_int(const json::value& v, const std::string& where) {
  std::int64_t x = 0;
  if (v.is_int64()) {
    x = v.get_int64();
  } else if (v.is_uint64()) {
    json_fail(where + ": integer " + std::to_string(v.get_uint64()) + " is out of range");
  } else {
    json_fail(where + ": expected an integer, got " + type_name(v));
  }
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    json_fail(where + ": integer " + std::to_string(x) + " is out of range");
  return static_cast<int>(x);
}

const json::value& require(const json::object& o, const char* key, const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (!v) json_fail(where + ": missing");
  return *v;
}

// The edges under `key` of `doc` and the concat list under `ckey`; `name` and
// `cname` are the field names errors use ("normal", "cells[3].edges").
CellGenotype read_cell(const json::object& doc, const std::string& key, const std::string& name,
                       const std::string& ckey, const std::string& cname) {
  CellGenotype cell;
  const json::value& edges = require(doc, key.c_str(), name);
  if (!edges.is_array()) json_fail(name + ": expected an array of edges, got " + type_name(edges));
  const auto& arr = edges.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string f = field(name, i);
    if (!arr[i].is_object()) json_fail(f + ": expected an edge object {\"op\", \"from\", \"to\"}, got " + type_name(arr[i]));
    const auto& eo = arr[i].get_object();
    for (const auto& kv : eo) {
      const std::string key(kv.key());
      if (key != "op" && key != "from" && key != "to")
        json_fail(f + ": unknown key '" + key + "' (an edge has op, from, to)");
    }
    GenotypeEdge e;
    const json::value& op = require(eo, "op", f + ".op");
    if (!op.is_string()) json_fail(f + ".op: expected a string, got " + type_name(op));
    e.op = std::string(op.get_string());
    e.from = get_int(require(eo, "from", f + ".from"), f + ".from");
    e.to = get_int(require(eo, "to", f + ".to"), f + ".to");
    cell.edges.push_back(std::move(e));
  }
  const json::value& concat = require(doc, ckey.c_str(), cname);
  if (!concat.is_array()) json_fail(cname + ": expected an array of node numbers, got " + type_name(concat));
  const auto& carr = concat.get_array();
  for (std::size_t i = 0; i < carr.size(); ++i) cell.concat.push_back(get_int(carr[i], field(cname, i)));
  return cell;
}

CellGenotype read_shared_cell(const json::object& doc, const std::string& name) {
  return read_cell(doc, name, name, name + "_concat", name + "_concat");
}

// The "cells" array of a version-2 document.
void read_cells(const json::object& doc, Genotype& g) {
  const json::value& cells = require(doc, "cells", "cells");
  if (!cells.is_array()) json_fail(std::string("cells: expected an array of cell objects, got ") + type_name(cells));
  const auto& arr = cells.get_array();
  if (arr.empty()) json_fail("cells: must list at least one cell");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string f = cells_field(i);
    if (!arr[i].is_object())
      json_fail(f + ": expected a cell object {\"reduction\", \"edges\", \"concat\"}, got " + type_name(arr[i]));
    const auto& co = arr[i].get_object();
    for (const auto& kv : co) {
      const std::string key(kv.key());
      if (key != "reduction" && key != "edges" && key != "concat")
        json_fail(f + ": unknown key '" + key + "' (a cell has reduction, edges, concat)");
    }
    const json::value& reduction = require(co, "reduction", f + ".reduction");
    if (!reduction.is_bool()) json_fail(f + ".reduction: expected true or false, got " + type_name(reduction));
    g.reduction.push_back(reduction.get_bool());
    g.cells.push_back(read_cell(co, "edges", f + ".edges", "concat", f + ".concat"));
  }
}

Genotype read_json(const std::string& text, std::string* metadata_out) {
  const json::value doc_value = parse_json_text(text);
  if (!doc_value.is_object())
    json_fail(std::string("the document must be an object, got ") + type_name(doc_value));
  const json::object& doc = doc_value.get_object();

  const json::value* format = doc.if_contains("format");
  if (!format) json_fail("format: missing (expected \"" + std::string(kFormat) + "\")");
  if (!format->is_string()) json_fail(std::string("format: expected a string, got ") + type_name(*format));
  if (format->get_string() != kFormat)
    json_fail("format: unknown format \"" + std::string(format->get_string()) + "\" (expected \"" +
              kFormat + "\")");

  const json::value& version = require(doc, "version", "version");
  const int v = get_int(version, "version");
  if (v != kVersion && v != kPerCellVersion)
    json_fail("version: unsupported version " + std::to_string(v) + " (this build reads versions " +
              std::to_string(kVersion) + " and " + std::to_string(kPerCellVersion) + ")");

  static const std::set<std::string> allowed_v1 = {"format", "version", "space", "normal",
                                                   "normal_concat", "reduce", "reduce_concat",
                                                   "metadata"};
  static const std::set<std::string> allowed_v2 = {"format", "version", "space", "cells", "metadata"};
  for (const auto& kv : doc) {
    const std::string key(kv.key());
    if (v == kVersion && !allowed_v1.count(key))
      json_fail("unknown top-level key '" + key +
                "' (allowed: format, version, space, normal, normal_concat, reduce, reduce_concat, "
                "metadata; per-cell `cells` need version 2)");
    if (v == kPerCellVersion && !allowed_v2.count(key))
      json_fail("unknown top-level key '" + key +
                "' in a version 2 (per-cell) document (allowed: format, version, space, cells, metadata; "
                "shared normal/reduce cells are version 1)");
  }

  Genotype g;
  const json::value& space = require(doc, "space", "space");
  if (!space.is_string()) json_fail(std::string("space: expected a string, got ") + type_name(space));
  g.space = std::string(space.get_string());
  if (v == kVersion) {
    g.normal = read_shared_cell(doc, "normal");
    g.reduce = read_shared_cell(doc, "reduce");
  } else {
    read_cells(doc, g);
  }

  const json::value* metadata = doc.if_contains("metadata");
  if (metadata && !metadata->is_object())
    json_fail(std::string("metadata: expected an object, got ") + type_name(*metadata));

  const std::string problem = genotype_problem(g);
  if (!problem.empty()) json_fail(problem);
  g.normal.edges = edges_by_node(g.normal);
  g.reduce.edges = edges_by_node(g.reduce);
  for (auto& cell : g.cells) cell.edges = edges_by_node(cell);
  if (metadata_out) *metadata_out = metadata ? json::serialize(*metadata) : std::string();
  return g;
}

// ---------------------------------------------------------------------------
// DARTS text: a tokenizer and a recursive-descent parser for the Python
// expression `[NAME =] [Genotype](normal=[(op, from), ...], normal_concat=..., ...)`.

struct Token {
  enum Kind { Ident, Int, String, Punct, End } kind = End;
  std::string text;  // identifier, string contents or the punctuation character
  long long value = 0;
  std::size_t offset = 0;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Token::Ident: return "identifier '" + t.text + "'";
    case Token::Int: return "integer " + std::to_string(t.value);
    case Token::String: return "string '" + t.text + "'";
    case Token::Punct: return "'" + t.text + "'";
    case Token::End: return "end of input";
  }
  return "?";
}

class DartsTextParser {
 public:
  explicit DartsTextParser(const std::string& text) : text_(text) { tokenize(); }

  Genotype parse() {
    // Optional assignment `NAME =`.
    if (peek().kind == Token::Ident && peek(1).kind == Token::Punct && peek(1).text == "=") {
      pos_ += 2;
    }
    // Optional callee, e.g. `Genotype` or `genotypes.Genotype`.
    if (peek().kind == Token::Ident) {
      const Token& t = peek();
      const auto dot = t.text.rfind('.');
      const std::string last = dot == std::string::npos ? t.text : t.text.substr(dot + 1);
      if (last != "Genotype") fail(t, "expected 'Genotype' or '('");
      ++pos_;
    }
    expect("(", "to open the Genotype arguments");
    static const char* names[4] = {"normal", "normal_concat", "reduce", "reduce_concat"};
    bool have[4] = {false, false, false, false};
    Genotype g;
    bool keyword_seen = false;
    int positional = 0;
    while (!is_punct(peek(), ")")) {
      int slot = -1;
      const Token& start = peek();
      if (start.kind == Token::Ident && is_punct(peek(1), "=")) {
        for (int i = 0; i < 4; ++i)
          if (start.text == names[i]) slot = i;
        if (slot < 0)
          fail(start, "unknown argument '" + start.text +
                          "' (expected normal, normal_concat, reduce, reduce_concat)");
        if (have[slot]) fail(start, "duplicate argument '" + start.text + "'");
        keyword_seen = true;
        pos_ += 2;
      } else {
        if (keyword_seen) fail(start, "expected a keyword argument (e.g. reduce=...), got " + describe(start));
        if (positional >= 4) fail(start, "too many arguments: Genotype takes 4");
        slot = positional++;
      }
      have[slot] = true;
      switch (slot) {
        case 0: g.normal.edges = parse_edges("normal"); break;
        case 1: g.normal.concat = parse_concat(); break;
        case 2: g.reduce.edges = parse_edges("reduce"); break;
        default: g.reduce.concat = parse_concat(); break;
      }
      if (is_punct(peek(), ",")) {
        ++pos_;
      } else if (!is_punct(peek(), ")")) {
        fail(peek(), "expected ',' or ')' after argument '" + std::string(names[slot]) + "', got " +
                         describe(peek()));
      }
    }
    const Token& close = peek();
    ++pos_;
    for (int i = 0; i < 4; ++i)
      if (!have[i]) fail(close, std::string("missing argument '") + names[i] + "'");
    if (is_punct(peek(), ";")) ++pos_;
    if (peek().kind != Token::End) fail(peek(), "expected end of input after the Genotype, got " + describe(peek()));

    g.space = "darts";
    const std::string problem = genotype_problem(g);
    if (!problem.empty()) throw parse_error("DARTS text: " + problem);
    return g;
  }

 private:
  [[noreturn]] void fail_at(std::size_t offset, const std::string& msg) const {
    throw parse_error("DARTS text: " + describe_position(text_, offset) + ": " + msg);
  }
  [[noreturn]] void fail(const Token& t, const std::string& msg) const { fail_at(t.offset, msg); }

  static bool is_punct(const Token& t, const char* p) { return t.kind == Token::Punct && t.text == p; }

  const Token& peek(std::size_t ahead = 0) const {
    const std::size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }

  const Token& expect(const char* punct, const char* why) {
    const Token& t = peek();
    if (!is_punct(t, punct)) fail(t, std::string("expected '") + punct + "' " + why + ", got " + describe(t));
    ++pos_;
    return t;
  }

  int expect_int(const char* what) {
    const Token& t = peek();
    if (t.kind != Token::Int) fail(t, std::string("expected ") + what + ", got " + describe(t));
    ++pos_;
    return static_cast<int>(t.value);
  }

  std::vector<GenotypeEdge> parse_edges(const std::string& name) {
    const Token& open = expect("[", ("to open the list of (op, input) pairs of " + name).c_str());
    std::vector<GenotypeEdge> edges;
    while (!is_punct(peek(), "]")) {
      const std::size_t k = edges.size();
      const std::string f = field(name, k);
      const Token& pair_open = peek();
      std::string close;
      if (is_punct(pair_open, "(")) {
        close = ")";
      } else if (is_punct(pair_open, "[")) {
        close = "]";
      } else {
        fail(pair_open, "expected '(' to open pair " + f + " ('op', input), got " + describe(pair_open));
      }
      ++pos_;
      const Token& op = peek();
      if (op.kind != Token::String) fail(op, "expected the op name of " + f + " as a quoted string, got " + describe(op));
      if (!is_genotype_op(op.text)) fail(op, f + ".op: " + op_problem(op.text));
      ++pos_;
      expect(",", ("after the op name of " + f).c_str());
      const Token& from_tok = peek();
      const int from = expect_int(("the input node of " + f + " (an integer)").c_str());
      const int to = 2 + static_cast<int>(k / 2);
      if (from < 0 || from >= to)
        fail(from_tok, f + ".from: input " + std::to_string(from) + " of node " + std::to_string(to) +
                           " must be an earlier node, 0.." + std::to_string(to - 1) +
                           " (pair k is an input of node 2 + k/2)");
      if (is_punct(peek(), ",")) ++pos_;
      expect(close.c_str(), ("to close pair " + f).c_str());
      edges.push_back(GenotypeEdge{op.text, from, to});
      if (is_punct(peek(), ",")) {
        ++pos_;
      } else if (!is_punct(peek(), "]")) {
        fail(peek(), "expected ',' or ']' after pair " + f + ", got " + describe(peek()));
      }
    }
    ++pos_;  // ']'
    if (edges.empty()) fail(open, name + ": the list of pairs is empty");
    if (edges.size() % 2 != 0)
      fail(open, name + ": " + std::to_string(edges.size()) +
                     " pairs; the DARTS text form needs exactly 2 pairs per intermediate node");
    return edges;
  }

  // [2, 3, 4, 5] | (2, 3, 4, 5) | range(2, 6) | range(6) | list(range(2, 6))
  std::vector<int> parse_concat() {
    const Token& t = peek();
    if (t.kind == Token::Ident && t.text == "list") {
      ++pos_;
      expect("(", "after 'list'");
      std::vector<int> v = parse_concat();
      expect(")", "to close 'list('");
      return v;
    }
    if (t.kind == Token::Ident && t.text == "range") {
      ++pos_;
      expect("(", "after 'range'");
      int start = 0;
      int stop = expect_int("an integer argument of range");
      if (is_punct(peek(), ",")) {
        ++pos_;
        if (peek().kind == Token::Int) {
          start = stop;
          stop = expect_int("the stop argument of range");
          if (is_punct(peek(), ",")) ++pos_;
        }
      }
      expect(")", "to close 'range('");
      if (stop - start > 1000) fail(t, "range(" + std::to_string(start) + ", " + std::to_string(stop) + ") is too long");
      std::vector<int> v;
      for (int i = start; i < stop; ++i) v.push_back(i);
      return v;
    }
    std::string close;
    if (is_punct(t, "[")) {
      close = "]";
    } else if (is_punct(t, "(")) {
      close = ")";
    } else {
      fail(t, "expected a concat list like [2, 3, 4, 5] or range(2, 6), got " + describe(t));
    }
    ++pos_;
    std::vector<int> v;
    while (!is_punct(peek(), close.c_str())) {
      v.push_back(expect_int("a node number"));
      if (is_punct(peek(), ",")) {
        ++pos_;
      } else if (!is_punct(peek(), close.c_str())) {
        fail(peek(), "expected ',' or '" + close + "' in the concat list, got " + describe(peek()));
      }
    }
    ++pos_;
    return v;
  }

  void tokenize() {
    const std::string& s = text_;
    std::size_t i = 0;
    auto is_ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    auto is_ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    while (true) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                              s[i] == '\f' || s[i] == '\v' || s[i] == '#')) {
        if (s[i] == '#') {
          while (i < s.size() && s[i] != '\n') ++i;
        } else {
          ++i;
        }
      }
      Token t;
      t.offset = i;
      if (i >= s.size()) {
        t.kind = Token::End;
        tokens_.push_back(t);
        return;
      }
      const char c = s[i];
      if (is_ident_start(c)) {
        std::size_t j = i;
        while (j < s.size() && is_ident_char(s[j])) ++j;
        t.kind = Token::Ident;
        t.text = s.substr(i, j - i);
        i = j;
      } else if (is_digit(c) || (c == '-' && i + 1 < s.size() && is_digit(s[i + 1]))) {
        std::size_t j = i + (c == '-' ? 1 : 0);
        long long v = 0;
        while (j < s.size() && is_digit(s[j])) {
          v = v * 10 + (s[j] - '0');
          if (v > 1000000000LL) fail_at(i, "integer is too large");
          ++j;
        }
        if (j < s.size() && (is_ident_start(s[j]) || s[j] == '.'))
          fail_at(i, "expected an integer, got '" + s.substr(i, j + 1 - i) + "'");
        t.kind = Token::Int;
        t.value = c == '-' ? -v : v;
        t.text = s.substr(i, j - i);
        i = j;
      } else if (c == '\'' || c == '"') {
        std::size_t j = i + 1;
        std::string value;
        while (true) {
          if (j >= s.size() || s[j] == '\n') fail_at(i, std::string("unterminated string (missing closing ") + c + ")");
          if (s[j] == c) break;
          if (s[j] == '\\' && j + 1 < s.size()) ++j;
          value += s[j++];
        }
        t.kind = Token::String;
        t.text = value;
        i = j + 1;
      } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == '=' || c == ';') {
        t.kind = Token::Punct;
        t.text = std::string(1, c);
        ++i;
      } else {
        fail_at(i, std::string("unexpected character '") + c + "'");
      }
      tokens_.push_back(std::move(t));
    }
  }

  const std::string& text_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

void check_for_writer(const Genotype& g, const char* writer) {
  const std::string problem = genotype_problem(g);
  if (!problem.empty()) throw invalid_argument(std::string(writer) + ": invalid genotype: " + problem);
}

std::string darts_text_cell(const CellGenotype& cell, const std::string& name) {
  std::string out = name + "=[";
  const auto edges = edges_by_node(cell);
  for (std::size_t i = 0; i < edges.size(); ++i) {
    if (i) out += ", ";
    out += "('" + edges[i].op + "', " + std::to_string(edges[i].from) + ")";
  }
  out += "], " + name + "_concat=[";
  for (std::size_t i = 0; i < cell.concat.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(cell.concat[i]);
  }
  out += "]";
  return out;
}

std::string input_name(int node) {
  if (node == 0) return "c_{k-2}";
  if (node == 1) return "c_{k-1}";
  return std::to_string(node);
}

}  // namespace

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

std::string to_darts_text(const Genotype& genotype) {
  check_for_writer(genotype, "to_darts_text");
  if (genotype.per_cell())
    throw unsupported("to_darts_text: the DARTS text form holds one normal and one reduction cell; this " +
                      genotype.space + " genotype has one genotype per cell (" + std::to_string(genotype.cells.size()) +
                      " cells): write it as JSON (version 2)");
  return "Genotype(" + darts_text_cell(genotype.normal, "normal") + ", " +
         darts_text_cell(genotype.reduce, "reduce") + ")";
}

Genotype from_darts_text(const std::string& text) { return DartsTextParser(text).parse(); }

std::string to_json(const Genotype& genotype) { return write_json(genotype, nullptr); }

std::string to_json(const Genotype& genotype, const std::string& metadata_json) {
  if (metadata_json.empty()) return write_json(genotype, nullptr);
  boost::system::error_code ec;
  json::value meta = json::parse(metadata_json, ec);
  if (ec) throw invalid_argument("to_json: metadata is not valid JSON: " + ec.message());
  if (!meta.is_object()) throw invalid_argument("to_json: metadata must be a JSON object");
  return write_json(genotype, &meta.get_object());
}

Genotype genotype_from_json(const std::string& json) { return read_json(json, nullptr); }

Genotype genotype_from_json(const std::string& json, std::string* metadata_json) {
  return read_json(json, metadata_json);
}

void validate_genotype(const Genotype& genotype) { check_for_writer(genotype, "validate_genotype"); }

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
