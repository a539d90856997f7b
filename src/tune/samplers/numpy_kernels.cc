// Optuna 3.1's (numpy's) arithmetic reproduced operation for operation, where a rounding can
// change which trial Optuna proposes: numpy's np.sum, the BLAS product that scores a lone
// categorical, default_weights' linspace, and the hypervolume kernels of multi-objective TPE.
// Built without FMA contraction (CMakeLists.txt), since numpy rounds every product and sum.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "tune/samplers/parzen_estimator.h"

namespace hone::tune_detail {

// numpy's np.sum of a float64 array (pairwise_sum: 8 accumulators below 128 elements), so that
// normalised weights round as Optuna's.
double numpy_sum(const double* a, size_t n) {
  if (n < 8) {
    double r = 0.;
    for (size_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_sum(a, n2) + numpy_sum(a + n2, n - n2);
}

// out[c] = sum_i p[i * K + c] * w[i], rounded as Optuna's np.inner(categorical_weights.T,
// weights) is on the OpenBLAS 0.3 that numpy calls here (dgemv_n on a column-major K x n
// matrix): categories in groups of 4 sum 4 components at a time as (a0 w0 + fma(a2, w2)) +
// (a1 w1 + fma(a3, w3)), a last pair as a0 w0 + a1 w1, a last one alone; the K % 4 remaining
// categories (2 or 3 of them with K = 2 or 3: pairs a0 w0 + a1 w1 four components at a time)
// sum one by one. Where two categories' scores are mathematically equal, Optuna's pick follows
// this rounding (checked bit for bit against numpy with K = 2..5 and up to 45 components).
void categorical_inner(const double* p, const double* w, size_t n, size_t K, double* out) {
  auto a = [&](size_t i, size_t c) { return p[i * K + c]; };
  const size_t m1 = K & ~size_t{3};
  for (size_t c = 0; c < m1; ++c) {
    double y = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      double t4 = a(i, c) * w[i], t5 = a(i + 1, c) * w[i + 1];
      t4 = std::fma(a(i + 2, c), w[i + 2], t4);
      t5 = std::fma(a(i + 3, c), w[i + 3], t5);
      y += t4 + t5;
    }
    if (i + 2 <= n) {
      y += a(i, c) * w[i] + a(i + 1, c) * w[i + 1];
      i += 2;
    }
    if (i < n) y += a(i, c) * w[i];
    out[c] = y;
  }
  for (size_t c = m1; c < K; ++c) {
    double t = 0;
    size_t i = 0;
    if (K == 2 || K == 3) {  // OpenBLAS's lda == 2 / lda == 3 paths
      for (; i + 4 <= n; i += 4) {
        t += a(i, c) * w[i] + a(i + 1, c) * w[i + 1];
        t += a(i + 2, c) * w[i + 2] + a(i + 3, c) * w[i + 3];
      }
    }
    for (; i < n; ++i) t += a(i, c) * w[i];
    out[c] = t;
  }
}


std::vector<double> default_weights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n >= 25) {
    size_t m = n - 25;  // numpy.linspace(1/n, 1, m): i * step + start, the last set to stop
    double start = 1.0 / static_cast<double>(n);
    if (m == 1) w[0] = start;
    if (m >= 2) {
      double step = (1.0 - start) / static_cast<double>(m - 1);
      for (size_t i = 0; i < m; ++i) w[i] = static_cast<double>(i) * step + start;
      w[m - 1] = 1.0;
    }
  }
  return w;
}


// Optuna's _calculate_categorical_params: one smoothed one-hot row per component (n observations,
// then the prior's uniform row), each normalised by its numpy sum; p is (n_comp, K) row-major.
void categorical_rows(const std::vector<double>& obs, size_t n, size_t K, bool prior, double prior_weight,
                             std::vector<double>& p) {
  const size_t n_comp = n + (prior ? 1 : 0);
  const double fill = prior ? prior_weight / static_cast<double>(n + 1) : prior_weight / static_cast<double>(n);
  p.assign(n_comp * K, fill);
  for (size_t i = 0; i < n; ++i) p[i * K + static_cast<size_t>(obs[i])] += 1.0;
  for (size_t i = 0; i < n_comp; ++i) {
    const double s = numpy_sum(&p[i * K], K);
    for (size_t c = 0; c < K; ++c) p[i * K + c] /= s;
  }
}

