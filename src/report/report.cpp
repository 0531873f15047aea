#include "adarts/report.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

#include "adarts/error.h"
#include "adarts/op_names.h"
#include "adarts/svg_chart.h"

namespace adarts {

namespace json = boost::json;

MetricsEpoch::MetricsEpoch() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  train_loss = train_accuracy = val_loss = val_accuracy = weight_lr = seconds = nan;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------
// Parsing

class LineReader {
 public:
  LineReader(const std::string& source, int64_t line) : source_(source), line_(line) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw parse_error(fmt::format("metrics file '{}' line {}: {}", source_, line_, what));
  }

  // A number, or NaN when absent or null.
  double number(const json::object& o, const char* key, const std::string& path) const {
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return kNaN;
    if (!v->is_number()) fail(fmt::format("\"{}\" must be a number", path + key));
    return v->to_number<double>();
  }

  std::vector<double> numbers(const json::value& v, const std::string& path) const {
    if (!v.is_array()) fail(fmt::format("\"{}\" must be an array of numbers", path));
    std::vector<double> out;
    for (const auto& x : v.get_array()) {
      if (x.is_null()) {
        out.push_back(kNaN);
      } else if (x.is_number()) {
        out.push_back(x.to_number<double>());
      } else {
        fail(fmt::format("\"{}\" must be an array of numbers", path));
      }
    }
    return out;
  }

  // [edge][op]; each row as long as `ops` when ops are known.
  WeightMatrix matrix(const json::value& v, const std::string& path, std::size_t ops) const {
    if (!v.is_array()) fail(fmt::format("\"{}\" must be an array of rows (one per edge)", path));
    WeightMatrix m;
    for (const auto& row : v.get_array()) {
      m.push_back(numbers(row, fmt::format("{}[{}]", path, m.size())));
      if (ops > 0 && m.back().size() != ops) {
        fail(fmt::format("\"{}[{}]\" has {} weights but alpha_softmax.ops names {} ops", path, m.size() - 1,
                         m.back().size(), ops));
      }
    }
    return m;
  }

  static bool is_matrix(const json::value& v) {
    if (!v.is_array()) return false;
    for (const auto& row : v.get_array()) {
      if (!row.is_array()) return false;
      for (const auto& x : row.get_array())
        if (!x.is_number() && !x.is_null()) return false;
    }
    return true;
  }

  const json::object& object(const json::value& v, const std::string& path) const {
    if (!v.is_object()) fail(fmt::format("\"{}\" must be an object", path));
    return v.get_object();
  }

 private:
  const std::string& source_;
  int64_t line_;
};

// "alpha_softmax": the op names and the normal/reduce (or per-cell) softmax matrices.
void read_alpha_softmax(const LineReader& r, const json::value& a, MetricsEpoch& e) {
  const json::object& alphas = r.object(a, "alpha_softmax");
  if (const json::value* ops = alphas.if_contains("ops")) {
    if (!ops->is_array()) r.fail("\"alpha_softmax.ops\" must be an array of op names");
    for (const auto& op : ops->get_array()) {
      if (!op.is_string()) r.fail("\"alpha_softmax.ops\" must be an array of op names");
      e.ops.emplace_back(op.get_string());
    }
  }
  if (const json::value* m = alphas.if_contains("normal")) e.normal = r.matrix(*m, "alpha_softmax.normal", e.ops.size());
  if (const json::value* m = alphas.if_contains("reduce")) e.reduce = r.matrix(*m, "alpha_softmax.reduce", e.ops.size());
  // Per-cell spaces: a list of [edge][op] matrices. Another shape is a
  // format this reader does not know yet: skipped, like unknown keys.
  if (const json::value* cells = alphas.if_contains("cells"); cells && cells->is_array()) {
    bool all_matrices = true;
    for (const auto& c : cells->get_array()) all_matrices = all_matrices && LineReader::is_matrix(c);
    if (all_matrices) {
      for (const auto& c : cells->get_array())
        e.cells.push_back(r.matrix(c, fmt::format("alpha_softmax.cells[{}]", e.cells.size()), e.ops.size()));
    }
  }
}

