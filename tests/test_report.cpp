// `adarts report`: metrics parsing, the SVG chart writer and the figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "adarts/error.h"
#include "adarts/report.h"
#include "adarts/svg_chart.h"

namespace {

using adarts::ChartSeries;
using adarts::LineChart;

// ---------------------------------------------------------------------------
// A small XML well-formedness checker: balanced and properly nested tags,
// quoted attributes, one root element, no stray '<' or bare '&' in text.
// Returns "" when well formed, otherwise what is wrong.

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.'; }

std::string check_entities(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') return "stray '<' in text or attribute";
    if (text[i] != '&') continue;
    const std::size_t semi = text.find(';', i);
    if (semi == std::string::npos) return "'&' without ';'";
    const std::string entity = text.substr(i + 1, semi - i - 1);
    const bool known = entity == "amp" || entity == "lt" || entity == "gt" || entity == "quot" || entity == "apos" ||
                       (!entity.empty() && entity[0] == '#');
    if (!known) return "unknown entity &" + entity + ";";
  }
  return "";
}

std::string xml_problem(const std::string& doc) {
  std::vector<std::string> stack;
  int roots = 0;
  std::size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] != '<') {
      const std::size_t next = doc.find('<', i);
      const std::string text = doc.substr(i, next == std::string::npos ? std::string::npos : next - i);
      if (stack.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) return "text outside the root";
      if (const std::string p = check_entities(text); !p.empty()) return p;
      if (next == std::string::npos) break;
      i = next;
      continue;
    }
    if (doc.compare(i, 4, "<!--") == 0) {
      const std::size_t end = doc.find("-->", i);
      if (end == std::string::npos) return "unclosed comment";
      i = end + 3;
      continue;
    }
    if (doc.compare(i, 2, "<?") == 0 || doc.compare(i, 2, "<!") == 0) {
      const std::size_t end = doc.find('>', i);
      if (end == std::string::npos) return "unclosed declaration";
      i = end + 1;
      continue;
    }
    const bool closing = doc.compare(i, 2, "</") == 0;
    std::size_t j = i + (closing ? 2 : 1);
    const std::size_t name_start = j;
    while (j < doc.size() && is_name_char(doc[j])) ++j;
    const std::string name = doc.substr(name_start, j - name_start);
    if (name.empty()) return "a tag without a name at offset " + std::to_string(i);
    if (closing) {
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
      if (j >= doc.size() || doc[j] != '>') return "malformed closing tag </" + name;
      if (stack.empty() || stack.back() != name) return "</" + name + "> does not close <" + (stack.empty() ? "" : stack.back()) + ">";
      stack.pop_back();
      i = j + 1;
      continue;
    }
    // Attributes: name="value" or name='value'.
    bool self_closing = false;
    while (true) {
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
      if (j >= doc.size()) return "unclosed tag <" + name;
      if (doc[j] == '>') break;
      if (doc.compare(j, 2, "/>") == 0) {
        self_closing = true;
        ++j;
        break;
      }
      const std::size_t attr_start = j;
      while (j < doc.size() && is_name_char(doc[j])) ++j;
      if (j == attr_start) return "bad attribute in <" + name + ">";
      if (j >= doc.size() || doc[j] != '=') return "attribute without a value in <" + name + ">";
      ++j;
      if (j >= doc.size() || (doc[j] != '"' && doc[j] != '\'')) return "unquoted attribute in <" + name + ">";
      const char quote = doc[j];
      const std::size_t end = doc.find(quote, j + 1);
      if (end == std::string::npos) return "unterminated attribute in <" + name + ">";
      if (const std::string p = check_entities(doc.substr(j + 1, end - j - 1)); !p.empty()) return p;
      j = end + 1;
    }
    if (stack.empty()) {
      if (++roots > 1) return "more than one root element";
    }
    if (!self_closing) stack.push_back(name);
    i = j + 1;
  }
  if (!stack.empty()) return "<" + stack.back() + "> is never closed";
  if (roots != 1) return "no root element";
  return "";
}

