// TPESampler (optuna/samplers/_tpe/sampler.py, Optuna 3.1 defaults).
//
// Speed: Optuna re-reads and re-sorts the whole history for every suggest call, so its cost per
// trial grows linearly (75 ms at 1,000 trials). Here finished trials are read once, through the
// storage's number cursor, into an observation cache: per parameter a column of values and a
// list kept sorted by value. Per trial the below/above split is computed once (partial sort
// for the gamma(n) best); per parameter building the "above" estimator is one linear pass over
// the sorted list, and the candidates are ranked with cheap certified bounds on its density
// (kernels near the candidate summed, the rest bounded by their mass), its exact (windowed)
// density being computed only for candidates the bounds cannot separate.
#include <algorithm>
#include <cmath>
#include <functional>
#include <mutex>
#include <set>
#include <unordered_map>

#include "hone/error.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "tune/samplers/common.h"
#include "tune/samplers/parzen_estimator.h"

namespace hone {
namespace {

using tune_detail::ParzenConfig;
using tune_detail::ParzenDim;
using tune_detail::ParzenEstimator;

using tune_detail::default_weights;
inline double to_t(const Distribution& d, double v) { return tune_detail::to_transformed(d, v); }
inline double from_t(const Distribution& d, double x) { return tune_detail::from_transformed(d, x); }

class TpeSampler final : public Sampler {
 public:
  explicit TpeSampler(const TpeOptions& o) : opt_(o), seed_(tune_detail::seed_or_random(o.seed)) {
    if (o.n_startup_trials < 0) throw_invalid("tpe: n_startup_trials must be >= 0");
    if (o.n_ei_candidates < 1) throw_invalid("tpe: n_ei_candidates must be >= 1");
    if (!(o.prior_weight > 0)) throw_invalid("tpe: prior_weight must be > 0");
    pcfg_.consider_prior = o.consider_prior;
    pcfg_.prior_weight = o.prior_weight;
    pcfg_.consider_magic_clip = o.consider_magic_clip;
    pcfg_.consider_endpoints = o.consider_endpoints;
    pcfg_.normalized_kernels = o.normalized_kernels;
    startup_rs_ = tpe_rs_ = tune_detail::LegacyRandomState(seed_);
  }
  std::string name() const override { return "tpe"; }
  void reseed(uint64_t seed) override {
    std::lock_guard<std::mutex> lock(mu_);
    seed_ = seed;
    startup_rs_ = tpe_rs_ = tune_detail::LegacyRandomState(seed_);
  }

  SearchSpace infer_relative_search_space(const Study& study, const FrozenTrial&) override {
    if (!opt_.multivariate) return {};
    std::lock_guard<std::mutex> lock(mu_);
    refresh(study, -1);
    SearchSpace out;
    for (auto& [k, d] : intersection_)
      if (!d.single()) out.emplace(k, d);
    return out;
  }

