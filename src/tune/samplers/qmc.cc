// QMCSampler (after optuna/samplers/_qmc.py): low-discrepancy points, one per trial.
// Point index = trial number, so results do not depend on n_jobs. Each parameter name gets the
// next free dimension when first seen. Sobol uses the Joe-Kuo (new-joe-kuo-6.21201) direction
// numbers for dimensions 2..22 (the table as distributed with SciPy); scrambling is a random
// digital shift per dimension. Halton uses the first primes as bases; scrambling permutes the
// non-zero digits per base at random. Dimensions beyond the table fall back to random uniform.
#include <mutex>
#include <unordered_map>

#include "hone/error.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "tune/samplers/common.h"

namespace hone {
namespace {

struct SobolDim {
  unsigned poly;
  std::vector<unsigned> m;
};
// (primitive polynomial incl. leading and trailing bit, initial m_i); dimension 1 is the identity.
const SobolDim kSobol[] = {
    {3, {1}},
    {7, {1, 3}},
    {11, {1, 3, 1}},
    {13, {1, 1, 1}},
    {19, {1, 1, 3, 3}},
    {25, {1, 3, 5, 13}},
    {37, {1, 1, 5, 5, 17}},
    {41, {1, 1, 5, 5, 5}},
    {47, {1, 1, 7, 11, 19}},
    {55, {1, 1, 5, 1, 1}},
    {59, {1, 1, 1, 3, 11}},
    {61, {1, 3, 5, 5, 31}},
    {67, {1, 3, 3, 9, 7, 49}},
    {91, {1, 1, 1, 15, 21, 21}},
    {97, {1, 3, 1, 13, 27, 49}},
    {103, {1, 1, 1, 15, 7, 5}},
    {109, {1, 3, 1, 15, 13, 25}},
    {115, {1, 1, 5, 5, 19, 61}},
    {131, {1, 3, 7, 11, 23, 15, 103}},
    {137, {1, 3, 7, 13, 13, 15, 69}},
    {143, {1, 1, 3, 13, 7, 35, 63}},

};
constexpr int kSobolDims = 1 + static_cast<int>(sizeof(kSobol) / sizeof(kSobol[0]));
constexpr int kBits = 30;
const int kPrimes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131};
constexpr int kHaltonDims = static_cast<int>(sizeof(kPrimes) / sizeof(kPrimes[0]));

std::vector<uint32_t> direction_numbers(int dim) {
  std::vector<uint32_t> v(kBits);
  if (dim == 0) {
    for (int k = 0; k < kBits; ++k) v[static_cast<size_t>(k)] = 1u << (kBits - 1 - k);
    return v;
  }
  const SobolDim& sd = kSobol[dim - 1];
  int s = 0;
  while ((sd.poly >> (s + 1)) != 0) ++s;  // degree
  unsigned a = (sd.poly >> 1) & ((1u << (s - 1)) - 1);  // inner coefficients a_1..a_{s-1}
  std::vector<uint32_t> m(kBits);
  for (int k = 0; k < s && k < kBits; ++k) m[static_cast<size_t>(k)] = sd.m[static_cast<size_t>(k)];
  for (int k = s; k < kBits; ++k) {
    uint32_t x = m[static_cast<size_t>(k - s)] ^ (m[static_cast<size_t>(k - s)] << s);
    for (int j = 1; j < s; ++j)
      if ((a >> (s - 1 - j)) & 1u) x ^= m[static_cast<size_t>(k - j)] << j;
    m[static_cast<size_t>(k)] = x;
  }
  for (int k = 0; k < kBits; ++k) v[static_cast<size_t>(k)] = m[static_cast<size_t>(k)] << (kBits - 1 - k);
  return v;
}

class QmcSampler final : public Sampler {
 public:
  QmcSampler(std::string type, std::optional<uint64_t> seed, bool scramble)
      : type_(std::move(type)), scramble_(scramble), seed_(tune_detail::seed_or_random(seed)) {
    if (type_ != "sobol" && type_ != "halton")
      throw_invalid("qmc sampler: qmc_type must be \"sobol\" or \"halton\", got \"" + type_ + "\"");
  }
  std::string name() const override { return "qmc"; }
  void reseed(uint64_t seed) override {
    std::lock_guard<std::mutex> lock(mu_);
    seed_ = seed;
  }
  double sample_independent(const Study&, const FrozenTrial& trial, const std::string& name,
                            const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = dims_.find(name);
    if (it == dims_.end()) it = dims_.emplace(name, static_cast<int>(dims_.size())).first;
    int dim = it->second;
    auto idx = static_cast<uint64_t>(trial.number);
    double u;
    if (type_ == "sobol" && dim < kSobolDims) {
      const auto& v = directions(dim);
      uint32_t x = 0;
      for (int k = 0; k < kBits && (idx >> k); ++k)
        if ((idx >> k) & 1u) x ^= v[static_cast<size_t>(k)];
      if (scramble_) x ^= static_cast<uint32_t>(derive_seed(seed_, static_cast<uint64_t>(dim)) >> 34);
      u = static_cast<double>(x) / static_cast<double>(1u << kBits);
    } else if (type_ == "halton" && dim < kHaltonDims) {
      const int b = kPrimes[dim];
      const auto& perm = permutation(dim, b);
      double f = 1.0, r = 0.0;
      uint64_t i = idx;
      // Enough digits for double precision even when i is small (scrambled zeros matter).
      for (int k = 0; k < 64 && (i > 0 || (scramble_ && f > 1e-16)); ++k) {
        f /= b;
        r += f * perm[static_cast<size_t>(i % static_cast<uint64_t>(b))];
        i /= static_cast<uint64_t>(b);
      }
      u = r;
    } else {
      Rng rng = tune_detail::trial_rng(seed_, trial.number, name);
      u = tune_detail::uniform01(rng);
    }
    return tune_detail::from_unit(dist, std::min(u, 1.0 - 1e-16));
  }

 private:
  const std::vector<uint32_t>& directions(int dim) {
    auto it = dirs_.find(dim);
    if (it == dirs_.end()) it = dirs_.emplace(dim, direction_numbers(dim)).first;
    return it->second;
  }
  const std::vector<int>& permutation(int dim, int base) {
    auto it = perms_.find(dim);
    if (it == perms_.end()) {
      std::vector<int> p(static_cast<size_t>(base));
      for (int k = 0; k < base; ++k) p[static_cast<size_t>(k)] = k;
      if (scramble_) {
        Rng rng(derive_seed(seed_, 1000 + static_cast<uint64_t>(dim)));
        std::shuffle(p.begin() + 1, p.end(), rng);  // keep 0 -> 0 so the radical inverse stays finite
      }
      it = perms_.emplace(dim, p).first;
    }
    return it->second;
  }

  std::string type_;
  bool scramble_;
  uint64_t seed_;
  std::mutex mu_;
  std::unordered_map<std::string, int> dims_;
  std::unordered_map<int, std::vector<uint32_t>> dirs_;
  std::unordered_map<int, std::vector<int>> perms_;
};

}  // namespace

std::shared_ptr<Sampler> make_qmc_sampler(const std::string& type, std::optional<uint64_t> seed,
                                          bool scramble) {
  return std::make_shared<QmcSampler>(type, seed, scramble);
}

}  // namespace hone
