// Helpers shared by the GoogleTest suites: scratch directories and error checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>

#include "adarts/error.h"

namespace adarts::test {

// A fresh, empty directory under the system's temp dir, unique to this process.
inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("adarts_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// `f` throws adarts::Error of `kind` whose message holds every one of `words`.
inline void expect_error(const std::function<void()>& f, ErrorKind kind, std::initializer_list<const char*> words) {
  try {
    f();
    ADD_FAILURE() << "no adarts::Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    for (const char* w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what() << " lacks " << w;
  }
}

}  // namespace adarts::test
