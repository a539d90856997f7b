// Pruning on dominance (pruner.h kDominance, docs/TUNING.md "Pruning on dominance"): the
// percentile rule and ASHA's promotion over whole intermediate vectors. Optuna has no pruning for
// multi-objective studies (optuna#3450); these rules are hone's.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "hone/tune/multi_objective.h"
#include "hone/tune/study.h"
#include "tune/pruners/common.h"

namespace hone::pruner_detail {
namespace {

// p dominates q (minimisation): no worse anywhere, better somewhere (multi_objective.h).
bool dominates(const std::vector<double>& p, const std::vector<double>& q) {
  bool better = false;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] > q[k]) return false;
    better |= p[k] < q[k];
  }
  return better;
}

bool has_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

// NSGA-II crowding distance of each point within its own front: the sum over objectives of the
// gap between its neighbours, normalised by the front's range; the front's extremes get +inf.
std::vector<double> crowding(const std::vector<std::vector<double>>& points, const std::vector<int>& rank) {
  std::vector<double> dist(points.size(), 0.0);
  const int n_fronts = rank.empty() ? 0 : *std::max_element(rank.begin(), rank.end()) + 1;
  for (int f = 0; f < n_fronts; ++f) {
    std::vector<size_t> front;
    for (size_t i = 0; i < points.size(); ++i)
      if (rank[i] == f) front.push_back(i);
    for (size_t k = 0; k < points[front[0]].size(); ++k) {
      std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return points[a][k] < points[b][k]; });
      const double lo = points[front.front()][k], hi = points[front.back()][k];
      dist[front.front()] = dist[front.back()] = std::numeric_limits<double>::infinity();
      if (!(hi > lo)) continue;
      for (size_t j = 1; j + 1 < front.size(); ++j)
        dist[front[j]] += (points[front[j + 1]][k] - points[front[j - 1]][k]) / (hi - lo);
    }
  }
  return dist;
}

}  // namespace

std::optional<std::vector<double>> vector_at(const FrozenTrial& t, int64_t step, size_t d) {
  const auto vectors = t.intermediate_vectors();
  if (auto it = vectors.find(step); it != vectors.end() && it->second.size() == d) return it->second;
  if (d == 1)
    if (auto it = t.intermediate_values.find(step); it != t.intermediate_values.end())
      return std::vector<double>{it->second};
  return std::nullopt;
}

Points dominance_points(const Points& others, const std::vector<double>& own, const std::vector<Direction>& dirs) {
  std::vector<size_t> known;
  for (size_t k = 0; k < own.size(); ++k)
    if (!std::isnan(own[k])) known.push_back(k);
  if (known.empty()) return {};
  auto project = [&](const std::vector<double>& v) {
    std::vector<double> p;
    for (size_t k : known) p.push_back(v[k]);
    return p;
  };
  std::vector<Direction> d;
  for (size_t k : known) d.push_back(dirs[k]);
  Points points;
  for (const auto& v : others)
    if (v.size() == own.size())
      if (auto p = project(v); !has_nan(p)) points.push_back(std::move(p));
  points.push_back(project(own));
  return to_minimization(points, d);
}

bool dominance_percentile_prune(const Study& study, const FrozenTrial& trial, const PercentileOptions& o) {
  auto last = trial.last_intermediate();
  if (!last) return false;
  const std::vector<FrozenTrial> completed = study.trials({TrialState::kComplete});
  if (completed.empty() || static_cast<int>(completed.size()) < o.n_startup_trials) return false;
  const int64_t step = last->first;
  if (step < o.n_warmup_steps) return false;
  if (!first_in_interval(step, trial.intermediate_values, o.n_warmup_steps, o.interval_steps)) return false;
  const std::vector<Direction>& dirs = study.directions();
  auto own = vector_at(trial, step, dirs.size());
  if (!own) return false;  // no whole vector at this step: nothing to compare
  Points others;
  for (const auto& t : completed)
    if (auto v = vector_at(t, step, dirs.size())) others.push_back(std::move(*v));
  const Points points = dominance_points(others, *own, dirs);
  if (points.empty()) return false;  // nothing known at this step
  const size_t n = points.size() - 1;
  if (static_cast<int>(n) < o.n_min_trials) return false;
  size_t dominated_by = 0;
  for (size_t i = 0; i < n; ++i) dominated_by += dominates(points[i], points[n]);
  // At least percentile% of them (median: half), and at least one: a trial on the trade-off curve
  // of its step is never pruned.
  return dominated_by > 0 && static_cast<double>(dominated_by) * 100.0 >= o.percentile * static_cast<double>(n);
}

bool dominance_promotable(const std::vector<std::vector<double>>& points, size_t own, int eta) {
  const std::vector<int> rank = non_dominated_ranks(points);
  const std::vector<double> crowd = crowding(points, rank);
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto before = [&](size_t a, size_t b) { return rank[a] != rank[b] ? rank[a] < rank[b] : crowd[a] > crowd[b]; };
  std::sort(order.begin(), order.end(), before);
  const size_t keep = std::max<size_t>(1, points.size() / static_cast<size_t>(eta));
  return !before(order[keep - 1], own);  // own is no worse than the last one kept
}

}  // namespace hone::pruner_detail
