// Pareto kernels (hone/tune/multi_objective.h).
//
// Non-dominated ranks: the points are visited in lexicographic order, so every dominator of a
// point comes before it. A point's rank is one more than the largest rank among its dominators
// (the longest chain ending at it), and "front k holds a dominator of p" is true exactly for
// k < rank(p) (a dominator in front k+1 has its own dominator in front k, which dominates p too),
// so the rank is found by binary search over the fronts. Each front answers "do you dominate p?"
// in O(log n): d = 2 keeps its smallest second objective, d = 3 a staircase of its (f2, f3) pairs.
//
// Hypervolume 3-D: the sweep of Beume et al. (HV3D) — points by ascending f3, a staircase of the
// (f1, f2) front with its dominated area kept up to date as points enter (each point leaves the
// staircase at most once), volume += area * (next f3 - this f3).
#include "hone/tune/multi_objective.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <numeric>
#include <string>

#include "hone/error.h"

namespace hone {

namespace {

size_t check_points(const Points& points, const char* what) {
  if (points.empty()) return 0;
  const size_t d = points.front().size();
  if (d == 0) throw_invalid(std::string(what) + ": points need at least one objective");
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].size() != d)
      throw_invalid(std::string(what) + ": point " + std::to_string(i) + " has " + std::to_string(points[i].size()) +
                    " objectives, point 0 has " + std::to_string(d));
    for (double v : points[i])
      if (std::isnan(v)) throw_invalid(std::string(what) + ": point " + std::to_string(i) + " has a NaN objective");
  }
  return d;
}

// Indices sorted lexicographically by their points.
std::vector<size_t> lex_order(const Points& p) {
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  return idx;
}

// A staircase of 2-D points (x ascending, y strictly descending): nothing in it weakly dominates
// anything else in it.
class Staircase {
 public:
  // Some stored point <= (x, y) in both coordinates.
  bool covers(double x, double y) const {
    auto it = s_.upper_bound(x);
    if (it == s_.begin()) return false;
    return std::prev(it)->second <= y;
  }
  // Inserts (x, y) unless covered, dropping the points it covers. With a reference point
  // (rx, ry) the dominated area's increase is returned (0 when covered).
  double insert(double x, double y, double rx = 0, double ry = 0) {
    auto it = s_.upper_bound(x);
    double cur_y = ry;
    if (it != s_.begin()) {
      cur_y = std::prev(it)->second;
      if (cur_y <= y) return 0;
    }
    it = s_.lower_bound(x);
    double cur_x = x, delta = 0;
    while (it != s_.end() && it->second >= y) {
      delta += (it->first - cur_x) * (cur_y - y);
      cur_x = it->first;
      cur_y = it->second;
      it = s_.erase(it);
    }
    delta += ((it != s_.end() ? it->first : rx) - cur_x) * (cur_y - y);
    s_.emplace_hint(it, x, y);
    return delta;
  }

 private:
  std::map<double, double> s_;
};

double hv2d(Points pts, const std::vector<double>& r) {
  std::sort(pts.begin(), pts.end());
  double vol = 0, cur_y = r[1];
  for (auto& p : pts) {
    if (p[1] >= cur_y) continue;
    vol += (r[0] - p[0]) * (cur_y - p[1]);
    cur_y = p[1];
  }
  return vol;
}

double hv3d(Points pts, const std::vector<double>& r) {
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a[2] < b[2]; });
  Staircase front;
  double vol = 0, area = 0, z = pts.empty() ? r[2] : pts.front()[2];
  for (auto& p : pts) {
    vol += area * (p[2] - z);
    z = p[2];
    area += front.insert(p[0], p[1], r[0], r[1]);
  }
  return vol + area * (r[2] - z);
}

// The points not weakly dominated by another (one of each set of duplicates kept).
Points nondominated(Points pts) {
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
  Points out;
  for (auto& p : pts) {  // lexicographic: a dominator comes first
    bool dominated = false;
    for (auto& q : out) {
      bool le = true;
      for (size_t k = 0; k < p.size() && le; ++k) le = q[k] <= p[k];
      if (le) {
        dominated = true;
        break;
      }
    }
    if (!dominated) out.push_back(std::move(p));
  }
  return out;
}

double box(const std::vector<double>& p, const std::vector<double>& r) {
  double v = 1;
  for (size_t k = 0; k < p.size(); ++k) v *= r[k] - p[k];
  return v;
}

double hv_any(Points pts, const std::vector<double>& r);