std::vector<double> categorical_log_marginal(const std::vector<double>& obs, const std::vector<double>& weights,
                                             size_t n_choices, const ParzenConfig& config) {
  const size_t n = obs.size();
  const bool prior = config.consider_prior || n == 0;
  std::vector<double> w(weights.begin(), weights.begin() + static_cast<long>(n));
  if (prior) w.push_back(config.prior_weight);
  const double sum = numpy_sum(w.data(), w.size());  // as ParzenEstimator::set_weights
  for (double& x : w) x /= sum;
  std::vector<double> p, out(n_choices);
  categorical_rows(obs, n, n_choices, prior, config.prior_weight, p);
  categorical_inner(p.data(), w.data(), w.size(), n_choices, out.data());
  for (double& v : out) v = std::log(v);
  return out;
}


// ---- multi-objective kernels (optuna/_hypervolume, samplers/_tpe/sampler.py) ----
namespace {

// _compute_2points_volume: |prod(a - b)|, the product left to right
double box_volume(const std::vector<double>& a, const std::vector<double>& b) {
  double p = a[0] - b[0];
  for (size_t k = 1; k < a.size(); ++k) p *= a[k] - b[k];
  return std::fabs(p);
}

// _compute_2d: sorted by (x0 ascending, x1 descending), rectangles against a reference whose
// second coordinate moves down
double hypervolume_2d(const Points& s, std::vector<double> ref) {
  std::vector<size_t> order(s.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (s[a][0] != s[b][0]) return s[a][0] < s[b][0];
    return -s[a][1] < -s[b][1];
  });
  double hv = 0.0;
  for (size_t i : order) {
    if (ref[1] < s[i][1]) continue;
    hv += box_volume(ref, s[i]);
    ref[1] = s[i][1];
  }
  return hv;
}

double wfg_rec(Points s, const std::vector<double>& ref);

// WFG._limit: max(S, p), thinned by a left-to-right scan on the first coordinate's order
Points wfg_limit(const std::vector<double>& p, const Points& s, size_t from) {
  Points lim;
  for (size_t i = from; i < s.size(); ++i) {
    std::vector<double> q(s[i]);
    for (size_t k = 0; k < q.size(); ++k) q[k] = std::max(q[k], p[k]);
    lim.push_back(std::move(q));
  }
  if (lim.size() <= 1) return lim;
  Points out{lim[0]};
  size_t left = 0;
  for (size_t right = 1; right < lim.size(); ++right) {
    bool any_greater = false;
    for (size_t k = 0; k < p.size(); ++k) any_greater |= lim[left][k] > lim[right][k];
    if (any_greater) {
      left = right;
      out.push_back(lim[left]);
    }
  }
  return out;
}

double wfg_rec(Points s, const std::vector<double>& ref) {
  if (ref.size() == 2) return hypervolume_2d(s, ref);
  if (s.size() == 1) return box_volume(s[0], ref);
  if (s.size() == 2) {
    double v = 0.0;
    v += box_volume(s[0], ref);
    v += box_volume(s[1], ref);
    double inter = ref[0] - std::max(s[0][0], s[1][0]);
    for (size_t k = 1; k < ref.size(); ++k) inter *= ref[k] - std::max(s[0][k], s[1][k]);
    return v - inter;
  }
  std::vector<double> x0(s.size());
  for (size_t i = 0; i < s.size(); ++i) x0[i] = s[i][0];
  std::vector<size_t> idx;
  numpy_argsort(x0.data(), x0.size(), idx);
  Points sorted;
  for (size_t i : idx) sorted.push_back(s[i]);
  double v = 0.0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    double e = box_volume(sorted[i], ref);  // _compute_exclusive_hv
    Points lim = wfg_limit(sorted[i], sorted, i + 1);
    if (lim.size() == 1) e -= box_volume(lim[0], ref);
    else if (lim.size() > 1) e -= wfg_rec(std::move(lim), ref);
    v += e;
  }
  return v;
}

}  // namespace