// "collapse" (entropies and named figures), "genotype" (its space), "fidelity" (named figures).
void read_epoch_figures(const LineReader& r, const json::object& o, MetricsEpoch& e) {
  if (const json::value* c = o.if_contains("collapse")) {
    for (const auto& kv : r.object(*c, "collapse")) {
      const std::string key(kv.key());
      if (key == "normal_entropy") {
        e.normal_entropy = r.numbers(kv.value(), "collapse.normal_entropy");
      } else if (key == "reduce_entropy") {
        e.reduce_entropy = r.numbers(kv.value(), "collapse.reduce_entropy");
      } else if (kv.value().is_number()) {
        e.collapse.emplace_back(key, kv.value().to_number<double>());
      }
    }
  }
  if (const json::value* g = o.if_contains("genotype")) {
    const json::object& genotype = r.object(*g, "genotype");
    if (const json::value* space = genotype.if_contains("space")) {
      if (!space->is_string()) r.fail("\"genotype.space\" must be a string");
      e.space = std::string(space->get_string());
    }
  }
  if (const json::value* f = o.if_contains("fidelity")) {
    for (const auto& kv : r.object(*f, "fidelity")) {
      if (kv.value().is_number()) e.fidelity.emplace_back(std::string(kv.key()), kv.value().to_number<double>());
    }
  }
}

MetricsEpoch parse_line(const std::string& text, const std::string& source, int64_t line_number) {
  const LineReader r(source, line_number);
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec) r.fail("malformed JSON (" + ec.message() + ")");
  if (!value.is_object()) r.fail("expected a JSON object, one per line");
  const json::object& o = value.get_object();

  MetricsEpoch e;
  e.line = line_number;
  const json::value* epoch = o.if_contains("epoch");
  if (!epoch) r.fail("missing \"epoch\"");
  if (epoch->is_int64()) {
    e.epoch = epoch->get_int64();
  } else if (epoch->is_uint64()) {
    e.epoch = static_cast<int64_t>(epoch->get_uint64());
  } else {
    r.fail("\"epoch\" must be an integer");
  }
  e.train_loss = r.number(o, "train_loss", "");
  e.train_accuracy = r.number(o, "train_accuracy", "");
  e.val_loss = r.number(o, "val_loss", "");
  e.val_accuracy = r.number(o, "val_accuracy", "");
  e.weight_lr = r.number(o, "weight_lr", "");
  e.seconds = r.number(o, "seconds", "");
  if (const json::value* a = o.if_contains("alpha_softmax")) read_alpha_softmax(r, *a, e);
  read_epoch_figures(r, o, e);
  return e;
}

// ---------------------------------------------------------------------------
// Figures

std::string node_name(int node) {
  if (node == 0) return "c_{k-2}";
  if (node == 1) return "c_{k-1}";
  return std::to_string(node - 2);
}

// Where an edge goes, when the edge list of the space is known: its nodes,
// and the grid place of its panel (a row per target node).
struct EdgePlace {
  int from = -1, to = -1;
  int row = 0, column = 0;
};

EdgePlace edge_place(const std::string& space, std::size_t edges, std::size_t index) {
  EdgePlace p;
  if (index >= edges) return p;
  // Dense cells of s steps have s(s+3)/2 edges; chain cells 2s.
  int dense_steps = 0;
  for (int s = 1; s <= 16; ++s)
    if (static_cast<std::size_t>(s * (s + 3) / 2) == edges) dense_steps = s;
  const bool chain_space = space == "s1" || space == "s2";
  if ((space == "darts" || space.empty()) && dense_steps > 0) {
    std::size_t i = 0;
    for (int node = 2; node < dense_steps + 2; ++node) {
      for (int from = 0; from < node; ++from, ++i) {
        if (i == index) return {from, node, node - 2, from};
      }
    }
  }
  if ((chain_space || space.empty()) && edges % 2 == 0) {
    const int node = 2 + static_cast<int>(index / 2);
    const int column = static_cast<int>(index % 2);
    return {column == 0 ? 0 : node - 1, node, node - 2, column};
  }
  return p;
}

// The colour of an op: fixed per DARTS op name (skip red and sep_conv_3x3
// blue as in the paper's Figure 3), the palette for other names.
std::string op_colour(const std::string& op, std::size_t index) {
  static const std::vector<std::pair<std::string, std::string>> colours = {
      {"none", "#868e96"},         {"max_pool_3x3", "#8d5a3b"}, {"avg_pool_3x3", "#a0a000"},
      {"skip_connect", "#d62728"}, {"sep_conv_3x3", "#1f5fa8"}, {"sep_conv_5x5", "#0c8599"},
      {"dil_conv_3x3", "#2b8a3e"}, {"dil_conv_5x5", "#7048e8"}};
  for (const auto& [name, colour] : colours)
    if (name == op) return colour;
  return palette_colour(10 + index);
}

