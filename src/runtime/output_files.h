// Internal: the files a run writes in its out_dir besides checkpoints —
// whole files replaced atomically (config.json, genotype.json, ...) and the
// metrics log, one JSON line per ended epoch.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace adarts {

// Writes `text` (with a final newline) to `path` through a temporary file
// renamed into place: a reader sees the old file or the new one, never a part.
void write_text_atomically(const std::string& path, const std::string& text);
// The same for `bytes` as they are (binary, nothing appended).
void write_file_atomically(const std::string& path, const std::string& bytes);

// The non-empty lines of `text`.
std::vector<std::string> split_lines(const std::string& text);

// A run's metrics.jsonl. The lines so far also travel in checkpoints, so that
// a resumed run rewrites the file as of its checkpoint (lines written after
// it are dropped).
class MetricsLog {
 public:
  // An empty path keeps the lines in memory only (the ranks of a data-parallel run but rank 0).
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}

  // Adds the line of an ended epoch. A fresh run's first line replaces any
  // older file.
  void append(const std::string& line);
  // Replaces the lines (a resumed run's, from its checkpoint) and rewrites the file with them.
  void restore(std::vector<std::string> lines);
  // Every line, each ending in a newline: the checkpoint form.
  std::string text() const;
  const std::vector<std::string>& lines() const { return lines_; }
  const std::string& path() const { return path_; }

 private:
  void open_and_write_all();

  std::string path_;
  std::vector<std::string> lines_;
  std::ofstream file_;  // opened at the first line (fresh run) or at restore()
};

}  // namespace adarts
