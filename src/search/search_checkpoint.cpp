// A search's checkpoints: writing one, finding where a run continues, and
// loading one in two steps (read and check everything, then apply), so that
// a refused checkpoint changes nothing.
#include <boost/json.hpp>

#include "adarts/error.h"
#include "adarts/fidelity.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "genotype/genotype_json.h"
#include "runtime/checkpoint_io.h"
#include "runtime/output_files.h"
#include "runtime/run_loop.h"
#include "search/search_state.h"

namespace adarts {
namespace {

namespace json = boost::json;

constexpr const char* kCheckpointFormat = "adarts.search-checkpoint";
constexpr int64_t kCheckpointVersion = 1;
constexpr const char* kCheckpointWhat = "search checkpoint";

// The summary of the last ended epoch, from its metrics line.
EpochSummary summary_from_metrics_line(const std::string& text) {
  const json::object last = json::parse(text).as_object();
  EpochSummary s;
  s.epoch = last.at("epoch").to_number<int64_t>() - 1;
  s.train_loss = last.at("train_loss").to_number<double>();
  s.train_accuracy = last.at("train_accuracy").to_number<double>();
  s.val_loss = last.at("val_loss").to_number<double>();
  s.val_accuracy = last.at("val_accuracy").to_number<double>();
  s.weight_lr = last.at("weight_lr").to_number<double>();
  s.seconds = last.at("seconds").to_number<double>();
  s.genotype = genotype_from_value(last.at("genotype"));
  s.json = text;
  return s;
}

}  // namespace

Search::SavedState::SavedState(const std::string& path)
    : reader(path, kCheckpointFormat, kCheckpointVersion, kCheckpointWhat) {
  last_summary.epoch = -1;
}

std::string Search::save_checkpoint() {
  namespace io = checkpoint_io;
  average_running_statistics();  // the statistics rank 0 saves are every rank's
  if (!writes_files()) return "";
  io::OutputArchive archive;
  io::write_header(archive, kCheckpointFormat, kCheckpointVersion);
  archive.write("config", c10::IValue(to_json(config_)));
  archive.write("data", c10::IValue(data_fingerprint_));
  counters_->write(archive);
  io::write_module(archive, "supernet", *net_);
  const TensorList alphas = net_->arch_parameters();
  archive.write("alphas.count", c10::IValue(static_cast<int64_t>(alphas.size())));
  for (size_t i = 0; i < alphas.size(); ++i) {
    archive.write("alphas." + std::to_string(i), alphas[i].detach().to(at::kCPU).clone());
  }
  io::OutputArchive arch_optimizer, weight_optimizer;
  optimizers_->arch.save(arch_optimizer);
  optimizers_->weights.save(weight_optimizer);
  archive.write("optimizer.arch", arch_optimizer);
  archive.write("optimizer.weights", weight_optimizer);
  archive.write("generator", generator_.get_state());
  io::write_loader(archive, "loader.train", train_loader_->state());
  io::write_loader(archive, "loader.val", val_loader_->state());
  archive.write("metrics", c10::IValue(metrics_->text()));
  if (fidelity_) {
    // The probes of the epoch so far (names one per line; sums exactly, NaN included).
    const FidelityAccumulator::State f = fidelity_->epoch().state();
    std::string names;
    for (const auto& n : f.names) names += n + "\n";
    archive.write("fidelity.names", c10::IValue(names));
    archive.write("fidelity.sums", at::tensor(f.sums, at::kDouble));
    archive.write("fidelity.probes", c10::IValue(f.probes));
  }
  last_checkpoint_ = io::write_checkpoint(archive, config_.out_dir, counters_->epoch, counters_->step_in_epoch,
                                          config_.checkpoint_keep, &clear_stale_checkpoints_);
  return last_checkpoint_;
}

SearchConfig Search::checkpoint_config(const std::string& path) {
  checkpoint_io::Reader reader(path, kCheckpointFormat, kCheckpointVersion, kCheckpointWhat);
  return search_config_from_json(reader.read_string("config"), SearchConfig{});
}

std::string Search::latest_checkpoint(const std::string& out_dir, std::vector<std::string>* skipped) {
  return checkpoint_io::newest_loadable(checkpoint_io::directory(out_dir),
                                        [](const std::string& path) { checkpoint_config(path); }, skipped);
}

Search::ResumePoint Search::resume_point(const std::string& out_dir,
                                        const std::function<void(SearchConfig&)>& change) {
  ResumeStart<SearchConfig> start = find_resume_start<SearchConfig>(out_dir, &Search::checkpoint_config, change);
  return ResumePoint{start.checkpoint, start.config, start.skipped};
}

std::unique_ptr<Search> Search::resume(const std::string& out_dir, const std::string& overrides_json,
                                       const Dataset* data) {
  const ResumePoint point = resume_point(out_dir, [&](SearchConfig& c) {
    if (!overrides_json.empty()) c = search_config_from_json(overrides_json, c);
  });
  auto search = std::make_unique<Search>(point.config, data != nullptr ? *data : load_search_dataset(point.config));
  search->load_checkpoint(point.checkpoint);
  return search;
}

void Search::load_checkpoint(const std::string& path) {
  SavedState saved = read_checkpoint(path);
  apply_checkpoint(saved);
}

Search::SavedState Search::read_checkpoint(const std::string& path) {
  SavedState saved(path);
  checkpoint_io::Reader& reader = saved.reader;
  const SearchConfig saved_config = search_config_from_json(reader.read_string("config"), SearchConfig{});
  checkpoint_io::refuse_resume("from '" + path + "' (written with another configuration)",
                               resume_differences(saved_config, config_));
  const std::string saved_data = reader.read_string("data");
  if (saved_data != data_fingerprint_) {
    throw invalid_argument("cannot resume from '" + path + "': it was written for other data (" + saved_data +
                           "; this search has " + data_fingerprint_ + ")");
  }
  const TensorList alphas = net_->arch_parameters();
  const int64_t saved_alpha_count = reader.read_int("alphas.count");
  if (saved_alpha_count != static_cast<int64_t>(alphas.size())) {
    throw reader.bad("it holds " + std::to_string(saved_alpha_count) + " alpha tensors, expected " +
                     std::to_string(alphas.size()));
  }
  for (size_t i = 0; i < alphas.size(); ++i) {
    saved.alphas.push_back(reader.read_tensor("alphas." + std::to_string(i)));
    if (!saved.alphas.back().sizes().equals(alphas[i].sizes())) throw reader.bad("alpha tensor " + std::to_string(i) + " has another shape");
  }
  saved.metrics_lines = split_lines(reader.read_string("metrics"));
  if (!saved.metrics_lines.empty()) {
    try {
      saved.last_summary = summary_from_metrics_line(saved.metrics_lines.back());
    } catch (const std::exception& e) {
      throw reader.bad(std::string("its last metrics line is malformed: ") + e.what());
    }
  }
  saved.train_loader = reader.read_loader("loader.train");
  saved.val_loader = reader.read_loader("loader.val");
  saved.generator = reader.read_tensor("generator");
  saved.arch_optimizer = reader.read_archive("optimizer.arch");
  saved.weight_optimizer = reader.read_archive("optimizer.weights");
  saved.counters.read(reader);
  saved.has_fidelity = fidelity_ && reader.has("fidelity.probes");
  if (saved.has_fidelity) {
    FidelityAccumulator::State& f = saved.fidelity;
    f.names = split_lines(reader.read_string("fidelity.names"));
    const at::Tensor sums = reader.read_tensor("fidelity.sums").to(at::kDouble).contiguous();
    f.sums.assign(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel());
    f.probes = reader.read_int("fidelity.probes");
    if (f.names.size() != f.sums.size()) throw reader.bad("its fidelity sums do not match their names");
  }
  return saved;
}

void Search::apply_checkpoint(SavedState& saved) {
  checkpoint_io::Reader& reader = saved.reader;
  reader.read_module("supernet", *net_);
  {
    at::NoGradGuard no_grad;
    const TensorList alphas = net_->arch_parameters();
    for (size_t i = 0; i < alphas.size(); ++i) alphas[i].copy_(saved.alphas[i]);
  }
  reader.guarded([&] {
    optimizers_->arch.load(saved.arch_optimizer);
    optimizers_->weights.load(saved.weight_optimizer);
    checkpoint_io::move_optimizer_state(optimizers_->arch, device_);
    checkpoint_io::move_optimizer_state(optimizers_->weights, device_);
    generator_.set_state(saved.generator);
    train_loader_->restore(saved.train_loader);
    val_loader_->restore(saved.val_loader);
  });
  *counters_ = saved.counters;
  // The metrics file as of the checkpoint: lines written after it are dropped.
  metrics_->restore(saved.metrics_lines);
  last_summary_ = saved.last_summary;
  // Checkpoints of runs without probes start the epoch's figures afresh.
  if (fidelity_) fidelity_->epoch().restore(saved.fidelity);
  clear_stale_checkpoints_ = false;
  last_checkpoint_ = reader.path();
}

}  // namespace adarts
