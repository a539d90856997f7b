// The forest is built depth-first with one index buffer per tree (sorted per feature at each
// node); fANOVA then walks each tree's leaves once and decomposes the variance with a difference
// array per parameter, so a tree costs O(leaves log leaves) per parameter, not leaves x cuts.
#include "report/importance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace hone::report {

namespace {

struct Builder {
  const std::vector<Column>& cols;
  const std::vector<double>& y;
  int max_depth;
  std::vector<Forest::Node>& nodes;
  std::vector<std::pair<double, double>> xy;  // scratch: (feature value, y) of the node's rows

  int build(std::vector<int>& rows, int begin, int end, int depth) {
    const int id = static_cast<int>(nodes.size());
    nodes.push_back({});
    const int m = end - begin;
    double sum = 0, sq = 0;
    for (int i = begin; i < end; ++i) sum += y[rows[i]], sq += y[rows[i]] * y[rows[i]];
    nodes[id].value = sum / m;
    if (m < 2 || depth >= max_depth || sq - sum * sum / m <= 1e-12 * std::max(1.0, sq)) return id;
    // Best split over every feature: the largest decrease of the sum of squared errors.
    double best_gain = 0, best_thr = 0;
    int best_f = -1;
    xy.resize(static_cast<size_t>(m));
    for (size_t f = 0; f < cols.size(); ++f) {
      const auto& x = cols[f].x;
      for (int i = 0; i < m; ++i) xy[i] = {x[rows[begin + i]], y[rows[begin + i]]};
      std::sort(xy.begin(), xy.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      if (xy.front().first == xy.back().first) continue;
      double ls = 0;
      for (int i = 0; i + 1 < m; ++i) {
        ls += xy[i].second;
        if (xy[i].first == xy[i + 1].first) continue;
        const double nl = i + 1, nr = m - nl, rs = sum - ls;
        const double gain = ls * ls / nl + rs * rs / nr - sum * sum / m;
        if (gain > best_gain) best_gain = gain, best_f = static_cast<int>(f), best_thr = 0.5 * (xy[i].first + xy[i + 1].first);
      }
    }
    if (best_f < 0) return id;
    const auto& x = cols[best_f].x;
    const int mid = static_cast<int>(std::partition(rows.begin() + begin, rows.begin() + end,
                                                    [&](int r) { return x[r] <= best_thr; }) - rows.begin());
    nodes[id].feature = best_f;
    nodes[id].threshold = best_thr;
    const int l = build(rows, begin, mid, depth + 1);
    nodes[id].left = l;
    const int r = build(rows, mid, end, depth + 1);
    nodes[id].right = r;
    return id;
  }
};

// The uniform measure of (a, b] in one parameter's [0, 1]: length, or the share of the choices.
double mass(double a, double b, int levels) {
  if (levels <= 0) return std::max(0.0, std::min(b, 1.0) - std::max(a, 0.0));
  int count = 0;
  for (int k = 0; k < levels; ++k) {
    const double p = levels == 1 ? 0.0 : static_cast<double>(k) / (levels - 1);
    count += p > a && p <= b;
  }
  return static_cast<double>(count) / levels;
}

struct Leaf {
  double value, vol;
  std::vector<double> lo, hi;
};

void leaves_of(const std::vector<Forest::Node>& t, int id, std::vector<double>& lo, std::vector<double>& hi,
               std::vector<Leaf>& out) {
  const auto& n = t[id];
  if (n.feature < 0) {
    out.push_back({n.value, 0, lo, hi});
    return;
  }
  const double h = hi[n.feature], l = lo[n.feature];
  hi[n.feature] = std::min(h, n.threshold);
  leaves_of(t, n.left, lo, hi, out);
  hi[n.feature] = h;
  lo[n.feature] = std::max(l, n.threshold);
  leaves_of(t, n.right, lo, hi, out);
  lo[n.feature] = l;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int a, int b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}

// A 1-D Parzen density on `grid` points (Gaussian kernels, Scott's bandwidth), summing to 1.
std::vector<double> parzen(const std::vector<double>& pts, const std::vector<double>& grid, int levels) {
  std::vector<double> p(grid.size(), 0.0);
  const double n = static_cast<double>(pts.size());
  if (levels > 0) {  // categorical: counts with a uniform prior of one observation
    for (double x : pts) p[static_cast<size_t>(std::lround(x * (levels - 1)))] += 1;
    for (auto& v : p) v = (v + 1.0 / levels) / (n + 1);
    return p;
  }
  double mean = 0, var = 0;
  for (double x : pts) mean += x;
  mean /= n;
  for (double x : pts) var += (x - mean) * (x - mean);
  const double h = std::max(0.02, 1.059 * std::sqrt(var / n) * std::pow(n, -0.2));
  // Kernels evaluated on the grid through a histogram of the points (O(n + G^2), not O(n G)).
  std::vector<double> hist(grid.size(), 0.0);
  const double G = static_cast<double>(grid.size() - 1);
  for (double x : pts) hist[static_cast<size_t>(std::lround(std::clamp(x, 0.0, 1.0) * G))] += 1;
  double total = 0;
  for (size_t g = 0; g < grid.size(); ++g) {
    double s = 0;
    for (size_t k = 0; k < grid.size(); ++k)
      if (hist[k] > 0) {
        const double z = (grid[g] - grid[k]) / h;
        s += hist[k] * std::exp(-0.5 * z * z);
      }
    p[g] = s;
    total += s;
  }
  for (auto& v : p) v /= total;
  return p;
}

}  // namespace

void Forest::fit(const std::vector<Column>& cols, const std::vector<double>& y, int n_trees, int max_depth,
                 uint64_t seed) {
  trees_.assign(static_cast<size_t>(std::max(0, n_trees)), {});
  levels_.clear();
  for (auto& c : cols) levels_.push_back(c.levels);
  const int n = static_cast<int>(y.size());
  if (n == 0) {
    trees_.clear();
    return;
  }
#pragma omp parallel for schedule(dynamic)
  for (int t = 0; t < n_trees; ++t) {
    std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(t));
    std::uniform_int_distribution<int> pick(0, n - 1);
    std::vector<int> rows(static_cast<size_t>(n));
    for (auto& r : rows) r = pick(rng);  // bootstrap
    Builder b{cols, y, max_depth, trees_[static_cast<size_t>(t)], {}};
    trees_[static_cast<size_t>(t)].reserve(static_cast<size_t>(2 * n));
    b.build(rows, 0, n, 0);
  }
}