TEST(XmlChecker, CatchesBrokenDocuments) {
  // The checker itself must be able to fail.
  EXPECT_EQ(xml_problem("<a><b x=\"1\"/>t</a>"), "");
  EXPECT_NE(xml_problem("<a><b></a></b>"), "");
  EXPECT_NE(xml_problem("<a><b></a>"), "");
  EXPECT_NE(xml_problem("<a x=1></a>"), "");
  EXPECT_NE(xml_problem("<a>1 < 2</a>"), "");
  EXPECT_NE(xml_problem("<a>R&D</a>"), "");
  EXPECT_NE(xml_problem("<a></a><b></b>"), "");
}

// ---------------------------------------------------------------------------
// SVG helpers for the tests

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

double attribute(const std::string& tag, const std::string& name) {
  const std::size_t pos = tag.find(" " + name + "=\"");
  if (pos == std::string::npos) throw std::runtime_error("no attribute " + name + " in " + tag);
  return std::stod(tag.substr(pos + name.size() + 3));
}

adarts::PlotBox plot_box(const std::string& svg) {
  const std::size_t start = svg.find("<rect class=\"plot-box\"");
  if (start == std::string::npos) throw std::runtime_error("no plot box");
  const std::string tag = svg.substr(start, svg.find('>', start) - start);
  return {attribute(tag, "x"), attribute(tag, "y"), attribute(tag, "width"), attribute(tag, "height")};
}

// Every point of every <polyline class="series">, in order.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
  std::vector<std::vector<std::pair<double, double>>> out;
  for (std::size_t pos = svg.find("<polyline"); pos != std::string::npos; pos = svg.find("<polyline", pos + 1)) {
    const std::size_t p = svg.find("points=\"", pos) + 8;
    std::istringstream in(svg.substr(p, svg.find('"', p) - p));
    std::vector<std::pair<double, double>> points;
    std::string pair;
    while (in >> pair) {
      const std::size_t comma = pair.find(',');
      points.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    out.push_back(points);
  }
  return out;
}

