// Time and peak memory of one search step, per estimator.
//
//   bench_search_step --config A|B --estimator NAME [--hvp MODE] [--threads N] [--repeats R]
//                     [--cutout N] [--drop-path P] [--auxiliary 0|1]
//
// The consistency options (paper 4.1.2): with --drop-path P the steps are timed
// in the search's second epoch (of two), where the ramped probability is P / 2.
// Prints one line: median seconds per step over R steps (after one warm-up
// step) and the process peak RSS. Run one estimator per process so that the
// peak belongs to it; bench/run_step_bench.sh runs the whole table.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "adarts/error.h"
#include "adarts/search.h"
#include "adarts/supernet.h"

namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

int usage_error() {
  fmt::print(stderr,
             "usage: bench_search_step --config A|B --estimator first_order|second_order|amended "
             "[--hvp finite_difference|exact] [--threads N] [--repeats R] [--mkldnn 0|1] [--cutout N] "
             "[--drop-path P] [--auxiliary 0|1]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_name = "B", estimator = "first_order", hvp = "finite_difference";
  int64_t threads = 2, repeats = 3, mkldnn = 1, cutout = 0, auxiliary = 0;
  double drop_path = 0.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--config") config_name = value;
    else if (key == "--estimator") estimator = value;
    else if (key == "--hvp") hvp = value;
    else if (key == "--threads") threads = std::stoll(value);
    else if (key == "--repeats") repeats = std::stoll(value);
    else if (key == "--mkldnn") mkldnn = std::stoll(value);
    else if (key == "--cutout") cutout = std::stoll(value);
    else if (key == "--drop-path") drop_path = std::stod(value);
    else if (key == "--auxiliary") auxiliary = std::stoll(value);
    else return usage_error();
  }
  if (argc % 2 == 0 || (config_name != "A" && config_name != "B") || repeats < 1) return usage_error();

  // Config A: the DARTS search supernet (C=16, 8 cells); B: C=8, 5 cells. Both 3x32x32, batch 32.
  adarts::SearchConfig c;
  c.dataset = "synthetic";
  c.channels = config_name == "A" ? 16 : 8;
  c.layers = config_name == "A" ? 8 : 5;
  c.batch_size = 32;
  c.train_subset = 2 * 32 * (repeats + 1);
  c.crop_padding = 4;
  c.estimator = estimator;
  c.hvp = hvp;
  c.threads = threads;
  c.out_dir = "/tmp/adarts_bench_step";
  c.checkpoint_keep = 0;
  c.cutout = cutout;
  c.drop_path_prob = drop_path;
  c.auxiliary = auxiliary != 0;
  if (drop_path > 0) {
    c.epochs = 2;                // one step per epoch: the timed steps run in epoch 2,
    c.train_subset = 2 * 32;     // where drop-path is drop_path / 2
  }

  // oneDNN (MKL-DNN) kernels on or off, to compare LibTorch's CPU backends.
  at::globalContext().setUserEnabledMkldnn(mkldnn != 0);
  try {
    adarts::SyntheticSpec spec;
    spec.size = c.train_subset;
    spec.channels = 3;
    spec.height = spec.width = 32;
    adarts::Search search(c, adarts::make_synthetic(spec, c.seed));
    if (drop_path > 0) search.advance(1);  // into epoch 2 (the ramp starts at 0)
    const double rss_before = peak_rss_mb();
    search.step();  // warm-up: allocator pools, lazy initialisation
    std::vector<double> seconds;
    for (int64_t i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      search.step();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    const std::string name = estimator == "amended" ? estimator + "/" + hvp : estimator;
    const std::string consistency =
        cutout > 0 || drop_path > 0 || auxiliary != 0
            ? fmt::format(" cutout {} drop-path {:.2f} aux {}", cutout, search.supernet().drop_path_prob(), auxiliary)
            : std::string();
    fmt::print("config {} estimator {:<26} threads {} mkldnn {}{} steps {} median {:8.3f} s/step  min {:8.3f}  peak RSS "
               "{:8.0f} MiB (before first step {:.0f} MiB)\n",
               config_name, name, threads, mkldnn, consistency, repeats, median, seconds.front(), peak_rss_mb(),
               rss_before);
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench failed: {}\n", e.what());
    return 1;
  }
  return 0;
}
