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
constexpr double kWindow = 8.5;  // kernels beyond 8.5 sigma are < exp(-36) of their peak
}  // namespace

ParzenEstimator::ParzenEstimator(const std::vector<ParzenDim>& dims,
                                 const std::vector<std::vector<double>>& obs,
                                 const std::vector<double>& weights, const ParzenConfig& cfg,
                                 bool presorted)
    : dims_(dims), normalized_(cfg.normalized_kernels) {
  const size_t n = weights.size();
  const bool prior = cfg.consider_prior || n == 0;
  n_comp_ = n + (prior ? 1 : 0);
  // Mixture weights: observations' weights, then prior_weight; normalised.
  std::vector<double> w(weights);
  if (prior) w.push_back(cfg.prior_weight);
  double sum = std::accumulate(w.begin(), w.end(), 0.0);
  log_w_.resize(n_comp_);
  cum_w_.resize(n_comp_);
  double acc = 0;
  for (size_t i = 0; i < n_comp_; ++i) {
    w[i] /= sum;
    log_w_[i] = std::log(w[i]);
    acc += w[i];
    cum_w_[i] = acc;
  }
  const size_t D = dims.size();
  mus_.assign(D, {});
  sigmas_.assign(D, {});
  log_z_.assign(D, {});
  cat_logp_.assign(D, {});
  double sigma0 = 0;
  if (cfg.multivariate)
    sigma0 = 0.2 * std::pow(static_cast<double>(std::max<size_t>(n, 1)), -1.0 / (static_cast<double>(D) + 4.0));

  for (size_t d = 0; d < D; ++d) {
    const ParzenDim& dim = dims[d];
    if (dim.categorical) {
      const int K = dim.n_choices;
      double fill = prior ? cfg.prior_weight / static_cast<double>(n + 1)
                          : cfg.prior_weight / static_cast<double>(n);
      auto& rows = cat_logp_[d];
      rows.assign(n_comp_ * static_cast<size_t>(K), 0.0);
      double denom_obs = fill * K + 1.0, denom_prior = fill * K;
      for (size_t i = 0; i < n_comp_; ++i) {
        bool is_prior = prior && i == n;
        int c_obs = is_prior ? -1 : static_cast<int>(obs[d][i]);
        for (int c = 0; c < K; ++c) {
          double v = is_prior ? fill / denom_prior : (fill + (c == c_obs ? 1.0 : 0.0)) / denom_obs;
          rows[i * static_cast<size_t>(K) + static_cast<size_t>(c)] = std::log(v);
        }
      }
      if (D == 1) {  // the mixture marginal, so log_pdf is O(1)
        cat_marginal_logp_.assign(static_cast<size_t>(K), 0.0);
        for (int c = 0; c < K; ++c) {
          double p = 0;
          for (size_t i = 0; i < n_comp_; ++i)
            p += std::exp(log_w_[i] + rows[i * static_cast<size_t>(K) + static_cast<size_t>(c)]);
          cat_marginal_logp_[static_cast<size_t>(c)] = std::log(p);
        }
      }
      continue;
    }
    const double low = dim.low, high = dim.high, range = high - low;
    auto& mus = mus_[d];
    auto& sig = sigmas_[d];
    mus.resize(n_comp_);
    sig.resize(n_comp_);
    for (size_t i = 0; i < n; ++i) mus[i] = obs[d][i];
    if (prior) mus[n] = 0.5 * (low + high);
    if (cfg.multivariate) {
      std::fill(sig.begin(), sig.end(), sigma0 * range);
    } else {
      // Gap to the farther neighbour in the sorted list (prior included), padded with the bounds.
      std::vector<size_t> order(n_comp_);
      std::iota(order.begin(), order.end(), 0);
      if (presorted && prior) {
        // observations are sorted; only the prior needs placing
        size_t pos = static_cast<size_t>(std::lower_bound(mus.begin(), mus.begin() + static_cast<long>(n), mus[n]) - mus.begin());
        for (size_t k = 0; k < n_comp_; ++k) order[k] = k < pos ? k : (k == pos ? n : k - 1);
      } else if (!presorted) {
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus[a] < mus[b]; });
      }
      const size_t m = n_comp_;
      for (size_t k = 0; k < m; ++k) {
        double left = k > 0 ? mus[order[k - 1]] : low;
        double right = k + 1 < m ? mus[order[k + 1]] : high;
        double x = mus[order[k]];
        sig[order[k]] = std::max(x - left, right - x);
      }
      if (!cfg.consider_endpoints && m >= 2) {
        sig[order[0]] = mus[order[1]] - mus[order[0]];
        sig[order[m - 1]] = mus[order[m - 1]] - mus[order[m - 2]];
      }
      if (presorted) {
        // keep component arrays sorted by mu for the windowed evaluation
        std::vector<double> m2(m), s2(m), lw2(m);
        for (size_t k = 0; k < m; ++k) {
          m2[k] = mus[order[k]];
          s2[k] = sig[order[k]];
          lw2[k] = log_w_[order[k]];
        }
        mus.swap(m2);
        sig.swap(s2);
        log_w_.swap(lw2);
        acc = 0;
        for (size_t k = 0; k < m; ++k) {
          acc += std::exp(log_w_[k]);
          cum_w_[k] = acc;
        }
      }
    }
    double maxsigma = range;
    double minsigma = cfg.consider_magic_clip
                          ? range / std::min(100.0, 1.0 + static_cast<double>(n_comp_))
                          : 1e-12;
    for (auto& s : sig) s = std::clamp(s, minsigma, maxsigma);
    if (prior) {
      // the prior component keeps sigma = range (presorted: it sits at its sorted position)
      double pm = 0.5 * (low + high);
      if (!presorted) {
        sig[n] = range;
      } else {
        size_t pos = static_cast<size_t>(std::lower_bound(obs[d].begin(), obs[d].end(), pm) - obs[d].begin());
        sig[pos] = range;  // the prior was inserted at this sorted position
      }
    }
    auto& lz = log_z_[d];
    lz.resize(n_comp_);
    for (size_t k = 0; k < n_comp_; ++k) {
      double a = (low - mus[k]) / sig[k], b = (high - mus[k]) / sig[k];
      lz[k] = (a < -kWindow && b > kWindow) ? 0.0 : log_gauss_mass(a, b);
    }
    if (presorted && D == 1) {
      windowed_ = true;
      sigma_cut_ = 2.0 * minsigma;
      const_.resize(n_comp_);
      for (size_t k = 0; k < n_comp_; ++k) const_[k] = log_w_[k] - (normalized_ ? std::log(sig[k]) : 0.0) - lz[k] - kLogSqrt2Pi;
      for (size_t k = 0; k < n_comp_; ++k) {
        if (sig[k] <= sigma_cut_) {
          narrow_.push_back(k);
          narrow_mu_.push_back(mus[k]);
          narrow_inv_sigma_.push_back(1.0 / sig[k]);
          narrow_const_.push_back(const_[k]);
        } else {
          wide_.push_back(k);
        }
      }
    }
  }
}

