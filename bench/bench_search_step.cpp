// Time and peak memory of one search step, per estimator, on the CPU or a GPU.
//
//   bench_search_step --config A|B|G|P --estimator NAME [--hvp MODE] [--device cpu|cuda]
//                     [--precision fp32|bf16] [--threads N] [--warmup W] [--repeats R]
//                     [--channels C] [--layers L] [--batch N] [--image S]
//                     [--cutout N] [--drop-path P] [--auxiliary 0|1] [--mkldnn 0|1]
//                     [--cudnn-benchmark 0|1] [--json 0|1]
//                     [--world-size N --rank R --rendezvous URL] [--profile PATH] [--recompute 0|1]
//                     [--space darts|s1|s2] [--ops a,b,...] [--fused-sum 0|1]
//
// Configs (3 x S x S synthetic images, S = 32): A = the DARTS search supernet
// (C=16, 8 cells, batch 32), B = C=8, 5 cells, batch 32, G = C=16, 8 cells,
// batch 64 (the GPU comparison with the original DARTS), P = C=16, 8 cells,
// batch 96 (the paper's setting); --channels/--layers/--batch/--image override.
// With --drop-path P the steps are timed in the search's second epoch (of two),
// where the ramped probability is P / 2.
//
// Prints one line: median seconds per step over R steps after W warm-up steps,
// and the peak memory (CPU: process RSS; CUDA: the caching allocator's peak
// allocated and reserved bytes, warm-up included). On CUDA each step is timed
// between two device synchronisations. --json 1 prints '# measure begin' and
// '# measure end' around the timed steps (bench/gpu_compare.py samples the GPU
// between them) and then one JSON line instead. One estimator per process, so
// that the peaks are its own; bench/run_step_bench.sh runs the CPU table.
//
// --world-size N > 1: this process is rank R of a data-parallel search
// (docs/distributed.md; start every rank, same options but --rank); the batch
// is the global one. The line then also gives the bytes all-reduced per step
// and the share of the step spent in collectives (waiting for the other
// ranks included). bench/run_data_parallel_bench.sh compares 2 ranks x 1
// thread with 1 rank x 2 threads.
//
// --fused-sum 0 takes the unfused edge sums (a multiplication and an addition
// per operation, src/nn/weighted_sum.h) to measure the fused kernel.
//
// Also printed: minor page faults per timed step (first-touch pages), and the
// step's model GFLOP/s: 2 x multiply-adds per image (Supernet::
// count_multiply_adds) x batch x 3 (a forward and its backward) x the
// forward+backward passes of the estimator (first_order 2, second_order 5,
// amended with finite differences 6; not given for exact products and
// implicit). --profile PATH writes LibTorch's profile of the timed steps as
// a Chrome trace (bench/profile_summary.py sums it per operation).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>

#include <ATen/Context.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adarts/error.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "nn/weighted_sum.h"
#include "runtime/cuda_support.h"