std::vector<double> epochs_x(const std::vector<MetricsEpoch>& epochs) {
  std::vector<double> x;
  for (const auto& e : epochs) x.push_back(static_cast<double>(e.epoch));
  return x;
}

ChartSeries series_of(const std::string& label, const std::string& colour, const std::vector<double>& x,
                      const std::vector<double>& y, bool dashed = false) {
  ChartSeries s;
  s.label = label;
  s.colour = colour;
  s.x = x;
  s.y = y;
  s.dashed = dashed;
  return s;
}

bool any_finite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

double max_finite(const std::vector<ChartSeries>& series, double floor) {
  double m = floor;
  for (const auto& s : series)
    for (double y : s.y)
      if (std::isfinite(y)) m = std::max(m, y);
  return m;
}

// Named numeric figures over the epochs, keys in order of first appearance.
std::vector<std::pair<std::string, std::vector<double>>> keyed_series(
    const std::vector<MetricsEpoch>& epochs, std::vector<std::pair<std::string, double>> MetricsEpoch::*member) {
  std::vector<std::pair<std::string, std::vector<double>>> out;
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    for (const auto& [key, value] : epochs[i].*member) {
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == key; });
      if (it == out.end()) {
        out.emplace_back(key, std::vector<double>(epochs.size(), kNaN));
        it = out.end() - 1;
      }
      it->second[i] = value;
    }
  }
  return out;
}

// The op list and weight shape shared by every line that has `member`'s weights.
struct WeightShape {
  std::vector<std::string> ops;
  std::size_t edges = 0;
  std::size_t columns = 0;  // weights per edge
  bool present = false;
};

void check_shape(WeightShape& shape, const MetricsEpoch& e, const WeightMatrix& m, const std::string& what) {
  if (m.empty()) return;
  for (std::size_t edge = 0; edge < m.size(); ++edge) {
    if (m[edge].size() != m[0].size()) {
      throw parse_error(fmt::format("metrics line {}: {}[{}] has {} weights, {}[0] has {}", e.line, what, edge,
                                    m[edge].size(), what, m[0].size()));
    }
  }
  if (!shape.present) {
    shape = {e.ops, m.size(), m[0].size(), true};
    return;
  }
  if (e.ops != shape.ops) {
    throw parse_error(fmt::format("metrics line {}: alpha_softmax.ops differs from the earlier lines", e.line));
  }
  if (m.size() != shape.edges || m[0].size() != shape.columns) {
    throw parse_error(fmt::format("metrics line {}: {} has {} edges x {} weights, earlier lines have {} x {}", e.line,
                                  what, m.size(), m[0].size(), shape.edges, shape.columns));
  }
}

std::string op_label(const WeightShape& shape, std::size_t j) {
  return j < shape.ops.size() ? shape.ops[j] : fmt::format("op {}", j);
}

// One panel per edge, one line per op.
std::vector<LineChart> edge_panels(const std::vector<MetricsEpoch>& epochs,
                                   const std::function<const WeightMatrix*(const MetricsEpoch&)>& weights,
                                   const WeightShape& shape, const std::string& space,
                                   const std::string& title_prefix) {
  const std::size_t ops = shape.columns;
  const std::vector<double> x = epochs_x(epochs);
  std::vector<LineChart> panels;
  for (std::size_t edge = 0; edge < shape.edges; ++edge) {
    LineChart panel;
    panel.title = title_prefix + edge_name(space, shape.edges, edge);
    panel.integer_x = true;
    panel.legend = false;
    for (std::size_t j = 0; j < ops; ++j) {
      std::vector<double> y;
      for (const auto& e : epochs) {
        const WeightMatrix* m = weights(e);
        y.push_back(m && edge < m->size() && j < (*m)[edge].size() ? (*m)[edge][j] : kNaN);
      }
      panel.series.push_back(series_of(op_label(shape, j), op_colour(op_label(shape, j), j), x, y));
    }
    panels.push_back(std::move(panel));
  }
  // One y scale for all panels, from 0, so that panels compare at a glance.
  double top = 0.0;
  for (const auto& p : panels) top = std::max(top, max_finite(p.series, 0.0));
  for (auto& p : panels) {
    p.y_min = 0.0;
    p.y_max = top > 0.0 ? top : 1.0;
  }
  return panels;
}

