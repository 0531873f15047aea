// `adarts genotype show|convert|draw`: inspect, convert and plot a genotype file.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "adarts/error.h"
#include "adarts/genotype.h"
#include "adarts/network.h"
#include "adarts/train.h"
#include "commands.h"

extern char** environ;

namespace {

struct InputShape {
  int64_t channels = 3, height = 32, width = 32;
};

InputShape parse_input_shape(const std::string& text) {
  static const std::regex pattern(R"(\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) {
    throw adarts::invalid_argument("--input must be CxHxW (e.g. 3x32x32), got '" + text + "'");
  }
  InputShape s;
  try {
    s.channels = std::stoll(m[1]);
    s.height = std::stoll(m[2]);
    s.width = std::stoll(m[3]);
  } catch (const std::exception&) {
    throw adarts::invalid_argument("--input has a dimension out of range: '" + text + "'");
  }
  if (s.channels < 1 || s.height < 1 || s.width < 1) {
    throw adarts::invalid_argument("--input dimensions must be >= 1, got '" + text + "'");
  }
  return s;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::out | std::ios::trunc);
  out << text;
  if (!text.empty() && text.back() != '\n') out << "\n";
  if (!out.flush()) throw adarts::io_error("cannot write '" + path + "'");
}

// The full path of `program` on PATH, or "" when it is not there.
std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
  }
  return "";
}

// Runs `argv` without a shell; returns its exit status (-1 when it could not start or was killed).
int run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