  std::map<std::string, double> sample_relative(const Study& study, const FrozenTrial& trial,
                                                const SearchSpace& space) override {
    if (space.empty()) return {};
    std::lock_guard<std::mutex> lock(mu_);
    refresh(study, trial.number);
    size_t n = n_obs();
    if (n < static_cast<size_t>(opt_.n_startup_trials)) return {};
    split(study);
    // Dimensions in suggestion order (the order in which this sampler first saw the names), as
    // Optuna's intersection search space keeps a trial's suggestion order; unseen names last,
    // by name. The order decides which uniforms each dimension draws.
    std::vector<std::string> names;
    for (auto& kv : space) names.push_back(kv.first);
    std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
      auto ia = suggest_order_.find(a), ib = suggest_order_.find(b);
      size_t ra = ia == suggest_order_.end() ? SIZE_MAX : ia->second;
      size_t rb = ib == suggest_order_.end() ? SIZE_MAX : ib->second;
      return ra < rb;
    });
    std::vector<Distribution> dists;
    std::vector<ParzenDim> dims;
    for (auto& k : names) {
      const Distribution& d = space.at(k);
      dists.push_back(d);
      dims.push_back(tune_detail::parzen_dim(d));
    }
    const size_t D = names.size();
    std::vector<const std::vector<double>*> cols(D);
    for (size_t d = 0; d < D; ++d) cols[d] = column(names[d]);
    // Observations that have every parameter of the space, split into below / above in
    // chronological order (liars last-ranked, in above).
    std::vector<std::vector<double>> below(D), above(D);
    auto has_all = [&](size_t id) {
      for (size_t d = 0; d < D; ++d)
        if (!cols[d] || std::isnan((*cols[d])[id])) return false;
      return true;
    };
    for (size_t id : chron_) {
      if (!has_all(id)) continue;
      auto& dst = is_below_[id] ? below : above;
      for (size_t d = 0; d < D; ++d) dst[d].push_back(to_t(dists[d], (*cols[d])[id]));
    }
    for (auto& l : liars_) {
      bool ok = true;
      for (size_t d = 0; d < D; ++d) ok &= l.params.count(names[d]) > 0;
      if (!ok) continue;
      for (size_t d = 0; d < D; ++d) above[d].push_back(to_t(dists[d], l.params.at(names[d])));
    }
    ParzenConfig cfg = pcfg_;
    cfg.multivariate = true;
    ParzenEstimator l(dims, below, default_weights(below[0].size()), cfg);
    ParzenEstimator g(dims, above, default_weights(above[0].size()), cfg);
    Rng rng = tune_detail::trial_rng(seed_, trial.number, "\x01relative");
    std::vector<std::vector<double>> cand;
    l.sample(uniforms(rng), opt_.n_ei_candidates, cand);
    // back-transform (grid, exp) and score in the transformed domain again, as Optuna
    std::vector<double> x(D);
    double best = -INFINITY;
    int best_k = 0;
    for (int k = 0; k < opt_.n_ei_candidates; ++k) {
      for (size_t d = 0; d < D; ++d) {
        cand[d][static_cast<size_t>(k)] = from_t(dists[d], cand[d][static_cast<size_t>(k)]);
        x[d] = to_t(dists[d], cand[d][static_cast<size_t>(k)]);
      }
      double s = l.log_pdf(x.data()) - g.log_pdf(x.data());
      if (s > best) {
        best = s;
        best_k = k;
      }
    }
    std::map<std::string, double> out;
    for (size_t d = 0; d < D; ++d) out[names[d]] = cand[d][static_cast<size_t>(best_k)];
    return out;
  }

