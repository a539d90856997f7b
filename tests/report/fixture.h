// Studies made directly through the storage interface, for the report tests.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "hone/report.h"
#include "hone/study_runner.h"  // kWorkerAttr
#include "hone/tune/storage.h"

namespace hone_report_test {

// Timing bounds hold for the release build; under ASan (make test-asan) the code runs several
// times slower, so the timing tests there check results only.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

using hone::Distribution;
using hone::FrozenTrial;
using hone::TrialState;

// A study whose value is f(params) over `n_params` float parameters x0..x{n-1} in [0, 1]
// (x1 on a log scale in [1e-3, 1], a categorical "opt" when cat), with learning curves, two
// workers, every 7th trial pruned and trial 0 marked as the baseline.
inline int64_t make_study(hone::Storage& s, const std::string& name, int n_trials, int n_params,
                          const std::function<double(const std::vector<double>&)>& f, bool extras = true,
                          uint64_t seed = 1) {
  const int64_t id = s.create_new_study(hone::Direction::kMinimize, name);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const auto t0 = hone::Clock::now() - std::chrono::hours(1);
  for (int i = 0; i < n_trials; ++i) {
    FrozenTrial t;
    std::vector<double> x;
    for (int p = 0; p < n_params; ++p) {
      const std::string pn = "x" + std::to_string(p);
      if (extras && p == 1) {
        const double v = std::exp(std::log(1e-3) + u(rng) * std::log(1e3));
        t.distributions[pn] = Distribution::real(1e-3, 1, true);
        t.params[pn] = v;
        x.push_back(std::log10(v) / 3 + 1);
      } else {
        x.push_back(u(rng));
        t.distributions[pn] = Distribution::real(0, 1);
        t.params[pn] = x.back();
      }
    }
    if (extras) {
      t.distributions["opt"] = Distribution::categorical({"adam", "sgd", "rmsprop"});
      t.params["opt"] = static_cast<double>(i % 3);
    }
    const double v = f(x);
    t.state = extras && i % 7 == 6 ? TrialState::kPruned : TrialState::kComplete;
    t.value = v;
    if (extras) {
      for (int step = 0; step < (t.state == TrialState::kPruned ? 4 : 10); ++step)
        t.intermediate_values[step] = v + 1.0 / (step + 1);
      t.system_attrs[hone::kWorkerAttr] = i % 2 ? "host:101" : "host:102";
      if (i == 0) t.user_attrs["baseline"] = true;
    }
    t.datetime_start = t0 + std::chrono::seconds(5 * i);
    t.datetime_complete = t0 + std::chrono::seconds(5 * i + 8);
    s.create_new_trial(id, &t);
  }
  return id;
}

// A conditional parameter: "depth" only in the trials with an even number, "a" in all 30.
inline int64_t make_conditional_study(hone::Storage& s, const std::string& name) {
  const int64_t c = s.create_new_study(hone::Direction::kMinimize, name);
  for (int i = 0; i < 30; ++i) {
    FrozenTrial t;
    t.state = TrialState::kComplete;
    t.distributions["a"] = Distribution::real(0, 1);
    t.params["a"] = i / 30.0;
    if (i % 2 == 0) t.distributions["depth"] = Distribution::integer(1, 8), t.params["depth"] = 1 + i % 8;
    t.value = i / 30.0;
    s.create_new_trial(c, &t);
  }
  return c;
}

// The objective where only x0 matters (the 1-of-5 test).
inline double only_x0(const std::vector<double>& x) { return (x[0] - 0.3) * (x[0] - 0.3) * 10 + (x.size() > 2 ? 0.001 * x[2] : 0.0); }

}  // namespace hone_report_test
