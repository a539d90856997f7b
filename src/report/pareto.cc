#include "report/pareto.h"

#include <algorithm>
#include <cmath>

#include "hone/error.h"
#include "hone/tune/multi_objective.h"

namespace hone::report {

namespace {

bool dominates(const Point& a, const Point& b) {
  bool strict = false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) return false;
    strict = strict || a[k] < b[k];
  }
  return strict;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<Point>& pts) {
  // The tune part's kernel (an O(n log n) sweep in 2-D and 3-D) on the points without NaN; a
  // point with a NaN compares false both ways, so it is never dominated: it stays on the front.
  std::vector<size_t> keep, front;
  std::vector<Point> clean;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (std::any_of(pts[i].begin(), pts[i].end(), [](double v) { return std::isnan(v); })) {
      front.push_back(i);
    } else {
      keep.push_back(i);
      clean.push_back(pts[i]);
    }
  }
  for (size_t j : hone::pareto_front(clean)) front.push_back(keep[j]);
  std::sort(front.begin(), front.end());
  return front;
}

double hypervolume(std::vector<Point> pts, const Point& ref) {
  if (ref.size() != 2 && ref.size() != 3) throw_invalid("hypervolume: only 2 or 3 objectives are supported");
  std::erase_if(pts, [&](const Point& p) {
    for (size_t k = 0; k < ref.size(); ++k)
      if (!(p[k] < ref[k])) return true;  // also drops NaN
    return false;
  });
  return hone::hypervolume(pts, ref);  // 2-D sweep, 3-D HV3D (hone/tune/multi_objective.h)
}

std::vector<double> hypervolume_history(const std::vector<Point>& pts, const Point& ref) {
  std::vector<double> out;
  std::vector<Point> front;
  double hv = 0;
  for (const auto& p : pts) {
    bool dom = false;
    for (const auto& f : front)
      if (dominates(f, p) || f == p) {
        dom = true;
        break;
      }
    if (!dom) {
      std::erase_if(front, [&](const Point& f) { return dominates(p, f); });
      front.push_back(p);
      hv = hypervolume(front, ref);
    }
    out.push_back(hv);
  }
  return out;
}

}  // namespace hone::report
