// The studies of tests/tune/mo_golden_gen.py, run by hone: the same search space, objectives and
// constraint (plain arithmetic, the same in both), one trial at a time.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hone/tune/tune.h"

namespace mo_golden {

inline const std::vector<std::string>& choices() {
  static const std::vector<std::string> k = {"a", "b", "c"};
  return k;
}

// Runs `sampler` for n_trials; returns per trial {x, lr, n, act index}.
inline std::vector<std::vector<double>> run(const std::shared_ptr<hone::Sampler>& sampler, int n_trials,
                                            bool maximize_second, bool constrained, bool single) {
  using namespace hone;
  StudyOptions so;
  so.sampler = sampler;
  so.pruner = make_nop_pruner();
  if (!single) so.directions = {Direction::kMinimize, maximize_second ? Direction::kMaximize : Direction::kMinimize};
  auto study = create_study(so);
  auto eval = [&](Trial& t) {
    double x = t.suggest_float("x", -2.0, 3.0);
    double lr = t.suggest_float("lr", 1e-4, 1.0, {.log = true});
    double n = static_cast<double>(t.suggest_int("n", 1, 20));
    std::string act = t.suggest_categorical("act", choices());
    double a = static_cast<double>(std::find(choices().begin(), choices().end(), act) - choices().begin());
    double f1 = (x - 0.5) * (x - 0.5) + std::pow(std::log10(lr) + 2.0, 2) * 0.3 + n * 0.05 + a * 0.2;
    double f2 = (x + 1.0) * (x + 1.0) + std::pow(std::log10(lr) + 0.5, 2) * 0.3 + (20 - n) * 0.04 + (2 - a) * 0.15;
    if (constrained) t.set_constraints({x - 1.0 + 0.02 * n});
    return std::vector<double>{f1, maximize_second ? -f2 : f2};
  };
  if (single) {
    study->optimize([&](Trial& t) {
      auto v = eval(t);
      return v[0] + v[1];
    }, {.n_trials = n_trials});
  } else {
    study->optimize(MultiObjective(eval), {.n_trials = n_trials});
  }
  std::vector<std::vector<double>> rows;
  for (const auto& t : study->trials()) {
    const json& p = t.params_json();
    std::string act = p.at("act").get<std::string>();
    rows.push_back({p.at("x").get<double>(), p.at("lr").get<double>(), p.at("n").get<double>(),
                    static_cast<double>(std::find(choices().begin(), choices().end(), act) - choices().begin())});
  }
  return rows;
}

// How many leading trials equal Optuna's (each value to 1e-12 relative); the first difference, if
// any, described in `where`.
inline size_t matching_prefix(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want,
                              std::string& where) {
  size_t i = 0;
  for (; i < got.size() && i < want.size(); ++i)
    for (size_t k = 0; k < want[i].size(); ++k)
      if (!(std::fabs(got[i][k] - want[i][k]) <= 1e-12 * std::fabs(want[i][k]))) {
        where = "trial " + std::to_string(i) + " parameter " + std::to_string(k) + ": hone " +
                std::to_string(got[i][k]) + ", Optuna " + std::to_string(want[i][k]);
        return i;
      }
  return i;
}

// Runs every case of `cases` (mo_golden::cases()) that `sampler_for` (case name -> sampler, or null to
// skip it) has a sampler for and expects Optuna's trials, seed for seed; returns how many cases ran.
template <class Cases, class SamplerFor>
size_t expect_optuna_trials(const Cases& cases, SamplerFor sampler_for) {
  size_t n_cases = 0;
  for (const auto& c : cases) {
    auto sampler = sampler_for(c.name);
    if (!sampler) continue;
    ++n_cases;
    auto got = run(sampler, c.n_trials, c.maximize_second, c.constrained, c.single_objective);
    EXPECT_EQ(got.size(), c.params.size()) << c.name;
    std::string where;
    EXPECT_EQ(matching_prefix(got, c.params, where), c.params.size()) << c.name << ": " << where;
  }
  return n_cases;
}

}  // namespace mo_golden
