// NSGAIISampler (optuna/samplers/nsgaii/_sampler.py, Optuna 3.1): generations of
// population_size COMPLETE trials, tagged with the trial system attr "nsga2:generation"; each new
// trial is a child of the previous generation's elite (non-dominated sort, crowding distance for
// the last front): two parents picked by binary tournaments, uniform crossover with probability
// crossover_prob (swapping each parameter with swapping_prob), else a copy of one random parent;
// then each parameter is mutated (left to the random sampler) with mutation_prob (1 / n params by
// default). The first generation and every parameter outside the intersection search space are
// drawn by the random sampler.
//
// Streams: as Optuna, two numpy RandomState(seed) streams, one for the genetic operators (rand,
// choice) and one for the random sampler, drawn in Optuna's order, so that one trial at a time the
// same seed proposes Optuna's trials. Lists (fronts, crowding ties, parent pools) keep Optuna's
// order, which decides what the random indices pick.
//
// Constraints: when any COMPLETE trial carries the system attr "constraints" (JSON list, <= 0
// satisfied), domination is Optuna's constrained domination (feasible first, then the smaller
// violation sum, then Pareto), as NSGAIISampler(constraints_func=...) does.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "hone/error.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "tune/samplers/common.h"

namespace hone {
namespace {

constexpr const char* kGenerationKey = "nsga2:generation";

using tune_detail::trial_values;

// A COMPLETE trial as the selection sees it.
struct Individual {
  const FrozenTrial* t;
  std::vector<double> values;  // as stored (crowding distance reads them raw)
  std::optional<std::vector<double>> constraints;
};

class Nsga2Sampler final : public Sampler {
 public:
  explicit Nsga2Sampler(const Nsga2Options& o)
      : opt_(o), seed_(tune_detail::seed_or_random(o.seed)), rng_(seed_), random_rs_(seed_) {
    if (o.population_size < 2) throw_invalid("nsga2: population_size must be >= 2");
    if (o.mutation_prob && !(*o.mutation_prob >= 0 && *o.mutation_prob <= 1))
      throw_invalid("nsga2: mutation_prob must be in [0, 1]");
    if (!(o.crossover_prob >= 0 && o.crossover_prob <= 1)) throw_invalid("nsga2: crossover_prob must be in [0, 1]");
    if (!(o.swapping_prob >= 0 && o.swapping_prob <= 1)) throw_invalid("nsga2: swapping_prob must be in [0, 1]");
    if (o.crossover != "uniform")
      throw_invalid("nsga2: crossover \"" + o.crossover + "\" is not supported (expected \"uniform\")");
  }
  std::string name() const override { return "nsga2"; }
  void reseed(uint64_t seed) override {
    std::lock_guard<std::mutex> lock(mu_);
    seed_ = seed;
    rng_ = random_rs_ = tune_detail::LegacyRandomState(seed);
  }

  // The intersection of the COMPLETE trials' distributions (single-valued ones left out). Optuna
  // calls sample_relative even for an empty space (it tags the generation and may draw); hone's
  // Study does not, so an empty space is handled here.
  SearchSpace infer_relative_search_space(const Study& study, const FrozenTrial& trial) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<FrozenTrial> trials = study.trials();
    SearchSpace space;
    bool first = true;
    for (const auto& t : trials) {
      if (t.state != TrialState::kComplete) continue;
      if (first) {
        space = SearchSpace(t.distributions.begin(), t.distributions.end());
        first = false;
        continue;
      }
      for (auto it = space.begin(); it != space.end();) {
        auto f = t.distributions.find(it->first);
        if (f == t.distributions.end() || !(f->second == it->second)) it = space.erase(it);
        else ++it;
      }
    }
    for (auto it = space.begin(); it != space.end();) it = it->second.single() ? space.erase(it) : std::next(it);
    if (space.empty()) relative(study, trials, trial, space);
    return space;
  }

  std::map<std::string, double> sample_relative(const Study& study, const FrozenTrial& trial,
                                                const SearchSpace& space) override {
    std::lock_guard<std::mutex> lock(mu_);
    return relative(study, study.trials(), trial, space);
  }

  double sample_independent(const Study&, const FrozenTrial&, const std::string& name,
                            const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    suggest_order_.emplace(name, suggest_order_.size());
    return tune_detail::optuna_random_draw(dist, random_rs_);
  }

