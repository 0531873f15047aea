// The genotype JSON reader and writer: the versioned document of genotype.h,
// as text and as a boost::json value (genotype_json.h).
#include "genotype/genotype_json.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adarts/error.h"
#include "genotype/genotype_internal.h"

namespace adarts {

using namespace genotype_internal;

namespace json = boost::json;

std::string genotype_internal::json_string(std::string_view s) { return json::serialize(json::string(s)); }

namespace {

constexpr const char* kFormat = "adarts.genotype";
constexpr std::int64_t kVersion = 1;         // shared normal and reduce cells
constexpr std::int64_t kPerCellVersion = 2;  // one genotype per network cell

// ---------------------------------------------------------------------------
// Writer

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
  check_for_writer(g, "to_json");
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

json::object edge_value(const GenotypeEdge& e) {
  json::object o;
  o["op"] = e.op;
  o["from"] = e.from;
  o["to"] = e.to;
  return o;
}

json::array edges_value(const CellGenotype& cell) {
  json::array edges;
  for (const auto& e : edges_by_node(cell)) edges.push_back(edge_value(e));
  return edges;
}

json::array concat_value(const std::vector<int>& concat) {
  json::array out;
  for (int node : concat) out.push_back(node);
  return out;
}

// ---------------------------------------------------------------------------
// Reader

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

Genotype read_document(const json::value& doc_value, std::string* metadata_out) {
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

Genotype read_json(const std::string& text, std::string* metadata_out) {
  return read_document(parse_json_text(text), metadata_out);
}

}  // namespace

// ---------------------------------------------------------------------------

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

json::value genotype_to_value(const Genotype& g) {
  check_for_writer(g, "to_json");
  json::object doc;
  doc["format"] = kFormat;
  doc["version"] = g.per_cell() ? kPerCellVersion : kVersion;
  doc["space"] = g.space;
  if (g.per_cell()) {
    json::array cells;
    for (std::size_t c = 0; c < g.cells.size(); ++c) {
      json::object cell;
      cell["reduction"] = static_cast<bool>(g.reduction[c]);
      cell["edges"] = edges_value(g.cells[c]);
      cell["concat"] = concat_value(g.cells[c].concat);
      cells.push_back(std::move(cell));
    }
    doc["cells"] = std::move(cells);
  } else {
    doc["normal"] = edges_value(g.normal);
    doc["normal_concat"] = concat_value(g.normal.concat);
    doc["reduce"] = edges_value(g.reduce);
    doc["reduce_concat"] = concat_value(g.reduce.concat);
  }
  return doc;
}

Genotype genotype_from_value(const json::value& document, std::string* metadata_json) {
  return read_document(document, metadata_json);
}

}  // namespace adarts
