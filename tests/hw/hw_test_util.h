// Helpers of the hw tests: synthetic image data (in memory and as IDX files), run configs, and
// running `hone` as a child process so that its peak RSS is its own.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/run.h"

namespace hone::hwtest {

// n samples of (1, 28, 28) uniform pixels in [0, 1) and 10 classes: Fashion-MNIST's shapes.
inline Dataset images(int64_t n, uint64_t seed) {
  Dataset d;
  d.num_classes = 10;
  d.x.resize({n, 1, 28, 28});
  d.y.resize({n});
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int64_t i = 0; i < d.x.size(); ++i) d.x[i] = u(rng);
  for (int64_t i = 0; i < n; ++i) d.y[i] = static_cast<float>(i % 10);
  return d;
}

inline DataSplits splits(int64_t n_train, int64_t n_val) {
  DataSplits s;
  s.train = images(n_train, 1);
  s.val = images(n_val, 2);
  return s;
}

inline nlohmann::json mlp_config(int64_t batch = 128) {
  return {{"seed", 0},
          {"model", {{"type", "mlp"}, {"hidden_layers", {256, 128}}}},
          {"train", {{"epochs", 1}, {"batch_size", batch}, {"optimizer", "adam"}, {"lr", 1e-3}, {"threads", 1}}}};
}

inline nlohmann::json cnn_config(int64_t batch = 64) {
  return {{"seed", 0},
          {"model", {{"type", "cnn"}, {"conv_filters", {8, 16}}, {"dense_units", {64}}}},
          {"train", {{"epochs", 1}, {"batch_size", batch}, {"optimizer", "adam"}, {"lr", 1e-3}, {"threads", 1}}}};
}

// IDX files of n random 28x28 images and labels: dir/<prefix>-images.idx, dir/<prefix>-labels.idx.
inline void write_idx(const std::string& dir, const std::string& prefix, int64_t n, uint32_t seed) {
  auto be = [](std::ofstream& f, uint32_t v) {
    const unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                                static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
    f.write(reinterpret_cast<const char*>(b), 4);
  };
  std::mt19937 rng(seed);
  std::ofstream im(dir + "/" + prefix + "-images.idx", std::ios::binary);
  be(im, 0x803);
  be(im, static_cast<uint32_t>(n));
  be(im, 28);
  be(im, 28);
  std::vector<char> px(static_cast<size_t>(n * 784));
  for (char& c : px) c = static_cast<char>(rng() & 0xff);
  im.write(px.data(), static_cast<std::streamsize>(px.size()));
  std::ofstream lb(dir + "/" + prefix + "-labels.idx", std::ios::binary);
  be(lb, 0x801);
  be(lb, static_cast<uint32_t>(n));
  for (int64_t i = 0; i < n; ++i) lb.put(static_cast<char>(rng() % 10));
}

// A TOML run config reading the IDX files of `dir`.
inline std::string idx_toml(const std::string& dir, const std::string& model, int64_t batch) {
  std::string s = "seed = 0\n[data]\nsource = \"idx\"\n";
  for (const char* k : {"train", "test"})
    for (const char* part : {"images", "labels"})
      s += std::string(k) + "_" + part + " = \"" + dir + "/" + k + "-" + part + ".idx\"\n";
  s += "[model]\n" + model + "[train]\nepochs = 1\nthreads = 1\nbatch_size = " + std::to_string(batch) + "\n";
  return s;
}

// Under ASan+UBSan (make test-asan) a process's RSS holds the sanitizer's shadow memory and
// quarantine, so peak-RSS comparisons hold for the release build only.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// Runs HONE_BINARY with `args`, output to /dev/null; returns its peak RSS in bytes (wait4), or
// -1 when it failed.
inline int64_t child_peak_rss(const std::vector<std::string>& args) {
  std::fflush(nullptr);  // the child must not repeat buffered output
  pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> argv{const_cast<char*>(HONE_BINARY)};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(HONE_BINARY, argv.data());
    _exit(127);
  }
  int st = 0;
  rusage ru{};
  if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

// The output of `HONE_BINARY args` (a shell line; stderr too unless !with_stderr) and its exit code.
inline std::string run_out(const std::string& args, int* code, bool with_stderr = true) {
  FILE* p = popen((std::string(HONE_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

inline std::string tmpdir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("hone_hw_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

}  // namespace hone::hwtest
