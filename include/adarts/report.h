// `adarts report`: a search's metrics file (one JSON object per epoch, as
// Search writes it) turned into SVG figures: the collapse curves of the
// paper's Figure 1, the op weights of every edge over the epochs, per-edge
// entropies, losses and accuracies, and fidelity figures when the file has
// them. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace adarts {

using WeightMatrix = std::vector<std::vector<double>>;  // [edge][op]

// What the report reads from one line. Keys it does not know are skipped;
// numbers that are absent are NaN, lists that are absent are empty.
struct MetricsEpoch {
  int64_t line = 0;   // 1-based line of the file
  int64_t epoch = 0;  // as written (1-based)
  double train_loss, train_accuracy, val_loss, val_accuracy, weight_lr, seconds;
  std::vector<std::string> ops;  // alpha_softmax.ops
  WeightMatrix normal, reduce;   // alpha_softmax.normal / .reduce
  std::vector<WeightMatrix> cells;  // alpha_softmax.cells (per-cell spaces)
  std::string space;             // genotype.space ("" when absent)
  // collapse: the three figures of Figure 1 and any other numeric ones, in file order.
  std::vector<std::pair<std::string, double>> collapse;
  std::vector<double> normal_entropy, reduce_entropy;  // collapse.normal_entropy / .reduce_entropy
  // fidelity: every numeric member, in file order.
  std::vector<std::pair<std::string, double>> fidelity;

  MetricsEpoch();
};

// Parses the text of a metrics file; blank lines are skipped. `source` names
// the file in messages. Throws adarts::Error(parse_error) naming the line for
// malformed JSON, a line that is not an object, a missing or non-integer
// "epoch", a known key of the wrong type, a weight row whose length differs
// from the op list; and for a text without any line ("... is empty").
std::vector<MetricsEpoch> parse_metrics(const std::string& text, const std::string& source = "metrics");

// Reads and parses a file (adarts::Error(io_error) when it cannot be read).
std::vector<MetricsEpoch> read_metrics_file(const std::string& path);

// Names an edge of a cell for titles: "c_{k-2} → 0" (intermediate nodes
// counted from 0 as in the DARTS figures). The edge list is the one of the
// space ("darts": every earlier node; "s1"/"s2": the fixed chain) when
// `edges` rows fit it, otherwise "edge i".
std::string edge_name(const std::string& space, std::size_t edges, std::size_t index);

// Writes the figures into `out_dir` (created when missing) and returns their
// paths in the order written: collapse.svg, loss.svg, accuracy.svg,
// op_weights_normal.svg, entropy_normal.svg, op_weights_reduce.svg,
// entropy_reduce.svg, op_weights_cells.svg, fidelity.svg -- each only when
// the file has its data -- and index.html (XHTML) showing them all. Throws
// adarts::Error(parse_error) naming the line when the op list or the shape of
// the weights changes between lines, io_error when a file cannot be written.
std::vector<std::string> write_report(const std::vector<MetricsEpoch>& epochs, const std::string& out_dir);

}  // namespace adarts
