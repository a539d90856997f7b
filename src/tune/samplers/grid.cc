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
  GridSampler(std::map<std::string, std::vector<json>> space, std::optional<uint64_t> seed)
      : space_(std::move(space)) {
    total_ = 1;
    for (auto& [k, v] : space_) {
      if (v.empty()) throw_invalid("grid sampler: parameter \"" + k + "\" has no values");
      total_ *= v.size();
    }
    order_.resize(total_);
    std::iota(order_.begin(), order_.end(), 0);
    if (seed) std::shuffle(order_.begin(), order_.end(), Rng(*seed));
    space_json_ = json::object();
    for (auto& [k, v] : space_) space_json_[k] = v;
  }
  std::string name() const override { return "grid"; }

  void before_trial(const Study& study, const FrozenTrial& trial) override {
    if (trial.system_attrs.count("fixed_params")) return;  // enqueued: every value is given
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int64_t> claimed, finished;
    read_claims(study, claimed, finished);
    int64_t pick = -1;
    for (size_t id : order_)
      if (!claimed.count(static_cast<int64_t>(id))) {
        pick = static_cast<int64_t>(id);
        break;
      }
    if (pick < 0) {  // all claimed (direct ask() past the end): re-evaluate, unfinished first
      for (size_t id : order_)
        if (!finished.count(static_cast<int64_t>(id))) {
          pick = static_cast<int64_t>(id);
          break;
        }
      if (pick < 0) pick = static_cast<int64_t>(order_[static_cast<size_t>(trial.number) % total_]);
    }
    study.storage().set_trial_system_attr(trial.trial_id, "search_space", space_json_);
    study.storage().set_trial_system_attr(trial.trial_id, "grid_id", pick);
  }

  double sample_independent(const Study&, const FrozenTrial& trial, const std::string& name,
                            const Distribution& dist) override {
    auto it = space_.find(name);
    if (it == space_.end())
      throw_invalid("grid sampler: parameter \"" + name + "\" is not in the grid (grid has: " +
                    keys() + ")");
    auto g = trial.system_attrs.find("grid_id");
    if (g == trial.system_attrs.end())
      throw_invalid("grid sampler: trial #" + std::to_string(trial.number) +
                    " has no grid point (an enqueued trial must fix every grid parameter)");
    size_t id = g->second.get<size_t>();
    // mixed radix, first (sorted) name slowest, as itertools.product
    size_t stride = total_;
    for (auto& [k, v] : space_) {
      stride /= v.size();
      if (k == name) return dist.to_internal(v[(id / stride) % v.size()]);
    }
    return 0;
  }

  void after_trial(Study& study, const FrozenTrial& trial, TrialState, std::optional<double>) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int64_t> claimed, finished;
    read_claims(study, claimed, finished);
    auto g = trial.system_attrs.find("grid_id");
    if (g != trial.system_attrs.end()) finished.insert(g->second.get<int64_t>());
    if (finished.size() >= total_) study.stop();
  }

  bool exhausted(const Study& study) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int64_t> claimed, finished;
    read_claims(study, claimed, finished);
    return claimed.size() >= total_;
  }

 private:
  void read_claims(const Study& study, std::set<int64_t>& claimed, std::set<int64_t>& finished) {
    for (auto& t : study.storage().get_all_trials(study.study_id())) {
      auto g = t.system_attrs.find("grid_id");
      auto s = t.system_attrs.find("search_space");
      if (g == t.system_attrs.end() || s == t.system_attrs.end() || s->second != space_json_) continue;
      int64_t id = g->second.get<int64_t>();
      if (t.state == TrialState::kRunning || is_finished(t.state)) claimed.insert(id);
      if (is_finished(t.state)) finished.insert(id);
    }
  }
  std::string keys() const {
    std::string s;
    for (auto& [k, v] : space_) s += (s.empty() ? "" : ", ") + k;
    return s;
  }

  std::map<std::string, std::vector<json>> space_;
  json space_json_;
  size_t total_;
  std::vector<size_t> order_;
  std::mutex mu_;
};

}  // namespace

std::shared_ptr<Sampler> make_grid_sampler(std::map<std::string, std::vector<json>> space,
                                           std::optional<uint64_t> seed) {
  return std::make_shared<GridSampler>(std::move(space), seed);
}

}  // namespace hone
