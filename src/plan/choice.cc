// Reading goal metrics off trials, choosing the plan's trial, and what blocks an unmet goal: hone/plan.h.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "hone/plan.h"

namespace hone {

namespace {

double total_violation(const FrozenTrial& t, const std::vector<Goal>& goals, const std::vector<std::string>& objs) {
  double v = 0;
  for (const Goal& g : goals) v += g.violation(goal_value(t, g.metric, objs));
  return v;
}

// a dominates b (minimisation, every entry).
bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool strictly = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strictly = true;
  }
  return strictly;
}

std::string fmt_value(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.4g}", v); }

// "trial 12 (val_accuracy 0.91, peak_memory_mb 0.8)"
std::string describe(const FrozenTrial& t, const std::vector<Goal>& goals, const std::vector<std::string>& objs) {
  std::string s;
  for (const Goal& g : goals) {
    if (s.find(g.metric + " ") != std::string::npos) continue;
    s += (s.empty() ? "" : ", ") + g.metric + " " + fmt_value(goal_value(t, g.metric, objs));
  }
  return "trial " + std::to_string(t.number) + " (" + s + ")";
}

}  // namespace

double goal_value(const FrozenTrial& t, const std::string& metric, const std::vector<std::string>& objectives) {
  for (size_t k = 0; k < objectives.size(); ++k) {
    if (objectives[k] != metric) continue;
    if (k < t.values.size()) return t.values[k];
    if (k == 0 && t.value) return *t.value;
  }
  if (metric.rfind("test_", 0) == 0) {
    const double v = trial_number(t, "test." + metric.substr(5));
    if (!std::isnan(v)) return v;
  }
  return trial_number(t, metric);
}

