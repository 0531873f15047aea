#include "adarts/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "adarts/error.h"

namespace adarts {
namespace {

// Fonts and margins of a full chart and of a small-multiples panel.
struct Style {
  double title_size, label_size, tick_size;
  double margin_left, margin_top, margin_bottom, margin_right;
  double stroke;
};
constexpr Style kChartStyle{15, 13, 11, 70, 36, 48, 16, 1.8};
constexpr Style kPanelStyle{12, 10, 9, 48, 24, 30, 10, 1.4};
constexpr double kLegendRow = 18.0;

std::string num(double v) {
  std::string s = fmt::format("{:.2f}", v);
  if (s == "-0.00") s = "0.00";
  return s;
}

// Pixel width of `text` at `size`, roughly (for layout only).
double text_width(const std::string& text, double size) {
  std::size_t chars = 0;  // UTF-8 code points
  for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return 0.56 * size * static_cast<double>(chars);
}

std::pair<double, double> widen(double lo, double hi) {
  if (!(hi - lo > 1e-12 * std::max(1.0, std::fabs(hi)))) {
    const double pad = lo != 0.0 ? 0.1 * std::fabs(lo) : 0.5;
    return {lo - pad, hi + pad};
  }
  return {lo, hi};
}

struct Range {
  double x_lo, x_hi, y_lo, y_hi;
};

Range chart_range(const LineChart& chart) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : chart.series) {
    if (s.x.size() != s.y.size()) {
      throw invalid_argument(fmt::format("chart '{}': series '{}' has {} x values and {} y values", chart.title,
                                         s.label, s.x.size(), s.y.size()));
    }
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (!std::isfinite(x_lo)) {  // no data: a unit square
    x_lo = y_lo = 0.0;
    x_hi = y_hi = 1.0;
  }
  if (chart.x_min) x_lo = *chart.x_min;
  if (chart.x_max) x_hi = *chart.x_max;
  if (chart.y_min) y_lo = *chart.y_min;
  if (chart.y_max) y_hi = *chart.y_max;
  std::tie(x_lo, x_hi) = widen(x_lo, x_hi);
  std::tie(y_lo, y_hi) = widen(y_lo, y_hi);
  return {x_lo, x_hi, y_lo, y_hi};
}

double legend_width(const std::vector<ChartSeries>& series, double size) {
  double w = 0.0;
  for (const auto& s : series) w = std::max(w, text_width(s.label, size));
  return std::min(w, 420.0) + 44.0;
}

void draw_legend(std::string& out, const std::vector<ChartSeries>& series, double x, double y, const Style& st) {
  out += fmt::format("<g class=\"legend\" font-size=\"{}\">\n", num(st.label_size));
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double row = y + kLegendRow * static_cast<double>(i);
    out += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n", num(x), num(row),
        num(x + 24), num(row), xml_escape(series[i].colour), num(st.stroke + 0.6),
        series[i].dashed ? " stroke-dasharray=\"6 3\"" : "");
    out += fmt::format("<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\">{}</text>\n", num(x + 30), num(row),
                       xml_escape(series[i].label));
  }
  out += "</g>\n";
}

