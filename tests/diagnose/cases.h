// The engineered runs of the doctor's suite (tests/diagnose/suite_test.cc) and of its --fix
// benchmark (bench/doctor_fix.cc): header-only so the benchmark includes it as it is.
// Data: Fashion-MNIST subsets (Debian's dataset-fashion-mnist; those cases are left out without
// it) and the bundled CSVs (examples/data).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hone/diagnose.h"
#include "hone/run.h"

#ifndef HONE_SOURCE_DIR
#define HONE_SOURCE_DIR "."
#endif

namespace hone::test {

struct Case {
  std::string name, label;     // label: "healthy" or the finding it is made to show
  std::string data;            // "wine", "iris", "fmnist:N" (N training images)
  nlohmann::json config;       // a run config without [data]
  int64_t memory_budget = 0;   // the doctor's --memory-budget for this run
};

struct Outcome {
  RunRecord record;
  std::vector<Finding> findings;
};

inline const char* kFmnistDir = "/usr/share/datasets/fashion-mnist";
inline bool have_fmnist() { return std::filesystem::exists(std::string(kFmnistDir) + "/train-images-idx3-ubyte.gz"); }

// The data of a case, loaded once per name.
inline const DataSplits& case_data(const std::string& name) {
  static std::map<std::string, std::unique_ptr<DataSplits>> cache;
  auto& slot = cache[name];
  if (slot) return *slot;
  nlohmann::json d;
  if (name == "wine" || name == "iris") {
    d = {{"source", "csv"},
         {"train", std::string(HONE_SOURCE_DIR) + "/examples/data/" + name + ".csv"},
         {"target", name == "wine" ? "class" : "species"},
         {"validation_fraction", 0.3},
         {"test_fraction", 0.0},
         {"scale", "standard"}};
  } else {  // fmnist:N -> N training images, N/2 validation images
    const int64_t n = std::stoll(name.substr(7));
    d = {{"source", "fashion-mnist"}, {"limit", n + n / 2}, {"validation_fraction", 1.0 / 3},
         {"test_fraction", 0.0}, {"scale", "minmax"}};
  }
  slot = std::make_unique<DataSplits>(load_data(d, 0));
  return *slot;
}

inline nlohmann::json mlp(std::vector<int> hidden, double dropout = 0) {
  nlohmann::json layers = nlohmann::json::array();
  layers.push_back({{"type", "flatten"}});
  for (int h : hidden) {
    layers.push_back({{"type", "dense"}, {"units", h}});
    layers.push_back({{"type", "relu"}});
    if (dropout > 0) layers.push_back({{"type", "dropout"}, {"rate", dropout}});
  }
  layers.push_back({{"type", "dense"}, {"units", 0}});  // the output width: set by run_case
  return {{"layers", layers}};
}

inline nlohmann::json run_config(uint64_t seed, nlohmann::json model, nlohmann::json train) {
  train["shuffle"] = true;
  return {{"seed", seed}, {"model", std::move(model)}, {"train", std::move(train)}};
}

inline std::vector<Case> engineered_cases() {
  std::vector<Case> v;
  const bool fm = have_fmnist();
  auto add = [&](std::string name, std::string label, std::string data, nlohmann::json cfg, int64_t budget = 256 << 20) {
    if (data.rfind("fmnist", 0) == 0 && !fm) return;
    v.push_back({std::move(name), std::move(label), std::move(data), std::move(cfg), budget});
  };
  using J = nlohmann::json;
  // Healthy: sensible models, several seeds (the doctor must stay silent).
  for (int s = 0; s < 6; ++s)
    add(fmt::format("wine-healthy-{}", s), "healthy", "wine",
        run_config(s, mlp({32}, 0.1), J{{"epochs", 30}, {"batch_size", 16}, {"optimizer", "adam"}, {"lr", 3e-3}, {"l2", 1e-3}}));
  for (int s = 0; s < 4; ++s)
    add(fmt::format("iris-healthy-{}", s), "healthy", "iris",
        run_config(s, mlp({16}), J{{"epochs", 40}, {"batch_size", 16}, {"optimizer", "adam"}, {"lr", 1e-2}, {"l2", 1e-3}}));
  for (int s = 0; s < 3; ++s)
    add(fmt::format("fmnist-healthy-{}", s), "healthy", "fmnist:1000",
        run_config(s, mlp({64}, 0.2), J{{"epochs", 6}, {"batch_size", 32}, {"optimizer", "adam"}, {"lr", 2e-3}, {"l2", 1e-3}}));
  // Overfitting: a large model on a small subset, long, no regularisation.
  for (int s = 0; s < 5; ++s)
    add(fmt::format("fmnist-overfit-{}", s), "overfitting", "fmnist:200",
        run_config(s, mlp({256, 256}), J{{"epochs", 25}, {"batch_size", 16}, {"optimizer", "adam"}, {"lr", 2e-3}}));
  for (int s = 0; s < 4; ++s)
    add(fmt::format("fmnist100-overfit-{}", s), "overfitting", "fmnist:100",
        run_config(s, mlp({512}), J{{"epochs", 40}, {"batch_size", 10}, {"optimizer", "adam"}, {"lr", 3e-3}}));
  // Underfitting: a one-unit bottleneck, or a tiny rate.
  for (int s = 0; s < 4; ++s)
    add(fmt::format("fmnist-tinymodel-{}", s), "underfitting", "fmnist:1000",
        run_config(s, mlp({3}), J{{"epochs", 8}, {"batch_size", 32}, {"optimizer", "adam"}, {"lr", 3e-3}}));
  for (int s = 0; s < 3; ++s)
    add(fmt::format("wine-tinylr-{}", s), "underfitting", "wine",
        run_config(s, mlp({16}), J{{"epochs", 20}, {"batch_size", 16}, {"optimizer", "sgd"}, {"lr", 1e-4}}));
  for (int s = 0; s < 3; ++s)
    add(fmt::format("iris-tinylr-{}", s), "underfitting", "iris",
        run_config(s, mlp({16}), J{{"epochs", 20}, {"batch_size", 16}, {"optimizer", "adam"}, {"lr", 1e-5}}));
  // Diverging / not learning: rates far too high.
  for (int s = 0; s < 4; ++s)
    add(fmt::format("wine-sgd-lr50-{}", s), "diverging", "wine",
        run_config(s, mlp({64, 64}), J{{"epochs", 15}, {"batch_size", 16}, {"optimizer", "sgd"}, {"lr", 50.0}}));
  for (int s = 0; s < 3; ++s)
    add(fmt::format("fmnist-adam-lr3-{}", s), "diverging", "fmnist:500",
        run_config(s, mlp({64}), J{{"epochs", 5}, {"batch_size", 32}, {"optimizer", "adam"}, {"lr", 3.0}}));
  for (int s = 0; s < 3; ++s)
    add(fmt::format("iris-sgd-lr30-{}", s), "diverging", "iris",
        run_config(s, mlp({32, 32}), J{{"epochs", 15}, {"batch_size", 8}, {"optimizer", "sgd"}, {"lr", 30.0}}));
  // Not learning, dead units only: Adam at 0.05 (above the 0.03 bound) kills 80-90% of a 128-unit
  // ReLU layer in the first epoch, without NaN, with the loss still falling well below chance
  // (val_accuracy ~0.7): only the dead-unit rule names it.
  for (int s = 0; s < 3; ++s)
    add(fmt::format("fmnist-dead-relu-{}", s), "diverging", "fmnist:500",
        run_config(s, mlp({128}), J{{"epochs", 5}, {"batch_size", 32}, {"optimizer", "adam"}, {"lr", 0.05}}));
  // Slow: batch 1 on a few hundred images, threads far above the cores.
  for (int s = 0; s < 3; ++s)
    add(fmt::format("fmnist-batch1-{}", s), "slow", "fmnist:400",
        run_config(s, mlp({32}, 0.2), J{{"epochs", 2}, {"batch_size", 1}, {"optimizer", "adam"}, {"lr", 3e-4}, {"l2", 1e-3}}));
  for (int s = 0; s < 3; ++s)
    add(fmt::format("wine-threads256-{}", s), "slow", "wine",
        run_config(s, mlp({32}, 0.1), J{{"epochs", 30}, {"batch_size", 16}, {"optimizer", "adam"}, {"lr", 3e-3}, {"l2", 1e-3}, {"threads", 256}}));
  // Memory: a wide model against a budget of a few MiB.
  for (int s = 0; s < 3; ++s)
    add(fmt::format("fmnist-wide-{}", s), "memory", "fmnist:500",
        run_config(s, mlp({1024}, 0.2), J{{"epochs", 3}, {"batch_size", 64}, {"optimizer", "adam"}, {"lr", 1e-3}, {"l2", 1e-3}}),
        4 << 20);
  for (int s = 0; s < 3; ++s)
    add(fmt::format("wine-bigbatch-{}", s), "memory", "wine",
        run_config(s, mlp({512}, 0.1), J{{"epochs", 30}, {"batch_size", 128}, {"optimizer", "adam"}, {"lr", 3e-3}, {"l2", 1e-3}}),
        256 << 10);
  return v;
}

// The config of a case with its [data] and output width filled in.
inline nlohmann::json full_config(const Case& c, const DataSplits& d) {
  nlohmann::json cfg = c.config;
  auto& layers = cfg["model"]["layers"];
  layers[layers.size() - 1]["units"] = d.train.num_classes;
  return cfg;
}

inline Outcome run_case(const Case& c) {
  const DataSplits& d = case_data(c.data);
  const nlohmann::json cfg = full_config(c, d);
  RunResult r = train_model(cfg, d, RunHooks{});
  Outcome o;
  o.record = record_run(cfg, d, r);
  DiagnoseOptions opt;
  opt.memory_budget = c.memory_budget;
  opt.cores = 2;  // the suite's view of the machine: the same answer on every host
  o.findings = diagnose(o.record, opt);
  return o;
}

}  // namespace hone::test
