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
    std::vector<double> below_w;
    auto has_all = [&](size_t id) {
      for (size_t d = 0; d < D; ++d)
        if (!cols[d] || std::isnan((*cols[d])[id])) return false;
      return true;
    };
    for (size_t k = 0; k < below_ids_.size(); ++k) {  // in Optuna's order (chronological for one objective)
      const size_t id = below_ids_[k];
      if (!has_all(id)) continue;
      for (size_t d = 0; d < D; ++d) below[d].push_back(to_t(dists[d], (*cols[d])[id]));
      if (!below_w_.empty()) below_w.push_back(below_w_[k]);
    }
    if (below_w_.empty()) below_w = default_weights(below[0].size());
    for (size_t id : chron_) {
      if (is_below_[id] || !has_all(id)) continue;
      for (size_t d = 0; d < D; ++d) above[d].push_back(to_t(dists[d], (*cols[d])[id]));
    }
    for (auto& l : liars_) {
      bool ok = true;
      for (size_t d = 0; d < D; ++d) ok &= l.params.count(names[d]) > 0;
      if (!ok) continue;
      for (size_t d = 0; d < D; ++d) above[d].push_back(to_t(dists[d], l.params.at(names[d])));
    }
    ParzenConfig cfg = pcfg_;
    cfg.multivariate = true;
    ParzenEstimator l(dims, below, below_w, cfg);
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

  // Optuna's univariate TPE for one parameter: l(x) from the below observations, g(x) from the
  // above ones and the running trials' liars, and the candidate drawn from l with the largest
  // log l(x) - log g(x).
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
    const ParzenEstimator l = below_estimator(col, dist, dim);
    const size_t n_above = weigh_above(name, col, dist);
    if (dist.is_categorical()) {
      const std::vector<double> log_g = above_categorical_log_pmf(col, dist.n_choices());
      return best_candidate(l, dist, draw, [&](double x) { return log_g[static_cast<size_t>(x)]; });
    }
    build_above_estimator(name, col, dim, n_above);
    if (above_values_.size() < kBoundsFrom)
      return best_candidate(l, dist, draw, [&](double x) { return above_estimator_.log_pdf(x); });
    return argmax_with_bounds(l, dist, draw);
  }

 private:
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

  // l(x) of sample_independent: the below observations having the parameter, in below_ids_'s
  // order, with default_weights (one objective) or their below_w_ (several objectives).
  ParzenEstimator below_estimator(const std::vector<double>* col, const Distribution& dist,
                                  const ParzenDim& dim) const {
    std::vector<std::vector<double>> below_values(1);
    std::vector<double> w;
    for (size_t k = 0; k < below_ids_.size(); ++k) {
      const size_t id = below_ids_[k];
      if (!col || std::isnan((*col)[id])) continue;
      below_values[0].push_back(to_t(dist, (*col)[id]));
      if (!below_w_.empty()) w.push_back(below_w_[k]);
    }
    if (below_w_.empty()) w = default_weights(below_values[0].size());
    return ParzenEstimator({dim}, below_values, w, pcfg_);
  }

  // Weights of g(x)'s observations: the above observations having the parameter plus the liars,
  // weighted by their chronological rank among themselves (Optuna's default_weights over the
  // above group). Fills above_liars_, above_liar_weight_ and above_weight_by_id_; returns the
  // size of the above group. n_above comes first, so that each observation's weight
  // (default_weights(n_above) at its chronological rank) is written in the same pass that
  // ranks it.
  size_t weigh_above(const std::string& name, const std::vector<double>* col, const Distribution& dist) {
    above_liars_.clear();
    for (auto& lr : liars_) {
      auto it = lr.params.find(name);
      if (it != lr.params.end()) above_liars_.emplace_back(lr.number, to_t(dist, it->second));
    }
    std::sort(above_liars_.begin(), above_liars_.end());
    above_liar_weight_.resize(above_liars_.size());
    size_t n_above = above_liars_.size();
    if (col) {
      n_above += sorted_.at(name).size();
      for (size_t id : below_ids_) n_above -= !std::isnan((*col)[id]);
    }
    const tune_detail::WeightRamp ramp(n_above);
    size_t li = 0, r = 0;
    if (col) {
      if (above_weight_by_id_.size() < numbers_.size()) above_weight_by_id_.resize(numbers_.size());
      const std::vector<double>& c = *col;
      const char* below = is_below_.data();
      double* wid = above_weight_by_id_.data();
      if (above_liars_.empty()) {
        for (size_t id : chron_) wid[id] = !below[id] && !std::isnan(c[id]) ? ramp(r++) : 0.0;
      } else {
        for (size_t id : chron_) {
          while (li < above_liars_.size() && above_liars_[li].first < numbers_[id])
            above_liar_weight_[li++] = ramp(r++);
          wid[id] = !below[id] && !std::isnan(c[id]) ? ramp(r++) : 0.0;
        }
      }
    }
    while (li < above_liars_.size()) above_liar_weight_[li++] = ramp(r++);
    return n_above;
  }

  // log g(c) of a categorical parameter: Optuna's estimator over the above observations and liars
  // having it, chronologically, with default_weights (its probabilities rounded as Optuna's, so
  // that mathematically tied categories are told apart as Optuna tells them apart). Needs
  // weigh_above's above_liars_.
  std::vector<double> above_categorical_log_pmf(const std::vector<double>* col, size_t n_choices) const {
    std::vector<std::vector<double>> values(1);
    size_t li = 0;
    if (col)
      for (size_t id : chron_) {
        while (li < above_liars_.size() && above_liars_[li].first < numbers_[id])
          values[0].push_back(above_liars_[li++].second);
        if (!is_below_[id] && !std::isnan((*col)[id])) values[0].push_back((*col)[id]);
      }
    while (li < above_liars_.size()) values[0].push_back(above_liars_[li++].second);
    return tune_detail::categorical_log_marginal(values[0], default_weights(values[0].size()), n_choices, pcfg_);
  }

  // g(x) of a numerical parameter into above_estimator_: the above observations and liars in
  // value order (gather_above), with Optuna's order for equal values where it changes the
  // mixture.
  void build_above_estimator(const std::string& name, const std::vector<double>* col, const ParzenDim& dim,
                             size_t n_above) {
    std::vector<SortedObs>* sorted = col ? &sorted_.at(name) : nullptr;
    liars_by_value_.clear();
    for (size_t i = 0; i < above_liars_.size(); ++i)
      liars_by_value_.push_back({above_liars_[i].second, above_liar_weight_[i], i});
    std::stable_sort(liars_by_value_.begin(), liars_by_value_.end(),
                     [](auto& a, auto& b) { return a.value < b.value; });
    gather_above(sorted, n_above, false);
    // (the per-trial stream does not reproduce Optuna's trials anyway: it keeps the cheaper
    // stable order, a sort less per parameter)
    if (opt_.per_trial_stream ||
        !tune_detail::SortedParzen1D::tie_order_matters(dim, above_values_.data(), above_weights_.data(),
                                                        above_values_.size(), pcfg_)) {
      above_estimator_.build(dim, above_values_.data(), above_weights_.data(), above_values_.size(), pcfg_,
                             above_zcache_.data());
      return;
    }
    // Equal values whose order changes the mixture (discrete parameters): build with Optuna's
    // order for them, which needs the chronological ranks (the weight pass's walk again, only
    // here: the hot path does not pay for ranks).
    rank_above_chronologically(col);
    gather_above(sorted, n_above, true);
    above_estimator_.build(dim, above_values_.data(), above_weights_.data(), above_values_.size(), pcfg_,
                           above_zcache_.data(), above_chron_rank_.data());
  }

  // Each above observation's and liar's position in Optuna's chronological "above" array, into
  // chron_rank_by_id_ and liar_chron_rank_ (weigh_above's walk, recording ranks).
  void rank_above_chronologically(const std::vector<double>* col) {
    if (chron_rank_by_id_.size() < numbers_.size()) chron_rank_by_id_.resize(numbers_.size());
    liar_chron_rank_.resize(above_liars_.size());
    size_t rk = 0, l2 = 0;
    if (col)
      for (size_t id : chron_) {
        while (l2 < above_liars_.size() && above_liars_[l2].first < numbers_[id]) liar_chron_rank_[l2++] = rk++;
        if (!is_below_[id] && !std::isnan((*col)[id])) chron_rank_by_id_[id] = rk++;
      }
    while (l2 < above_liars_.size()) liar_chron_rank_[l2++] = rk++;
  }

  // The above group in value order, into above_values_, above_weights_, above_zcache_ (and
  // with_rank: above_chron_rank_): one pass over the parameter's value-sorted list (`sorted`,
  // null if no finished trial has the parameter), the liars (few) merged in by value. Sizes are
  // known in advance, so it writes through indices (this pass runs over the whole history).
  void gather_above(std::vector<SortedObs>* sorted, size_t n_above, bool with_rank) {
    above_values_.resize(n_above);
    above_weights_.resize(n_above);
    above_zcache_.resize(n_above);
    if (with_rank) above_chron_rank_.resize(n_above);
    size_t out = 0, lj = 0;
    auto put_liar = [&] {
      if (with_rank) above_chron_rank_[out] = liar_chron_rank_[liars_by_value_[lj].liar];
      above_values_[out] = liars_by_value_[lj].value;
      above_weights_[out] = liars_by_value_[lj].weight;
      above_zcache_[out++] = nullptr;
      ++lj;
    };
    if (sorted) {
      const double* wid = above_weight_by_id_.data();
      for (SortedObs& o : *sorted) {
        const double w = wid[o.id];
        if (w == 0) continue;  // below
        while (lj < liars_by_value_.size() && liars_by_value_[lj].value < o.value) put_liar();
        if (with_rank) above_chron_rank_[out] = chron_rank_by_id_[o.id];
        above_values_[out] = o.value;
        above_weights_[out] = w;
        above_zcache_[out++] = &o.z;
      }
    }
    while (lj < liars_by_value_.size()) put_liar();
    above_values_.resize(out);  // == n_above unless a stored value was NaN
    above_weights_.resize(out);
  }

  // Optuna's pick: n_ei_candidates draws from l, each back-transformed (grid, exp) and scored in
  // the transformed domain again, log l(x) - log_g(x); the first maximum wins.
  template <class LogG>
  double best_candidate(const ParzenEstimator& l, const Distribution& dist, const std::function<double()>& draw,
                        LogG&& log_g) {
    std::vector<std::vector<double>> cand;
    l.sample(draw, opt_.n_ei_candidates, cand);
    double best = -INFINITY, best_v = 0;
    bool have = false;
    for (double cnd : cand[0]) {
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
  }

  // The uniforms for the candidates: the per-trial stream, or Optuna's TPE stream.
  std::function<double()> uniforms(Rng& rng) {
    if (opt_.per_trial_stream) return [&rng] { return tune_detail::uniform01(rng); };
    return [this] { return tpe_rs_.random_sample(); };
  }

  // Below this many "above" observations every candidate is scored exactly.
  static constexpr size_t kBoundsFrom = 64;

  // The candidate that best_candidate would pick with log_g = above_estimator_.log_pdf, found
  // with fewer kernel evaluations: every candidate's log g is first bracketed by
  // above_estimator_.log_pdf_bounds with a
  // narrow window (then a wider one for the candidates still in the running); a candidate whose
  // best possible score is below the best guaranteed score of another cannot be the argmax.
  // The remaining contenders are scored with above_estimator_.log_pdf exactly as best_candidate
  // does, in
  // candidate order with the same first-maximum rule, so the pick is the same: the bounds hold
  // for the values log_pdf computes (see SortedParzen1D::log_pdf_bounds).
  double argmax_with_bounds(const tune_detail::ParzenEstimator& l, const Distribution& dist,
                            const std::function<double()>& draw) {
    l.sample(draw, opt_.n_ei_candidates, candidates_);
    const size_t K = candidates_[0].size();
    cand_value_.resize(K);
    cand_x_.resize(K);
    cand_log_l_.resize(K);
    score_lo_.resize(K);
    score_hi_.resize(K);
    contender_.assign(K, 1);
    for (size_t k = 0; k < K; ++k) {
      cand_value_[k] = from_t(dist, candidates_[0][k]);
      cand_x_[k] = to_t(dist, cand_value_[k]);
      cand_log_l_[k] = l.log_pdf(&cand_x_[k]);
    }
    size_t n_alive = K;
    for (double radius : {4.0, 6.0}) {
      if (n_alive <= 1) break;
      double best_lo = -INFINITY;
      for (size_t k = 0; k < K; ++k) {
        if (!contender_[k]) continue;
        double glo, ghi;
        above_estimator_.log_pdf_bounds(cand_x_[k], radius, glo, ghi);
        score_lo_[k] = cand_log_l_[k] - ghi;  // score bounds
        score_hi_[k] = cand_log_l_[k] - glo;
        if (!std::isfinite(score_lo_[k]) || !std::isfinite(score_hi_[k])) {  // no cheap bound: keep all
          score_lo_[k] = -INFINITY;
          score_hi_[k] = INFINITY;
        }
        best_lo = std::max(best_lo, score_lo_[k]);
      }
      n_alive = 0;
      for (size_t k = 0; k < K; ++k) {
        if (contender_[k] && score_hi_[k] < best_lo) contender_[k] = 0;
        n_alive += contender_[k];
      }
    }
    double best = -INFINITY, best_v = 0;
    bool have = false;
    for (size_t k = 0; k < K; ++k) {
      if (!contender_[k]) continue;
      if (n_alive == 1) return cand_value_[k];
      double s = cand_log_l_[k] - above_estimator_.log_pdf(cand_x_[k]);
      if (!have || s > best) {
        best = s;
        best_v = cand_value_[k];
        have = true;
      }
    }
    return best_v;
  }

  size_t n_obs() const { return numbers_.size(); }
  const std::vector<double>* column(const std::string& name) const {
    auto it = cols_.find(name);
    return it == cols_.end() ? nullptr : &it->second;
  }

  // Reads trials finished since the last call (cursor on trial numbers) into the cache; with
  // constant_liar also the other running trials.
  void refresh(const Study& study, int64_t self_number) {
    // WAITING trials are neither observations nor liars: a queue of a million of them is not read.
    auto fresh = study.storage().get_all_trials(
        study.study_id(), {TrialState::kComplete, TrialState::kPruned, TrialState::kFail, TrialState::kRunning}, cursor_);
    if (directions_.empty()) directions_ = study.storage().get_study_directions(study.study_id());
    const bool multi = directions_.size() > 1;
    int sign = directions_[0] == Direction::kMinimize ? 1 : -1;
    liars_.clear();
    for (auto& t : fresh) {
      // Optuna's multi-objective TPE ignores PRUNED and RUNNING trials
      if (t.state == TrialState::kRunning && opt_.constant_liar && t.number != self_number && !multi) {
        liars_.push_back({t.number, t.params});
        continue;
      }
      if (!is_finished(t.state) || seen_.count(t.number)) continue;
      seen_.insert(t.number);
      if (t.state == TrialState::kFail) continue;
      if (multi && t.state != TrialState::kComplete) continue;
      const std::vector<double> values = tune_detail::trial_values(t);
      if (t.state == TrialState::kComplete && values.size() != directions_.size()) continue;
      double key, score;
      if (t.state == TrialState::kComplete) {
        key = -INFINITY;
        score = sign * values[0];
      } else if (auto last = t.last_intermediate()) {
        key = -static_cast<double>(last->first);
        score = std::isnan(last->second) ? INFINITY : sign * last->second;
      } else {
        key = 1;
        score = 0;
      }
      add_obs(t, key, score);
      for (size_t k = 0; multi && k < values.size(); ++k)
        mo_scores_.push_back(directions_[k] == Direction::kMinimize ? values[k] : -values[k]);
      violations_.push_back(violation(t));
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

  // The sum of a trial's positive "constraints" (its system attr, Optuna's constraints_func
  // output); NaN when it has none.
  double violation(const FrozenTrial& t) {
    auto it = t.system_attrs.find("constraints");
    if (it == t.system_attrs.end() || !it->second.is_array()) return NAN;
    constrained_ = true;
    double v = 0;
    for (auto& c : it->second) {
      if (!c.is_number()) throw_invalid("tpe: trial #" + std::to_string(t.number) + ": constraints must be numbers");
      const double x = c.get<double>();
      if (std::isnan(x)) throw_invalid("tpe: trial #" + std::to_string(t.number) + ": constraint values cannot be NaN");
      if (x > 0) v += x;
    }
    return v;
  }

  // The below group (Optuna's _split_observation_pairs) into below_ids_ and is_below_, and with
  // several objectives below_w_ (_calculate_weights_below_for_multi_objective). With
  // constraints (any observation carrying the attr; those without count as infinitely
  // violating): feasible first, then the smallest violations.
  void split(const Study& study) {
    if (split_version_ == version_) return;
    split_version_ = version_;
    const size_t n = n_obs();
    size_t n_below = std::min<size_t>(
        static_cast<size_t>(std::ceil(opt_.gamma_ratio * static_cast<double>(n))),
        static_cast<size_t>(opt_.gamma_max));
    n_below = std::min(n_below, n);
    std::fill(is_below_.begin(), is_below_.end(), 0);
    below_w_.clear();
    if (!constrained_) {
      below_ids_ = split_unconstrained(chron_, n_below);
    } else {
      auto viol = [&](size_t id) { return std::isnan(violations_[id]) ? INFINITY : violations_[id]; };
      std::vector<size_t> idx(chron_);
      std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return viol(a) < viol(b); });
      if (n_below >= n || viol(idx[n_below]) > 0) {
        below_ids_.assign(idx.begin(), idx.begin() + static_cast<long>(n_below));
      } else {
        std::vector<size_t> feasible;
        for (size_t id : chron_)
          if (viol(id) == 0) feasible.push_back(id);
        below_ids_ = split_unconstrained(feasible, n_below);
      }
      std::sort(below_ids_.begin(), below_ids_.end(), [&](size_t a, size_t b) { return numbers_[a] < numbers_[b]; });
    }
    for (size_t id : below_ids_) is_below_[id] = 1;
    if (directions_.size() > 1) below_w_ = multi_objective_weights(below_ids_);
    (void)study;
  }

  // Observation ids (chronological) -> the n_below best, in Optuna's order: chronological for one
  // objective; for several, by non-domination rank (ascending ids within a rank), the last rank
  // cut by greedy hypervolume subset selection in its selection order.
  std::vector<size_t> split_unconstrained(const std::vector<size_t>& ids, size_t n_below) const {
    if (directions_.size() > 1) return split_multi_objective(ids, n_below);
    std::vector<size_t> idx(ids);  // chronological, so ties resolve by number (stable)
    auto less = [&](size_t a, size_t b) {
      if (keys_[a] != keys_[b]) return keys_[a] < keys_[b];
      if (scores_[a] != scores_[b]) return scores_[a] < scores_[b];
      return numbers_[a] < numbers_[b];
    };
    std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(n_below), idx.end(), less);
    std::vector<size_t> below(idx.begin(), idx.begin() + static_cast<long>(n_below));
    std::sort(below.begin(), below.end(), [&](size_t a, size_t b) { return numbers_[a] < numbers_[b]; });
    return below;
  }

  tune_detail::Points losses(const std::vector<size_t>& ids) const {
    const size_t m = directions_.size();
    tune_detail::Points p;
    for (size_t id : ids) p.emplace_back(mo_scores_.begin() + static_cast<long>(id * m),
                                         mo_scores_.begin() + static_cast<long>((id + 1) * m));
    return p;
  }

  std::vector<size_t> split_multi_objective(const std::vector<size_t>& ids, size_t n_below) const {
    const tune_detail::Points lv = losses(ids);
    const std::vector<int> rank = tune_detail::nondomination_ranks(lv);
    std::vector<size_t> below;
    int r = 0;
    auto count = [&](int k) { return static_cast<size_t>(std::count(rank.begin(), rank.end(), k)); };
    while (below.size() < n_below && below.size() + count(r) <= n_below) {
      for (size_t i = 0; i < ids.size(); ++i)
        if (rank[i] == r) below.push_back(ids[i]);
      ++r;
    }
    if (below.size() < n_below) {
      tune_detail::Points pts;
      std::vector<size_t> pids;
      for (size_t i = 0; i < ids.size(); ++i)
        if (rank[i] == r) {
          pts.push_back(lv[i]);
          pids.push_back(ids[i]);
        }
      for (size_t id : tune_detail::hssp(pts, pids, n_below - below.size(), tune_detail::optuna_reference_point(pts)))
        below.push_back(id);
    }
    return below;
  }

  // Optuna's hypervolume-contribution weights of the below group (its order); infeasible members
  // get 1e-12.
  std::vector<double> multi_objective_weights(const std::vector<size_t>& below) const {
    std::vector<size_t> feasible;
    std::vector<char> is_feasible(below.size(), 1);
    for (size_t k = 0; k < below.size(); ++k) {
      if (constrained_) is_feasible[k] = violations_[below[k]] == 0;
      if (is_feasible[k]) feasible.push_back(below[k]);
    }
    const std::vector<double> wf = tune_detail::hypervolume_contribution_weights(losses(feasible));
    std::vector<double> w(below.size(), tune_detail::kMoEps);
    for (size_t k = 0, f = 0; k < below.size(); ++k)
      if (is_feasible[k]) w[k] = wf[f++];
    return w;
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
  // (n_obs,) per observation id: trial number; split key (-inf COMPLETE, -last step PRUNED with
  // values, 1 without); score (value, negated when maximising; +inf for a NaN last value);
  // 1 if in the below group (split)
  std::vector<int64_t> numbers_;
  std::vector<double> keys_, scores_;
  std::vector<char> is_below_;
  std::vector<size_t> chron_;      // (n_obs,) observation ids by trial number
  // (n_below,) ids of the below group: by trial number, except with several objectives and no
  // constraints (Optuna's rank / subset-selection order), and their weights in l(x) with several
  // objectives (empty: default_weights)
  std::vector<size_t> below_ids_;
  std::vector<double> below_w_;
  std::vector<Direction> directions_;  // the study's (read once)
  std::vector<double> mo_scores_;      // (n_obs * n_objectives,) several objectives: losses (maximised negated)
  std::vector<double> violations_;     // (n_obs,) constraint violation sum, NaN without the attr
  bool constrained_ = false;           // some observation carries "constraints"
  // name -> (n_obs,) the parameter's internal value per observation id, NaN where absent
  std::unordered_map<std::string, std::vector<double>> cols_;
  // name -> (n_obs having it,) its transformed values ascending, ties by trial number
  std::unordered_map<std::string, std::vector<SortedObs>> sorted_;
  std::vector<Liar> liars_;  // (n_running,) with constant_liar: the other running trials

  // Scratch of sample_independent for one parameter, kept to avoid reallocating. "above" is the
  // g(x) group: above observations having the parameter plus liars having it.
  std::vector<std::pair<int64_t, double>> above_liars_;  // (n_liars,) (trial number, transformed value), by number
  std::vector<double> above_liar_weight_;                // (n_liars,) weight in g of above_liars_[i]
  std::vector<double> above_weight_by_id_;               // (n_obs,) weight in g per observation id; 0 = not above
  struct AboveLiar {  // a liar of the "above" group: value, weight, index in above_liars_
    double value, weight;
    size_t liar;
  };
  std::vector<AboveLiar> liars_by_value_;  // (n_liars,) above_liars_ sorted by value (stable)
  // (n_above,) g's observations in value order: transformed value, weight, and the kernel's
  // ZCache (in sorted_; null for a liar)
  std::vector<double> above_values_, above_weights_;
  std::vector<tune_detail::SortedParzen1D::ZCache*> above_zcache_;
  // Chronological ranks in Optuna's "above" array, written only when tie order matters:
  // (n_obs,) per observation id, (n_liars,) per above_liars_ index, (n_above,) per above_values_
  std::vector<size_t> chron_rank_by_id_, liar_chron_rank_, above_chron_rank_;
  tune_detail::SortedParzen1D above_estimator_;  // g(x) of a numerical parameter
  // argmax_with_bounds: (1, n_ei) candidates drawn from l (transformed); then per candidate
  // (n_ei,): its internal value, the transformed x it is scored at, log l(x), bounds on its
  // score log l(x) - log g(x), and whether it may still be the argmax
  std::vector<std::vector<double>> candidates_;
  std::vector<double> cand_value_, cand_x_, cand_log_l_, score_lo_, score_hi_;
  std::vector<char> contender_;
  SearchSpace intersection_;
  bool first_obs_ = true;
  uint64_t version_ = 0, split_version_ = ~0ull;
};

}  // namespace

std::shared_ptr<Sampler> make_tpe_sampler(const TpeOptions& options) {
  return std::make_shared<TpeSampler>(options);
}

}  // namespace hone