// Draws `chart` into the rectangle (x0, y0, w, h) and returns its plot box.
PlotBox draw_chart(std::string& out, const LineChart& chart, double x0, double y0, double w, double h,
                   const Style& st, double right_reserve) {
  const Range r = chart_range(chart);
  PlotBox box;
  box.left = x0 + st.margin_left;
  box.top = y0 + st.margin_top;
  box.width = std::max(10.0, w - st.margin_left - st.margin_right - right_reserve);
  box.height = std::max(10.0, h - st.margin_top - st.margin_bottom);
  auto px = [&](double x) { return box.left + (x - r.x_lo) / (r.x_hi - r.x_lo) * box.width; };
  auto py = [&](double y) { return box.top + box.height - (y - r.y_lo) / (r.y_hi - r.y_lo) * box.height; };

  out += "<g class=\"chart\">\n";
  if (!chart.title.empty()) {
    out += fmt::format("<text class=\"title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" "
                       "font-weight=\"bold\">{}</text>\n",
                       num(box.left + box.width / 2), num(y0 + st.margin_top * 0.62), num(st.title_size),
                       xml_escape(chart.title));
  }
  // Grid lines and tick labels.
  const std::vector<double> xt = nice_ticks(r.x_lo, r.x_hi, 6, chart.integer_x);
  const std::vector<double> yt = nice_ticks(r.y_lo, r.y_hi, 5, false);
  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : 1.0, y_step = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  out += fmt::format("<g class=\"ticks\" font-size=\"{}\" fill=\"#333\">\n", num(st.tick_size));
  for (double v : xt) {
    const double x = px(v);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", num(x),
                       num(box.top), num(box.top + box.height));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x),
                       num(box.top + box.height + st.tick_size + 4), format_tick(v, x_step));
  }
  for (double v : yt) {
    const double y = py(v);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#e4e4e4\"/>\n", num(box.left),
                       num(y), num(box.left + box.width));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\n",
                       num(box.left - 5), num(y), format_tick(v, y_step));
  }
  out += "</g>\n";
  out += fmt::format("<rect class=\"plot-box\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                     "stroke=\"#444\"/>\n",
                     num(box.left), num(box.top), num(box.width), num(box.height));
  if (!chart.x_label.empty()) {
    out += fmt::format("<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\">{}</text>\n",
                       num(box.left + box.width / 2), num(box.top + box.height + 2 * st.tick_size + 10),
                       num(st.label_size), xml_escape(chart.x_label));
  }
  if (!chart.y_label.empty()) {
    double tick_width = 0.0;
    for (double v : yt) tick_width = std::max(tick_width, text_width(format_tick(v, y_step), st.tick_size));
    const double x = std::max(x0 + st.label_size, box.left - tick_width - 12.0), y = box.top + box.height / 2;
    out += fmt::format("<text class=\"y-label\" x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"{2}\" "
                       "transform=\"rotate(-90 {0} {1})\">{3}</text>\n",
                       num(x), num(y), num(st.label_size), xml_escape(chart.y_label));
  }
  // The data: one polyline per series (a marker too when it has one point).
  for (const auto& s : chart.series) {
    std::string points;
    int count = 0;
    double last_x = 0.0, last_y = 0.0;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      last_x = px(s.x[i]);
      last_y = py(s.y[i]);
      points += (count++ ? " " : "") + num(last_x) + "," + num(last_y);
    }
    out += fmt::format("<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                       "stroke-linejoin=\"round\"{} points=\"{}\"><title>{}</title></polyline>\n",
                       xml_escape(s.colour), num(st.stroke), s.dashed ? " stroke-dasharray=\"6 3\"" : "", points,
                       xml_escape(s.label));
    if (count == 1) {
      out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>\n", num(last_x), num(last_y),
                         num(st.stroke + 1.2), xml_escape(s.colour));
    }
  }
  out += "</g>\n";
  return box;
}

std::string svg_open(double width, double height) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      num(width), num(height));
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target, bool integer) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || target < 1) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= 0.0) return {lo};
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * magnitude;
  if (integer) step = std::max(1.0, std::round(step));
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9);
  for (double k = first;; k += 1.0) {
    double v = k * step;
    if (v > hi + step * 1e-9) break;
    if (std::fabs(v) < step * 1e-9) v = 0.0;
    ticks.push_back(v);
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  int decimals = 0;
  if (step > 0.0 && step < 1.0) decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);
  return s;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string palette_colour(std::size_t i) {
  // Qualitative colours, dark first; chosen for distinct hues on white.
  static const char* const colours[] = {
      "#1f5fa8", "#d9480f", "#2b8a3e", "#c92a2a", "#7048e8", "#8d5a3b", "#d6336c", "#495057", "#a0a000", "#0c8599",
      "#74a9e0", "#f59f00", "#82c91e", "#ff8787", "#b197fc", "#c49a6c", "#f783ac", "#adb5bd", "#dede5a", "#66d9e8"};
  return colours[i % (sizeof(colours) / sizeof(colours[0]))];
}

