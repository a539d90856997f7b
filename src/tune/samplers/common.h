// Helpers shared by the samplers: per-trial random streams, uniform sampling of a
// distribution (Optuna's RandomSampler transforms), and the normal distribution's tails / quantile.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hone/random.h"
#include "hone/tune/distribution.h"
#include "hone/tune/frozen_trial.h"

namespace hone::tune_detail {

inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The random stream for (sampler seed, trial number, purpose): sampling is deterministic per
// trial whatever the order in which threads reach it.
inline Rng trial_rng(uint64_t seed, int64_t number, const std::string& salt) {
  return Rng(derive_seed(derive_seed(seed, static_cast<uint64_t>(number)), fnv1a(salt)));
}

inline uint64_t seed_or_random(std::optional<uint64_t> seed) {
  if (seed) return *seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// Uniform double in [0, 1) with 53 random bits.
inline double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Maps u in [0,1) to the distribution as Optuna's RandomSampler does (internal representation).
inline double from_unit(const Distribution& d, double u) {
  switch (d.kind()) {
    case Distribution::Kind::kCategorical: {
      double k = std::floor(u * static_cast<double>(d.n_choices()));
      return std::min(k, static_cast<double>(d.n_choices() - 1));
    }
    case Distribution::Kind::kInteger: {
      if (d.log()) {
        double lo = std::log(d.low() - 0.5), hi = std::log(d.high() + 0.5);
        double v = std::round(std::exp(lo + u * (hi - lo)));
        return std::clamp(v, d.low(), d.high());
      }
      double q = *d.step();
      double x = d.low() - 0.5 * q + u * (d.high() - d.low() + q);
      double v = std::round((x - d.low()) / q) * q + d.low();
      return std::clamp(v, d.low(), d.high());
    }
    case Distribution::Kind::kReal: {
      if (d.log()) {
        double lo = std::log(d.low()), hi = std::log(d.high());
        return std::clamp(std::exp(lo + u * (hi - lo)), d.low(), d.high());
      }
      if (auto q = d.step()) {
        double x = d.low() - 0.5 * *q + u * (d.high() - d.low() + *q);
        double v = std::round((x - d.low()) / *q) * *q + d.low();
        return std::clamp(v, d.low(), d.high());
      }
      double v = d.low() + u * (d.high() - d.low());
      return v >= d.high() ? std::nextafter(d.high(), d.low()) : v;
    }
  }
  return d.low();
}

// log(Phi(b) - Phi(a)) for a < b, computed on the side of the tail that keeps precision.
inline double log_gauss_mass(double a, double b) {
  if (a >= 0) {  // both in the upper tail: use the complementary CDF
    double m = 0.5 * (std::erfc(a * M_SQRT1_2) - std::erfc(b * M_SQRT1_2));
    return std::log(std::max(m, 1e-300));
  }
  if (b <= 0) {
    double m = 0.5 * (std::erfc(-b * M_SQRT1_2) - std::erfc(-a * M_SQRT1_2));
    return std::log(std::max(m, 1e-300));
  }
  double m = 1.0 - 0.5 * std::erfc(-a * M_SQRT1_2) - 0.5 * std::erfc(b * M_SQRT1_2);
  return std::log(std::max(m, 1e-300));
}

// Inverse standard normal CDF (Wichura's AS 241, PPND16: about 1e-16 relative accuracy).
inline double norm_ppf(double p) {
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  double q = p - 0.5, r, x;
  if (std::fabs(q) <= 0.425) {
    r = 0.180625 - q * q;
    return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
                    45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
                 133.14166789178437745) * r + 3.387132872796366608) /
           (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
                21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r +
             42.313330701600911252) * r + 1.0);
  }
  r = q < 0 ? p : 1 - p;
  r = std::sqrt(-std::log(r));
  if (r <= 5) {
    r -= 1.6;
    x = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
            1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r +
          4.6303378461565452959) * r + 1.42343711074968357734) /
        (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
             0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r +
          2.05319162663775882187) * r + 1.0);
  } else {
    r -= 5;
    x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
            0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r +
          5.4637849111641143699) * r + 6.6579046435011037772) /
        (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
             7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r +
          0.59983220655588793769) * r + 1.0);
  }
  return q < 0 ? -x : x;
}

