#include "tune/samplers/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>

#include "tune/samplers/common.h"

namespace hone::tune_detail {

namespace {
constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
// A kernel whose mu lies more than kZWindow sigmas inside both bounds has a truncation mass Z
// with 1 - Z <= 2 Phi(-9) < 2.3e-19: Z = 1 to double precision.
constexpr double kZWindow = 9.0;
// Lower bound of every kernel's truncation mass Z = Phi(b) - Phi(a): mu lies in [low, high] and
// sigma <= high - low, so [a, b] contains 0 and has length >= 1, hence Z >= Phi(1) - 1/2.
constexpr double kMinZ = 0.34134474606854293;
// Window radius (in sigmas) tried first by SortedParzen1D::log_pdf; widened when the bound fails.
constexpr double kRadius = 9.5;
constexpr double kLogTol = -40.0;  // neglected mass <= e^-40 of the computed mass

// Gaussian mass of [a, b] (standardised), on the side of the tails that keeps precision.
inline double gauss_mass(double a, double b) {
  if (a >= 0) return 0.5 * (std::erfc(a * M_SQRT1_2) - std::erfc(b * M_SQRT1_2));
  if (b <= 0) return 0.5 * (std::erfc(-b * M_SQRT1_2) - std::erfc(-a * M_SQRT1_2));
  return 1.0 - 0.5 * std::erfc(-a * M_SQRT1_2) - 0.5 * std::erfc(b * M_SQRT1_2);
}

// exp(t) for t <= 0, branch-free so that loops over it vectorise: t = k ln2 + r, |r| <= ln2/2,
// e^r by its degree-12 Taylor polynomial (relative error < 2e-16), 2^k through the exponent
// bits. k is rounded with the 1.5 * 2^52 trick, so no float->int conversion is needed.
inline double exp_nonpos(double t) {
  t = t < -700.0 ? -700.0 : t;
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  double kd = t * 1.4426950408889634 + kMagic;
  int64_t kbits;
  std::memcpy(&kbits, &kd, sizeof kbits);
  kd -= kMagic;
  double r = (t - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int64_t k = kbits - 0x4338000000000000LL;  // bits(kMagic + k) - bits(kMagic) = k
  int64_t bits = (k + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Sigmas of univariate components sorted by mu (Optuna's _calculate_numerical_params): the
// larger gap to a neighbour (bounds as outer neighbours), the extreme components with only their
// inner gap unless consider_endpoints (the caller clips to [min_sigma, range]).
void univariate_sigmas(const double* mu, double* sigma, size_t m, double low, double high,
                       const ParzenConfig& cfg) {
  for (size_t k = 0; k < m; ++k) {
    double left = k > 0 ? mu[k - 1] : low;
    double right = k + 1 < m ? mu[k + 1] : high;
    sigma[k] = std::max(mu[k] - left, right - mu[k]);
  }
  if (!cfg.consider_endpoints && m >= 2) {
    sigma[0] = mu[1] - mu[0];
    sigma[m - 1] = mu[m - 1] - mu[m - 2];
  }
}

// numpy's aheapsort_ (the introsort's fallback) on a[0, n). The sorts below move (value, index)
// pairs where numpy moves indices into the value array: the same comparisons and moves, so the
// same permutation, without the indirect loads.
struct VI {
  double v;
  size_t i;
};
// Sift tmp down from slot i of the heap a[1..n] (numpy's 1-based indexing; slot k is a[k - 1]).
void sift_down(VI* a, size_t i, size_t n, VI tmp) {
  for (size_t j = i << 1; j <= n;) {
    if (j < n && a[j - 1].v < a[j].v) ++j;
    if (!(tmp.v < a[j - 1].v)) break;
    a[i - 1] = a[j - 1];
    i = j;
    j += j;
  }
  a[i - 1] = tmp;
}
void numpy_aheapsort(VI* a, size_t n) {
  for (size_t l = n >> 1; l > 0; --l) sift_down(a, l, n, a[l - 1]);
  for (; n > 1;) {
    VI tmp = a[n - 1];
    a[n - 1] = a[0];
    --n;
    sift_down(a, 1, n, tmp);
  }
}

double min_sigma_of(const ParzenConfig& cfg, double range, size_t m) {
  return cfg.consider_magic_clip ? range / std::min(100.0, 1.0 + static_cast<double>(m)) : 1e-12;
}
}  // namespace

void numpy_argsort(const double* v, size_t n, std::vector<size_t>& idx) {
  idx.resize(n);
  if (n < 2) {
    if (n) idx[0] = 0;
    return;
  }
  thread_local std::vector<VI> buf;
  buf.resize(n);
  for (size_t k = 0; k < n; ++k) buf[k] = {v[k], k};
  constexpr std::ptrdiff_t kSmall = 15;  // numpy's SMALL_QUICKSORT
  VI* t = buf.data();
  std::ptrdiff_t pl = 0, pr = static_cast<std::ptrdiff_t>(n) - 1;
  struct Frame {
    std::ptrdiff_t pl, pr;
    int depth;
  };
  thread_local std::vector<Frame> stack;
  stack.clear();
  int cdepth = 0;
  for (size_t m = n; m >>= 1;) ++cdepth;
  cdepth *= 2;
  for (;;) {
    if (cdepth < 0) {
      numpy_aheapsort(t + pl, static_cast<size_t>(pr - pl + 1));
    } else {
      while (pr - pl > kSmall) {
        std::ptrdiff_t pm = pl + ((pr - pl) >> 1);
        if (t[pm].v < t[pl].v) std::swap(t[pm], t[pl]);
        if (t[pr].v < t[pm].v) std::swap(t[pr], t[pm]);
        if (t[pm].v < t[pl].v) std::swap(t[pm], t[pl]);
        const double vp = t[pm].v;
        std::ptrdiff_t pi = pl, pj = pr - 1;
        std::swap(t[pm], t[pj]);
        for (;;) {
          do ++pi; while (t[pi].v < vp);
          do --pj; while (vp < t[pj].v);
          if (pi >= pj) break;
          std::swap(t[pi], t[pj]);
        }
        std::swap(t[pi], t[pr - 1]);
        --cdepth;
        if (pi - pl < pr - pi) {  // push the larger partition
          stack.push_back({pi + 1, pr, cdepth});
          pr = pi - 1;
        } else {
          stack.push_back({pl, pi - 1, cdepth});
          pl = pi + 1;
        }
      }
      for (std::ptrdiff_t i = pl + 1; i <= pr; ++i) {  // insertion sort
        const VI x = t[i];
        std::ptrdiff_t j = i;
        while (j > pl && x.v < t[j - 1].v) {
          t[j] = t[j - 1];
          --j;
        }
        t[j] = x;
      }
    }
    if (stack.empty()) break;
    pl = stack.back().pl;
    pr = stack.back().pr;
    cdepth = stack.back().depth;
    stack.pop_back();
  }
  for (size_t k = 0; k < n; ++k) idx[k] = buf[k].i;
}

ParzenDim parzen_dim(const Distribution& d) {
  ParzenDim p;
  if (d.is_categorical()) {
    p.categorical = true;
    p.n_choices = static_cast<int>(d.n_choices());
    return p;
  }
  if (d.log()) {
    if (d.kind() == Distribution::Kind::kInteger) {
      p.low = std::log(d.low() - 0.5);
      p.high = std::log(d.high() + 0.5);
    } else {
      p.low = std::log(d.low());
      p.high = std::log(d.high());
    }
  } else if (auto q = d.step()) {
    p.q = *q;
    p.low = d.low() - 0.5 * *q;
    p.high = d.high() + 0.5 * *q;
  } else {
    p.low = d.low();
    p.high = d.high();
  }
  return p;
}

double from_transformed(const Distribution& d, double x) {
  if (d.is_categorical()) return x;
  if (d.log()) {
    if (d.kind() == Distribution::Kind::kInteger) return std::clamp(std::round(std::exp(x)), d.low(), d.high());
    return std::clamp(std::exp(x), d.low(), d.high());
  }
  if (auto q = d.step()) return std::clamp(std::round((x - d.low()) / *q) * *q + d.low(), d.low(), d.high());
  return std::clamp(x, d.low(), d.high());
}

// ---------------------------------------------------------------------------------------------
// ParzenEstimator

ParzenEstimator::ParzenEstimator(const std::vector<ParzenDim>& dims,
                                 const std::vector<std::vector<double>>& obs,
                                 const std::vector<double>& weights, const ParzenConfig& cfg)
    : dims_(dims), normalized_(cfg.normalized_kernels) {
  const size_t n = weights.size();
  const bool prior = cfg.consider_prior || n == 0;
  set_weights(weights, prior, cfg.prior_weight);
  const size_t D = dims.size();
  mus_.assign(D, {});
  sigmas_.assign(D, {});
  log_z_.assign(D, {});
  cat_p_.assign(D, {});
  cat_logp_.assign(D, {});
  double sigma0 = 0;
  if (cfg.multivariate)
    sigma0 = 0.2 * std::pow(static_cast<double>(std::max<size_t>(n, 1)), -1.0 / (static_cast<double>(D) + 4.0));
  for (size_t d = 0; d < D; ++d) {
    if (dims[d].categorical) build_categorical(d, obs[d], n, prior, cfg);
    else build_numerical(d, obs[d], n, prior, sigma0, cfg);
  }
}

// Mixture weights: the observations', then the prior's; normalised, their logs and the cdf
// numpy's choice searches.
void ParzenEstimator::set_weights(const std::vector<double>& weights, bool prior, double prior_weight) {
  n_comp_ = weights.size() + (prior ? 1 : 0);
  w_ = weights;
  if (prior) w_.push_back(prior_weight);
  double sum = numpy_sum(w_.data(), w_.size());
  log_w_.resize(n_comp_);
  cum_w_.resize(n_comp_);
  double acc = 0;
  for (size_t i = 0; i < n_comp_; ++i) {
    w_[i] /= sum;
    log_w_[i] = std::log(w_[i]);
    acc += w_[i];
    cum_w_[i] = acc;
  }
  for (auto& c : cum_w_) c /= acc;
}

// Dimension d categorical: one smoothed one-hot row per component (the prior's uniform).
void ParzenEstimator::build_categorical(size_t d, const std::vector<double>& obs, size_t n, bool prior,
                                        const ParzenConfig& cfg) {
  const size_t K = static_cast<size_t>(dims_[d].n_choices);
  auto& p = cat_p_[d];
  categorical_rows(obs, n, K, prior, cfg.prior_weight, p);
  if (dims_.size() == 1) {  // the mixture marginal, so log_pdf is O(1) (Optuna's fast path)
    cat_marginal_logp_.resize(K);
    categorical_inner(p.data(), w_.data(), n_comp_, K, cat_marginal_logp_.data());
    for (double& v : cat_marginal_logp_) v = std::log(v);
    return;
  }
  auto& lp = cat_logp_[d];  // per component (the joint log_pdf)
  lp.resize(p.size());
  for (size_t i = 0; i < p.size(); ++i) lp[i] = std::log(p[i]);
}

// Dimension d numerical: mus (observations, then the prior at the centre), sigmas (Optuna's
// neighbour gaps univariately, sigma0 * range jointly; clipped; the prior's the range) and the
// kernels' log truncation masses.
void ParzenEstimator::build_numerical(size_t d, const std::vector<double>& obs, size_t n, bool prior, double sigma0,
                                      const ParzenConfig& cfg) {
  const ParzenDim& dim = dims_[d];
  const double low = dim.low, high = dim.high, range = high - low;
  auto& mus = mus_[d];
  auto& sig = sigmas_[d];
  mus.resize(n_comp_);
  sig.resize(n_comp_);
  for (size_t i = 0; i < n; ++i) mus[i] = obs[i];
  if (prior) mus[n] = 0.5 * (low + high);
  if (cfg.multivariate) {
    std::fill(sig.begin(), sig.end(), sigma0 * range);
  } else {
    std::vector<size_t> order;
    numpy_argsort(mus.data(), n_comp_, order);  // Optuna: np.argsort(mus), mus = [obs..., prior]
    std::vector<double> smu(n_comp_), ssig(n_comp_);
    for (size_t k = 0; k < n_comp_; ++k) smu[k] = mus[order[k]];
    univariate_sigmas(smu.data(), ssig.data(), n_comp_, low, high, cfg);
    for (size_t k = 0; k < n_comp_; ++k) sig[order[k]] = ssig[k];
  }
  const double minsigma = min_sigma_of(cfg, range, n_comp_);
  for (auto& s : sig) s = std::clamp(s, minsigma, range);
  if (prior) sig[n] = range;
  auto& lz = log_z_[d];
  lz.resize(n_comp_);
  for (size_t k = 0; k < n_comp_; ++k) {
    double a = (low - mus[k]) / sig[k], b = (high - mus[k]) / sig[k];
    lz[k] = (a < -kZWindow && b > kZWindow) ? 0.0 : log_gauss_mass(a, b);
  }
}

void ParzenEstimator::sample(const std::function<double()>& uniform, int count,
                             std::vector<std::vector<double>>& out) const {
  const size_t n = static_cast<size_t>(count);
  out.assign(dims_.size(), std::vector<double>(n));
  // numpy's choice(p=w): cdf = cumsum(w) / its last entry, searchsorted(cdf, u, side="right")
  thread_local std::vector<size_t> active;
  active.resize(n);
  for (size_t s = 0; s < n; ++s) {
    double u = uniform();
    size_t j = static_cast<size_t>(std::upper_bound(cum_w_.begin(), cum_w_.end(), u) - cum_w_.begin());
    active[s] = std::min(j, n_comp_ - 1);
  }
  for (size_t d = 0; d < dims_.size(); ++d) {
    const ParzenDim& dim = dims_[d];
    for (size_t s = 0; s < n; ++s) {
      const size_t j = active[s];
      const double r = uniform();
      if (dim.categorical) {
        // Optuna: the number of cumulative probabilities below r
        const size_t K = static_cast<size_t>(dim.n_choices);
        double c_acc = 0;
        size_t pick = 0;
        for (size_t c = 0; c < K; ++c) {
          c_acc += cat_p_[d][j * K + c];
          if (c_acc < r) pick = c + 1;
        }
        out[d][s] = static_cast<double>(std::min(pick, K - 1));
      } else {
        const double mu = mus_[d][j], sg = sigmas_[d][j];
        const double x = mu + sg * truncnorm_ppf(r, (dim.low - mu) / sg, (dim.high - mu) / sg);
        out[d][s] = std::clamp(x, dim.low, dim.high);
      }
    }
  }
}

double ParzenEstimator::log_pdf(const double* x) const {
  if (dims_.size() == 1 && dims_[0].categorical) return cat_marginal_logp_[static_cast<size_t>(x[0])];
  thread_local std::vector<double> terms;
  terms.assign(log_w_.begin(), log_w_.end());
  for (size_t d = 0; d < dims_.size(); ++d) {
    const ParzenDim& dim = dims_[d];
    if (dim.categorical) {
      size_t c = static_cast<size_t>(x[d]), K = static_cast<size_t>(dim.n_choices);
      for (size_t k = 0; k < n_comp_; ++k) terms[k] += cat_logp_[d][k * K + c];
      continue;
    }
    const auto& mus = mus_[d];
    const auto& sig = sigmas_[d];
    const auto& lz = log_z_[d];
    for (size_t k = 0; k < n_comp_; ++k) {
      if (dim.q > 0) {
        double lo = std::max(x[d] - 0.5 * dim.q, dim.low), hi = std::min(x[d] + 0.5 * dim.q, dim.high);
        terms[k] += hi <= lo ? -INFINITY : log_gauss_mass((lo - mus[k]) / sig[k], (hi - mus[k]) / sig[k]) - lz[k];
      } else {
        if (x[d] < dim.low || x[d] > dim.high) {
          terms[k] = -INFINITY;
          continue;
        }
        double z = (x[d] - mus[k]) / sig[k];
        terms[k] += -0.5 * z * z - kLogSqrt2Pi - lz[k] - (normalized_ ? std::log(sig[k]) : 0.0);
      }
    }
  }
  double mx = *std::max_element(terms.begin(), terms.end());
  if (!std::isfinite(mx)) return mx;
  double s = 0;
  for (double t : terms) s += std::exp(t - mx);
  return mx + std::log(s);
}

// ---------------------------------------------------------------------------------------------
// SortedParzen1D

bool SortedParzen1D::tie_order_matters(const ParzenDim& dim, const double* values, const double* weights, size_t n,
                                       const ParzenConfig& cfg) {
  const bool prior = cfg.consider_prior || n == 0;
  const double mid = 0.5 * (dim.low + dim.high);
  const double* hit = std::lower_bound(values, values + n, mid);
  if (prior && hit != values + n && *hit == mid) return true;
  for (size_t k = 1; k < n; ++k)
    if (values[k] == values[k - 1] && weights[k] != weights[k - 1]) return true;
  return false;
}

void SortedParzen1D::build(const ParzenDim& dim, const double* values, const double* weights, size_t n,
                           const ParzenConfig& cfg, ZCache* const* cache, const size_t* rank) {
  dim_ = dim;
  normalized_ = cfg.normalized_kernels;
  const bool prior = cfg.consider_prior || n == 0;
  const size_t m = n + (prior ? 1 : 0);
  const double low = dim.low, high = dim.high, range = high - low;
  const size_t pp = place_components(values, weights, n, prior, cfg.prior_weight, rank);
  double wsum = 0;
  for (size_t k = 0; k < m; ++k) wsum += w_[k];
  const double inv_wsum = 1.0 / wsum;
  for (size_t k = 0; k < m; ++k) w_[k] *= inv_wsum;
  univariate_sigmas(mu_.data(), sigma_.data(), m, low, high, cfg);
  min_sigma_ = min_sigma_of(cfg, range, m);
  for (size_t k = 0; k < m; ++k) sigma_[k] = std::clamp(sigma_[k], min_sigma_, range);
  if (prior) sigma_[pp] = range;

  // Bound used by log_pdf: a skipped kernel contributes at most w/Z_min * F * e^{-R^2/2} / 2
  // with F = 1/min_sigma for normalised kernels (else 1); log_floor_ = log(F / (2 Z_min)).
  log_floor_ = std::log(0.5 / kMinZ) - (normalized_ ? std::log(min_sigma_) : 0.0);

  build_tiers(n, cache);
}

// mu_, w_ (unnormalised), src_ in component order: the values as given with the prior inserted
// at its stable position, or (rank) in numpy's argsort order. Returns the prior's position
// (m without a prior).
size_t SortedParzen1D::place_components(const double* values, const double* weights, size_t n, bool prior,
                                        double prior_weight, const size_t* rank) {
  const size_t m = n + (prior ? 1 : 0);
  const double mid = 0.5 * (dim_.low + dim_.high);
  // The prior sits after observations equal to it (a stable argsort of [obs..., prior]).
  size_t pp = prior ? static_cast<size_t>(std::upper_bound(values, values + n, mid) - values) : m;
  mu_.resize(m);
  w_.resize(m);
  sigma_.resize(m);
  src_.resize(m);
  const size_t head = std::min(pp, n);  // observations before the prior
  std::copy(values, values + head, mu_.begin());
  std::copy(weights, weights + head, w_.begin());
  std::iota(src_.begin(), src_.begin() + static_cast<long>(head), size_t{0});
  if (prior) {
    mu_[pp] = mid;
    w_[pp] = prior_weight;
    src_[pp] = n;
    std::copy(values + head, values + n, mu_.begin() + static_cast<long>(pp) + 1);
    std::copy(weights + head, weights + n, w_.begin() + static_cast<long>(pp) + 1);
    std::iota(src_.begin() + static_cast<long>(pp) + 1, src_.end(), head);
  }
  // Equal values get their widths by position in the sorted order (the first of a run the gap
  // below, the last the gap above): the order within a run matters when its components differ
  // (weights, or the prior, whose width is replaced). Then order as numpy's argsort does.
  if (rank) {
    chron_values_.resize(m);
    pos_of_rank_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      chron_values_[rank[i]] = values[i];
      pos_of_rank_[rank[i]] = i;
    }
    if (prior) chron_values_[n] = mid;
    numpy_argsort(chron_values_.data(), m, argsort_perm_);
    for (size_t k = 0; k < m; ++k) {
      const size_t c = argsort_perm_[k];
      if (c == n) {
        pp = k;
        mu_[k] = mid;
        w_[k] = prior_weight;
        src_[k] = n;
      } else {
        src_[k] = pos_of_rank_[c];
        mu_[k] = values[src_[k]];
        w_[k] = weights[src_[k]];
      }
    }
  }
  return pp;
}

// The components into tiers_ (grouped by sigma, equal kernels merged), each with its
// coefficient w / Z (the truncation mass Z read from, or written to, the caller's ZCache).
void SortedParzen1D::build_tiers(size_t n, ZCache* const* cache) {
  const ParzenDim& dim = dim_;
  const size_t m = mu_.size();
  const double low = dim.low, high = dim.high;
  if (tiers_.empty()) tiers_.resize(1);
  for (auto& t : tiers_) {
    t.sigma_max = 0;
    t.mu.clear();
    t.inv_sigma.clear();
    t.coef.clear();
    t.cum.assign(1, 0.0);
  }
  for (auto* v : {&tiers_[0].mu, &tiers_[0].coef, &tiers_[0].cum}) v->reserve(m + 1);
  const double inv_min_sigma = 1.0 / min_sigma_, near = kZWindow;
  tiers_[0].inv0 = inv_min_sigma;
  for (size_t k = 0; k < m; ++k) {
    const double s = sigma_[k], mu = mu_[k];
    const double ratio = s * inv_min_sigma;
    const size_t tier = ratio <= 1.0 + 1e-12 ? 0 : static_cast<size_t>(std::min(std::ilogb(ratio) + 1, 63));
    // (clipped kernels, sigma == min_sigma, are the common case: tier 0)
    if (tiers_.size() <= tier) {
      tiers_.resize(tier + 1);
      for (auto& nt : tiers_)
        if (nt.cum.empty()) nt.cum.assign(1, 0.0);
    }
    Tier& t = tiers_[tier];
    // Z = 1 to double precision unless mu is within kZWindow sigmas of a bound
    double z = 1.0;
    if (mu - low < near * s || high - mu < near * s) {
      ZCache* zc = (cache && src_[k] < n) ? cache[src_[k]] : nullptr;
      if (zc && zc->sigma == s && zc->low == low && zc->high == high) {
        z = zc->z;
      } else {
        z = gauss_mass((low - mu) / s, (high - mu) / s);
        if (zc) *zc = {s, low, high, z};
      }
    }
    double coef = z == 1.0 ? w_[k] : w_[k] / z;
    if (dim.q <= 0) coef *= kInvSqrt2Pi;
    if (normalized_ && dim.q <= 0) coef /= s;  // a cell mass is already a probability
    const double inv = tier == 0 ? inv_min_sigma : 1.0 / s;
    if (!t.mu.empty() && t.mu.back() == mu && (tier == 0 || t.inv_sigma.back() == inv)) {
      t.coef.back() += coef;  // equal kernels: merge
      t.cum.back() += coef;
      continue;
    }
    t.sigma_max = std::max(t.sigma_max, s);
    t.mu.push_back(mu);
    if (tier != 0) t.inv_sigma.push_back(inv);  // tier 0: all 1 / min_sigma
    t.coef.push_back(coef);
    t.cum.push_back(t.cum.back() + coef);
  }
}

// Sum of the kernels of tier t with index in [lo, hi) at x (linear scale).
double SortedParzen1D::tier_sum(const Tier& t, double x, size_t lo, size_t hi) const {
  if (hi <= lo) return 0;
  const size_t cnt = hi - lo;
  if (dim_.q > 0) {
    const double half_q = 0.5 * dim_.q;
    const double clo = std::max(x - half_q, dim_.low), chi = std::min(x + half_q, dim_.high);
    if (chi <= clo) return 0;
    double total = 0;
    for (size_t i = lo; i < hi; ++i)
      total += t.coef[i] * gauss_mass((clo - t.mu[i]) * t.inv(i), (chi - t.mu[i]) * t.inv(i));
    return total;
  }
  // Eight interleaved partial sums (lane j takes the terms i = j mod 8, the tail goes to lane
  // 0): one 8-wide vector of accumulators, no intermediate buffer.
  const double* mu = t.mu.data() + lo;
  const double* c = t.coef.data() + lo;
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  auto run = [&](auto inv_at) {
    for (; i + 8 <= cnt; i += 8) {
      for (int j = 0; j < 8; ++j) {
        const size_t k = i + static_cast<size_t>(j);
        const double z = (x - mu[k]) * inv_at(k);
        acc[j] += c[k] * exp_nonpos(-0.5 * z * z);
      }
    }
    for (; i < cnt; ++i) {
      const double z = (x - mu[i]) * inv_at(i);
      acc[0] += c[i] * exp_nonpos(-0.5 * z * z);
    }
  };
  if (t.inv_sigma.empty()) {
    const double inv0 = t.inv0;
    run([inv0](size_t) { return inv0; });
  } else {
    const double* inv = t.inv_sigma.data() + lo;
    run([inv](size_t k) { return inv[k]; });
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Sum of the kernels (linear scale) whose mu lies within radius * sigma_max(tier) + q/2 of x.
double SortedParzen1D::sum_window(double x, double radius) const {
  const double half_q = 0.5 * dim_.q;
  if (dim_.q > 0 && std::min(x + half_q, dim_.high) <= std::max(x - half_q, dim_.low)) return 0;
  double total = 0;
  for (const Tier& t : tiers_) {
    if (t.mu.empty()) continue;
    const double reach = radius * t.sigma_max + half_q;
    const size_t lo = static_cast<size_t>(std::lower_bound(t.mu.begin(), t.mu.end(), x - reach) - t.mu.begin());
    const size_t hi = static_cast<size_t>(std::upper_bound(t.mu.begin(), t.mu.end(), x + reach) - t.mu.begin());
    total += tier_sum(t, x, lo, hi);
  }
  return total;
}

namespace {
// Smallest i in [0, a] with mu[i] >= v, searching down from a (v <= mu[a] when a < n): the band
// edges lie close to the previous ones, so galloping beats a binary search over the prefix.
inline size_t gallop_down(const double* mu, size_t a, double v) {
  size_t step = 1, hi = a;
  while (hi > 0 && mu[hi - 1] >= v) {
    size_t lo = hi > step ? hi - step : 0;
    if (mu[lo] >= v) {
      hi = lo;
      step *= 2;
    } else {
      return static_cast<size_t>(std::lower_bound(mu + lo, mu + hi, v) - mu);
    }
  }
  return hi;
}
// Smallest i in [b, n] with mu[i] > v, searching up from b.
inline size_t gallop_up(const double* mu, size_t b, size_t n, double v) {
  size_t step = 1, lo = b;
  while (lo < n && mu[lo] <= v) {
    size_t hi = std::min(n, lo + step);
    if (mu[hi - 1] <= v) {
      lo = hi;
      step *= 2;
    } else {
      return static_cast<size_t>(std::upper_bound(mu + lo, mu + hi, v) - mu);
    }
  }
  return lo;
}
}  // namespace

void SortedParzen1D::log_pdf_bounds(double x, double radius, double& lo, double& hi) const {
  constexpr double kMargin = 1e-9;
  constexpr size_t kSmallTier = 48;  // tiers this small are summed over the full window
  if (dim_.q <= 0 && (x < dim_.low || x > dim_.high)) {
    lo = hi = -INFINITY;
    return;
  }
  // Band edges: radius + kEdges[j] sigmas (fine bands first, where most of the bound comes
  // from), and e^{-r^2/2} there, rounded up a little; cached for the last radius.
  static constexpr double kEdges[] = {0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0};
  constexpr int n_bands = static_cast<int>(std::size(kEdges)) - 1;
  thread_local double cached_radius = -1, edge_k[n_bands + 1];
  if (cached_radius != radius) {
    for (int j = 0; j <= n_bands; ++j) {
      const double r = radius + kEdges[j];
      edge_k[j] = std::exp(-0.5 * r * r) * (1 + 1e-12);
    }
    cached_radius = radius;
  }
  const double r_last = std::max(radius + kEdges[n_bands], kRadius);
  const double half_q = 0.5 * dim_.q, kscale = dim_.q > 0 ? 0.5 : 1.0;
  double inner = 0, tail = 0;
  for (const Tier& t : tiers_) {
    if (t.mu.empty()) continue;
    const double* mu = t.mu.data();
    const size_t n = t.mu.size();
    const bool small = n <= kSmallTier;
    const double rad = small ? r_last : radius;
    double reach = rad * t.sigma_max + half_q;
    size_t a = static_cast<size_t>(std::lower_bound(mu, mu + n, x - reach) - mu);
    size_t b = static_cast<size_t>(std::upper_bound(mu, mu + n, x + reach) - mu);
    inner += tier_sum(t, x, a, b);
    double band = 0;
    if (!small) {
      for (int j = 0; j < n_bands && (a > 0 || b < n); ++j) {
        reach = (radius + kEdges[j + 1]) * t.sigma_max + half_q;
        const size_t a2 = gallop_down(mu, a, x - reach), b2 = gallop_up(mu, b, n, x + reach);
        band += ((t.cum[a] - t.cum[a2]) + (t.cum[b2] - t.cum[b])) * edge_k[j];
        a = a2;
        b = b2;
      }
    }
    tail += band + ((t.cum[a] - t.cum[0]) + (t.cum[n] - t.cum[b])) * edge_k[n_bands];
    // rounding of the prefix-sum differences: each cum[i] is within i eps cum[n] of exact
    tail += 64.0 * static_cast<double>(n) * 0x1p-52 * t.cum[n] * edge_k[0];
  }
  tail *= kscale;
  const double up = inner + tail;
  if (!(inner > 1e-290) || !std::isfinite(up)) {  // log_pdf may take its log-space path
    lo = -INFINITY;
    hi = INFINITY;
    return;
  }
  lo = std::log(inner) - kMargin;
  hi = std::log(up) + kMargin;
}

// Error bound. Let S be the full mixture sum and S_W the sum over the window of radius R. A
// skipped kernel k has |x - mu_k| > R sigma_max(tier) + q/2 >= R sigma_k + q/2, so
//   continuous: w_k/Z_k phi(z)(/sigma_k) <= w_k/Z_min * F * e^{-R^2/2} / sqrt(2 pi),
//   stepped:    w_k/Z_k * mass(cell)    <= w_k/Z_min * Phi(-R) <= w_k/Z_min * e^{-R^2/2} / 2,
// with Z_min = Phi(1) - 1/2 (see kMinZ) and F = 1/min_sigma (normalised kernels) or 1. Summing
// over the skipped kernels (sum of w_k <= 1): S - S_W <= exp(log_floor_ - R^2/2). We accept S_W
// when that is <= e^-40 S_W, i.e. log S_W >= log_floor_ - R^2/2 + 40; otherwise the radius that
// satisfies it for the current S_W is used (S_W only grows with R, so the bound then holds).
// The log density is then exact to log(1 + e^-40) < 5e-18 (plus rounding).
double SortedParzen1D::log_pdf(double x) const {
  if (dim_.q <= 0 && (x < dim_.low || x > dim_.high)) return -INFINITY;
  double s = sum_window(x, kRadius);
  double need = log_floor_ - 0.5 * kRadius * kRadius - kLogTol;
  if (!(s > 0) || std::log(s) < need) {
    double r2 = s > 0 ? 2.0 * (log_floor_ - kLogTol - std::log(s)) : INFINITY;
    s = sum_window(x, std::isfinite(r2) ? std::sqrt(r2) : INFINITY);
  }
  if (s > 1e-300) return std::log(s);
  // Every kernel underflows (no prior, x far from all observations): log-sum-exp over all.
  double mx = -INFINITY;
  thread_local std::vector<double> terms;
  terms.clear();
  for (size_t k = 0; k < mu_.size(); ++k) {
    const double a = (dim_.low - mu_[k]) / sigma_[k], b = (dim_.high - mu_[k]) / sigma_[k];
    double t = std::log(w_[k]) - log_gauss_mass(a, b);
    if (dim_.q > 0) {
      double lo = std::max(x - 0.5 * dim_.q, dim_.low), hi = std::min(x + 0.5 * dim_.q, dim_.high);
      t += hi <= lo ? -INFINITY : log_gauss_mass((lo - mu_[k]) / sigma_[k], (hi - mu_[k]) / sigma_[k]);
    } else {
      double z = (x - mu_[k]) / sigma_[k];
      t += -0.5 * z * z - kLogSqrt2Pi - (normalized_ ? std::log(sigma_[k]) : 0.0);
    }
    terms.push_back(t);
    mx = std::max(mx, t);
  }
  if (!std::isfinite(mx)) return mx;
  double sum = 0;
  for (double t : terms) sum += std::exp(t - mx);
  return mx + std::log(sum);
}

}  // namespace hone::tune_detail