namespace {

int64_t minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Forward+backward passes of one step (see the header comment); 0 = not modelled.
double passes_per_step(const adarts::SearchConfig& c) {
  if (c.hvp == "exact" && c.estimator != "first_order") return 0.0;
  if (c.estimator == "first_order") return 2.0;
  if (c.estimator == "second_order") return 5.0;
  if (c.estimator == "amended") return 6.0;
  return 0.0;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

int usage_error(const std::string& why) {
  fmt::print(stderr,
             "bench_search_step: {}\nusage: bench_search_step --config A|B|G|P --estimator "
             "first_order|second_order|amended|implicit [--hvp finite_difference|exact] [--device cpu|cuda] "
             "[--precision fp32|bf16] [--threads N] [--warmup W] [--repeats R] [--channels C] [--layers L] "
             "[--batch N] [--image S] [--cutout N] [--drop-path P] [--auxiliary 0|1] [--mkldnn 0|1] "
             "[--cudnn-benchmark 0|1] [--json 0|1] [--world-size N --rank R --rendezvous URL] [--profile PATH] "
             "[--recompute 0|1] [--space darts|s1|s2] [--ops a,b,...] [--fused-sum 0|1]\n",
             why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> o = {
      {"config", "B"},   {"estimator", "first_order"}, {"hvp", "finite_difference"}, {"device", "cpu"},
      {"precision", "fp32"}, {"threads", "2"},         {"warmup", "1"},               {"repeats", "3"},
      {"channels", ""},  {"layers", ""},               {"batch", ""},                 {"image", "32"},
      {"cutout", "0"},   {"drop-path", "0"},           {"auxiliary", "0"},            {"mkldnn", "1"},
      {"cudnn-benchmark", "1"}, {"json", "0"},         {"cuda-graph", "0"},
      {"world-size", "1"},      {"rank", "0"},         {"rendezvous", ""},
      {"profile", ""},          {"recompute", "0"},    {"space", "darts"},            {"ops", ""},
      {"fused-sum", "1"}};
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || !o.count(key.substr(2))) return usage_error("unknown option '" + key + "'");
    if (i + 1 >= argc) return usage_error("option '" + key + "' needs a value");
    o[key.substr(2)] = argv[i + 1];
  }
  const std::string config_name = o["config"];
  const std::map<std::string, std::vector<int64_t>> configs = {
      {"A", {16, 8, 32}}, {"B", {8, 5, 32}}, {"G", {16, 8, 64}}, {"P", {16, 8, 96}}};
  if (!configs.count(config_name)) return usage_error("--config must be A, B, G or P");
  if (o["cuda-graph"] != "0") {
    return usage_error("--cuda-graph: capturing the step in a CUDA graph is not implemented yet");
  }
  try {
    const std::vector<int64_t>& preset = configs.at(config_name);
    const int64_t repeats = std::stoll(o["repeats"]), warmup = std::stoll(o["warmup"]);
    const double drop_path = std::stod(o["drop-path"]);
    const bool json = o["json"] == "1";
    if (repeats < 1 || warmup < 0) return usage_error("--repeats must be >= 1 and --warmup >= 0");

    adarts::SearchConfig c;
    c.dataset = "synthetic";
    c.channels = o["channels"].empty() ? preset[0] : std::stoll(o["channels"]);
    c.layers = o["layers"].empty() ? preset[1] : std::stoll(o["layers"]);
    c.batch_size = o["batch"].empty() ? preset[2] : std::stoll(o["batch"]);
    const int64_t image = std::stoll(o["image"]);
    c.train_subset = 2 * c.batch_size * (warmup + repeats + 1);
    c.crop_padding = 4;
    c.estimator = o["estimator"];
    c.hvp = o["hvp"];
    c.device = o["device"];
    c.precision = o["precision"];
    c.threads = std::stoll(o["threads"]);
    c.out_dir = "/tmp/adarts_bench_step";
    c.checkpoint_keep = 0;
    c.cutout = std::stoll(o["cutout"]);
    c.drop_path_prob = drop_path;
    c.auxiliary = o["auxiliary"] == "1";
    c.recompute_edges = o["recompute"] == "1";
    adarts::set_fused_weighted_sum(o["fused-sum"] == "1");  // 0: the unfused edge sums, to measure the fusion
    c.space = o["space"];  // s2: 20 cells by default (--layers), one alpha set per cell
    c.ops = o["ops"];      // e.g. every DARTS operation in s2 (issue 16)
    c.world_size = std::stoll(o["world-size"]);
    c.rank = std::stoll(o["rank"]);
    c.rendezvous = o["rendezvous"];
    if (drop_path > 0) {
      c.epochs = 2;                         // one step per epoch: the timed steps run in epoch 2,
      c.train_subset = 2 * c.batch_size;  // where drop-path is drop_path / 2
    }
    // oneDNN (MKL-DNN) kernels on or off, to compare LibTorch's CPU backends.
    at::globalContext().setUserEnabledMkldnn(o["mkldnn"] == "1");

    const at::Device device = adarts::parse_device(c.device);
    adarts::cuda_support::reset_peak_memory(device);
    adarts::SyntheticSpec spec;
    spec.size = c.train_subset;
    spec.channels = 3;
    spec.height = spec.width = image;
    adarts::Search search(c, adarts::make_synthetic(spec, c.seed));
    at::globalContext().setBenchmarkCuDNN(o["cudnn-benchmark"] == "1");  // after the Search, which turns it on for CUDA
    if (drop_path > 0) search.advance(1);  // into epoch 2 (the ramp starts at 0)
    const double rss_before = peak_rss_mib();
    for (int64_t i = 0; i < warmup; ++i) search.step();  // allocator pools, lazy initialisation, cuDNN autotuning
    adarts::cuda_support::synchronize(device);
    if (json) {
      std::fputs("# measure begin\n", stdout);
      std::fflush(stdout);
    }
    const adarts::CommunicationStats comm_before = search.communication_stats();
    const int64_t faults_before = minor_faults();
    std::vector<double> seconds;
    {
      std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
      if (!o["profile"].empty()) profile = std::make_unique<torch::autograd::profiler::RecordProfile>(o["profile"]);
      for (int64_t i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        search.step();
        adarts::cuda_support::synchronize(device);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
    const double faults_per_step = static_cast<double>(minor_faults() - faults_before) / static_cast<double>(repeats);
    const double macs = static_cast<double>(search.supernet().count_multiply_adds(image, image));
    if (json) {
      std::fputs("# measure end\n", stdout);
      std::fflush(stdout);
    }
    std::vector<double> sorted = seconds;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    const adarts::CommunicationStats comm_after = search.communication_stats();
    double total_seconds = 0.0;
    for (double s : seconds) total_seconds += s;
    const double r = static_cast<double>(repeats);
    const double passes = passes_per_step(c);
    const double gflops = 6.0 * macs * static_cast<double>(c.batch_size) * passes / median / 1e9;
    const std::string work =
        fmt::format(" | {:.3f} GMAC/image, {:.0f} minor faults/step{}", macs / 1e9, faults_per_step,
                    passes > 0 ? fmt::format(", {:.1f} model GFLOP/s", gflops) : std::string());
    const std::string communication =
        c.world_size > 1
            ? fmt::format(" | rank {}/{} all-reduced {:.3f} MB/step in {:.0f} calls, {:.3f} s/step in collectives ({:.0f}%)",
                          c.rank, c.world_size, static_cast<double>(comm_after.bytes - comm_before.bytes) / r / 1e6,
                          static_cast<double>(comm_after.calls - comm_before.calls) / r,
                          (comm_after.seconds - comm_before.seconds) / r,
                          100.0 * (comm_after.seconds - comm_before.seconds) / total_seconds)
            : std::string();
    const adarts::cuda_support::MemoryStats gpu = adarts::cuda_support::memory_stats(device);
    const bool cuda = device.is_cuda();
    const double peak_mem = cuda ? gpu.peak_allocated_mib : peak_rss_mib();
    const double peak_reserved = cuda ? gpu.peak_reserved_mib : peak_rss_mib();
    const std::string name = (c.estimator == "amended" ? c.estimator + "/" + c.hvp : c.estimator) +
                             (c.recompute_edges ? " recompute" : "");
    if (json) {
      fmt::print(
          "{{\"impl\":\"adarts\",\"device\":\"{}\",\"device_name\":\"{}\",\"config\":{{\"name\":\"{}\",\"channels\":{},"
          "\"layers\":{},\"batch\":{},\"image\":{}}},\"estimator\":\"{}\",\"hvp\":\"{}\",\"precision\":\"{}\","
          "\"cuda_graph\":false,\"threads\":{},\"steps\":{},\"step_s\":[{}],\"median_s\":{},\"min_s\":{},"
          "\"peak_mem_mib\":{:.1f},\"peak_reserved_mib\":{:.1f},\"peak_rss_mib\":{:.1f},\"recompute_edges\":{},"
          "\"gmac_per_image\":{:.4f},\"minor_faults_per_step\":{:.0f},\"model_gflops\":{}}}\n",
          c.device, adarts::cuda_support::device_name(device), config_name, c.channels, c.layers, c.batch_size, image,
          c.estimator, c.hvp, c.precision, c.threads, repeats, fmt::join(seconds, ","), median, sorted.front(),
          peak_mem, peak_reserved, peak_rss_mib(), c.recompute_edges, macs / 1e9, faults_per_step,
          passes > 0 ? fmt::format("{:.2f}", gflops) : std::string("null"));
    } else {
      const std::string consistency =
          c.cutout > 0 || drop_path > 0 || c.auxiliary
              ? fmt::format(" cutout {} drop-path {:.2f} aux {}", c.cutout, search.supernet().drop_path_prob(),
                            c.auxiliary ? 1 : 0)
              : std::string();
      const std::string memory = cuda ? fmt::format("peak GPU {:8.0f} MiB allocated, {:.0f} MiB reserved",
                                                    gpu.peak_allocated_mib, gpu.peak_reserved_mib)
                                      : fmt::format("peak RSS {:8.0f} MiB (before first step {:.0f} MiB)",
                                                    peak_rss_mib(), rss_before);
      fmt::print("config {} estimator {:<26} device {} {} threads {} mkldnn {}{} steps {} median {:8.3f} s/step  min "
                 "{:8.3f}  {}{}{}\n",
                 config_name, name, c.device, c.precision, c.threads, o["mkldnn"], consistency, repeats, median,
                 sorted.front(), memory, work, communication);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench failed: {}\n", e.what());
    return 1;
  }
  return 0;
}