double optuna_hypervolume(const Points& points, const std::vector<double>& reference) {
  return wfg_rec(points, reference);
}

std::vector<int> nondomination_ranks(const Points& points) {
  const size_t n = points.size();
  std::vector<size_t> count(n, 0);
  std::vector<std::vector<size_t>> dominates(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      bool ge = true, gt = false;  // i dominated by j: i >= j everywhere, > somewhere
      for (size_t k = 0; k < points[i].size(); ++k) {
        ge &= points[i][k] >= points[j][k];
        gt |= points[i][k] > points[j][k];
      }
      if (ge && gt) {
        ++count[i];
        dominates[j].push_back(i);
      }
    }
  std::vector<int> rank(n, -1);
  std::vector<size_t> current;
  for (size_t i = 0; i < n; ++i)
    if (count[i] == 0) current.push_back(i);
  for (int r = 0; !current.empty(); ++r) {
    std::vector<size_t> next;
    for (size_t i : current) rank[i] = r;
    for (size_t i : current)
      for (size_t j : dominates[i])
        if (--count[j] == 0) next.push_back(j);
    current = std::move(next);
  }
  return rank;
}

std::vector<double> optuna_reference_point(const Points& points) {
  std::vector<double> ref(points.at(0));
  for (const auto& p : points)
    for (size_t k = 0; k < ref.size(); ++k) ref[k] = std::max(ref[k], p[k]);
  for (double& r : ref) {
    r = std::max(1.1 * r, 0.9 * r);
    if (r == 0) r = kMoEps;
  }
  return ref;
}

std::vector<size_t> hssp(const Points& points, const std::vector<size_t>& ids, size_t k,
                         const std::vector<double>& reference) {
  std::vector<double> contribution(points.size());
  for (size_t i = 0; i < points.size(); ++i) contribution[i] = optuna_hypervolume({points[i]}, reference);
  Points selected_vecs;
  std::vector<size_t> selected;
  double hv_selected = 0.0;
  while (selected.size() < k) {
    size_t best = static_cast<size_t>(std::max_element(contribution.begin(), contribution.end()) - contribution.begin());
    contribution[best] = -1;
    const std::vector<double>& sv = points[best];
    for (size_t j = 0; j < points.size(); ++j) {
      if (contribution[j] == -1) continue;
      std::vector<double> p(sv);
      for (size_t m = 0; m < p.size(); ++m) p[m] = std::max(sv[m], points[j][m]);
      Points with(selected_vecs);
      with.push_back(std::move(p));
      contribution[j] -= optuna_hypervolume(with, reference) - hv_selected;
    }
    selected_vecs.push_back(sv);
    selected.push_back(ids[best]);
    hv_selected = optuna_hypervolume(selected_vecs, reference);
  }
  return selected;
}

std::vector<double> hypervolume_contribution_weights(const Points& points) {
  const size_t n = points.size();
  if (n == 0) return {};
  if (n == 1) return {1.0};
  const std::vector<double> ref = optuna_reference_point(points);
  const double hv = optuna_hypervolume(points, ref);
  std::vector<double> c(n);
  for (size_t i = 0; i < n; ++i) {
    Points rest;
    for (size_t j = 0; j < n; ++j)
      if (j != i) rest.push_back(points[j]);
    c[i] = hv - optuna_hypervolume(rest, ref) + kMoEps;
  }
  const double mx = *std::max_element(c.begin(), c.end());
  for (double& x : c) x = std::clamp(x / mx, 0.0, 1.0);
  return c;
}

}  // namespace hone::tune_detail