double Forest::predict(const std::vector<double>& x) const {
  if (trees_.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (const auto& t : trees_) {
    int id = 0;
    while (t[id].feature >= 0) id = x[t[id].feature] <= t[id].threshold ? t[id].left : t[id].right;
    s += t[id].value;
  }
  return s / static_cast<double>(trees_.size());
}

std::vector<double> Forest::fanova() const {
  const size_t d = levels_.size();
  std::vector<double> sum(d, 0.0);
  std::vector<std::vector<double>> per_tree(trees_.size());
#pragma omp parallel for schedule(dynamic)
  for (int ti = 0; ti < static_cast<int>(trees_.size()); ++ti) {
    std::vector<Leaf> leaves;
    std::vector<double> lo(d, -1.0), hi(d, 2.0);
    leaves_of(trees_[static_cast<size_t>(ti)], 0, lo, hi, leaves);
    std::vector<std::vector<double>> m(leaves.size(), std::vector<double>(d));
    double mean = 0;
    for (size_t l = 0; l < leaves.size(); ++l) {
      double v = 1;
      for (size_t f = 0; f < d; ++f) v *= m[l][f] = mass(leaves[l].lo[f], leaves[l].hi[f], levels_[f]);
      leaves[l].vol = v;
      mean += v * leaves[l].value;
    }
    double total = 0;
    for (auto& l : leaves) total += l.vol * (l.value - mean) * (l.value - mean);
    if (!(total > 0)) continue;
    std::vector<double> share(d, 0.0);
    for (size_t f = 0; f < d; ++f) {
      std::vector<double> cuts;
      for (auto& l : leaves) cuts.push_back(std::clamp(l.lo[f], -1.0, 2.0)), cuts.push_back(std::clamp(l.hi[f], -1.0, 2.0));
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      std::vector<double> diff(cuts.size() + 1, 0.0);
      for (size_t l = 0; l < leaves.size(); ++l) {
        if (m[l][f] <= 0) continue;
        const double c = leaves[l].value * leaves[l].vol / m[l][f];
        const size_t a = std::lower_bound(cuts.begin(), cuts.end(), std::clamp(leaves[l].lo[f], -1.0, 2.0)) - cuts.begin();
        const size_t b = std::lower_bound(cuts.begin(), cuts.end(), std::clamp(leaves[l].hi[f], -1.0, 2.0)) - cuts.begin();
        diff[a] += c;
        diff[b] -= c;
      }
      double fk = 0, var = 0;
      for (size_t k = 0; k + 1 < cuts.size(); ++k) {
        fk += diff[k];
        const double w = mass(cuts[k], cuts[k + 1], levels_[f]);
        var += w * (fk - mean) * (fk - mean);
      }
      share[f] = std::clamp(var / total, 0.0, 1.0);
    }
    per_tree[static_cast<size_t>(ti)] = std::move(share);
  }
  int used = 0;  // trees whose prediction varies at all
  for (auto& s : per_tree)
    if (!s.empty()) {
      for (size_t f = 0; f < d; ++f) sum[f] += s[f];
      ++used;
    }
  for (auto& s : sum) s = used ? s / used : 0.0;
  return sum;
}

std::vector<double> ped_anova(const std::vector<Column>& cols, const std::vector<double>& y, double gamma) {
  std::vector<double> out(cols.size(), 0.0);
  const size_t n = y.size();
  if (n < 2) return out;
  std::vector<double> sorted = y;
  const size_t k = std::max<size_t>(2, static_cast<size_t>(std::ceil(gamma * static_cast<double>(n))));
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
  const double cut = sorted[k - 1];
  std::vector<size_t> top;
  for (size_t i = 0; i < n && top.size() < k; ++i)
    if (y[i] <= cut) top.push_back(i);
  for (size_t f = 0; f < cols.size(); ++f) {
    const int L = cols[f].levels;
    std::vector<double> grid;
    const int G = L > 0 ? L : 101;
    for (int g = 0; g < G; ++g) grid.push_back(G == 1 ? 0.0 : static_cast<double>(g) / (G - 1));
    std::vector<double> tx;
    for (size_t i : top) tx.push_back(cols[f].x[i]);
    const auto pa = parzen(cols[f].x, grid, L), pt = parzen(tx, grid, L);
    double div = 0;
    for (size_t g = 0; g < grid.size(); ++g)
      if (pa[g] > 0) div += pa[g] * (pt[g] / pa[g] - 1) * (pt[g] / pa[g] - 1);
    out[f] = div;
  }
  return out;
}

std::vector<double> spearman(const std::vector<Column>& cols, const std::vector<double>& y) {
  const auto ry = ranks(y);
  std::vector<double> out;
  for (auto& c : cols) {
    const auto rx = ranks(c.x);
    const double n = static_cast<double>(y.size());
    double mx = 0, my = 0;
    for (size_t i = 0; i < y.size(); ++i) mx += rx[i], my += ry[i];
    mx /= n, my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < y.size(); ++i)
      sxy += (rx[i] - mx) * (ry[i] - my), sxx += (rx[i] - mx) * (rx[i] - mx), syy += (ry[i] - my) * (ry[i] - my);
    out.push_back(sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

std::vector<double> normalized(std::vector<double> v) {
  double s = 0;
  for (double x : v) s += std::isfinite(x) ? x : 0;
  for (auto& x : v) x = s > 0 && std::isfinite(x) ? x / s : 0;
  return v;
}

}  // namespace hone::report