  double sample_independent(const Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    suggest_order_.emplace(name, suggest_order_.size());
    Rng rng = tune_detail::trial_rng(seed_, trial.number, name);
    refresh(study, trial.number);
    size_t n = n_obs();
    if (n < static_cast<size_t>(opt_.n_startup_trials))
      return opt_.per_trial_stream ? tune_detail::from_unit(dist, tune_detail::uniform01(rng))
                                   : tune_detail::optuna_random_draw(dist, startup_rs_);
    const std::function<double()> draw = uniforms(rng);
    split(study);
    const std::vector<double>* col = column(name);
    const ParzenDim dim = tune_detail::parzen_dim(dist);
    const std::vector<ParzenDim> dims{dim};

    // below (l): chronological, those having the parameter
    std::vector<std::vector<double>> bvals(1);
    for (size_t id : below_ids_)
      if (col && !std::isnan((*col)[id])) bvals[0].push_back(to_t(dist, (*col)[id]));
    ParzenEstimator l(dims, bvals, default_weights(bvals[0].size()), pcfg_);

    // above (g): the other observations having the parameter plus the liars, weighted by their
    // chronological rank among themselves (Optuna's default_weights over the above group).
    liar_vals_.clear();
    for (auto& lr : liars_) {
      auto it = lr.params.find(name);
      if (it != lr.params.end()) liar_vals_.emplace_back(lr.number, to_t(dist, it->second));
    }
    std::sort(liar_vals_.begin(), liar_vals_.end());
    liar_w_.resize(liar_vals_.size());
    // n_above first, so that each observation's weight (default_weights(n_above) at its
    // chronological rank) is written in the same pass that ranks it: wid_[id], 0 = not above
    size_t n_above = liar_vals_.size();
    if (col) {
      n_above += sorted_.at(name).size();
      for (size_t id : below_ids_) n_above -= !std::isnan((*col)[id]);
    }
    const tune_detail::WeightRamp ramp(n_above);
    size_t li = 0, r = 0;
    if (col) {
      if (wid_.size() < numbers_.size()) wid_.resize(numbers_.size());
      const std::vector<double>& c = *col;
      const char* below = is_below_.data();
      double* wid = wid_.data();
      if (liar_vals_.empty()) {
        for (size_t id : chron_) wid[id] = !below[id] && !std::isnan(c[id]) ? ramp(r++) : 0.0;
      } else {
        for (size_t id : chron_) {
          while (li < liar_vals_.size() && liar_vals_[li].first < numbers_[id]) liar_w_[li++] = ramp(r++);
          wid[id] = !below[id] && !std::isnan(c[id]) ? ramp(r++) : 0.0;
        }
      }
    }
    while (li < liar_vals_.size()) liar_w_[li++] = ramp(r++);

    auto score_candidates = [&](auto&& log_g) {
      std::vector<std::vector<double>> cand;
      l.sample(draw, opt_.n_ei_candidates, cand);
      double best = -INFINITY, best_v = 0;
      bool have = false;
      for (double cnd : cand[0]) {
        // back-transform (grid, exp) and score in the transformed domain again, as Optuna
        double v = from_t(dist, cnd);
        double x = to_t(dist, v);
        double s = l.log_pdf(&x) - log_g(x);
        if (!have || s > best) {
          best = s;
          best_v = v;
          have = true;
        }
      }
      return best_v;
    };

    if (dist.is_categorical()) {
      // The mixture marginal p(c) = sum_k w_k row_k(c) directly from weighted counts.
      const size_t K = dist.n_choices();
      std::vector<double> wc(K, 0.0);
      double wobs = 0;
      if (col)
        for (size_t id : chron_)
          if (wid_[id] != 0) {
            wc[static_cast<size_t>((*col)[id])] += wid_[id];
            wobs += wid_[id];
          }
      for (size_t i = 0; i < liar_vals_.size(); ++i) {
        wc[static_cast<size_t>(liar_vals_[i].second)] += liar_w_[i];
        wobs += liar_w_[i];
      }
      const bool prior = pcfg_.consider_prior || n_above == 0;
      const double fill = pcfg_.prior_weight / static_cast<double>(prior ? n_above + 1 : n_above);
      const double wp = prior ? pcfg_.prior_weight : 0.0, total = wobs + wp;
      std::vector<double> logp(K);
      for (size_t c = 0; c < K; ++c) {
        // observation rows (fill + [c]) / (fill K + 1); the prior row uniform
        double p = (fill * wobs + wc[c]) / (fill * static_cast<double>(K) + 1.0) + wp / static_cast<double>(K);
        logp[c] = std::log(p / total);
      }
      return score_candidates([&](double x) { return logp[static_cast<size_t>(x)]; });
    }

    // numerical: one pass over the value-sorted list; liars (few) merged in by value
    lv_.clear();
    for (size_t i = 0; i < liar_vals_.size(); ++i) lv_.push_back({liar_vals_[i].second, liar_w_[i], i});
    std::stable_sort(lv_.begin(), lv_.end(), [](auto& a, auto& b) { return a.value < b.value; });
    // sizes known in advance: write through indices (this pass runs over the whole history).
    // with_rank: also each value's position in Optuna's chronological "above" array (rank_,
    // liar_rank_).
    auto fill = [&](bool with_rank) {
      avals_.resize(n_above);
      aw_.resize(n_above);
      zc_.resize(n_above);
      if (with_rank) arank_.resize(n_above);
      size_t out = 0, lj = 0;
      if (col) {
        const double* wid = wid_.data();
        for (SortedObs& o : sorted_.at(name)) {
          const double w = wid[o.id];
          if (w == 0) continue;  // below
          while (lj < lv_.size() && lv_[lj].value < o.value) {
            if (with_rank) arank_[out] = liar_rank_[lv_[lj].liar];
            avals_[out] = lv_[lj].value;
            aw_[out] = lv_[lj].weight;
            zc_[out++] = nullptr;
            ++lj;
          }
          if (with_rank) arank_[out] = rank_[o.id];
          avals_[out] = o.value;
          aw_[out] = w;
          zc_[out++] = &o.z;
        }
      }
      for (; lj < lv_.size(); ++lj) {
        if (with_rank) arank_[out] = liar_rank_[lv_[lj].liar];
        avals_[out] = lv_[lj].value;
        aw_[out] = lv_[lj].weight;
        zc_[out++] = nullptr;
      }
      avals_.resize(out);  // == n_above unless a stored value was NaN
      aw_.resize(out);
    };
    fill(false);
    // (the per-trial stream does not reproduce Optuna's trials anyway: it keeps the cheaper
    // stable order, a sort less per parameter)
    if (opt_.per_trial_stream ||
        !tune_detail::SortedParzen1D::tie_order_matters(dim, avals_.data(), aw_.data(), avals_.size(), pcfg_)) {
      g1d_.build(dim, avals_.data(), aw_.data(), avals_.size(), pcfg_, zc_.data());
    } else {
      // Equal values whose order changes the mixture (discrete parameters): build with Optuna's
      // order for them, which needs the chronological ranks (the weight pass's walk again, only
      // here: the hot path does not pay for ranks).
      if (rank_.size() < numbers_.size()) rank_.resize(numbers_.size());
      liar_rank_.resize(liar_vals_.size());
      size_t rk = 0, l2 = 0;
      if (col)
        for (size_t id : chron_) {
          while (l2 < liar_vals_.size() && liar_vals_[l2].first < numbers_[id]) liar_rank_[l2++] = rk++;
          if (!is_below_[id] && !std::isnan((*col)[id])) rank_[id] = rk++;
        }
      while (l2 < liar_vals_.size()) liar_rank_[l2++] = rk++;
      fill(true);
      g1d_.build(dim, avals_.data(), aw_.data(), avals_.size(), pcfg_, zc_.data(), arank_.data());
    }
    if (avals_.size() < kBoundsFrom) return score_candidates([&](double x) { return g1d_.log_pdf(x); });
    return argmax_with_bounds(l, dist, draw);
  }

