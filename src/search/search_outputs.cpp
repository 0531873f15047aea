// What a search records at each epoch end: the metrics line (figures,
// architecture weights, collapse figures, genotype, fidelity) and the files
// in out_dir (metrics.jsonl, genotype.json, genotype.txt, alphas.json).
#include <boost/json.hpp>

#include "adarts/fidelity.h"
#include "adarts/monitor.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "genotype/genotype_json.h"
#include "runtime/output_files.h"
#include "search/search_state.h"

namespace adarts {
namespace {

namespace json = boost::json;

json::array matrix_to_json(const at::Tensor& m) {
  const at::Tensor cpu = m.detach().to(at::kCPU, at::kDouble).contiguous();
  json::array rows;
  for (int64_t i = 0; i < cpu.size(0); ++i) {
    json::array row;
    for (int64_t j = 0; j < cpu.size(1); ++j) row.emplace_back(cpu[i][j].item<double>());
    rows.emplace_back(std::move(row));
  }
  return rows;
}

// Any tensor as nested JSON arrays of its values (doubles print so that they read back exactly).
json::value tensor_to_json(const at::Tensor& t) {
  if (t.dim() == 0) return t.item<double>();
  json::array out;
  for (int64_t i = 0; i < t.size(0); ++i) out.emplace_back(tensor_to_json(t[i]));
  return out;
}

// "alpha_softmax": shared spaces {"normal", "reduce", "ops"}; per-cell spaces
// (s2) {"cells" [cell][edge][op], "reduction" [cell], "ops"}.
json::object alpha_softmax_json(Supernet& net, const Genotype& genotype) {
  json::object weights;
  if (net.per_cell()) {
    json::array cells;
    json::array reduction;
    const at::Tensor softmax = at::softmax(net.alphas_cells().detach(), -1);
    for (int64_t i = 0; i < softmax.size(0); ++i) {
      cells.emplace_back(matrix_to_json(softmax[i]));
      reduction.emplace_back(static_cast<bool>(genotype.reduction[static_cast<size_t>(i)]));
    }
    weights["cells"] = std::move(cells);
    weights["reduction"] = std::move(reduction);
  } else {
    weights["normal"] = matrix_to_json(at::softmax(net.alphas_normal().detach(), -1));
    weights["reduce"] = matrix_to_json(at::softmax(net.alphas_reduce().detach(), -1));
  }
  json::array ops;
  for (const auto& op : net.op_names()) ops.emplace_back(op);
  weights["ops"] = std::move(ops);
  return weights;
}

json::object collapse_json(const CollapseFigures& c) {
  json::object collapse;
  collapse["none_weight_mean"] = c.none_weight_mean;
  collapse["skip_share"] = c.skip_share;
  collapse["parameter_free_share"] = c.parameter_free_share;
  collapse["normal_entropy"] = json::value_from(c.normal_entropy);
  collapse["reduce_entropy"] = json::value_from(c.reduce_entropy);
  return collapse;
}

}  // namespace

void Search::fill_epoch_metrics(EpochSummary& s) {
  json::object line;
  line["epoch"] = s.epoch + 1;
  line["steps"] = counters_->step_in_epoch;
  line["weight_lr"] = s.weight_lr;
  line["drop_path_prob"] = search_drop_path_prob(config_, counters_->epoch);
  line["train_loss"] = s.train_loss;
  line["train_accuracy"] = s.train_accuracy;
  line["val_loss"] = s.val_loss;
  line["val_accuracy"] = s.val_accuracy;
  line["seconds"] = s.seconds;
  line["skipped_steps"] = counters_->epoch_skipped_steps;
  line["alpha_softmax"] = alpha_softmax_json(*net_, s.genotype);
  s.collapse = collapse_figures(net_->normal_edge_weights(), net_->reduce_edge_weights(), net_->op_names(), s.genotype);
  line["collapse"] = collapse_json(s.collapse);
  line["genotype"] = genotype_to_value(s.genotype);
  if (fidelity_) {
    line["fidelity"] = json::parse(fidelity_->epoch().to_json());
    s.fidelity = fidelity_->epoch().summary();
    fidelity_->end_epoch();
  }
  s.json = json::serialize(line);
}

void Search::write_outputs(const EpochSummary& s) {
  metrics_->append(s.json);
  // The genotype so far, replaced whole each epoch.
  write_text_atomically(config_.out_dir + "/genotype.json", to_json(s.genotype));
  // The raw alphas, exactly: runs can be compared bit for bit (e.g. a resumed one with an uninterrupted one).
  json::array alphas;
  for (const auto& a : net_->arch_parameters()) alphas.emplace_back(tensor_to_json(a.detach().to(at::kCPU, at::kDouble)));
  json::object alphas_doc;
  alphas_doc["epoch"] = s.epoch + 1;
  alphas_doc["arch_parameters"] = std::move(alphas);
  write_text_atomically(config_.out_dir + "/alphas.json", json::serialize(alphas_doc));
  // The DARTS text form holds only shared cells.
  if (!s.genotype.per_cell()) write_text_atomically(config_.out_dir + "/genotype.txt", to_darts_text(s.genotype));
}

}  // namespace adarts
