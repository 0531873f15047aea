// Line charts written directly as SVG (no plotting tool needed): axes with
// "nice" tick values, axis labels, a title, one polyline per series and a
// legend; and small multiples (a grid of such panels sharing one legend).
// Used by `adarts report` (adarts/report.h). Torch-free.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace adarts {

struct ChartSeries {
  std::string label;       // shown in the legend
  std::string colour;      // any SVG colour, e.g. "#1f77b4"
  std::vector<double> x;   // same length as y; non-finite points are skipped
  std::vector<double> y;
  bool dashed = false;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
  // Axis ranges: the data's extent when not set (so the smallest and largest
  // points lie on the plot box edges); a degenerate extent is widened.
  std::optional<double> x_min, x_max, y_min, y_max;
  bool integer_x = false;  // ticks on whole numbers only (epochs)
  bool legend = true;      // a legend on the right of the plot box
};

// A grid of charts (each panel's own legend is not drawn) with one legend,
// built from the labels and colours of `legend`, on the right.
struct SmallMultiples {
  std::string title;
  std::vector<LineChart> panels;
  std::vector<ChartSeries> legend;  // only label, colour and dashed are used
  int columns = 4;
  // Optional (row, column) of each panel; row by row in `columns` when empty.
  std::vector<std::pair<int, int>> positions;
  double panel_width = 260.0;
  double panel_height = 190.0;
};

// The plot box of a chart in SVG user units: data x_min maps to left,
// x_max to left + width, y_max to top and y_min to top + height.
struct PlotBox {
  double left = 0.0, top = 0.0, width = 0.0, height = 0.0;
};

// Tick values: multiples of 1, 2 or 5 times a power of ten inside [lo, hi],
// about `target` of them (at least two when lo < hi). Whole numbers only
// when `integer` (the step is then at least 1).
std::vector<double> nice_ticks(double lo, double hi, int target = 5, bool integer = false);

// A tick label: as few decimals as the step needs, never "-0".
std::string format_tick(double value, double step);

// "&", "<", ">", '"' and "'" as XML entities.
std::string xml_escape(const std::string& text);

// A standalone SVG document of `chart`, `width` x `height` user units.
// Each series is one <polyline class="series">; the plot box is the
// <rect class="plot-box">. Throws adarts::Error(invalid_argument) for a
// series whose x and y differ in length or for non-positive sizes.
std::string line_chart_svg(const LineChart& chart, double width = 720.0, double height = 420.0);

// A standalone SVG document of the panels in a grid, row by row.
std::string small_multiples_svg(const SmallMultiples& figure);

// A colour for index `i` of a qualitative palette of 20, cycling.
std::string palette_colour(std::size_t i);

}  // namespace adarts
