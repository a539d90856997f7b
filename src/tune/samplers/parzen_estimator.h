// The Parzen estimator of TPE (optuna/samplers/_tpe/parzen_estimator.py, Optuna 3.1): a mixture
// of one component per observation plus a prior component. Numerical dimensions use truncated
// normal kernels on [low, high] of the transformed domain (log for log params, widened by half a
// step for stepped/int params); categorical dimensions use a smoothed one-hot row.
//
// Two implementations of the same mixture:
//  * ParzenEstimator: general (any number of dimensions), components in Optuna's order
//    (observations chronologically, then the prior); its internals are exposed so that
//    tests/tune/tpe_golden_test.cc can compare them with Optuna's own to 1e-9.
//  * SortedParzen1D: one numerical dimension with observations given sorted by value; built in
//    one linear pass without transcendental functions for interior components, and evaluated in
//    time proportional to the components near x (see log_pdf below for the error bound). TPE uses
//    it for the "above" estimator g, whose size grows with the history.
//
// Kernels are Optuna 3.1's: its truncnorm.logpdf (samplers/_tpe/_truncnorm.py) computes
// `_norm_logpdf((x - loc) / scale) - _log_gauss_mass(a, b)`, i.e. log phi(z) - log Z WITHOUT the
// -log(scale) of a density, and TPE ranks candidates with it. `normalized_kernels` adds -log sigma.
//
// Ties (equal observation values) are ordered stably (chronologically, the prior after equal
// observations). Optuna sorts with numpy's default argsort, which is stable below 17 elements
// (insertion sort) and not beyond; with ties among more components the sigmas of the tied
// components may be permuted relative to Optuna's.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <vector>

#include "hone/random.h"
#include "hone/tune/distribution.h"

