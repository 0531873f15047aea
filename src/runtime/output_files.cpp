// Atomic whole-file writes and the metrics log (output_files.h).
#include "runtime/output_files.h"

#include <filesystem>

#include "adarts/error.h"

namespace adarts {

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text.empty() || text.back() != '\n' ? text + "\n" : text);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::out | std::ios::trunc | std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw io_error("cannot write '" + temporary + "' (is the output directory writable?)");
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) throw io_error("cannot replace '" + path + "': " + ec.message());
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (char ch : text) {
    if (ch == '\n') {
      if (!line.empty()) lines.push_back(line);
      line.clear();
    } else {
      line += ch;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

void MetricsLog::open_and_write_all() {
  if (path_.empty()) return;  // kept in memory only
  if (file_.is_open()) file_.close();
  file_.open(path_, std::ios::out | std::ios::trunc);
  if (!file_) throw io_error("cannot write the metrics file '" + path_ + "' (is out_dir writable?)");
  for (const auto& line : lines_) file_ << line << "\n";
  if (!file_.flush()) throw io_error("cannot write the metrics file '" + path_ + "'");
}

void MetricsLog::append(const std::string& line) {
  lines_.push_back(line);
  if (!file_.is_open()) {
    open_and_write_all();
    return;
  }
  if (path_.empty()) return;
  file_ << line << "\n";
  if (!file_.flush()) throw io_error("writing the metrics file '" + path_ + "' failed");
}

void MetricsLog::restore(std::vector<std::string> lines) {
  lines_ = std::move(lines);
  open_and_write_all();
}

std::string MetricsLog::text() const {
  std::string out;
  for (const auto& line : lines_) out += line + "\n";
  return out;
}

}  // namespace adarts