std::vector<ChartSeries> op_legend(const WeightShape& shape) {
  std::vector<ChartSeries> legend;
  for (std::size_t j = 0; j < shape.columns; ++j)
    legend.push_back(series_of(op_label(shape, j), op_colour(op_label(shape, j), j), {}, {}));
  return legend;
}

std::string last_space(const std::vector<MetricsEpoch>& epochs) {
  for (auto it = epochs.rbegin(); it != epochs.rend(); ++it)
    if (!it->space.empty()) return it->space;
  return "";
}

class FigureWriter {
 public:
  explicit FigureWriter(std::string dir) : dir_(std::move(dir)) {}

  void write(const std::string& name, const std::string& title, const std::string& svg) {
    const std::string path = (std::filesystem::path(dir_) / name).string();
    std::ofstream out(path, std::ios::out | std::ios::trunc);
    out << svg;
    if (!out.flush()) throw io_error("cannot write '" + path + "'");
    written_.push_back(path);
    index_.emplace_back(name, title);
  }

  std::vector<std::string> finish() {
    std::string html =
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><title>adarts search report</title></head>\n"
        "<body style=\"font-family: sans-serif\">\n<h1>adarts search report</h1>\n";
    for (const auto& [name, title] : index_) {
      html += "<h2>" + xml_escape(title) + "</h2>\n<p><img src=\"" + xml_escape(name) + "\" alt=\"" +
              xml_escape(title) + "\"/></p>\n";
    }
    html += "</body></html>\n";
    const std::string path = (std::filesystem::path(dir_) / "index.html").string();
    std::ofstream out(path, std::ios::out | std::ios::trunc);
    out << html;
    if (!out.flush()) throw io_error("cannot write '" + path + "'");
    written_.push_back(path);
    return written_;
  }

 private:
  std::string dir_;
  std::vector<std::string> written_;
  std::vector<std::pair<std::string, std::string>> index_;
};

std::string collapse_label(const std::string& key) {
  if (key == "none_weight_mean") return "mean weight of none (normal edges)";
  if (key == "skip_share") return "share of normal edges led by skip_connect";
  if (key == "parameter_free_share") return "share of parameter-free ops in the genotype";
  return key;
}

}  // namespace

std::vector<MetricsEpoch> parse_metrics(const std::string& text, const std::string& source) {
  std::vector<MetricsEpoch> epochs;
  std::istringstream in(text);
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    epochs.push_back(parse_line(line, source, number));
  }
  if (epochs.empty()) throw parse_error("metrics file '" + source + "' is empty (no epoch lines)");
  return epochs;
}