// WFG (While, Bradstreet, Barone 2012): the sum of each point's exclusive volume, the box of the
// point less the volume of the later points limited to it.
double wfg(Points pts, const std::vector<double>& r) {
  if (pts.empty()) return 0;
  if (pts.size() == 1) return box(pts[0], r);
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a[0] > b[0]; });
  double vol = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    Points limited;
    limited.reserve(pts.size() - i - 1);
    for (size_t j = i + 1; j < pts.size(); ++j) {
      std::vector<double> q(pts[j].size());
      for (size_t k = 0; k < q.size(); ++k) q[k] = std::max(pts[i][k], pts[j][k]);
      limited.push_back(std::move(q));
    }
    vol += box(pts[i], r) - hv_any(nondominated(std::move(limited)), r);
  }
  return vol;
}

double hv_any(Points pts, const std::vector<double>& r) {
  switch (r.size()) {
    case 1: {
      double best = r[0];
      for (auto& p : pts) best = std::min(best, p[0]);
      return r[0] - best;
    }
    case 2: return hv2d(std::move(pts), r);
    case 3: return hv3d(std::move(pts), r);
    default: return wfg(std::move(pts), r);
  }
}

}  // namespace

Points to_minimization(const Points& values, const std::vector<Direction>& directions) {
  Points out = values;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].size() != directions.size())
      throw_invalid("to_minimization: point " + std::to_string(i) + " has " + std::to_string(out[i].size()) +
                    " values for " + std::to_string(directions.size()) + " directions");
    for (size_t k = 0; k < directions.size(); ++k)
      if (directions[k] == Direction::kMaximize) out[i][k] = -out[i][k];
  }
  return out;
}

std::vector<int> non_dominated_ranks(const Points& points) {
  const size_t d = check_points(points, "non_dominated_ranks");
  std::vector<int> rank(points.size(), 0);
  if (points.empty()) return rank;
  const std::vector<size_t> order = lex_order(points);
  // Per front: d = 2 its smallest f2; d = 3 its (f2, f3) staircase; d >= 4 its members.
  std::vector<double> min_f2;
  std::vector<Staircase> stairs;
  std::vector<std::vector<size_t>> members;
  int n_fronts = 0;
  auto front_dominates = [&](int k, const std::vector<double>& p) {
    if (d == 2) return min_f2[static_cast<size_t>(k)] <= p[1];
    if (d == 3) return stairs[static_cast<size_t>(k)].covers(p[1], p[2]);
    for (size_t m : members[static_cast<size_t>(k)]) {
      const auto& q = points[m];
      bool le = true;
      for (size_t j = 1; j < d && le; ++j) le = q[j] <= p[j];
      if (le) return true;
    }
    return false;
  };
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const size_t i = order[pos];
    const auto& p = points[i];
    if (pos > 0 && points[order[pos - 1]] == p) {  // a duplicate shares its twin's rank
      rank[i] = rank[order[pos - 1]];
      continue;
    }
    int k = 0;
    if (d == 1) {
      k = n_fronts;  // every earlier distinct value is smaller
    } else {
      int lo = 0, hi = n_fronts;  // first front that does not dominate p
      while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (front_dominates(mid, p)) lo = mid + 1;
        else hi = mid;
      }
      k = lo;
    }
    rank[i] = k;
    if (k == n_fronts) {
      ++n_fronts;
      min_f2.push_back(d >= 2 ? p[1] : 0);
      if (d == 3) stairs.emplace_back();
      if (d >= 4) members.emplace_back();
    }
    const auto uk = static_cast<size_t>(k);
    if (d == 2) min_f2[uk] = std::min(min_f2[uk], p[1]);
    else if (d == 3) stairs[uk].insert(p[1], p[2]);
    else if (d >= 4) members[uk].push_back(i);
  }
  return rank;
}

std::vector<size_t> pareto_front(const Points& points) {
  const std::vector<int> rank = non_dominated_ranks(points);
  std::vector<size_t> out;
  for (size_t i = 0; i < rank.size(); ++i)
    if (rank[i] == 0) out.push_back(i);
  return out;
}

double hypervolume(const Points& points, const std::vector<double>& reference) {
  const size_t d = check_points(points, "hypervolume");
  if (reference.empty()) throw_invalid("hypervolume: the reference point is empty");
  if (d != 0 && d != reference.size())
    throw_invalid("hypervolume: points have " + std::to_string(d) + " objectives, the reference " +
                  std::to_string(reference.size()));
  for (double v : reference)
    if (std::isnan(v)) throw_invalid("hypervolume: the reference point has a NaN");
  Points inside;
  for (auto& p : points) {
    bool in = true;
    for (size_t k = 0; k < p.size() && in; ++k) in = p[k] < reference[k];
    if (in) inside.push_back(p);
  }
  if (inside.empty()) return 0;
  if (reference.size() >= 4) inside = nondominated(std::move(inside));
  return hv_any(std::move(inside), reference);
}

}  // namespace hone
