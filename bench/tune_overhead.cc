// tune_overhead: sampler + storage cost per trial on the trivial 5-parameter objective of
// ../shared/peers/optuna_overhead.py (x, y in [-10, 10], z in [0, 1], lr log [1e-5, 1e-1],
// c in {a, b, c}). Time per trial = gap between consecutive trial completions (ask, 5 suggests,
// objective, tell), in-memory storage, one cumulative study; median over the 100 trials before
// each checkpoint. Also the median thread CPU time per trial (n_jobs = 1, so the whole trial runs
// on this thread), which does not grow when other processes load the machine. Prints one JSON line.
// --discrete: x, y as ints in [-10, 10] and z in [0, 1] with step 0.01 instead (equal observed
// values, which TPE orders as numpy's argsort does: the cost of that).
//   tune_overhead [--trials 10000] [--samplers tpe,random] [--discrete]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "hone/tune/tune.h"

using namespace hone;

static double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int main(int argc, char** argv) {
  int n = 10000;
  std::vector<std::string> samplers = {"tpe", "random"};
  bool discrete = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--discrete")) discrete = true;
    else if (!std::strcmp(argv[i], "--trials") && i + 1 < argc) n = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--samplers") && i + 1 < argc) {
      samplers.clear();
      std::stringstream ss(argv[++i]);
      for (std::string s; std::getline(ss, s, ',');) samplers.push_back(s);
    }
  }
  std::string rows;
  for (auto& sname : samplers) {
    auto sampler = sname == "tpe" ? make_tpe_sampler({.seed = 0}) : make_random_sampler(0);
    auto study = create_study({.sampler = sampler, .pruner = make_nop_pruner()});
    std::vector<double> stamps, cpu;
    stamps.reserve(static_cast<size_t>(n));
    cpu.reserve(static_cast<size_t>(n));
    auto t0 = std::chrono::steady_clock::now();
    auto now = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    study->optimize([discrete](Trial& t) {
      double x = discrete ? static_cast<double>(t.suggest_int("x", -10, 10)) : t.suggest_float("x", -10, 10);
      double y = discrete ? static_cast<double>(t.suggest_int("y", -10, 10)) : t.suggest_float("y", -10, 10);
      double z = t.suggest_float("z", 0, 1, {.step = discrete ? std::optional<double>(0.01) : std::nullopt});
      double lr = t.suggest_float("lr", 1e-5, 1e-1, {.log = true});
      auto c = t.suggest_categorical("c", std::vector<std::string>{"a", "b", "c"});
      return x * x + y * y + z + std::pow(std::log10(lr), 2) + (c == "a" ? 0 : c == "b" ? 1 : 2);
    }, {.n_trials = n, .callbacks = {[&](Study&, const FrozenTrial&) { stamps.push_back(now()); cpu.push_back(thread_cpu_s()); }}});
    double total = now();
    std::string per, per_cpu;
    for (int cp : {100, 1000, 3000, 10000}) {
      if (cp > n) continue;
      std::vector<double> w, wc;
      for (int i = std::max(1, cp - 100); i < cp; ++i) {
        w.push_back(stamps[static_cast<size_t>(i)] - stamps[static_cast<size_t>(i - 1)]);
        wc.push_back(cpu[static_cast<size_t>(i)] - cpu[static_cast<size_t>(i - 1)]);
      }
      std::nth_element(w.begin(), w.begin() + static_cast<long>(w.size() / 2), w.end());
      std::nth_element(wc.begin(), wc.begin() + static_cast<long>(wc.size() / 2), wc.end());
      char b[128];
      std::snprintf(b, sizeof b, "%s\"%d\": %.4f", per.empty() ? "" : ", ", cp, w[w.size() / 2] * 1e3);
      per += b;
      std::snprintf(b, sizeof b, "%s\"%d\": %.4f", per_cpu.empty() ? "" : ", ", cp, wc[wc.size() / 2] * 1e3);
      per_cpu += b;
      std::fprintf(stderr, "%-6s per-trial ms at %5d: wall %.4f, thread CPU %.4f (cumulative %.2f s)\n",
                   sname.c_str(), cp, w[w.size() / 2] * 1e3, wc[wc.size() / 2] * 1e3,
                   stamps[static_cast<size_t>(cp - 1)]);
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s{\"sampler\": \"%s\", \"storage\": \"inmemory\", \"n_trials\": %d, "
                  "\"total_s\": %.3f, \"best_value\": %.6g, \"per_trial_ms\": {",
                  rows.empty() ? "" : ", ", sname.c_str(), n, total, study->best_value());
    rows += buf + per + "}, \"per_trial_cpu_ms\": {" + per_cpu + "}}";
  }
  std::printf("{\"bench\": \"tune_overhead\", \"results\": [%s]}\n", rows.c_str());
  return 0;
}
