// Helpers shared by the GoogleTest suites: scratch directories and error checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "adarts/error.h"

namespace adarts::test {

// A fresh, empty directory under the system's temp dir, unique to this process.
inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("adarts_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// `f` throws adarts::Error of `kind` whose message holds every one of `words`.
// ADARTS_SHOW_ERRORS=1 prints the messages (to read them while writing tests).
inline void expect_error(const std::function<void()>& f, ErrorKind kind, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "no adarts::Error thrown (wanted: " << (words.empty() ? "" : words[0]) << ")";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    if (std::getenv("ADARTS_SHOW_ERRORS")) std::printf("    error: %s\n", e.what());
    for (const auto& w : words) {
      EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << "message \"" << e.what() << "\" lacks \"" << w << "\"";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an adarts::Error: " << e.what();
  }
}

}  // namespace adarts::test
