// report/pareto.h — the Pareto front and the hypervolume of multi-objective results.
// Points are to be minimised in every coordinate (negate maximised objectives first).
#pragma once

#include <cstddef>
#include <vector>

namespace hone::report {

using Point = std::vector<double>;

// Indices of the non-dominated points (ties: equal points are all kept), in input order.
std::vector<size_t> pareto_front(const std::vector<Point>& pts);
// The volume dominated by `pts` and bounded by `ref` (points not strictly better than ref in every
// coordinate add nothing). hone/tune/multi_objective.h's kernels: 2-D sweep, 3-D HV3D (O(n log n)).
// Other dimensions throw Error(kInvalidArgument).
double hypervolume(std::vector<Point> pts, const Point& ref);
// hv[i] = hypervolume of the first i+1 points (incremental: recomputed only when the front changes).
std::vector<double> hypervolume_history(const std::vector<Point>& pts, const Point& ref);

}  // namespace hone::report