ChartSeries make_series(const std::string& label, std::vector<double> x, std::vector<double> y) {
  ChartSeries s;
  s.label = label;
  s.colour = "#123456";
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

// ---------------------------------------------------------------------------
// Ticks

TEST(SvgChart, NiceTicksAreRoundAndInsideTheRange) {
  EXPECT_EQ(adarts::nice_ticks(0.0, 1.0, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  EXPECT_EQ(adarts::nice_ticks(1.0, 3.0, 6, /*integer=*/true), (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(adarts::nice_ticks(0.0, 100.0, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  for (const auto& [lo, hi] : std::vector<std::pair<double, double>>{{-0.37, 2.91}, {0.0012, 0.0049}, {13.0, 977.0}}) {
    const std::vector<double> t = adarts::nice_ticks(lo, hi, 5);
    ASSERT_GE(t.size(), 3u) << lo << ".." << hi;
    const double step = t[1] - t[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-9 || std::fabs(mantissa - 2) < 1e-9 || std::fabs(mantissa - 5) < 1e-9)
        << "step " << step;
    EXPECT_GE(t.front(), lo);
    EXPECT_LE(t.back(), hi);
    EXPECT_LT(t.front() - step, lo);  // no nice value left out at either end
    EXPECT_GT(t.back() + step, hi);
  }
  EXPECT_EQ(adarts::format_tick(0.6000000000000001, 0.2), "0.6");
  EXPECT_EQ(adarts::format_tick(-1e-17, 0.05), "0.00");
  EXPECT_EQ(adarts::format_tick(40.0, 20.0), "40");
}

// ---------------------------------------------------------------------------
// The line chart

TEST(SvgChart, OnePolylinePerSeriesAndExtremesOnTheBoxEdges) {
  LineChart chart;
  chart.title = "Losses & <things>";
  chart.x_label = "epoch";
  chart.y_label = "loss";
  chart.series.push_back(make_series("train", {2, 3, 4, 5, 6, 7}, {4.0, 3.1, 2.0, 1.2, 0.4, -0.2}));
  chart.series.push_back(make_series("val \"b\"", {2, 3, 4, 5, 6, 7}, {3.0, 2.5, NAN, 1.0, -1.5, -1.0}));
  chart.series.push_back(make_series("third", {4, 5}, {1.0, 1.0}));
  const std::string svg = adarts::line_chart_svg(chart, 640, 400);

  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 3);
  EXPECT_EQ(count(svg, "class=\"plot-box\""), 1);
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].size(), 6u);
  EXPECT_EQ(lines[1].size(), 5u);  // the NaN point is left out
  EXPECT_EQ(lines[2].size(), 2u);

  const adarts::PlotBox box = plot_box(svg);
  EXPECT_GT(box.width, 300);
  EXPECT_GT(box.height, 250);
  double min_x = 1e9, max_x = -1e9, min_y = 1e9, max_y = -1e9;
  for (const auto& line : lines) {
    for (const auto& [x, y] : line) {
      min_x = std::min(min_x, x), max_x = std::max(max_x, x);
      min_y = std::min(min_y, y), max_y = std::max(max_y, y);
    }
  }
  // Coordinates are written with 2 decimals.
  EXPECT_NEAR(min_x, box.left, 0.006);               // epoch 2
  EXPECT_NEAR(max_x, box.left + box.width, 0.006);   // epoch 7
  EXPECT_NEAR(min_y, box.top, 0.006);                // y = 4.0, the largest value, at the top
  EXPECT_NEAR(max_y, box.top + box.height, 0.006);   // y = -1.5, the smallest, at the bottom
  // A value in between maps linearly: train's 2.0 at epoch 4.
  EXPECT_NEAR(lines[0][2].first, box.left + box.width * 2.0 / 5.0, 0.006);
  EXPECT_NEAR(lines[0][2].second, box.top + box.height * (4.0 - 2.0) / 5.5, 0.006);
  // Labels are escaped, and the legend names every series.
  EXPECT_NE(svg.find("Losses &amp; &lt;things&gt;"), std::string::npos);
  EXPECT_NE(svg.find("val &quot;b&quot;"), std::string::npos);
}

TEST(SvgChart, FixedRangeAndDegenerateData) {
  LineChart chart;
  chart.series.push_back(make_series("flat", {1}, {0.5}));
  chart.y_min = 0.0;
  chart.y_max = 1.0;
  const std::string svg = adarts::line_chart_svg(chart);
  EXPECT_EQ(xml_problem(svg), "");
  const adarts::PlotBox box = plot_box(svg);
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].size(), 1u);
  EXPECT_NEAR(lines[0][0].second, box.top + box.height / 2, 0.006);  // 0.5 of [0, 1]
  EXPECT_NEAR(lines[0][0].first, box.left + box.width / 2, 0.006);   // one epoch: centred
  EXPECT_EQ(count(svg, "<circle"), 1);                               // drawn as a marker too

  chart.series[0].x = {1, 2};
  EXPECT_THROW(adarts::line_chart_svg(chart), adarts::Error);  // x and y lengths differ
}

TEST(SvgChart, SmallMultiplesDrawEveryPanelAndOneLegend) {
  adarts::SmallMultiples figure;
  figure.title = "panels";
  for (int p = 0; p < 5; ++p) {
    LineChart panel;
    panel.title = "panel " + std::to_string(p);
    panel.legend = false;
    for (int s = 0; s < 3; ++s)
      panel.series.push_back(make_series("op" + std::to_string(s), {1, 2, 3}, {0.1 * s, 0.2 * p, 0.3}));
    figure.panels.push_back(panel);
  }
  for (int s = 0; s < 3; ++s) figure.legend.push_back(make_series("op" + std::to_string(s), {}, {}));
  figure.columns = 2;
  const std::string svg = adarts::small_multiples_svg(figure);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 15);
  EXPECT_EQ(count(svg, "class=\"plot-box\""), 5);
  EXPECT_EQ(count(svg, "class=\"legend\""), 1);
  EXPECT_EQ(count(svg, ">op1</text>"), 1);
}

// ---------------------------------------------------------------------------
// Parsing

const char* const kTwoEpochs =
    R"({"epoch":1,"steps":2,"weight_lr":0.025,"train_loss":2.3,"train_accuracy":0.1,"val_loss":2.2,"val_accuracy":0.15,"seconds":1.5,)"
    R"("alpha_softmax":{"normal":[[0.5,0.25,0.25],[0.2,0.3,0.5]],"reduce":[[0.1,0.1,0.8],[0.3,0.3,0.4]],"ops":["none","skip_connect","sep_conv_3x3"]},)"
    R"("collapse":{"none_weight_mean":0.35,"skip_share":0.5,"parameter_free_share":0.25,"normal_entropy":[1.04,1.03],"reduce_entropy":[0.64,1.09],"new_figure":7},)"
    R"("genotype":{"format":"adarts.genotype","version":1,"space":"s1"},"something_new":{"a":[1,2]}})"
    "\n\n"
    R"({"epoch":2,"train_loss":2.0,"val_loss":2.1,"train_accuracy":0.3,"val_accuracy":0.25,)"
    R"("alpha_softmax":{"normal":[[0.4,0.3,0.3],[0.1,0.3,0.6]],"reduce":[[0.1,0.2,0.7],[0.2,0.3,0.5]],"ops":["none","skip_connect","sep_conv_3x3"],)"
    R"("cells":[[[0.2,0.3,0.5],[0.1,0.4,0.5]]]},)"
    R"("collapse":{"none_weight_mean":0.25,"skip_share":0.0,"parameter_free_share":0.5,"normal_entropy":[1.09,0.9],"reduce_entropy":[0.8,1.0]},)"
    R"("fidelity":{"kendall_tau":0.4,"spearman":0.5,"note":"text is skipped","nested":{"x":1}}})"
    "\n";

TEST(ReportParse, ReadsKnownKeysAndSkipsUnknownOnes) {
  const auto epochs = adarts::parse_metrics(kTwoEpochs, "two.jsonl");
  ASSERT_EQ(epochs.size(), 2u);
  const auto& a = epochs[0];
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.epoch, 1);
  EXPECT_DOUBLE_EQ(a.train_loss, 2.3);
  EXPECT_DOUBLE_EQ(a.val_accuracy, 0.15);
  EXPECT_DOUBLE_EQ(a.seconds, 1.5);
  EXPECT_EQ(a.ops, (std::vector<std::string>{"none", "skip_connect", "sep_conv_3x3"}));
  ASSERT_EQ(a.normal.size(), 2u);
  EXPECT_DOUBLE_EQ(a.normal[1][2], 0.5);
  EXPECT_DOUBLE_EQ(a.reduce[0][2], 0.8);
  EXPECT_EQ(a.space, "s1");
  ASSERT_EQ(a.collapse.size(), 4u);
  EXPECT_EQ(a.collapse[0].first, "none_weight_mean");
  EXPECT_EQ(a.collapse[3].first, "new_figure");
  EXPECT_EQ(a.normal_entropy, (std::vector<double>{1.04, 1.03}));
  EXPECT_TRUE(a.fidelity.empty());
  EXPECT_TRUE(a.cells.empty());

  const auto& b = epochs[1];
  EXPECT_EQ(b.line, 3);  // the blank line 2 is skipped but counted
  EXPECT_TRUE(std::isnan(b.weight_lr));
  EXPECT_TRUE(std::isnan(b.seconds));
  ASSERT_EQ(b.cells.size(), 1u);
  EXPECT_DOUBLE_EQ(b.cells[0][1][1], 0.4);
  ASSERT_EQ(b.fidelity.size(), 2u);
  EXPECT_EQ(b.fidelity[0].first, "kendall_tau");
  EXPECT_DOUBLE_EQ(b.fidelity[1].second, 0.5);
}

