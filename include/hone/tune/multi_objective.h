// hone/tune/multi_objective.h — Pareto kernels: non-dominated sorting and hypervolume.
//
// Points are given in MINIMISATION form (to_minimization negates maximised objectives); each
// point has the same number of objectives d >= 1. p dominates q when p <= q in every objective and
// p < q in at least one (Optuna's _dominates); identical points do not dominate each other.
// NaN entries are not allowed (Error(kInvalidArgument)); +-infinity is.
//
// Costs: non-dominated ranks O(n log n) for d <= 2 and O(n log^2 n) for d = 3 (a sweep over the
// first objective with one staircase per front); d >= 4 compares against each front's members.
// Hypervolume: d = 2 a sort and a sweep, d = 3 the HV3D sweep (O(n log n)), d >= 4 WFG.
#pragma once

#include <cstddef>
#include <vector>

#include "hone/tune/frozen_trial.h"

namespace hone {

using Points = std::vector<std::vector<double>>;

// values[i][k] negated where directions[k] is kMaximize. Throws Error(kInvalidArgument) when a
// row's length differs from directions.size().
Points to_minimization(const Points& values, const std::vector<Direction>& directions);

// rank[i] = 0 for the Pareto front, 1 for the front once rank 0 is removed, ... (the fronts of
// Optuna's _fast_non_dominated_sort / NSGA-II).
std::vector<int> non_dominated_ranks(const Points& points);
// Indices of rank 0, ascending.
std::vector<size_t> pareto_front(const Points& points);

// The exact volume dominated by `points` and bounded by `reference` (minimisation). Points that
// do not strictly dominate the reference in every objective add nothing.
double hypervolume(const Points& points, const std::vector<double>& reference);

}  // namespace hone