 private:
  // The uniforms for the candidates: the per-trial stream, or Optuna's TPE stream.
  std::function<double()> uniforms(Rng& rng) {
    if (opt_.per_trial_stream) return [&rng] { return tune_detail::uniform01(rng); };
    return [this] { return tpe_rs_.random_sample(); };
  }

  // Below this many "above" observations every candidate is scored exactly.
  static constexpr size_t kBoundsFrom = 64;

  // The candidate that score_candidates would pick with log_g = g1d_.log_pdf, found with fewer
  // kernel evaluations: every candidate's log g is first bracketed by g1d_.log_pdf_bounds with a
  // narrow window (then a wider one for the candidates still in the running); a candidate whose
  // best possible score is below the best guaranteed score of another cannot be the argmax.
  // The remaining contenders are scored with g1d_.log_pdf exactly as score_candidates does, in
  // candidate order with the same first-maximum rule, so the pick is the same: the bounds hold
  // for the values log_pdf computes (see SortedParzen1D::log_pdf_bounds).
  double argmax_with_bounds(const tune_detail::ParzenEstimator& l, const Distribution& dist,
                            const std::function<double()>& draw) {
    l.sample(draw, opt_.n_ei_candidates, cand_);
    const size_t K = cand_[0].size();
    cv_.resize(K);
    cx_.resize(K);
    cl_.resize(K);
    clo_.resize(K);
    chi_.resize(K);
    alive_.assign(K, 1);
    for (size_t k = 0; k < K; ++k) {
      cv_[k] = from_t(dist, cand_[0][k]);
      cx_[k] = to_t(dist, cv_[k]);
      cl_[k] = l.log_pdf(&cx_[k]);
    }
    size_t n_alive = K;
    for (double radius : {4.0, 6.0}) {
      if (n_alive <= 1) break;
      double best_lo = -INFINITY;
      for (size_t k = 0; k < K; ++k) {
        if (!alive_[k]) continue;
        double glo, ghi;
        g1d_.log_pdf_bounds(cx_[k], radius, glo, ghi);
        clo_[k] = cl_[k] - ghi;  // score bounds
        chi_[k] = cl_[k] - glo;
        if (!std::isfinite(clo_[k]) || !std::isfinite(chi_[k])) {  // no cheap bound: keep all
          clo_[k] = -INFINITY;
          chi_[k] = INFINITY;
        }
        best_lo = std::max(best_lo, clo_[k]);
      }
      n_alive = 0;
      for (size_t k = 0; k < K; ++k) {
        if (alive_[k] && chi_[k] < best_lo) alive_[k] = 0;
        n_alive += alive_[k];
      }
    }
    double best = -INFINITY, best_v = 0;
    bool have = false;
    for (size_t k = 0; k < K; ++k) {
      if (!alive_[k]) continue;
      if (n_alive == 1) return cv_[k];
      double s = cl_[k] - g1d_.log_pdf(cx_[k]);
      if (!have || s > best) {
        best = s;
        best_v = cv_[k];
        have = true;
      }
    }
    return best_v;
  }