void ParzenEstimator::sample(Rng& rng, int count, std::vector<std::vector<double>>& out) const {
  out.assign(dims_.size(), std::vector<double>(static_cast<size_t>(count)));
  for (int s = 0; s < count; ++s) {
    double u = uniform01(rng) * cum_w_.back();
    size_t j = static_cast<size_t>(std::upper_bound(cum_w_.begin(), cum_w_.end(), u) - cum_w_.begin());
    if (j >= n_comp_) j = n_comp_ - 1;
    for (size_t d = 0; d < dims_.size(); ++d) {
      const ParzenDim& dim = dims_[d];
      if (dim.categorical) {
        const int K = dim.n_choices;
        double r = uniform01(rng), c_acc = 0;
        int pick = K - 1;
        for (int c = 0; c < K; ++c) {
          c_acc += std::exp(cat_logp_[d][j * static_cast<size_t>(K) + static_cast<size_t>(c)]);
          if (r < c_acc) {
            pick = c;
            break;
          }
        }
        out[d][static_cast<size_t>(s)] = pick;
      } else {
        double mu = mus_[d][j], sg = sigmas_[d][j];
        double pa = norm_cdf((dim.low - mu) / sg), pb = norm_cdf((dim.high - mu) / sg);
        double p = pa + uniform01(rng) * (pb - pa);
        double x = mu + sg * norm_ppf(std::clamp(p, 1e-300, 1.0 - 1e-16));
        out[d][static_cast<size_t>(s)] = std::clamp(x, dim.low, dim.high);
      }
    }
  }
}

// Optuna 3.1's truncated-normal logpdf (samplers/_tpe/_truncnorm.py) returns log phi(z) - log Z
// without the -log(sigma) of a density; its TPE ranks candidates with these kernels, and so does
// hone by default (scale_log = 0). TpeOptions::normalized_kernels adds the -log(sigma).
static inline double log_kernel(const ParzenDim& dim, double mu, double sg, double lz, double x,
                                double scale_log) {
  if (dim.q > 0) {
    double lo = std::max(x - 0.5 * dim.q, dim.low), hi = std::min(x + 0.5 * dim.q, dim.high);
    if (hi <= lo) return -INFINITY;
    return log_gauss_mass((lo - mu) / sg, (hi - mu) / sg) - lz;
  }
  double z = (x - mu) / sg;
  return -0.5 * z * z - kLogSqrt2Pi - scale_log - lz;
}