// numpy's legacy np.random.RandomState(seed): MT19937 seeded by init_genrand (std::mt19937 is
// the same generator) and random_sample()'s 53-bit doubles. Optuna 3.1's RandomSampler and
// TPESampler each draw from one such stream seeded with the sampler's seed, so drawing here in
// their order reproduces their trials for the same seed. Seeds above 2^32 - 1 (which numpy
// refuses) are folded to 32 bits.
class LegacyRandomState {
 public:
  explicit LegacyRandomState(uint64_t seed = 0)
      : mt_(static_cast<uint32_t>(seed <= 0xffffffffull ? seed : seed ^ (seed >> 32))) {}
  double random_sample() {
    const uint32_t a = mt_() >> 5, b = mt_() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  // randint(0, n) / choice(n) for 1 <= n <= 2^32: numpy's masked rejection on 32-bit draws.
  size_t randint(size_t n) {
    if (n <= 1) return 0;
    const uint32_t rng = static_cast<uint32_t>(n - 1);
    uint32_t mask = rng;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    uint32_t v;
    while ((v = static_cast<uint32_t>(mt_()) & mask) > rng) {
    }
    return v;
  }

 private:
  std::mt19937 mt_;
};

// Optuna 3.1's RandomSampler.sample_independent: one uniform draw per coordinate of the
// transformed box (_SearchSpaceTransform: log and step transforms, one-hot categoricals, whose
// choice is the largest coordinate), mapped back as from_unit does.
inline double optuna_random_draw(const Distribution& d, LegacyRandomState& rs) {
  if (d.kind() == Distribution::Kind::kCategorical) {
    size_t best = 0;
    double bv = -1;
    for (size_t c = 0; c < d.n_choices(); ++c) {
      double v = rs.random_sample();
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    return static_cast<double>(best);
  }
  return from_unit(d, rs.random_sample());
}

// A trial's objective values: FrozenTrial::values, or {value} for one objective ({} if none).
inline std::vector<double> trial_values(const FrozenTrial& t) {
  if (!t.values.empty()) return t.values;
  if (t.value) return {*t.value};
  return {};
}

// log Phi(x), as Optuna 3.1's _truncnorm._log_ndtr_single: -Phi(-x) above 6, the log of the
// CDF down to -20, the asymptotic series below.
inline double log_ndtr(double a) {
  auto ndtr = [](double v) {
    double x = v * M_SQRT1_2;
    if (x < -M_SQRT1_2) return 0.5 * std::erfc(-x);
    if (x < M_SQRT1_2) return 0.5 + 0.5 * std::erf(x);
    return 1.0 - 0.5 * std::erfc(x);
  };
  if (a > 6) return -ndtr(-a);
  if (a > -20) return std::log(ndtr(a));
  double log_lhs = -0.5 * a * a - std::log(-a) - 0.5 * std::log(2 * M_PI);
  double last = 0, rhs = 1, num = 1, den = 1, dc = 1 / (a * a);
  int sign = 1;
  for (int i = 1; std::fabs(last - rhs) > 2.220446049250313e-16 && i < 1000; ++i) {
    last = rhs;
    sign = -sign;
    den *= dc;
    num *= 2 * i - 1;
    rhs += sign * num * den;
  }
  return log_lhs + std::log(rhs);
}

// The x with log Phi(x) = y. Optuna bisects log_ndtr; the quantile function gives the same x to
// rounding, on the side of the tail that keeps precision, and bisection remains for y so small
// that exp(y) underflows.
inline double ndtri_exp(double y) {
  if (y < -700) {
    double a = -100, b = 100, m = 0;
    for (int i = 0; i < 100; ++i) {
      m = 0.5 * (a + b);
      (log_ndtr(m) < y ? a : b) = m;
    }
    return m;
  }
  if (y < -M_LN2) return norm_ppf(std::exp(y));
  return -norm_ppf(-std::expm1(y));
}

inline double log_add_exp(double a, double b) {
  if (a == b) return a + M_LN2;
  double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

// Quantile q of the standard normal truncated to [a, b] (Optuna 3.1's _truncnorm.ppf).
inline double truncnorm_ppf(double q, double a, double b) {
  if (q == 0) return a;
  if (q == 1) return b;
  const double lm = log_gauss_mass(a, b);
  if (a < 0) return ndtri_exp(log_add_exp(log_ndtr(a), std::log(q) + lm));
  return -ndtri_exp(log_add_exp(log_ndtr(-b), std::log1p(-q) + lm));
}

}  // namespace hone::tune_detail
