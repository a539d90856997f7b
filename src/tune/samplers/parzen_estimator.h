// The Parzen estimator of TPE (optuna/samplers/_tpe/parzen_estimator.py, Optuna 3.1): a mixture
// of one component per observation plus a prior component. Numerical dimensions use truncated
// normal kernels on [low, high] (of the transformed domain: log for log params, widened by half a
// step for stepped/int params); categorical dimensions use a smoothed one-hot row.
//
// All values here are in the transformed domain (log already applied by the caller).
// Univariate estimators whose observations arrive sorted (presorted = true) evaluate their log
// density with a window: components whose kernel is below exp(-36) of its peak at x (more than
// 8.5 sigma away) are skipped, which changes the mixture density by less than 1e-12 relative
// but makes the cost depend on the number of nearby components, not on the history.
#pragma once

#include <vector>

#include "hone/random.h"

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

class ParzenEstimator {
 public:
  // obs[d][i]: value of observation i in dimension d (categoricals: the index). weights[i] > 0,
  // unnormalised (default_weights). presorted: univariate and obs[0] ascending.
  ParzenEstimator(const std::vector<ParzenDim>& dims, const std::vector<std::vector<double>>& obs,
                  const std::vector<double>& weights, const ParzenConfig& config,
                  bool presorted = false);
  // n draws; out[d][k]. Numerical draws lie in [low, high] (the caller back-transforms).
  void sample(Rng& rng, int n, std::vector<std::vector<double>>& out) const;
  // log density at x (x[d], transformed, on the grid for stepped dims).
  double log_pdf(const double* x) const;

 private:
  double log_pdf_1d_numeric(double x) const;

  std::vector<ParzenDim> dims_;
  bool normalized_ = false;
  size_t n_comp_ = 0;
  std::vector<double> log_w_, cum_w_;
  // per dimension: numerical mus/sigmas/log normalisers, categorical log-probability rows
  std::vector<std::vector<double>> mus_, sigmas_, log_z_;
  std::vector<std::vector<double>> cat_logp_;   // [d][i*K + c]
  std::vector<double> cat_marginal_logp_;        // univariate categorical: log p(c)
  // windowed univariate numerical evaluation
  bool windowed_ = false;
  std::vector<size_t> narrow_;  // components (sorted by mu) with sigma <= sigma_cut_
  std::vector<double> narrow_mu_, narrow_inv_sigma_, narrow_const_;
  std::vector<double> const_;  // log w - log sigma - log Z - log sqrt(2 pi)
  std::vector<size_t> wide_;
  double sigma_cut_ = 0;
};

}  // namespace hone::tune_detail
