#include "report/pareto.h"

#include <algorithm>

#include "hone/error.h"

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

double hv2(std::vector<Point>& p, double rx, double ry) {
  std::sort(p.begin(), p.end(), [](const Point& a, const Point& b) { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]); });
  double area = 0, best_y = ry;
  for (const auto& q : p) {  // ascending x: each point adds the strip below the lowest y so far
    if (q[0] >= rx || q[1] >= best_y) continue;
    area += (rx - q[0]) * (best_y - q[1]);
    best_y = q[1];
  }
  return area;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<Point>& pts) {
  std::vector<size_t> idx(pts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  // Lexicographic order: a point can only be dominated by one before it.
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return pts[a] < pts[b]; });
  std::vector<size_t> front;
  for (size_t i : idx) {
    bool dom = false;
    for (size_t j : front)
      if (dominates(pts[j], pts[i])) {
        dom = true;
        break;
      }
    if (!dom) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

double hypervolume(std::vector<Point> pts, const Point& ref) {
  if (ref.size() != 2 && ref.size() != 3) throw_invalid("hypervolume: only 2 or 3 objectives are supported");
  std::erase_if(pts, [&](const Point& p) {
    for (size_t k = 0; k < ref.size(); ++k)
      if (!(p[k] < ref[k])) return true;
    return false;
  });
  if (ref.size() == 2) return hv2(pts, ref[0], ref[1]);
  // 3-D: sweep z upwards; between consecutive z values the cross-section is the 2-D hypervolume
  // of the points at or below that z.
  std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a[2] < b[2]; });
  double vol = 0;
  std::vector<Point> slab;
  for (size_t i = 0; i < pts.size(); ++i) {
    slab.push_back({pts[i][0], pts[i][1]});
    const double z_next = i + 1 < pts.size() ? pts[i + 1][2] : ref[2];
    if (z_next > pts[i][2]) {
      auto s = slab;
      vol += hv2(s, ref[0], ref[1]) * (z_next - pts[i][2]);
    }
  }
  return vol;
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