// exp(t) for t <= 0, branch-free so the loops below vectorise: t = k ln2 + r, |r| <= ln2/2,
// e^r by its degree-12 Taylor polynomial (error < 2e-16 relative), 2^k through the exponent bits.
static inline double exp_nonpos(double t) {
  t = t < -700.0 ? -700.0 : t;
  double k = std::nearbyint(t * 1.4426950408889634);
  double r = (t - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
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
  int64_t bits = (static_cast<int64_t>(k) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

double ParzenEstimator::log_pdf_1d_numeric(double x) const {
  const ParzenDim& dim = dims_[0];
  double half = kWindow * sigma_cut_ + 0.5 * dim.q;
  size_t lo = static_cast<size_t>(std::lower_bound(narrow_mu_.begin(), narrow_mu_.end(), x - half) - narrow_mu_.begin());
  size_t hi = static_cast<size_t>(std::upper_bound(narrow_mu_.begin(), narrow_mu_.end(), x + half) - narrow_mu_.begin());
  thread_local std::vector<double> terms;
  const size_t n_narrow = hi - lo, n = n_narrow + wide_.size();
  terms.resize(n);
  double* tp = terms.data();
  if (dim.q > 0) {
    const auto& mus = mus_[0];
    const auto& sig = sigmas_[0];
    const auto& lz = log_z_[0];
    for (size_t i = lo; i < hi; ++i) {
      size_t k = narrow_[i];
      tp[i - lo] = log_w_[k] + log_kernel(dim, mus[k], sig[k], lz[k], x, normalized_ ? std::log(sig[k]) : 0.0);
    }
    for (size_t j = 0; j < wide_.size(); ++j) {
      size_t k = wide_[j];
      tp[n_narrow + j] = log_w_[k] + log_kernel(dim, mus[k], sig[k], lz[k], x, normalized_ ? std::log(sig[k]) : 0.0);
    }
  } else {
    // continuous: term = c_k - z^2/2 with the per-component constant precomputed
    const double* mu = narrow_mu_.data() + lo;
    const double* inv = narrow_inv_sigma_.data() + lo;
    const double* c = narrow_const_.data() + lo;
    for (size_t i = 0; i < n_narrow; ++i) {
      double z = (x - mu[i]) * inv[i];
      tp[i] = c[i] - 0.5 * z * z;
    }
    for (size_t j = 0; j < wide_.size(); ++j) {
      size_t k = wide_[j];
      double z = (x - mus_[0][k]) / sigmas_[0][k];
      tp[n_narrow + j] = const_[k] - 0.5 * z * z;
    }
  }
  double mx = -INFINITY;
  for (size_t i = 0; i < n; ++i) mx = std::max(mx, tp[i]);
  if (!std::isfinite(mx)) return mx;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += exp_nonpos(tp[i] - mx);
  return mx + std::log(sum);
}

double ParzenEstimator::log_pdf(const double* x) const {
  if (dims_.size() == 1 && dims_[0].categorical)
    return cat_marginal_logp_[static_cast<size_t>(x[0])];
  if (windowed_) return log_pdf_1d_numeric(x[0]);
  thread_local std::vector<double> terms;
  terms.assign(n_comp_, 0.0);
  for (size_t k = 0; k < n_comp_; ++k) terms[k] = log_w_[k];
  for (size_t d = 0; d < dims_.size(); ++d) {
    const ParzenDim& dim = dims_[d];
    if (dim.categorical) {
      size_t c = static_cast<size_t>(x[d]), K = static_cast<size_t>(dim.n_choices);
      for (size_t k = 0; k < n_comp_; ++k) terms[k] += cat_logp_[d][k * K + c];
    } else {
      for (size_t k = 0; k < n_comp_; ++k)
        terms[k] += log_kernel(dim, mus_[d][k], sigmas_[d][k], log_z_[d][k], x[d],
                               normalized_ ? std::log(sigmas_[d][k]) : 0.0);
    }
  }
  double mx = *std::max_element(terms.begin(), terms.end());
  if (!std::isfinite(mx)) return mx;
  double s = 0;
  for (double t : terms) s += std::exp(t - mx);
  return mx + std::log(s);
}

}  // namespace hone::tune_detail