// The message of the parse_error that parsing `text` throws.
std::string parse_failure(const std::string& text) {
  try {
    adarts::parse_metrics(text, "bad.jsonl");
  } catch (const adarts::Error& e) {
    EXPECT_EQ(e.kind(), adarts::ErrorKind::parse_error);
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

TEST(ReportParse, ErrorsNameTheLine) {
  const std::string good = R"({"epoch":1,"train_loss":1.0})";
  std::string m = parse_failure(good + "\n" + good + "\n{\"epoch\":3,\"train_loss\":\n" + good + "\n");
  EXPECT_NE(m.find("bad.jsonl"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3"), std::string::npos) << m;
  EXPECT_NE(m.find("malformed JSON"), std::string::npos) << m;

  m = parse_failure(good + "\n" + R"({"epoch":2,"val_loss":"high"})");
  EXPECT_NE(m.find("line 2"), std::string::npos) << m;
  EXPECT_NE(m.find("val_loss"), std::string::npos) << m;

  m = parse_failure(R"({"train_loss":1.0})");
  EXPECT_NE(m.find("line 1: missing \"epoch\""), std::string::npos) << m;

  m = parse_failure("[1, 2]");
  EXPECT_NE(m.find("line 1"), std::string::npos) << m;

  m = parse_failure(good + "\n" + R"({"epoch":2,"alpha_softmax":{"ops":["none","skip_connect"],"normal":[[0.5,0.5],[1.0]]}})");
  EXPECT_NE(m.find("line 2"), std::string::npos) << m;
  EXPECT_NE(m.find("alpha_softmax.normal[1]"), std::string::npos) << m;

  m = parse_failure(R"({"epoch":1,"collapse":{"normal_entropy":["x"]}})");
  EXPECT_NE(m.find("collapse.normal_entropy"), std::string::npos) << m;

  m = parse_failure("\n  \n");
  EXPECT_NE(m.find("is empty"), std::string::npos) << m;
}

TEST(ReportParse, MissingFileIsAnIoError) {
  try {
    adarts::read_metrics_file("/nonexistent/metrics.jsonl");
    FAIL() << "no error";
  } catch (const adarts::Error& e) {
    EXPECT_EQ(e.kind(), adarts::ErrorKind::io_error);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/metrics.jsonl"), std::string::npos);
  }
}

TEST(ReportParse, EdgeNamesFollowTheSpace) {
  EXPECT_EQ(adarts::edge_name("darts", 14, 0), "c_{k-2} → 0");
  EXPECT_EQ(adarts::edge_name("darts", 14, 3), "c_{k-1} → 1");
  EXPECT_EQ(adarts::edge_name("darts", 14, 4), "0 → 1");
  EXPECT_EQ(adarts::edge_name("darts", 14, 13), "2 → 3");
  EXPECT_EQ(adarts::edge_name("s1", 8, 0), "c_{k-2} → 0");
  EXPECT_EQ(adarts::edge_name("s1", 8, 1), "c_{k-1} → 0");
  EXPECT_EQ(adarts::edge_name("s2", 8, 3), "0 → 1");
  EXPECT_EQ(adarts::edge_name("s2", 8, 6), "c_{k-2} → 3");
  EXPECT_EQ(adarts::edge_name("other", 7, 2), "edge 2");
}

// ---------------------------------------------------------------------------
// The figures

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(Report, WritesEveryFigureAsWellFormedSvg) {
  const std::string dir = (std::filesystem::temp_directory_path() / "adarts_test_report").string();
  std::filesystem::remove_all(dir);
  const auto files = adarts::write_report(adarts::parse_metrics(kTwoEpochs), dir);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(std::filesystem::path(f).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"collapse.svg", "loss.svg", "accuracy.svg", "op_weights_normal.svg",
                                             "entropy_normal.svg", "op_weights_reduce.svg", "entropy_reduce.svg",
                                             "op_weights_cells.svg", "fidelity.svg", "index.html"}));
  for (const auto& f : files) {
    ASSERT_TRUE(std::filesystem::exists(f)) << f;
    EXPECT_EQ(xml_problem(read_file(f)), "") << f;
  }
  // Series per figure: 4 collapse figures; train + val; 2 edges x 3 ops;
  // 2 edges + the uniform ceiling; 1 cell x 2 edges x 3 ops; 2 fidelity keys.
  EXPECT_EQ(count(read_file(dir + "/collapse.svg"), "<polyline"), 4);
  EXPECT_EQ(count(read_file(dir + "/loss.svg"), "<polyline"), 2);
  EXPECT_EQ(count(read_file(dir + "/op_weights_normal.svg"), "<polyline"), 6);
  EXPECT_EQ(count(read_file(dir + "/op_weights_normal.svg"), "class=\"plot-box\""), 2);
  EXPECT_EQ(count(read_file(dir + "/entropy_reduce.svg"), "<polyline"), 3);
  EXPECT_EQ(count(read_file(dir + "/op_weights_cells.svg"), "<polyline"), 6);
  EXPECT_EQ(count(read_file(dir + "/fidelity.svg"), "<polyline"), 2);
  const std::string normal = read_file(dir + "/op_weights_normal.svg");
  // The s1 edge names and a fixed colour per op (skip_connect red in every figure).
  EXPECT_NE(normal.find("c_{k-1} → 0"), std::string::npos);
  EXPECT_EQ(count(normal, "stroke=\"#d62728\""), 3);  // two panels and the legend
  // The shared y scale of the op-weight panels starts at 0 and ends at the largest weight (0.8 in reduce).
  const std::string reduce = read_file(dir + "/op_weights_reduce.svg");
  const adarts::PlotBox box = plot_box(reduce);
  const auto lines = polylines(reduce);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_NEAR(lines[2][0].second, box.top, 0.006);  // edge 0, sep_conv_3x3, epoch 1: 0.8
  EXPECT_NEAR(lines[0][0].second, box.top + box.height * (1 - 0.1 / 0.8), 0.006);
  std::filesystem::remove_all(dir);
}

TEST(Report, WeightShapeChangeNamesTheLine) {
  const std::string text = R"({"epoch":1,"alpha_softmax":{"ops":["a","b"],"normal":[[0.5,0.5]]}})"
                           "\n"
                           R"({"epoch":2,"alpha_softmax":{"ops":["a","b"],"normal":[[0.5,0.5],[0.4,0.6]]}})";
  const std::string dir = (std::filesystem::temp_directory_path() / "adarts_test_report_shape").string();
  try {
    adarts::write_report(adarts::parse_metrics(text), dir);
    FAIL() << "no error";
  } catch (const adarts::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Report, PerCellEntropiesAreNamedByCell) {
  // As a per-cell search writes them: cells [cell][edge][op], entropies of every cell's edges in turn.
  const std::string text =
      R"({"epoch":1,"alpha_softmax":{"ops":["skip_connect","sep_conv_3x3"],"cells":[[[0.5,0.5],[0.4,0.6]],[[0.3,0.7],[0.2,0.8]]],"reduction":[false,true]},)"
      R"("collapse":{"normal_entropy":[0.69,0.67,0.61,0.5]},"genotype":{"space":"s2"}})";
  const std::string dir = (std::filesystem::temp_directory_path() / "adarts_test_report_cells").string();
  std::filesystem::remove_all(dir);
  adarts::write_report(adarts::parse_metrics(text), dir);
  const std::string entropy = read_file(dir + "/entropy_normal.svg");
  EXPECT_EQ(xml_problem(entropy), "");
  EXPECT_NE(entropy.find(">cell 1: c_{k-1} → 0</text>"), std::string::npos);
  EXPECT_EQ(count(read_file(dir + "/op_weights_cells.svg"), "<polyline"), 8);
  std::filesystem::remove_all(dir);
}

TEST(Report, OnlyLossesWhenTheFileHasNothingElse) {
  const std::string dir = (std::filesystem::temp_directory_path() / "adarts_test_report_min").string();
  std::filesystem::remove_all(dir);
  const auto files = adarts::write_report(adarts::parse_metrics(R"({"epoch":1,"train_loss":1.0})"), dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(std::filesystem::path(files[0]).filename(), "loss.svg");
  EXPECT_EQ(count(read_file(files[0]), "<polyline"), 2);  // val has no point but still a series
  std::filesystem::remove_all(dir);
}

}  // namespace