  struct Liar {
    int64_t number;
    std::map<std::string, double> params;
  };
  // One observation of a parameter in the value-sorted list: ties ordered by trial number, so
  // that the list is what a stable sort of the chronological values gives.
  struct SortedObs {
    double value;  // transformed domain
    size_t id;
    // Z of its kernel in the last "above" estimator, kept here (in value order) so that the
    // build reads it sequentially
    tune_detail::SortedParzen1D::ZCache z;
  };

  size_t n_obs() const { return numbers_.size(); }
  const std::vector<double>* column(const std::string& name) const {
    auto it = cols_.find(name);
    return it == cols_.end() ? nullptr : &it->second;
  }

  // Reads trials finished since the last call (cursor on trial numbers) into the cache; with
  // constant_liar also the other running trials.
  void refresh(const Study& study, int64_t self_number) {
    auto fresh = study.storage().get_all_trials(study.study_id(), TrialStates::all(), cursor_);
    int sign = study.direction() == Direction::kMinimize ? 1 : -1;
    liars_.clear();
    for (auto& t : fresh) {
      if (t.state == TrialState::kRunning && opt_.constant_liar && t.number != self_number) {
        liars_.push_back({t.number, t.params});
        continue;
      }
      if (!is_finished(t.state) || seen_.count(t.number)) continue;
      seen_.insert(t.number);
      if (t.state == TrialState::kFail) continue;
      if (t.state == TrialState::kComplete && !t.value) continue;
      double key, score;
      if (t.state == TrialState::kComplete) {
        key = -INFINITY;
        score = sign * *t.value;
      } else if (auto last = t.last_intermediate()) {
        key = -static_cast<double>(last->first);
        score = std::isnan(last->second) ? INFINITY : sign * last->second;
      } else {
        key = 1;
        score = 0;
      }
      add_obs(t, key, score);
    }
    while (seen_.count(cursor_)) seen_.erase(cursor_++);
  }

  void add_obs(const FrozenTrial& t, double key, double score) {
    size_t id = numbers_.size();
    numbers_.push_back(t.number);
    keys_.push_back(key);
    scores_.push_back(score);
    is_below_.push_back(0);
    for (auto& [name, col] : cols_) col.push_back(NAN);
    for (auto& [name, v] : t.params) {
      auto it = cols_.find(name);
      if (it == cols_.end()) {
        it = cols_.emplace(name, std::vector<double>(id + 1, NAN)).first;
        sorted_[name];
      }
      it->second[id] = v;
      double tv = to_t(t.distributions.at(name), v);
      auto& s = sorted_[name];
      // ties ordered by trial number (a stable sort of the chronological values)
      auto pos = std::upper_bound(s.begin(), s.end(), tv, [&](double v, const SortedObs& o) {
        return v < o.value || (v == o.value && t.number < numbers_[o.id]);
      });
      s.insert(pos, SortedObs{tv, id, {}});

    }
    // chronological order: append, or insert when trials finished out of order (n_jobs > 1)
    auto pos = std::upper_bound(chron_.begin(), chron_.end(), t.number,
                                [&](int64_t num, size_t other) { return num < numbers_[other]; });
    chron_.insert(pos, id);
    // intersection search space (multivariate)
    if (first_obs_) {
      intersection_ = SearchSpace(t.distributions.begin(), t.distributions.end());
      first_obs_ = false;
    } else {
      for (auto it = intersection_.begin(); it != intersection_.end();) {
        auto f = t.distributions.find(it->first);
        if (f == t.distributions.end() || !(f->second == it->second)) it = intersection_.erase(it);
        else ++it;
      }
    }
    ++version_;
  }

