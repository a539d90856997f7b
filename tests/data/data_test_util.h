// tests/data/data_test_util.h — temp files and error-message checks for the data tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "hone/error.h"

namespace hone::testing {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "hone_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
                       (info ? std::string(info->name()) : std::string("x"));
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  // Writes `content` byte for byte to a file `name` in the directory; returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = (path_ / name).string();
    std::ofstream f(p, std::ios::binary);
    f << content;
    return p;
  }
  // Same, gzip-compressed.
  std::string write_gz(const std::string& name, const std::string& content) const {
    std::string p = (path_ / name).string();
    gzFile g = gzopen(p.c_str(), "wb");
    EXPECT_NE(g, nullptr);
    if (g) {
      if (!content.empty()) gzwrite(g, content.data(), static_cast<unsigned>(content.size()));
      gzclose(g);
    }
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs f, which must throw hone::Error of `kind` whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, ErrorKind kind, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected a hone::Error, nothing was thrown";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
        << "message \"" << e.what() << "\" lacks \"" << p << "\"";
  }
}

}  // namespace hone::testing
