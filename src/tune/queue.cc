// The WAITING-trial queue (hone/tune/queue.h).
#include "hone/tune/queue.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hone/error.h"
#include "hone/tune/sampler.h"

namespace hone {

namespace {

// The grid of a grid sampler's table ({"search_space": ..., "seed"?}), as GridSampler reads it.
GridSpace grid_of(const json& sampler) {
  std::optional<uint64_t> seed;
  if (sampler.contains("seed")) seed = static_cast<uint64_t>(sampler["seed"].get<int64_t>());
  return GridSpace::from_json(sampler.at("search_space"), seed);
}

// The grid point whose every parameter `params` fixes to that point's value, if any.
std::optional<size_t> find_point(const GridSpace& grid, const json& params) {
  for (size_t id : grid.order()) {
    bool same = true;
    for (const auto& [name, values] : grid.values())
      same = same && params.contains(name) && params[name] == *grid.value(id, name);
    if (same) return id;
  }
  return std::nullopt;
}

// What a fill needs to know: the counts, whether the baseline is there, and which grid points of
// `space` are taken.
struct QueueContents {
  QueueState state;
  bool has_baseline = false;
  std::set<int64_t> grid_ids;
};

// The study system attr recording that the baseline was queued: what a fill reads instead of
// every trial's user attrs (a study of a million trials costs a million rows to read).
constexpr const char* kBaselineQueuedAttr = "hone:baseline_queued";

QueueContents read_queue(const Study& study, const json* grid_space, bool want_baseline) {
  QueueContents q;
  q.state = queue_state(study);
  if (want_baseline && q.state.total() > 0) {
    const auto attrs = study.storage().get_study_system_attrs(study.study_id());
    q.has_baseline = attrs.count(kBaselineQueuedAttr) > 0;
  }
  // Trials are read only when the answer needs them: a grid's taken points, or the baseline of
  // a study older than the attr.
  const bool scan_baseline = want_baseline && q.state.total() > 0 && !q.has_baseline;
  if (!grid_space && !scan_baseline) return q;
  for (const auto& t : study.trials()) {
    q.has_baseline = q.has_baseline || t.user_attrs.count("baseline");
    if (!grid_space) continue;
    auto g = t.system_attrs.find("grid_id");
    auto s = t.system_attrs.find("search_space");
    if (g != t.system_attrs.end() && s != t.system_attrs.end() && s->second == *grid_space)
      q.grid_ids.insert(g->second.get<int64_t>());
  }
  return q;
}

// Stops a fill when `stop` is set (SIGINT/SIGTERM while a long queue is written).
void check_stop(const std::atomic<bool>* stop, const QueueState& q) {
  if (stop && stop->load())
    throw Error(ErrorKind::kInterrupted, "interrupted while queueing trials (" + std::to_string(q.waiting) +
                                             " queued so far; the next run tops the queue up)");
}

// Adds one WAITING trial: fixed values, user attrs, and a grid point's tags when `grid_space`.
void add_waiting(Study& study, QueueState& q, const json& fixed, const json& user_attrs, const json* grid_space,
                 int64_t grid_id) {
  FrozenTrial t;
  t.state = TrialState::kWaiting;
  if (fixed.is_object()) t.system_attrs["fixed_params"] = fixed;
  if (grid_space) {
    t.system_attrs["search_space"] = *grid_space;
    t.system_attrs["grid_id"] = grid_id;
  }
  if (user_attrs.is_object())
    for (auto& [k, v] : user_attrs.items()) t.user_attrs[k] = v;
  study.storage().create_new_trial(study.study_id(), &t);
  ++q.waiting;
  if (user_attrs.is_object() && user_attrs.contains("baseline"))
    study.storage().set_study_system_attr(study.study_id(), kBaselineQueuedAttr, true);
}

const json kBaselineAttrs = json{{"baseline", true}};

QueueState fill_blank(Study& study, QueueContents q, const json* baseline, int64_t target,
                      const std::atomic<bool>* stop) {
  if (baseline && q.state.total() < target) add_waiting(study, q.state, *baseline, kBaselineAttrs, nullptr, 0);
  // Blank trials go in bounded batches (one transaction each on SQLite), the stop checked between.
  constexpr int64_t kBatch = 1000;
  FrozenTrial blank;
  blank.state = TrialState::kWaiting;
  while (q.state.total() < target) {
    check_stop(stop, q.state);
    const int64_t n = std::min(kBatch, target - q.state.total());
    study.storage().create_new_trials(study.study_id(), std::vector<FrozenTrial>(static_cast<size_t>(n), blank));
    q.state.waiting += n;
  }
  return q.state;
}

QueueState fill_grid(Study& study, QueueContents q, const json* baseline, const GridSpace& grid, int64_t target,
                     const std::atomic<bool>* stop) {
  if (target <= 0) target = std::numeric_limits<int64_t>::max();
  const json& space = grid.to_json();
  if (baseline && q.state.total() < target) {
    // The baseline is one of the grid points when it fixes every grid parameter to a grid value.
    if (const auto match = find_point(grid, *baseline)) {
      const auto id = static_cast<int64_t>(*match);
      if (q.grid_ids.insert(id).second) add_waiting(study, q.state, *baseline, kBaselineAttrs, &space, id);
    } else {
      add_waiting(study, q.state, *baseline, kBaselineAttrs, nullptr, 0);
    }
  }
  for (size_t id : grid.order()) {
    if (q.state.total() >= target) break;
    if (!q.grid_ids.insert(static_cast<int64_t>(id)).second) continue;
    check_stop(stop, q.state);
    add_waiting(study, q.state, grid.point(id), json(), &space, static_cast<int64_t>(id));
  }
  return q.state;
}

}  // namespace

TrialStates started_states() {
  return TrialStates{TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail};
}

QueueState queue_state(const Study& study) {
  Storage& s = study.storage();
  const int64_t id = study.study_id();
  QueueState q;
  q.finished = s.get_n_trials(id, {TrialState::kComplete, TrialState::kPruned, TrialState::kFail});
  q.running = s.get_n_trials(id, {TrialState::kRunning});
  q.waiting = s.get_n_trials(id, {TrialState::kWaiting});
  return q;
}

void check_queue_target(const std::string& study_name, int64_t target) {
  if (target > kMaxQueuedTrials)
    throw_invalid("study \"" + study_name + "\": n_trials = " + std::to_string(target) + " is more than a queue holds (" +
                  std::to_string(kMaxQueuedTrials) + " stored trials); for an open-ended study give study.timeout "
                  "without n_trials");
}

QueueState fill_queue(Study& study, const QueuePlan& plan, int64_t target, const std::atomic<bool>* stop) {
  check_queue_target(study.name(), target);
  std::optional<GridSpace> grid;
  if (!plan.grid.is_null()) grid.emplace(grid_of(plan.grid));
  if (grid && target <= 0 && static_cast<int64_t>(grid->order().size()) > kMaxQueuedTrials)
    throw_invalid("study \"" + study.name() + "\": the grid has " + std::to_string(grid->order().size()) +
                  " points, more than a queue holds (" + std::to_string(kMaxQueuedTrials) + "); give study.n_trials");
  QueueContents q = read_queue(study, grid ? &grid->to_json() : nullptr, !plan.baseline.is_null());
  const json* baseline = q.has_baseline || plan.baseline.is_null() ? nullptr : &plan.baseline;
  return grid ? fill_grid(study, std::move(q), baseline, *grid, target, stop)
              : fill_blank(study, std::move(q), baseline, target, stop);
}

void enqueue_baseline(Study& study, const json& baseline) {
  if (!baseline.is_null() && study.storage().get_n_trials(study.study_id()) == 0)
    study.enqueue_trial(baseline, kBaselineAttrs);
}

}  // namespace hone