std::vector<MetricsEpoch> read_metrics_file(const std::string& path) {
  std::ifstream in(path);
  if (!in || std::filesystem::is_directory(path)) throw io_error("cannot read the metrics file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_metrics(buffer.str(), path);
}

std::string edge_name(const std::string& space, std::size_t edges, std::size_t index) {
  const EdgePlace place = edge_place(space, edges, index);
  if (place.to < 0) return fmt::format("edge {}", index);
  return node_name(place.from) + " → " + node_name(place.to);
}

namespace {

// The weight shapes of one run; each must stay the same over the epochs.
struct RunShapes {
  WeightShape normal, reduce, cell;
  std::size_t cell_count = 0;  // the most per-cell weight matrices on one line
};

RunShapes check_run_shapes(const std::vector<MetricsEpoch>& epochs) {
  RunShapes shapes;
  for (const auto& e : epochs) {
    check_shape(shapes.normal, e, e.normal, "alpha_softmax.normal");
    check_shape(shapes.reduce, e, e.reduce, "alpha_softmax.reduce");
    for (std::size_t c = 0; c < e.cells.size(); ++c)
      check_shape(shapes.cell, e, e.cells[c], fmt::format("alpha_softmax.cells[{}]", c));
    shapes.cell_count = std::max(shapes.cell_count, e.cells.size());
  }
  return shapes;
}

// (a) Collapse curves (paper Figure 1).
void write_collapse_figure(FigureWriter& out, const std::vector<MetricsEpoch>& epochs, const std::vector<double>& x) {
  const auto collapse = keyed_series(epochs, &MetricsEpoch::collapse);
  if (collapse.empty()) return;
  LineChart chart;
  chart.title = "Collapse monitor";
  chart.x_label = "epoch";
  chart.y_label = "share / weight";
  chart.integer_x = true;
  for (std::size_t i = 0; i < collapse.size(); ++i)
    chart.series.push_back(series_of(collapse_label(collapse[i].first), palette_colour(i), x, collapse[i].second));
  chart.y_min = 0.0;
  chart.y_max = max_finite(chart.series, 1.0);
  out.write("collapse.svg", chart.title, line_chart_svg(chart));
}

// (d) Losses and accuracies.
void write_loss_and_accuracy_figures(FigureWriter& out, const std::vector<MetricsEpoch>& epochs,
                                     const std::vector<double>& x) {
  auto column = [&](double MetricsEpoch::*member) {
    std::vector<double> y;
    for (const auto& e : epochs) y.push_back(e.*member);
    return y;
  };
  for (const auto& [name, title, train_member, val_member] :
       {std::tuple{"loss.svg", "Loss", &MetricsEpoch::train_loss, &MetricsEpoch::val_loss},
        std::tuple{"accuracy.svg", "Accuracy", &MetricsEpoch::train_accuracy, &MetricsEpoch::val_accuracy}}) {
    const std::vector<double> train = column(train_member), val = column(val_member);
    if (!any_finite(train) && !any_finite(val)) continue;
    LineChart chart;
    chart.title = title;
    chart.x_label = "epoch";
    chart.y_label = std::string(title) == "Loss" ? "cross-entropy" : "top-1 accuracy";
    chart.integer_x = true;
    chart.series.push_back(series_of("train", palette_colour(0), x, train));
    chart.series.push_back(series_of("validation", palette_colour(1), x, val, true));
    out.write(name, title, line_chart_svg(chart));
  }
}

// The normal or the reduction cell of a shared-cell run: where its weights and
// entropies are in a MetricsEpoch and the shape of its weights.
struct CellKind {
  const char* name;
  const WeightMatrix MetricsEpoch::*weights;
  std::vector<double> MetricsEpoch::*entropy;
  const WeightShape* shape;
};

// (b) Op weights of every edge of one cell kind.
void write_op_weights_figure(FigureWriter& out, const std::vector<MetricsEpoch>& epochs, const CellKind& kind,
                             const std::string& space) {
  const std::string cell(kind.name);
  SmallMultiples figure;
  figure.title = "Op weights (softmax of alpha) per edge, " + cell + " cell";
  const auto member = kind.weights;
  figure.panels = edge_panels(
      epochs, [member](const MetricsEpoch& e) { return (e.*member).empty() ? nullptr : &(e.*member); },
      *kind.shape, space, "");
  figure.legend = op_legend(*kind.shape);
  figure.columns = 4;
  // A row per node when the edge list is known.
  for (std::size_t edge = 0; edge < kind.shape->edges; ++edge) {
    const EdgePlace place = edge_place(space, kind.shape->edges, edge);
    if (place.to < 0) {
      figure.positions.clear();
      break;
    }
    figure.positions.emplace_back(place.row, place.column);
  }
  out.write("op_weights_" + cell + ".svg", figure.title, small_multiples_svg(figure));
}

// (c) Entropy of every edge of one cell kind, when the lines have entropies.
void write_entropy_figure(FigureWriter& out, const std::vector<MetricsEpoch>& epochs, const std::vector<double>& x,
                          const CellKind& kind, const WeightShape& cell_shape, const std::string& space) {
  const std::string cell(kind.name);
  std::size_t edges = 0;
  for (const auto& e : epochs) edges = std::max(edges, (e.*kind.entropy).size());
  if (edges == 0) return;
  LineChart chart;
  chart.title = "Entropy of each edge's op weights, " + cell + " cell";
  chart.x_label = "epoch";
  chart.y_label = "entropy (nats)";
  chart.integer_x = true;
  for (std::size_t edge = 0; edge < edges; ++edge) {
    std::vector<double> y;
    for (const auto& e : epochs) y.push_back(edge < (e.*kind.entropy).size() ? (e.*kind.entropy)[edge] : kNaN);
    // Per-cell spaces list the entropies of every cell's edges in turn.
    const std::string label =
        cell_shape.present && edges > cell_shape.edges && edges % cell_shape.edges == 0
            ? fmt::format("cell {}: {}", edge / cell_shape.edges,
                          edge_name(space, cell_shape.edges, edge % cell_shape.edges))
            : edge_name(space, edges, edge);
    chart.series.push_back(series_of(label, palette_colour(edge), x, y));
  }
  // The uniform distribution's entropy, ln(ops), as the ceiling.
  const std::size_t ops = kind.shape->present ? kind.shape->columns : 0;
  if (ops > 1) {
    const double ceiling = std::log(static_cast<double>(ops));
    chart.series.push_back(series_of(fmt::format("uniform: ln {} = {:.3f}", ops, ceiling), "#999999",
                                     {x.front(), x.back()}, {ceiling, ceiling}, true));
  }
  out.write("entropy_" + cell + ".svg", chart.title, line_chart_svg(chart));
}

// Per-cell spaces: a row of edge panels per cell.
void write_per_cell_op_weights_figure(FigureWriter& out, const std::vector<MetricsEpoch>& epochs,
                                      const RunShapes& shapes, const std::string& space) {
  SmallMultiples figure;
  figure.title = "Op weights (softmax of alpha) per cell and edge";
  for (std::size_t c = 0; c < shapes.cell_count; ++c) {
    auto panels = edge_panels(
        epochs, [c](const MetricsEpoch& e) { return c < e.cells.size() ? &e.cells[c] : nullptr; }, shapes.cell,
        space, fmt::format("cell {}: ", c));
    for (std::size_t edge = 0; edge < panels.size(); ++edge) {
      figure.panels.push_back(std::move(panels[edge]));
      figure.positions.emplace_back(static_cast<int>(c), static_cast<int>(edge));
    }
  }
  figure.legend = op_legend(shapes.cell);
  figure.panel_width = 190.0;
  figure.panel_height = 140.0;
  out.write("op_weights_cells.svg", figure.title, small_multiples_svg(figure));
}

// (e) Fidelity figures: one panel per numeric key.
void write_fidelity_figure(FigureWriter& out, const std::vector<MetricsEpoch>& epochs, const std::vector<double>& x) {
  const auto fidelity = keyed_series(epochs, &MetricsEpoch::fidelity);
  if (fidelity.empty()) return;
  SmallMultiples figure;
  figure.title = "Fidelity";
  for (std::size_t i = 0; i < fidelity.size(); ++i) {
    LineChart panel;
    panel.title = fidelity[i].first;
    panel.integer_x = true;
    panel.legend = false;
    panel.series.push_back(series_of(fidelity[i].first, palette_colour(i), x, fidelity[i].second));
    figure.panels.push_back(std::move(panel));
  }
  figure.columns = 3;
  figure.panel_width = 300.0;
  figure.panel_height = 210.0;
  out.write("fidelity.svg", figure.title, small_multiples_svg(figure));
}

}  // namespace

std::vector<std::string> write_report(const std::vector<MetricsEpoch>& epochs, const std::string& out_dir) {
  if (epochs.empty()) throw invalid_argument("write_report: no epochs to plot");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw io_error("cannot create the report directory '" + out_dir + "': " + ec.message());

  // The weights must keep one shape over the run.
  const RunShapes shapes = check_run_shapes(epochs);

  FigureWriter out(out_dir);
  const std::vector<double> x = epochs_x(epochs);
  const std::string space = last_space(epochs);
  // The figures in the order index.html lists them.
  write_collapse_figure(out, epochs, x);
  write_loss_and_accuracy_figures(out, epochs, x);
  for (const CellKind& kind :
       {CellKind{"normal", &MetricsEpoch::normal, &MetricsEpoch::normal_entropy, &shapes.normal},
        CellKind{"reduce", &MetricsEpoch::reduce, &MetricsEpoch::reduce_entropy, &shapes.reduce}}) {
    if (kind.shape->present) write_op_weights_figure(out, epochs, kind, space);
    write_entropy_figure(out, epochs, x, kind, shapes.cell, space);
  }
  if (shapes.cell.present) write_per_cell_op_weights_figure(out, epochs, shapes, space);
  write_fidelity_figure(out, epochs, x);
  return out.finish();
}

}  // namespace adarts