std::string line_chart_svg(const LineChart& chart, double width, double height) {
  if (!(width > 0.0) || !(height > 0.0)) {
    throw invalid_argument(fmt::format("line_chart_svg: the size must be positive, got {} x {}", width, height));
  }
  const double reserve = chart.legend && !chart.series.empty() ? legend_width(chart.series, kChartStyle.label_size) : 0;
  width = std::max(width, reserve + 520.0);  // room for the plot next to a long legend
  // Grow to fit the legend rows.
  const double legend_height = kChartStyle.margin_top + kLegendRow * static_cast<double>(chart.series.size()) + 10;
  if (chart.legend) height = std::max(height, legend_height);
  std::string out = svg_open(width, height);
  const PlotBox box = draw_chart(out, chart, 0.0, 0.0, width, height, kChartStyle, reserve);
  if (chart.legend && !chart.series.empty())
    draw_legend(out, chart.series, box.left + box.width + 16, box.top + 6, kChartStyle);
  out += "</svg>\n";
  return out;
}

std::string small_multiples_svg(const SmallMultiples& figure) {
  if (figure.columns < 1) throw invalid_argument("small_multiples_svg: columns must be >= 1");
  if (!(figure.panel_width > 0.0) || !(figure.panel_height > 0.0))
    throw invalid_argument("small_multiples_svg: the panel size must be positive");
  const std::size_t n = figure.panels.size();
  if (!figure.positions.empty() && figure.positions.size() != n)
    throw invalid_argument("small_multiples_svg: positions must name one place per panel");
  std::vector<std::pair<int, int>> places = figure.positions;
  std::size_t columns = std::min<std::size_t>(static_cast<std::size_t>(figure.columns), std::max<std::size_t>(n, 1));
  if (places.empty()) {
    for (std::size_t i = 0; i < n; ++i) places.emplace_back(static_cast<int>(i / columns), static_cast<int>(i % columns));
  }
  std::size_t rows = 0;
  columns = 1;
  for (const auto& [row, column] : places) {
    if (row < 0 || column < 0) throw invalid_argument("small_multiples_svg: negative panel position");
    rows = std::max(rows, static_cast<std::size_t>(row) + 1);
    columns = std::max(columns, static_cast<std::size_t>(column) + 1);
  }
  const double title_height = figure.title.empty() ? 8.0 : 34.0;
  const double legend_w = figure.legend.empty() ? 0.0 : legend_width(figure.legend, kChartStyle.label_size) + 16;
  const double width = static_cast<double>(columns) * figure.panel_width + legend_w + 8;
  const double height =
      std::max(title_height + static_cast<double>(rows) * figure.panel_height + 8,
               title_height + kLegendRow * static_cast<double>(figure.legend.size()) + 16);
  std::string out = svg_open(width, height);
  if (!figure.title.empty()) {
    out += fmt::format("<text class=\"title\" x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"{}\" "
                       "font-weight=\"bold\">{}</text>\n",
                       num(static_cast<double>(columns) * figure.panel_width / 2), num(kChartStyle.title_size),
                       xml_escape(figure.title));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double x0 = static_cast<double>(places[i].second) * figure.panel_width;
    const double y0 = title_height + static_cast<double>(places[i].first) * figure.panel_height;
    draw_chart(out, figure.panels[i], x0, y0, figure.panel_width, figure.panel_height, kPanelStyle, 0.0);
  }
  if (!figure.legend.empty()) {
    draw_legend(out, figure.legend, static_cast<double>(columns) * figure.panel_width + 16, title_height + 16,
                kChartStyle);
  }
  out += "</svg>\n";
  return out;
}

}  // namespace adarts
