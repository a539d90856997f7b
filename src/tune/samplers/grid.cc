// GridSampler (after optuna/samplers/_grid.py). Differences from Optuna, on purpose: grid points
// are visited in a deterministic order (0, 1, 2, ... or a seeded permutation) rather than
// uniformly at random, and a point is claimed in before_trial, which the Study runs under its
// ask lock, so n_jobs > 1 never evaluates a point twice in one process. Like Optuna, the claim
// is stored as trial system attrs "grid_id" and "search_space" (so other processes see it, but
// without a cross-process lock).
#include <algorithm>
#include <mutex>
#include <numeric>
#include <set>

#include "hone/error.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "tune/samplers/common.h"

namespace hone {
namespace {

class GridSampler final : public Sampler {
 public:
  explicit GridSampler(GridSpace grid) : grid_(std::move(grid)) {}
  std::string name() const override { return "grid"; }

  void before_trial(const Study& study, const FrozenTrial& trial) override {
    if (trial.system_attrs.count("fixed_params")) return;  // enqueued: every value is given
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int64_t> claimed, finished;
    read_claims(study, claimed, finished);
    const std::vector<size_t>& order = grid_.order();
    int64_t pick = -1;
    for (size_t id : order)
      if (!claimed.count(static_cast<int64_t>(id))) {
        pick = static_cast<int64_t>(id);
        break;
      }
    if (pick < 0) {  // all claimed (direct ask() past the end): re-evaluate, unfinished first
      for (size_t id : order)
        if (!finished.count(static_cast<int64_t>(id))) {
          pick = static_cast<int64_t>(id);
          break;
        }
      if (pick < 0) pick = static_cast<int64_t>(order[static_cast<size_t>(trial.number) % grid_.size()]);
    }
    study.storage().set_trial_system_attr(trial.trial_id, "search_space", grid_.to_json());
    study.storage().set_trial_system_attr(trial.trial_id, "grid_id", pick);
  }

  double sample_independent(const Study&, const FrozenTrial& trial, const std::string& name,
                            const Distribution& dist) override {
    if (!grid_.values().count(name))
      throw_invalid("grid sampler: parameter \"" + name + "\" is not in the grid (grid has: " +
                    keys() + ")");
    auto g = trial.system_attrs.find("grid_id");
    if (g == trial.system_attrs.end())
      throw_invalid("grid sampler: trial #" + std::to_string(trial.number) +
                    " has no grid point (an enqueued trial must fix every grid parameter)");
    return dist.to_internal(*grid_.value(g->second.get<size_t>() % grid_.size(), name));
  }

  void after_trial(Study& study, const FrozenTrial& trial, TrialState, std::optional<double>) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int64_t> claimed, finished;
    read_claims(study, claimed, finished);
    auto g = trial.system_attrs.find("grid_id");
    if (g != trial.system_attrs.end()) finished.insert(g->second.get<int64_t>());
    if (finished.size() >= grid_.size()) study.stop();
  }

  bool exhausted(const Study& study) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int64_t> claimed, finished;
    read_claims(study, claimed, finished);
    return claimed.size() >= grid_.size();
  }

 private:
  void read_claims(const Study& study, std::set<int64_t>& claimed, std::set<int64_t>& finished) {
    for (auto& t : study.storage().get_all_trials(study.study_id())) {
      auto g = t.system_attrs.find("grid_id");
      auto s = t.system_attrs.find("search_space");
      if (g == t.system_attrs.end() || s == t.system_attrs.end() || s->second != grid_.to_json()) continue;
      int64_t id = g->second.get<int64_t>();
      if (t.state == TrialState::kRunning || is_finished(t.state)) claimed.insert(id);
      if (is_finished(t.state)) finished.insert(id);
    }
  }
  std::string keys() const {
    std::string s;
    for (auto& [k, v] : grid_.values()) s += (s.empty() ? "" : ", ") + k;
    return s;
  }

  const GridSpace grid_;
  std::mutex mu_;  // orders claims: read_claims + stamping in before_trial
};

}  // namespace

GridSpace::GridSpace(std::map<std::string, std::vector<json>> values, std::optional<uint64_t> seed)
    : values_(std::move(values)), json_(json::object()) {
  size_t total = 1;
  for (auto& [k, v] : values_) {
    if (v.empty()) throw_invalid("grid sampler: parameter \"" + k + "\" has no values");
    // The grid's points are listed (shuffled) up front: beyond 10^7 that is gigabytes, and the
    // product may overflow.
    constexpr size_t kMaxPoints = 10000000;
    if (v.size() > kMaxPoints / total)
      throw_invalid("grid sampler: the grid has more than " + std::to_string(kMaxPoints) + " points (at \"" + k +
                    "\"); use fewer values or another sampler");
    total *= v.size();
    json_[k] = v;
  }
  order_.resize(total);
  std::iota(order_.begin(), order_.end(), 0);
  if (seed) std::shuffle(order_.begin(), order_.end(), Rng(*seed));
}

GridSpace GridSpace::from_json(const json& search_space, std::optional<uint64_t> seed, const std::string& where) {
  if (!search_space.is_object()) throw_invalid(where + ": expected a table {name = [values...]}");
  std::map<std::string, std::vector<json>> values;
  for (auto& [k, v] : search_space.items()) {
    if (!v.is_array() || v.empty()) throw_invalid(where + "." + k + ": expected a non-empty list of values");
    values[k] = v.get<std::vector<json>>();
  }
  return GridSpace(std::move(values), seed);
}

// Mixed radix, the first (sorted) name slowest, as itertools.product.
const json* GridSpace::value(size_t id, const std::string& name) const {
  size_t stride = size();
  for (auto& [k, v] : values_) {
    stride /= v.size();
    if (k == name) return &v[(id / stride) % v.size()];
  }
  return nullptr;
}

json GridSpace::point(size_t id) const {
  json p = json::object();
  for (auto& [k, v] : values_) p[k] = *value(id, k);
  return p;
}

std::vector<json> grid_points(const json& search_space, std::optional<uint64_t> seed) {
  const GridSpace grid = GridSpace::from_json(search_space, seed);
  std::vector<json> points;
  points.reserve(grid.size());
  for (size_t id : grid.order()) points.push_back(grid.point(id));
  return points;
}

std::shared_ptr<Sampler> make_grid_sampler(std::map<std::string, std::vector<json>> space,
                                           std::optional<uint64_t> seed) {
  return make_grid_sampler(GridSpace(std::move(space), seed));
}

std::shared_ptr<Sampler> make_grid_sampler(GridSpace grid) { return std::make_shared<GridSampler>(std::move(grid)); }

}  // namespace hone