namespace hone::tune_detail {

struct ParzenDim {
  bool categorical = false;
  int n_choices = 0;           // categorical
  double low = 0, high = 0;    // numerical: bounds of the transformed domain
  double q = 0;                // step (0 = continuous)
};

struct ParzenConfig {
  bool consider_prior = true;
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  bool multivariate = false;
  bool normalized_kernels = false;  // false = Optuna 3.1 (no -log sigma in the kernel)
};

// numpy 1.24's np.argsort(v) (default kind: its introsort, aquicksort): not stable for more than
// 16 elements, and Optuna's kernel widths for equal values follow its order, so hone sorts the
// same way where ties matter. idx receives the n indices.
void numpy_argsort(const double* v, size_t n, std::vector<size_t>& idx);

// Transformed-domain description of a distribution (Optuna's _calculate_parzen_bounds).
ParzenDim parzen_dim(const Distribution& d);
// Internal representation -> transformed domain (log for log params) and back (exp, rounding to
// the step grid, clipping: Optuna's _transform_from_uniform).
inline double to_transformed(const Distribution& d, double v) {
  return !d.is_categorical() && d.log() ? std::log(v) : v;
}
double from_transformed(const Distribution& d, double x);
// Optuna's default_weights(n): ones, with numpy.linspace(1/n, 1, n - 25) for the oldest n - 25
// observations once n >= 25 (bit-for-bit numpy's formula i * step + start, last = stop).
std::vector<double> default_weights(size_t n);
// default_weights(n)[r] without the vector, bit for bit.
struct WeightRamp {
  explicit WeightRamp(size_t n)
      : m(n >= 25 ? n - 25 : 0), start(n > 0 ? 1.0 / static_cast<double>(n) : 0.0),
        step(m >= 2 ? (1.0 - start) / static_cast<double>(m - 1) : 0.0) {}
  double operator()(size_t r) const {
    if (r + 1 >= m) return r + 1 == m && m == 1 ? start : 1.0;  // last of the ramp = stop
    return static_cast<double>(r) * step + start;
  }
  size_t m;
  double start, step;
};

// ---- Optuna 3.1's multi-objective TPE kernels, with its arithmetic order (its pick among
// near-equal hypervolume contributions follows the rounding) ----
using Points = std::vector<std::vector<double>>;  // (n, n_objectives) losses (minimised)
constexpr double kMoEps = 1e-12;                  // Optuna's EPS in samplers/_tpe/sampler.py
// optuna._hypervolume.WFG().compute(points, reference) (2-D: its sweep)
double optuna_hypervolume(const Points& points, const std::vector<double>& reference);
// Optuna's _calculate_nondomination_rank: 0 = not dominated, 1 = dominated only by rank 0, ...
std::vector<int> nondomination_ranks(const Points& points);
// max(1.1 * worst, 0.9 * worst) per objective, 0 replaced by kMoEps
std::vector<double> optuna_reference_point(const Points& points);
// Optuna's _solve_hssp: greedy hypervolume subset selection of k of `points` (ids[i] names
// points[i]); the chosen ids in selection order.
std::vector<size_t> hssp(const Points& points, const std::vector<size_t>& ids, size_t k,
                         const std::vector<double>& reference);
// Optuna's below weights: each point's hypervolume contribution (+ kMoEps) over the largest,
// clipped to [0, 1]; {} for none, {1} for one.
std::vector<double> hypervolume_contribution_weights(const Points& points);

// numpy's np.sum of a float64 array (its pairwise summation: 8 accumulators up to 128 elements).
double numpy_sum(const double* a, size_t n);
// Optuna's categorical rows (_calculate_categorical_params): per component (n observations with
// their choice index `obs`, then the prior if any) a one-hot row smoothed by prior_weight / n_comp,
// normalised by its numpy sum; p is (n_comp, K) row-major.
void categorical_rows(const std::vector<double>& obs, size_t n, size_t K, bool prior, double prior_weight,
                      std::vector<double>& p);
// out[c] = sum_i p[i * K + c] * w[i] rounded as Optuna's np.inner(rows.T, weights) on OpenBLAS 0.3
// (numpy_kernels.cc says how).
void categorical_inner(const double* p, const double* w, size_t n, size_t K, double* out);
// log p(c) of the univariate categorical estimator over `obs` (choice indices, in component
// order) with unnormalised `weights`: the value ParzenEstimator(...).log_pdf gives, without
// building the estimator (no per-component logarithms). TPE's g(x) of a categorical.
std::vector<double> categorical_log_marginal(const std::vector<double>& obs, const std::vector<double>& weights,
                                             size_t n_choices, const ParzenConfig& config);

class ParzenEstimator {
 public:
  // obs[d][i]: value of observation i in dimension d, transformed domain (categorical: index),
  // chronological. weights[i] > 0, unnormalised (default_weights).
  ParzenEstimator(const std::vector<ParzenDim>& dims, const std::vector<std::vector<double>>& obs,
                  const std::vector<double>& weights, const ParzenConfig& config);
  // n draws; out[d][k]. Numerical draws lie in [low, high] (the caller back-transforms).
  // Uniforms are taken in Optuna 3.1's order (_ParzenEstimator.sample): n for the components
  // (numpy's choice with p), then n per dimension (truncnorm.rvs's percentiles, or rand(n) for a
  // categorical), so that numpy's stream (LegacyRandomState) yields Optuna's draws.
  void sample(const std::function<double()>& uniform, int n, std::vector<std::vector<double>>& out) const;
  // log density at x (x[d], transformed, on the grid for stepped dims).
  double log_pdf(const double* x) const;

  // Internals in Optuna's order (observations, then the prior): normalised mixture weights;
  // numerical mus/sigmas; categorical probability rows (n_components x n_choices, row-major).
  const std::vector<double>& weights() const { return w_; }
  const std::vector<double>& mus(size_t d) const { return mus_[d]; }
  const std::vector<double>& sigmas(size_t d) const { return sigmas_[d]; }
  const std::vector<double>& categorical_probs(size_t d) const { return cat_p_[d]; }

 private:
  std::vector<ParzenDim> dims_;   // (D,)
  bool normalized_ = false;
  size_t n_comp_ = 0;             // n observations + the prior
  // (n_comp,) normalised component weights, their logs, and their running sum / total (the cdf
  // numpy's choice searches)
  std::vector<double> w_, log_w_, cum_w_;
  // (D, n_comp) numerical dims: kernel centre, width, log truncation mass on [low, high]
  // (empty rows for categorical dims)
  std::vector<std::vector<double>> mus_, sigmas_, log_z_;
  // (D, n_comp * K) categorical dims: row i's probability of choice c at [i * K + c], and its log
  std::vector<std::vector<double>> cat_p_, cat_logp_;
  std::vector<double> cat_marginal_logp_;  // (K,) D == 1 categorical: the mixture's log p(c)