  // The gamma(n) best observations (lexicographic by (key, score), ties by number) -> below.
  void split(const Study&) {
    if (split_version_ == version_) return;
    split_version_ = version_;
    size_t n = n_obs();
    size_t n_below = std::min<size_t>(
        static_cast<size_t>(std::ceil(opt_.gamma_ratio * static_cast<double>(n))),
        static_cast<size_t>(opt_.gamma_max));
    n_below = std::min(n_below, n);
    std::fill(is_below_.begin(), is_below_.end(), 0);
    std::vector<size_t> idx(chron_);  // chronological, so ties resolve by number (stable)
    auto less = [&](size_t a, size_t b) {
      if (keys_[a] != keys_[b]) return keys_[a] < keys_[b];
      if (scores_[a] != scores_[b]) return scores_[a] < scores_[b];
      return numbers_[a] < numbers_[b];
    };
    std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(n_below), idx.end(), less);
    below_ids_.assign(idx.begin(), idx.begin() + static_cast<long>(n_below));
    std::sort(below_ids_.begin(), below_ids_.end(),
              [&](size_t a, size_t b) { return numbers_[a] < numbers_[b]; });
    for (size_t id : below_ids_) is_below_[id] = 1;
  }

  TpeOptions opt_;
  ParzenConfig pcfg_;
  std::mutex mu_;
  uint64_t seed_;
  // Optuna's two numpy streams (TpeOptions::per_trial_stream false): its inner RandomSampler's
  // for the start-up trials and TPESampler._rng for the candidates, both seeded with the seed.
  tune_detail::LegacyRandomState startup_rs_, tpe_rs_;
  std::unordered_map<std::string, size_t> suggest_order_;  // parameter name -> order first suggested
  // observation cache (ids in insertion order)
  int64_t cursor_ = 0;
  std::set<int64_t> seen_;  // finished numbers >= cursor_ already read
  std::vector<int64_t> numbers_;
  std::vector<double> keys_, scores_;
  std::vector<char> is_below_;
  std::vector<size_t> chron_, below_ids_;
  std::unordered_map<std::string, std::vector<double>> cols_;
  std::unordered_map<std::string, std::vector<SortedObs>> sorted_;
  std::vector<Liar> liars_;
  // per-call scratch, kept to avoid reallocating
  std::vector<std::pair<int64_t, double>> liar_vals_;
  struct AboveLiar {  // a liar of the "above" group: value, weight, index in liar_vals_
    double value, weight;
    size_t liar;
  };
  std::vector<AboveLiar> lv_;
  std::vector<double> liar_w_, wid_, avals_, aw_;
  std::vector<size_t> rank_, liar_rank_, arank_;
  std::vector<tune_detail::SortedParzen1D::ZCache*> zc_;
  tune_detail::SortedParzen1D g1d_;
  std::vector<std::vector<double>> cand_;
  std::vector<double> cv_, cx_, cl_, clo_, chi_;
  std::vector<char> alive_;
  SearchSpace intersection_;
  bool first_obs_ = true;
  uint64_t version_ = 0, split_version_ = ~0ull;
};

}  // namespace

std::shared_ptr<Sampler> make_tpe_sampler(const TpeOptions& options) {
  return std::make_shared<TpeSampler>(options);
}

}  // namespace hone