namespace adarts::cli {
namespace {

struct ShowOptions {
  std::string file;
  int64_t channels = 36;
  int64_t layers = 20;
  CLI::Option* layers_option = nullptr;  // given or not (per-cell genotypes default to their cell count)
  std::string input;
  int64_t classes = 0;
  bool imagenet = false;
};

int run_show(const ShowOptions& o) {
  const Genotype g = read_genotype_file(o.file);
  NetworkOptions options;
  const InputShape shape = o.input.empty() ? (o.imagenet ? InputShape{3, 224, 224} : InputShape{})
                                           : parse_input_shape(o.input);
  options.in_channels = shape.channels;
  options.num_classes = o.classes > 0 ? o.classes : (o.imagenet ? 1000 : 10);
  options.channels = o.channels;
  options.layers = g.per_cell() && o.layers_option->count() == 0 ? static_cast<int64_t>(g.cells.size()) : o.layers;
  options.imagenet = o.imagenet;
  options.auxiliary = true;
  if (options.channels % 2 != 0) throw adarts::invalid_argument("--channels must be even");
  const Network net(g, options, at::make_generator<at::CPUGeneratorImpl>(0));
  options.auxiliary = false;
  const int64_t madds = count_multiply_adds(g, options, shape.height, shape.width);
  fmt::print("{}\n\n", summary_line(g));
  fmt::print("{}", to_table(g));
  fmt::print("\nnetwork: C={}, {} cells, input {}x{}x{}, {} classes{}\n", options.channels, options.layers,
             shape.channels, shape.height, shape.width, options.num_classes,
             options.imagenet ? ", ImageNet stems" : "");
  fmt::print("parameters: {} ({:.3f}M) without the auxiliary head, {} ({:.3f}M) with it\n",
             net.parameter_count(false), static_cast<double>(net.parameter_count(false)) / 1e6,
             net.parameter_count(true), static_cast<double>(net.parameter_count(true)) / 1e6);
  fmt::print("multiply-adds: {} ({:.1f}M) per image\n", madds, static_cast<double>(madds) / 1e6);
  return 0;
}

// `genotype show`; its runner returns -1 when another subcommand was parsed.
std::function<int()> add_show_command(CLI::App& genotype) {
  CLI::App* show = genotype.add_subcommand("show", "the cells as a table, the network's size and multiply-adds");
  auto o = std::make_shared<ShowOptions>();
  show->add_option("FILE", o->file, "genotype file: JSON or DARTS text")->required();
  show->add_option("--channels", o->channels, "initial channels C")->capture_default_str()->check(CLI::PositiveNumber);
  o->layers_option = show->add_option("--layers", o->layers, "number of cells (per-cell genotypes: their cell count)")
                         ->capture_default_str()
                         ->check(CLI::PositiveNumber);
  show->add_option("--input", o->input, "input CxHxW (default 3x32x32; 3x224x224 with --imagenet)");
  show->add_option("--classes", o->classes, "number of classes (default 10; 1000 with --imagenet)")
      ->check(CLI::PositiveNumber);
  show->add_flag("--imagenet", o->imagenet, "the ImageNet network (two stride-2 stems)");
  return [=]() { return show->parsed() ? run_show(*o) : -1; };
}

struct ConvertOptions {
  std::string file;
  std::string to;  // "json", "darts", or empty: the form the file is not in
  std::string output;
};

int run_convert(const ConvertOptions& o) {
  const Genotype g = read_genotype_file(o.file);
  // A document starting with '{' is JSON, as read_genotype_file decides.
  const std::string source = read_text_file(o.file);
  const size_t first = source.find_first_not_of(" \t\r\n");
  const bool from_json = first != std::string::npos && source[first] == '{';
  const std::string to = !o.to.empty() ? o.to : (from_json ? "darts" : "json");
  std::string text;
  if (to == "json") {
    // JSON to JSON keeps the document's metadata.
    std::string metadata;
    if (from_json) genotype_from_json(source, &metadata);
    text = to_json(g, metadata);
  } else {
    text = to_darts_text(g);
  }
  if (!text.empty() && text.back() != '\n') text += "\n";
  if (o.output.empty()) {
    fmt::print("{}", text);
  } else {
    write_text(o.output, text);
    spdlog::info("wrote {}", o.output);
  }
  return 0;
}

// `genotype convert`; its runner returns -1 when another subcommand was parsed.
std::function<int()> add_convert_command(CLI::App& genotype) {
  CLI::App* convert = genotype.add_subcommand("convert", "convert between the JSON and the DARTS text forms");
  auto o = std::make_shared<ConvertOptions>();
  convert->add_option("FILE", o->file, "genotype file: JSON or DARTS text")->required();
  convert->add_option("--to", o->to, "json | darts (default: the form FILE is not in)")
      ->check(CLI::IsMember({"json", "darts"}));
  convert->add_option("-o,--output", o->output, "output file (default: standard output)");
  return [=]() { return convert->parsed() ? run_convert(*o) : -1; };
}

struct DrawOptions {
  std::string file;
  std::string prefix;
  std::string format = "dot";
};

int run_draw(const DrawOptions& o) {
  const Genotype g = read_genotype_file(o.file);
  const std::string base = o.prefix.empty() ? std::filesystem::path(o.file).stem().string() : o.prefix;
  std::vector<std::string> dots;
  const std::vector<std::string> cells =
      g.per_cell() ? std::vector<std::string>{"network"} : std::vector<std::string>{"normal", "reduce"};
  for (const std::string& cell : cells) {
    const std::string path = base + "_" + cell + ".dot";
    write_text(path, to_dot(g, cell));
    dots.push_back(path);
  }
  if (o.format == "dot") {
    for (const std::string& d : dots) fmt::print("{}\n", d);
    return 0;
  }
  const std::string dot = find_on_path("dot");
  if (dot.empty()) {
    throw adarts::unsupported(fmt::format(
        "--format {} needs Graphviz's `dot`, which is not installed (Debian: apt-get install graphviz); the DOT "
        "files were written: {} (render them with `dot -T{} FILE -o OUT`, or use --format dot)",
        o.format, fmt::join(dots, ", "), o.format));
  }
  for (const std::string& in : dots) {
    const std::string out = in.substr(0, in.size() - 4) + "." + o.format;
    const int status = run_program({dot, "-T" + o.format, in, "-o", out});
    if (status != 0) {
      throw adarts::io_error(fmt::format("`dot -T{} {} -o {}` failed (exit status {})", o.format, in, out, status));
    }
    fmt::print("{}\n", out);
  }
  return 0;
}

// `genotype draw`; its runner returns -1 when another subcommand was parsed.
std::function<int()> add_draw_command(CLI::App& genotype) {
  CLI::App* draw = genotype.add_subcommand(
      "draw", "Graphviz plots of the normal and the reduction cell (per-cell genotypes: the whole network)");
  auto o = std::make_shared<DrawOptions>();
  draw->add_option("FILE", o->file, "genotype file: JSON or DARTS text")->required();
  draw->add_option("-o,--output", o->prefix,
                   "output prefix: writes PREFIX_normal.dot and PREFIX_reduce.dot, or PREFIX_network.dot for a "
                   "per-cell genotype (default: FILE's name without extension, in the current directory)");
  draw->add_option("--format", o->format, "dot | svg | png (svg and png run Graphviz's `dot`)")->capture_default_str()
      ->check(CLI::IsMember({"dot", "svg", "png"}));
  return [=]() { return draw->parsed() ? run_draw(*o) : -1; };
}

}  // namespace

std::function<int()> add_genotype_command(CLI::App& app) {
  CLI::App* genotype = app.add_subcommand("genotype", "inspect, convert or draw a genotype file");
  genotype->require_subcommand(1);
  const std::vector<std::function<int()>> runners = {
      add_show_command(*genotype), add_convert_command(*genotype), add_draw_command(*genotype)};
  return [=]() -> int {
    if (!genotype->parsed()) return -1;
    for (const auto& run : runners) {
      const int status = run();
      if (status >= 0) return status;
    }
    return 0;
  };
}

}  // namespace adarts::cli
