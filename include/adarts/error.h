// Error types thrown by the adarts core. Each maps to one adarts_status of the C ABI.
#pragma once

#include <stdexcept>
#include <string>

namespace adarts {

enum class ErrorKind {
  invalid_argument,  // a value outside its allowed range, an unknown name
  parse_error,       // malformed JSON, DARTS text or data file contents
  io_error,          // a file that cannot be opened, read or written
  unsupported,       // a valid request this build cannot do (e.g. CUDA on a CPU build)
  cancelled,         // the host asked to stop
  internal,          // a bug: an invariant of the library did not hold
  numerical,         // a non-finite loss or gradient stopped the run
  communication,     // a data-parallel run lost a rank, timed out, or its ranks disagree at the rendezvous
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

inline Error invalid_argument(const std::string& m) { return Error(ErrorKind::invalid_argument, m); }
inline Error parse_error(const std::string& m) { return Error(ErrorKind::parse_error, m); }
inline Error io_error(const std::string& m) { return Error(ErrorKind::io_error, m); }
inline Error unsupported(const std::string& m) { return Error(ErrorKind::unsupported, m); }
inline Error numerical_error(const std::string& m) { return Error(ErrorKind::numerical, m); }
inline Error communication_error(const std::string& m) { return Error(ErrorKind::communication, m); }

}  // namespace adarts