  // Steps of the constructor (n observations; prior: with the prior component).
  void set_weights(const std::vector<double>& weights, bool prior, double prior_weight);
  void build_categorical(size_t d, const std::vector<double>& obs, size_t n, bool prior, const ParzenConfig& cfg);
  void build_numerical(size_t d, const std::vector<double>& obs, size_t n, bool prior, double sigma0,
                       const ParzenConfig& cfg);
};

// Univariate numerical Parzen estimator over observations sorted by value; equal to
// ParzenEstimator with the same observations (in any order with the same tie order) and weights.
// Reusable: build() may be called again; buffers are kept.
class SortedParzen1D {
 public:
  // Truncation mass Z of an observation's kernel, cached by the caller with the observation so
  // that it is recomputed (two erfc) only when the kernel's sigma changed since the last build.
  struct ZCache {
    double sigma = -1, low = 0, high = 0;  // the kernel it was computed for
    double z = 1;
  };
  // values ascending (ties: chronological), weights[i] > 0 unnormalised, transformed domain.
  // cache: null, or n pointers (null entries allowed) to the observations' ZCache.
  // rank: null, or each value's position in the chronological observation array. With it, equal
  // values are ordered as Optuna's np.argsort of [observations chronologically..., prior] orders
  // them (a sort: pass it only when tie_order_matters).
  void build(const ParzenDim& dim, const double* values, const double* weights, size_t n,
             const ParzenConfig& config, ZCache* const* cache = nullptr, const size_t* rank = nullptr);
  // log density at x (transformed, on the grid for stepped dims), to a relative error of the
  // density below e^-40 (about 4e-18) plus rounding.
  double log_pdf(double x) const;
  // Cheap certified bounds lo <= log_pdf(x) <= hi, also holding for the value log_pdf(x)
  // computes (a margin covers its rounding and truncation): the kernels within `radius` sigmas
  // are summed exactly, the others are bounded by their mass in bands of half a sigma. TPE ranks
  // candidates with these and calls log_pdf only for those whose rank the bounds leave open.
  // lo = -inf, hi = +inf when nothing can be said cheaply (underflow).
  void log_pdf_bounds(double x, double radius, double& lo, double& hi) const;
  // Whether build's input has equal values whose order changes the mixture (then pass rank to
  // order them as Optuna does): equal adjacent values of unequal weight, or a value equal to
  // the prior's centre. O(n), no allocation.
  static bool tie_order_matters(const ParzenDim& dim, const double* values, const double* weights, size_t n,
                                const ParzenConfig& config);
  // The components after build (sorted by mu, prior at its stable position): for tests.
  const std::vector<double>& mus() const { return mu_; }
  const std::vector<double>& sigmas() const { return sigma_; }
  const std::vector<double>& weights() const { return w_; }

 private:
  // Components grouped by sigma into tiers of geometrically growing width; within a tier,
  // sorted by mu, with components of equal (mu, sigma) merged.
  struct Tier {
    double sigma_max = 0;
    std::vector<double> mu, inv_sigma, coef;  // coef: w / Z (/ sigma if normalized)
    double inv0 = 0;  // tier 0 (sigma = min_sigma): inv_sigma is empty, every kernel has inv0
    double inv(size_t i) const { return inv_sigma.empty() ? inv0 : inv_sigma[i]; }
    std::vector<double> cum;                  // cum[i] = coef[0] + ... + coef[i-1]
  };
  // Steps of build: components in order (returns the prior's position), then the tiers.
  size_t place_components(const double* values, const double* weights, size_t n, bool prior, double prior_weight,
                          const size_t* rank);
  void build_tiers(size_t n, ZCache* const* cache);
  double sum_window(double x, double radius) const;
  double tier_sum(const Tier& t, double x, size_t lo, size_t hi) const;

  ParzenDim dim_;
  bool normalized_ = false;
  double min_sigma_ = 0, log_floor_ = 0;  // smallest kernel width; log_pdf's error bound (build)
  // (m,) components in order (m = n + the prior): centre, width, normalised weight, and the
  // input index it came from (n = the prior)
  std::vector<double> mu_, sigma_, w_;
  std::vector<size_t> src_;
  // Scratch of the tie-ordering path (rank given): (m,) values in chronological order (prior
  // last), (m,) numpy's argsort of them, (n,) input index of each chronological rank
  std::vector<double> chron_values_;
  std::vector<size_t> argsort_perm_, pos_of_rank_;
  std::vector<Tier> tiers_;  // components by sigma tier (tier 0: sigma == min_sigma_)
};

}  // namespace hone::tune_detail