PlanChoice choose_trial(const std::vector<FrozenTrial>& trials, const std::vector<Goal>& goals,
                        const std::vector<std::string>& objectives, const std::vector<Direction>& directions) {
  PlanChoice c;
  std::vector<const FrozenTrial*> complete, feasible;
  for (const FrozenTrial& t : trials)
    if (t.state == TrialState::kComplete) complete.push_back(&t);
  for (const FrozenTrial* t : complete)
    if (std::all_of(goals.begin(), goals.end(), [&](const Goal& g) { return g.met(goal_value(*t, g.metric, objectives)); }))
      feasible.push_back(t);
  if (complete.empty()) {
    c.rule = "no trial completed";
    return c;
  }
  std::vector<const Goal*> soft;
  for (const Goal& g : goals)
    if (!g.hard()) soft.push_back(&g);

  if (!feasible.empty()) {
    c.feasible = true;
    // Minimisation form of a soft goal's value (NaN last).
    auto score = [&](const FrozenTrial& t, const std::string& m, Direction d) {
      const double v = goal_value(t, m, objectives);
      if (std::isnan(v)) return std::numeric_limits<double>::infinity();
      return d == Direction::kMaximize ? -v : v;
    };
    const FrozenTrial* best = nullptr;
    if (soft.size() >= 2) {
      // The knee: each soft goal scaled to [0, 1] over the feasible trials; the nearest to the ideal point.
      std::vector<double> lo(soft.size(), INFINITY), hi(soft.size(), -INFINITY);
      for (const FrozenTrial* t : feasible)
        for (size_t i = 0; i < soft.size(); ++i) {
          const double s = score(*t, soft[i]->metric, soft[i]->direction());
          if (std::isfinite(s)) lo[i] = std::min(lo[i], s), hi[i] = std::max(hi[i], s);
        }
      double best_d = INFINITY;
      for (const FrozenTrial* t : feasible) {
        double d = 0;
        for (size_t i = 0; i < soft.size(); ++i) {
          const double s = score(*t, soft[i]->metric, soft[i]->direction());
          const double span = hi[i] - lo[i];
          const double x = !std::isfinite(s) ? 1.0 : span > 0 ? (s - lo[i]) / span : 0.0;
          d += x * x;
        }
        if (d < best_d) best_d = d, best = t;  // ties: the earlier trial
      }
      c.rule = "every hard goal met; several soft goals: the knee of their front (each scaled to [0, 1] over the "
               "feasible trials, the trial nearest the ideal point)";
    } else {
      const std::string m = soft.empty() ? objectives.at(0) : soft[0]->metric;
      const Direction d = soft.empty() ? directions.at(0) : soft[0]->direction();
      for (const FrozenTrial* t : feasible)
        if (!best || score(*t, m, d) < score(*best, m, d)) best = t;
      c.rule = std::string("every hard goal met; the best ") + m + " (" +
               (d == Direction::kMaximize ? "maximized" : "minimized") + ")";
    }
    c.trial = *best;
    return c;
  }

  // Nothing feasible: the least-violating trial, and what blocks what.
  const FrozenTrial* least = nullptr;
  double least_v = INFINITY;
  for (const FrozenTrial* t : complete) {
    const double v = total_violation(*t, goals, objectives);
    if (!least || v < least_v) least = t, least_v = v;
  }
  c.trial = *least;
  c.rule = "no trial meets every hard goal; the least-violating one (the sum of each goal's miss relative to its bound)";
  std::vector<const Goal*> hard;
  for (const Goal& g : goals)
    if (g.hard()) hard.push_back(&g);
  std::vector<std::vector<bool>> met(hard.size(), std::vector<bool>(complete.size()));
  for (size_t i = 0; i < hard.size(); ++i)
    for (size_t j = 0; j < complete.size(); ++j) met[i][j] = hard[i]->met(goal_value(*complete[j], hard[i]->metric, objectives));
  for (size_t i = 0; i < hard.size(); ++i) {
    if (std::none_of(met[i].begin(), met[i].end(), [](bool b) { return b; })) {
      // Its best value over the trials.
      const FrozenTrial* b = nullptr;
      double bv = INFINITY;
      for (const FrozenTrial* t : complete) {
        const double v = hard[i]->violation(goal_value(*t, hard[i]->metric, objectives));
        if (!b || v < bv) b = t, bv = v;
      }
      c.blocking.push_back(hard[i]->text + " is never met by any of the " + std::to_string(complete.size()) +
                           " trials (closest: trial " + std::to_string(b->number) + ", " + hard[i]->metric + " " +
                           fmt_value(goal_value(*b, hard[i]->metric, objectives)) + ")");
    }
  }
  for (size_t i = 0; i < hard.size(); ++i)
    for (size_t k = i + 1; k < hard.size(); ++k) {
      int64_t ni = 0, nk = 0;
      bool both = false;
      for (size_t j = 0; j < complete.size(); ++j) {
        ni += met[i][j];
        nk += met[k][j];
        both = both || (met[i][j] && met[k][j]);
      }
      if (ni > 0 && nk > 0 && !both)
        c.blocking.push_back(hard[i]->text + " is never met with " + hard[k]->text + " (" + std::to_string(ni) +
                             " trials meet the first, " + std::to_string(nk) + " the second, none both)");
    }
  // The closest trade-offs: the front of the hard goals' violations, least total first.
  std::vector<std::vector<double>> pts;
  for (const FrozenTrial* t : complete) {
    std::vector<double> p;
    for (const Goal* g : hard) p.push_back(g->violation(goal_value(*t, g->metric, objectives)));
    pts.push_back(std::move(p));
  }
  std::vector<size_t> front;
  for (size_t j = 0; j < complete.size(); ++j) {
    bool dominated = false;
    for (size_t q = 0; q < complete.size() && !dominated; ++q) dominated = q != j && dominates(pts[q], pts[j]);
    if (!dominated) front.push_back(j);
  }
  std::stable_sort(front.begin(), front.end(), [&](size_t a, size_t b) {
    return std::accumulate(pts[a].begin(), pts[a].end(), 0.0) < std::accumulate(pts[b].begin(), pts[b].end(), 0.0);
  });
  for (size_t j : front) {
    if (c.closest.size() == 5) break;
    c.closest.push_back(*complete[j]);
  }
  if (!c.closest.empty())
    c.blocking.push_back("closest trade-off: " + describe(c.closest.front(), goals, objectives));
  return c;
}

}  // namespace hone