 private:
  // Optuna's sample_relative: tags the trial's generation; from the second generation on, a
  // child of the parent population (crossover or copy), each parameter kept with 1 - mutation_prob.
  std::map<std::string, double> relative(const Study& study, const std::vector<FrozenTrial>& trials,
                                         const FrozenTrial& trial, const SearchSpace& space) {
    if (directions_.empty()) directions_ = study.storage().get_study_directions(study.study_id());
    constrained_ = false;
    for (const auto& t : trials)
      if (t.state == TrialState::kComplete && t.system_attrs.count("constraints")) constrained_ = true;
    auto [parent_generation, parents] = parent_population(trials);
    study.storage().set_trial_system_attr(trial.trial_id, kGenerationKey, json(parent_generation + 1));
    if (parent_generation < 0) return {};
    // the search space in Optuna's order: the order the parameters were first suggested in
    std::vector<std::string> names;
    for (auto& kv : space) names.push_back(kv.first);
    std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
      return rank_of(a) < rank_of(b);
    });
    std::vector<std::pair<std::string, double>> child;
    if (rng_.random_sample() < opt_.crossover_prob) {
      child = crossover(parents, space, names);
    } else {
      const Individual& p = parents[rng_.randint(parents.size())];
      for (auto& n : names) child.emplace_back(n, p.t->params.at(n));
    }
    const double mutation_prob =
        opt_.mutation_prob ? *opt_.mutation_prob : 1.0 / std::max(1.0, static_cast<double>(child.size()));
    std::map<std::string, double> out;
    for (auto& [n, v] : child)
      if (rng_.random_sample() >= mutation_prob) out[n] = v;
    return out;
  }

  size_t rank_of(const std::string& name) const {
    auto it = suggest_order_.find(name);
    return it == suggest_order_.end() ? SIZE_MAX : it->second;
  }

  // Optuna's perform_crossover with UniformCrossover: categorical parameters first (values of
  // parents[0] or parents[-1]), then the numerical ones in the transformed space
  // (_SearchSpaceTransform: log, half-step bounds) and back; repeated until the child is inside
  // the search space.
  std::vector<std::pair<std::string, double>> crossover(const std::vector<Individual>& population,
                                                        const SearchSpace& space,
                                                        const std::vector<std::string>& names) {
    std::vector<std::string> cat, num;
    for (auto& n : names) (space.at(n).is_categorical() ? cat : num).push_back(n);
    while (true) {
      const Individual* p0 = select_parent(population, nullptr);
      const Individual* p1 = select_parent(population, p0);
      std::vector<std::pair<std::string, double>> child;
      if (!cat.empty())
        for (auto& n : cat) {
          const Individual* p = rng_.random_sample() >= opt_.swapping_prob ? p1 : p0;
          child.emplace_back(n, p->t->params.at(n));
        }
      std::vector<double> masks(num.size());
      for (auto& m : masks) m = rng_.random_sample();
      bool contained = true;
      for (size_t i = 0; i < num.size(); ++i) {
        const Distribution& d = space.at(num[i]);
        const Individual* p = masks[i] >= opt_.swapping_prob ? p1 : p0;
        double v = untransform(d, transform(d, p->t->params.at(num[i])));
        contained &= optuna_contains(d, v);
        child.emplace_back(num[i], v);
      }
      if (contained) return child;
    }
  }

  static double transform(const Distribution& d, double v) { return d.log() ? std::log(v) : v; }

  // optuna._transform._untransform_numerical_param (np.round rounds half to even)
  static double untransform(const Distribution& d, double x) {
    if (d.kind() == Distribution::Kind::kReal) {
      if (d.log()) return std::min(std::exp(x), std::nextafter(d.high(), d.high() - 1));
      if (auto q = d.step()) return std::clamp(std::nearbyint((x - d.low()) / *q) * *q + d.low(), d.low(), d.high());
      return std::min(x, std::nextafter(d.high(), d.high() - 1));
    }
    if (d.log()) return std::trunc(std::clamp(std::nearbyint(std::exp(x)), d.low(), d.high()));
    const double q = *d.step();
    return std::trunc(std::clamp(std::nearbyint((x - d.low()) / q) * q + d.low(), d.low(), d.high()));
  }

  // Optuna's Distribution._contains.
  static bool optuna_contains(const Distribution& d, double v) {
    if (d.kind() == Distribution::Kind::kReal) {
      if (!(d.low() <= v && v <= d.high())) return false;
      if (auto q = d.step()) {
        double k = (v - d.low()) / *q;
        return std::fabs(k - std::nearbyint(k)) < 1e-8;
      }
      return true;
    }
    return d.low() <= v && v <= d.high() && std::fmod(v - d.low(), *d.step()) == 0;
  }

  // Optuna's _select_parent: a binary tournament in the population (without `exclude`).
  const Individual* select_parent(const std::vector<Individual>& population, const Individual* exclude) {
    std::vector<const Individual*> pool;
    for (auto& p : population)
      if (&p != exclude) pool.push_back(&p);
    const Individual* c0 = pool[rng_.randint(pool.size())];
    const Individual* c1 = pool[rng_.randint(pool.size())];
    return dominates(*c0, *c1) ? c0 : c1;
  }

  // study/_multi_objective._dominates on COMPLETE trials
  bool pareto_dominates(const std::vector<double>& a, const std::vector<double>& b) const {
    if (a.size() != b.size() || a.size() != directions_.size())
      throw_invalid("nsga2: trials with different numbers of objectives cannot be compared");
    bool all_equal = true, all_le = true;
    for (size_t k = 0; k < a.size(); ++k) {
      double x = directions_[k] == Direction::kMaximize ? -a[k] : a[k];
      double y = directions_[k] == Direction::kMaximize ? -b[k] : b[k];
      all_equal &= x == y;
      all_le &= x <= y;
    }
    return !all_equal && all_le;
  }

  // _dominates, or _constrained_dominates when the study has constraints.
  bool dominates(const Individual& a, const Individual& b) const {
    if (!constrained_) return pareto_dominates(a.values, b.values);
    if (!a.constraints && !b.constraints) return pareto_dominates(a.values, b.values);
    if (a.constraints && !b.constraints) return true;
    if (!a.constraints) return false;
    if (a.constraints->size() != b.constraints->size())
      throw_invalid("nsga2: trials with different numbers of constraints cannot be compared");
    double va = 0, vb = 0;
    bool fa = true, fb = true;
    for (double c : *a.constraints) {
      fa &= c <= 0;
      if (c > 0) va += c;
    }
    for (double c : *b.constraints) {
      fb &= c <= 0;
      if (c > 0) vb += c;
    }
    if (fa && fb) return pareto_dominates(a.values, b.values);
    if (fa) return true;
    if (fb) return false;
    return va < vb;
  }

  Individual individual(const FrozenTrial& t) const {
    Individual ind{&t, trial_values(t), std::nullopt};
    auto it = t.system_attrs.find("constraints");
    if (it != t.system_attrs.end() && it->second.is_array()) {
      std::vector<double> c;
      for (auto& x : it->second) {
        if (!x.is_number()) throw_invalid("nsga2: trial #" + std::to_string(t.number) + ": constraint values must be numbers");
        c.push_back(x.get<double>());
      }
      ind.constraints = std::move(c);
    }
    return ind;
  }

  // Optuna's _collect_parent_population: generation g's COMPLETE trials plus the parents of g
  // reduced to the elite, for each generation that has population_size COMPLETE trials. The
  // elite is cached per (generation, trials still running in the generations so far) as Optuna
  // caches it in study system attrs.
  std::pair<int, std::vector<Individual>> parent_population(const std::vector<FrozenTrial>& trials) {
    std::map<int, std::vector<const FrozenTrial*>> pop_of, running_of;
    std::unordered_map<int64_t, const FrozenTrial*> by_number;
    for (const auto& t : trials) {
      by_number[t.number] = &t;
      auto it = t.system_attrs.find(kGenerationKey);
      if (it == t.system_attrs.end() || !it->second.is_number_integer()) continue;
      int g = it->second.get<int>();
      if (t.state == TrialState::kComplete) pop_of[g].push_back(&t);
      else if (t.state == TrialState::kRunning) running_of[g].push_back(&t);
    }
    std::vector<Individual> parents;
    int parent_generation = -1;
    std::string key;
    while (true) {
      int g = parent_generation + 1;
      const auto& members = pop_of[g];
      if (members.size() < static_cast<size_t>(opt_.population_size)) break;
      for (const FrozenTrial* t : running_of[g]) key += std::to_string(t->number) + ",";
      auto cached = cache_.find(key);
      std::vector<Individual> population;
      if (cached != cache_.end() && cached->second.first >= g) {
        g = cached->second.first;
        for (int64_t n : cached->second.second) population.push_back(individual(*by_number.at(n)));
      } else {
        for (const FrozenTrial* t : members) population.push_back(individual(*t));
        for (auto& p : parents) population.push_back(p);
        population = elite(std::move(population));
        if (running_of[g].empty()) {
          std::vector<int64_t> numbers;
          for (auto& p : population) numbers.push_back(p.t->number);
          cache_[key] = {g, numbers};
        }
      }
      parent_generation = g;
      parents = std::move(population);
    }
    return {parent_generation, std::move(parents)};
  }

  // Optuna's _select_elite_population: whole fronts while they fit strictly, the next front cut
  // by crowding distance.
  std::vector<Individual> elite(std::vector<Individual> population) const {
    std::vector<Individual> out;
    const size_t n_pop = static_cast<size_t>(opt_.population_size);
    for (auto& front : non_dominated_sort(std::move(population))) {
      if (out.size() + front.size() < n_pop) {
        for (auto& i : front) out.push_back(std::move(i));
      } else {
        crowding_distance_sort(front);
        size_t n = n_pop - out.size();
        for (size_t i = 0; i < n; ++i) out.push_back(std::move(front[i]));
        break;
      }
    }
    return out;
  }

  // Optuna's _fast_non_dominated_sort, with its order inside each front (members taken out by
  // swapping in the last element).
  std::vector<std::vector<Individual>> non_dominated_sort(std::vector<Individual> population) const {
    if (constrained_)
      for (auto& p : population)
        if (p.constraints)
          for (double c : *p.constraints)
            if (std::isnan(c)) throw_invalid("nsga2: NaN is not acceptable as constraint value");
    const size_t n = population.size();
    std::unordered_map<int64_t, size_t> count;
    std::unordered_map<int64_t, std::vector<int64_t>> dominated;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) {
        const Individual &p = population[i], &q = population[j];
        if (dominates(p, q)) {
          dominated[p.t->number].push_back(q.t->number);
          ++count[q.t->number];
        } else if (dominates(q, p)) {
          dominated[q.t->number].push_back(p.t->number);
          ++count[p.t->number];
        }
      }
    std::vector<std::vector<Individual>> fronts;
    while (!population.empty()) {
      std::vector<Individual> front;
      size_t i = 0;
      while (i < population.size()) {
        if (count[population[i].t->number] == 0) {
          Individual ind = std::move(population[i]);
          if (i + 1 != population.size()) population[i] = std::move(population.back());
          population.pop_back();
          front.push_back(std::move(ind));
        } else {
          ++i;
        }
      }
      for (auto& x : front)
        for (int64_t y : dominated[x.t->number]) --count[y];
      fronts.push_back(std::move(front));
    }
    return fronts;
  }

  // Optuna's _crowding_distance_sort: stable sorts by each objective in turn (the order carries
  // over), the distance summed per trial, then a stable sort by distance, reversed.
  static void crowding_distance_sort(std::vector<Individual>& front) {
    std::unordered_map<int64_t, double> dist;
    if (!front.empty()) {
      for (size_t k = 0; k < front[0].values.size(); ++k) {
        std::stable_sort(front.begin(), front.end(),
                         [k](const Individual& a, const Individual& b) { return a.values[k] < b.values[k]; });
        if (front.front().values[k] == front.back().values[k]) continue;
        std::vector<double> vs{-INFINITY};
        for (auto& p : front) vs.push_back(p.values[k]);
        vs.push_back(INFINITY);
        double v_min = 0, v_max = 0;
        for (double x : vs)
          if (x != -INFINITY) {
            v_min = x;
            break;
          }
        for (auto it = vs.rbegin(); it != vs.rend(); ++it)
          if (*it != INFINITY) {
            v_max = *it;
            break;
          }
        double width = v_max - v_min;
        if (width <= 0) width = 1.0;
        for (size_t j = 0; j < front.size(); ++j) {
          double gap = vs[j] == vs[j + 2] ? 0.0 : vs[j + 2] - vs[j];
          dist[front[j].t->number] += gap / width;
        }
      }
    }
    std::stable_sort(front.begin(), front.end(), [&](const Individual& a, const Individual& b) {
      return dist[a.t->number] < dist[b.t->number];
    });
    std::reverse(front.begin(), front.end());
  }

  Nsga2Options opt_;
  std::mutex mu_;
  uint64_t seed_;
  tune_detail::LegacyRandomState rng_, random_rs_;  // Optuna's _rng and its RandomSampler's
  std::vector<Direction> directions_;
  bool constrained_ = false;
  std::unordered_map<std::string, size_t> suggest_order_;  // parameter -> order first suggested
  std::map<std::string, std::pair<int, std::vector<int64_t>>> cache_;  // elite per running-trials key
};

}  // namespace

std::shared_ptr<Sampler> make_nsga2_sampler(const Nsga2Options& options) {
  return std::make_shared<Nsga2Sampler>(options);
}

}  // namespace hone
