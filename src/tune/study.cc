#include "hone/tune/study.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>
#include <thread>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/tune/multi_objective.h"

namespace hone {

// ------------------------------------------------------------------------------------ Trial

Trial::Trial(std::shared_ptr<Study> study, int64_t trial_id, int64_t number)
    : study_(std::move(study)), trial_id_(trial_id), number_(number) {
  local_ = study_->storage().get_trial(trial_id);
  auto it = local_.system_attrs.find("fixed_params");
  if (it != local_.system_attrs.end() && it->second.is_object()) fixed_params_ = it->second;
}

double Trial::suggest_internal(const std::string& name, const Distribution& dist) {
  auto it = local_.params.find(name);
  if (it != local_.params.end()) {
    const Distribution& old = local_.distributions.at(name);
    if (!old.compatible(dist))
      throw_invalid("trial #" + std::to_string(number_) + ": parameter \"" + name +
                    "\" was suggested as " + old.describe() + ", now as " + dist.describe());
    return it->second;
  }
  double v;
  if (fixed_params_.is_object() && fixed_params_.contains(name)) {
    try {
      v = dist.to_internal(fixed_params_.at(name));
    } catch (const Error& e) {
      throw_invalid("trial #" + std::to_string(number_) + ": enqueued value of \"" + name +
                    "\": " + e.what());
    }
  } else if (dist.single()) {
    v = dist.is_categorical() ? 0.0 : dist.low();
  } else if (auto r = relative_params_.find(name);
             r != relative_params_.end() && relative_space_.count(name) &&
             relative_space_.at(name) == dist) {
    v = r->second;
  } else {
    v = study_->sampler().sample_independent(*study_, local_, name, dist);
  }
  study_->storage().set_trial_param(trial_id_, name, v, dist);
  local_.params[name] = v;
  local_.distributions[name] = dist;
  return v;
}

double Trial::suggest_float(const std::string& name, double low, double high, FloatOptions o) {
  Distribution d;
  try {
    d = Distribution::real(low, high, o.log, o.step);
  } catch (const Error& e) {
    throw_invalid("suggest_float(\"" + name + "\"): " + e.what());
  }
  return suggest_internal(name, d);
}

int64_t Trial::suggest_int(const std::string& name, int64_t low, int64_t high, IntOptions o) {
  Distribution d;
  try {
    d = Distribution::integer(low, high, o.log, o.step);
  } catch (const Error& e) {
    throw_invalid("suggest_int(\"" + name + "\"): " + e.what());
  }
  return static_cast<int64_t>(suggest_internal(name, d));
}

json Trial::suggest_categorical(const std::string& name, const std::vector<json>& choices) {
  Distribution d;
  try {
    d = Distribution::categorical(choices);
  } catch (const Error& e) {
    throw_invalid("suggest_categorical(\"" + name + "\"): " + e.what());
  }
  return d.to_external(suggest_internal(name, d));
}

std::string Trial::suggest_categorical(const std::string& name,
                                       const std::vector<std::string>& choices) {
  std::vector<json> c(choices.begin(), choices.end());
  return suggest_categorical(name, c).get<std::string>();
}

json Trial::suggest(const std::string& name, const Distribution& dist) {
  return dist.to_external(suggest_internal(name, dist));
}

void Trial::report(double value, int64_t step) {
  if (step < 0)
    throw_invalid("trial #" + std::to_string(number_) + ": report step must be >= 0, got " +
                  std::to_string(step));
  if (reported_.count(step)) return;  // Optuna ignores a second report of a step
  study_->storage().set_trial_intermediate_value(trial_id_, step, value);
  reported_[step] = value;
  local_.intermediate_values[step] = value;
}

void Trial::report(const std::vector<double>& values, int64_t step) {
  if (values.empty()) throw_invalid("trial #" + std::to_string(number_) + ": report of an empty vector");
  if (step < 0 || reported_.count(step)) return report(values.front(), step);  // the step's error / Optuna's ignore
  json all = json::object();
  auto it = local_.system_attrs.find(kIntermediateVectorsKey);
  if (it != local_.system_attrs.end() && it->second.is_object()) all = it->second;
  json row = json::array();
  for (double v : values) row.push_back(v);
  all[std::to_string(step)] = row;
  set_system_attr(kIntermediateVectorsKey, all);
  report(values.front(), step);
}

void Trial::set_constraints(const std::vector<double>& constraints) {
  json c = json::array();
  for (double v : constraints) c.push_back(v);
  set_system_attr(kConstraintsKey, c);
}

bool Trial::should_prune() {
  if (reported_.empty()) return false;
  return study_->pruner().prune(*study_, frozen());
}

void Trial::set_user_attr(const std::string& key, const json& value) {
  study_->storage().set_trial_user_attr(trial_id_, key, value);
  local_.user_attrs[key] = value;
}
void Trial::set_system_attr(const std::string& key, const json& value) {
  study_->storage().set_trial_system_attr(trial_id_, key, value);
  local_.system_attrs[key] = value;
}

json Trial::params() const { return local_.params_json(); }

FrozenTrial Trial::frozen() const { return study_->storage().get_trial(trial_id_); }

// ------------------------------------------------------------------------------------ Study

Study::Study(std::shared_ptr<Storage> storage, int64_t study_id, std::shared_ptr<Sampler> sampler,
             std::shared_ptr<Pruner> pruner)
    : storage_(std::move(storage)),
      study_id_(study_id),
      sampler_(std::move(sampler)),
      pruner_(std::move(pruner)) {
  name_ = storage_->get_study_name(study_id_);
  directions_ = storage_->get_study_directions(study_id_);
  if (directions_.empty()) throw_data("study \"" + name_ + "\" has no direction");
  direction_ = directions_.front();
  if (!sampler_) sampler_ = make_tpe_sampler();
  if (!pruner_) pruner_ = make_median_pruner();
}

std::optional<Trial> Study::ask_impl(bool stop_if_exhausted, bool queued_only) {
  int64_t trial_id = -1;
  {
    std::lock_guard<std::mutex> lock(ask_mutex_);
    // Enqueued trials first, oldest first; the claim is atomic in the storage.
    if (auto claimed = storage_->claim_waiting_trial(study_id_)) trial_id = *claimed;
    if (trial_id < 0) {
      if (queued_only) return std::nullopt;
      if (stop_if_exhausted && sampler_->exhausted(*this)) return std::nullopt;
      trial_id = storage_->create_new_trial(study_id_);
    }
    FrozenTrial ft = storage_->get_trial(trial_id);
    sampler_->before_trial(*this, ft);
  }
  Trial t(shared_from_this(), trial_id, storage_->get_trial_number_from_id(trial_id));
  t.relative_space_ = sampler_->infer_relative_search_space(*this, t.local_);
  if (!t.relative_space_.empty())
    t.relative_params_ = sampler_->sample_relative(*this, t.local_, t.relative_space_);
  return t;
}

Trial Study::ask() { return *ask_impl(false); }

// The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
static std::string fmt_value(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

FrozenTrial Study::finish(int64_t trial_id, TrialState state, std::vector<double> values,
                          const std::string& fail_reason) {
  FrozenTrial ft = storage_->get_trial(trial_id);
  if (is_finished(ft.state))
    throw_runtime("trial #" + std::to_string(ft.number) + " of study \"" + name_ +
                  "\" was already told (" + to_string(ft.state) + ")");
  std::string reason = fail_reason;
  const size_t n = directions_.size();
  if (state == TrialState::kComplete) {
    if (values.empty()) {
      state = TrialState::kFail;
      reason = "told COMPLETE without a value";
    } else if (values.size() != n) {
      state = TrialState::kFail;
      reason = "the objective returned " + std::to_string(values.size()) + " value" +
               (values.size() == 1 ? "" : "s") + ", the study has " + std::to_string(n) + " objective" +
               (n == 1 ? "" : "s");
      values.clear();
    } else {
      for (size_t k = 0; k < n; ++k) {
        if (std::isfinite(values[k])) continue;
        state = TrialState::kFail;
        reason = "the objective returned " + fmt_value(values[k]) + (n > 1 ? " for objective " + std::to_string(k) : "") +
                 " (not a finite number)";
        values.clear();
        break;
      }
    }
  } else if (state == TrialState::kPruned) {
    if (values.empty() && n == 1) {
      auto last = ft.last_intermediate();
      if (last && std::isfinite(last->second)) values = {last->second};
    } else if (values.empty()) {  // the last reported vector, when it is whole and finite
      auto vs = ft.intermediate_vectors();
      if (!vs.empty() && vs.rbegin()->second.size() == n &&
          std::all_of(vs.rbegin()->second.begin(), vs.rbegin()->second.end(), [](double v) { return std::isfinite(v); }))
        values = vs.rbegin()->second;
    }
    if (values.size() != n) values.clear();
  } else if (state == TrialState::kFail) {
    values.clear();
  } else {
    throw_invalid("tell: a trial can only be told COMPLETE, PRUNED or FAIL, not " +
                  std::string(to_string(state)));
  }
  if (state == TrialState::kFail) {
    if (reason.empty()) reason = "failed";
    storage_->set_trial_system_attr(trial_id, "fail_reason", reason);
    ft.system_attrs["fail_reason"] = reason;
  }
  std::exception_ptr err;
  try {
    sampler_->after_trial(*this, ft, state,
                          state == TrialState::kComplete ? std::optional<double>(values.front()) : std::nullopt);
  } catch (...) {
    err = std::current_exception();
  }
  storage_->set_trial_state_values(trial_id, state, values);
  if (err) std::rethrow_exception(err);
  return storage_->get_trial(trial_id);
}

static std::vector<double> as_values(std::optional<double> v) {
  return v ? std::vector<double>{*v} : std::vector<double>{};
}

FrozenTrial Study::tell(Trial& trial, double value) {
  return finish(trial.trial_id(), TrialState::kComplete, {value}, "");
}
FrozenTrial Study::tell(Trial& trial, TrialState state, std::optional<double> value,
                        const std::string& fail_reason) {
  return finish(trial.trial_id(), state, as_values(value), fail_reason);
}
FrozenTrial Study::tell(int64_t number, TrialState state, std::optional<double> value,
                        const std::string& fail_reason) {
  return finish(storage_->get_trial_id_from_study_id_trial_number(study_id_, number), state, as_values(value),
                fail_reason);
}
FrozenTrial Study::tell(Trial& trial, const std::vector<double>& values) {
  return finish(trial.trial_id(), TrialState::kComplete, values, "");
}
FrozenTrial Study::tell(Trial& trial, TrialState state, const std::vector<double>& values,
                        const std::string& fail_reason) {
  return finish(trial.trial_id(), state, values, fail_reason);
}
FrozenTrial Study::tell(int64_t number, TrialState state, const std::vector<double>& values,
                        const std::string& fail_reason) {
  return finish(storage_->get_trial_id_from_study_id_trial_number(study_id_, number), state, values, fail_reason);
}

void Study::enqueue_trial(const json& params, const json& user_attrs) {
  if (!params.is_object()) throw_invalid("enqueue_trial: params must be an object {name: value}");
  FrozenTrial t;
  t.state = TrialState::kWaiting;
  t.system_attrs["fixed_params"] = params;
  if (user_attrs.is_object())
    for (auto& [k, v] : user_attrs.items()) t.user_attrs[k] = v;
  storage_->create_new_trial(study_id_, &t);
}

void Study::run_one(const MultiObjective& objective, const OptimizeOptions& options,
                    std::exception_ptr& first_error, std::mutex& error_mutex) {
  std::optional<Trial> t;
  try {
    t = ask_impl(true, options.queued_only);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (!first_error) first_error = std::current_exception();
    stop_.store(true);
    return;
  }
  if (!t) {  // the sampler has nothing left (exhausted grid) or the queue is empty
    stop_.store(true);
    return;
  }
  std::optional<FrozenTrial> done;
  std::exception_ptr objective_error;
  try {
    try {
      std::vector<double> v = objective(*t);
      done = finish(t->trial_id(), TrialState::kComplete, std::move(v), "");
    } catch (const TrialPruned&) {
      done = finish(t->trial_id(), TrialState::kPruned, {}, "");
    } catch (const std::exception& e) {
      done = finish(t->trial_id(), TrialState::kFail, {}, e.what());
      if (!options.catch_exceptions) objective_error = std::current_exception();
    } catch (...) {
      done = finish(t->trial_id(), TrialState::kFail, {}, "unknown exception");
      if (!options.catch_exceptions) objective_error = std::current_exception();
    }
    if (done && !options.callbacks.empty()) {
      std::lock_guard<std::mutex> lock(callback_mutex_);
      for (auto& cb : options.callbacks) cb(*this, *done);
    }
  } catch (...) {  // finish() or a callback failed: a bug or a storage error, never swallowed
    objective_error = std::current_exception();
  }
  if (objective_error) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (!first_error) first_error = objective_error;
    stop_.store(true);
  }
}

void Study::optimize(const Objective& objective, const OptimizeOptions& options) {
  optimize(MultiObjective([&objective](Trial& t) { return std::vector<double>{objective(t)}; }), options);
}

void Study::optimize(const MultiObjective& objective, const OptimizeOptions& options) {
  if (options.n_trials < 0) throw_invalid("optimize: n_trials must be >= 0");
  if (options.timeout_s < 0) throw_invalid("optimize: timeout_s must be >= 0");
  int n_jobs = options.n_jobs;
  if (n_jobs == -1) n_jobs = std::max(1u, std::thread::hardware_concurrency());
  if (n_jobs < 1) throw_invalid("optimize: n_jobs must be >= 1 or -1, got " + std::to_string(n_jobs));
  stop_.store(false);
  auto t0 = std::chrono::steady_clock::now();
  std::atomic<int64_t> started{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto worker = [&] {
    while (true) {
      if (stop_.load() || (options.stop && options.stop->load())) break;
      if (options.timeout_s > 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >=
              options.timeout_s)
        break;
      if (options.n_trials > 0 && started.fetch_add(1) >= options.n_trials) break;
      run_one(objective, options, first_error, error_mutex);
    }
  };
  if (n_jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < n_jobs; ++i) threads.emplace_back(worker);
    for (auto& th : threads) th.join();
  }
  if (first_error) std::rethrow_exception(first_error);
}

std::vector<FrozenTrial> Study::trials(TrialStates states) const {
  return storage_->get_all_trials(study_id_, states);
}

FrozenTrial Study::best_trial() const {
  if (is_multi_objective())
    throw_invalid("study \"" + name_ + "\" is multi-objective (" + std::to_string(directions_.size()) +
                  " objectives): use best_trials");
  auto b = storage_->get_best_trial(study_id_);
  if (!b) throw_runtime("study \"" + name_ + "\" has no COMPLETE trial yet");
  if (is_feasible(*b)) return *b;  // the common case: one indexed query
  auto front = best_trials();
  if (front.empty()) throw_runtime("study \"" + name_ + "\" has no COMPLETE trial yet");
  return front.front();  // number order: ties go to the lowest number, as get_best_trial
}

std::vector<FrozenTrial> Study::best_trials() const {
  std::vector<FrozenTrial> done;
  for (auto& t : storage_->get_all_trials(study_id_, {TrialState::kComplete}))
    if (t.values.size() == directions_.size() &&
        std::none_of(t.values.begin(), t.values.end(), [](double v) { return std::isnan(v); }))
      done.push_back(std::move(t));
  if (done.empty()) return {};
  std::vector<double> violation(done.size());
  for (size_t i = 0; i < done.size(); ++i) violation[i] = constraint_violation(done[i]);
  // Feasibility first: the front of the feasible trials, else of the least-violating ones.
  const double least = *std::min_element(violation.begin(), violation.end());
  std::vector<FrozenTrial> pool;
  for (size_t i = 0; i < done.size(); ++i)
    if (violation[i] == least) pool.push_back(std::move(done[i]));
  Points points;
  points.reserve(pool.size());
  for (auto& t : pool) points.push_back(t.values);
  std::vector<FrozenTrial> out;
  for (size_t i : pareto_front(to_minimization(points, directions_))) out.push_back(std::move(pool[i]));
  return out;
}
double Study::best_value() const { return *best_trial().value; }
json Study::best_params() const { return best_trial().params_json(); }

json Study::to_json(TrialStates states) const {
  json arr = json::array();
  for (auto& t : trials(states)) {
    json j = t.to_json();
    const double violation = constraint_violation(t);  // feasibility first: what the ranking reads
    j["constraint_violation"] = std::isinf(violation) ? json("Infinity") : json(violation);
    j["feasible"] = violation == 0.0;
    arr.push_back(std::move(j));
  }
  return arr;
}

static std::string csv_cell(const json& v) {
  std::string s;
  if (v.is_null()) return "";
  if (v.is_string()) s = v.get<std::string>();
  else if (v.is_number_float()) s = fmt_value(v.get<double>());
  else s = v.dump();
  if (s.find_first_of(",\"\n") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  return s;
}

std::string Study::to_csv(TrialStates states) const {
  auto ts = trials(states);
  std::set<std::string> names;
  for (auto& t : ts)
    for (auto& [k, v] : t.params) names.insert(k);
  std::ostringstream os;
  os << "number,value,state,datetime_start,datetime_complete,duration_s";
  for (auto& n : names) os << "," << csv_cell("params_" + n);
  const size_t n_values = directions_.size() > 1 ? directions_.size() : 0;  // values_<k>: several objectives
  for (size_t k = 0; k < n_values; ++k) os << ",values_" << k;
  os << ",constraint_violation,feasible,prune_reason\n";
  for (auto& t : ts) {
    os << t.number << "," << (t.value ? fmt_value(*t.value) : "") << "," << to_string(t.state) << ","
       << (t.datetime_start ? format_datetime(*t.datetime_start) : "") << ","
       << (t.datetime_complete ? format_datetime(*t.datetime_complete) : "") << ",";
    if (auto d = t.duration_s()) os << fmt_value(*d);
    for (auto& n : names) {
      os << ",";
      if (t.params.count(n)) os << csv_cell(t.param(n));
    }
    for (size_t k = 0; k < n_values; ++k) {
      os << ",";
      if (k < t.values.size()) os << fmt_value(t.values[k]);
    }
    const double violation = constraint_violation(t);
    os << "," << fmt_value(violation) << "," << (violation == 0.0 ? "true" : "false") << ","
       << csv_cell(prune_reason(t)) << "\n";
  }
  return os.str();
}

// ------------------------------------------------------------------------------- factories

static std::string directions_text(const std::vector<Direction>& ds) {
  std::string s;
  for (Direction d : ds) s += (s.empty() ? "" : ", ") + std::string(to_string(d));
  return ds.size() > 1 ? "[" + s + "]" : s;
}

std::shared_ptr<Study> create_study(const StudyOptions& o) {
  const std::vector<Direction> directions = o.directions.empty() ? std::vector<Direction>{o.direction} : o.directions;
  auto storage = o.storage.instance ? o.storage.instance : open_storage(o.storage.url);
  int64_t id;
  if (o.load_if_exists && !o.name.empty()) {
    bool exists = false;
    for (auto& n : storage->get_all_study_names()) exists |= n == o.name;
    if (exists) {
      id = storage->get_study_id_from_name(o.name);
      if (storage->get_study_directions(id) != directions)
        throw_invalid("study \"" + o.name + "\" exists with direction" + (directions.size() > 1 ? "s " : " ") +
                      directions_text(storage->get_study_directions(id)) + ", asked for " +
                      directions_text(directions));
    } else {
      id = storage->create_new_study(directions, o.name);
    }
  } else {
    id = storage->create_new_study(directions, o.name);
  }
  auto sampler = o.sampler;
  if (!sampler) {
    TpeOptions to;
    to.seed = o.seed;
    sampler = make_tpe_sampler(to);
  }
  return std::make_shared<Study>(storage, id, sampler, o.pruner);
}

std::shared_ptr<Study> load_study(const std::string& name, const StorageSpec& spec,
                                  std::shared_ptr<Sampler> sampler, std::shared_ptr<Pruner> pruner) {
  auto storage = spec.instance ? spec.instance : open_storage(spec.url);
  return std::make_shared<Study>(storage, storage->get_study_id_from_name(name), sampler, pruner);
}

StudyOptions study_options_from_json(const json& c, const std::string& where) {
  if (!c.is_object()) throw_invalid(where + ": expected a table");
  StudyOptions o;
  o.name = get_string(c, "name", "", where);
  o.direction = Direction::kMinimize;
  if (c.contains("direction")) {
    const std::string d = get_string(c, "direction", "minimize", where);  // names the key itself
    try {
      o.direction = direction_from_string(d);
    } catch (const Error& e) {
      throw_invalid(where + "." + e.what());
    }
  }
  if (c.contains("directions")) {
    if (c.contains("direction")) throw_invalid(where + ": give either direction or directions, not both");
    const json& ds = c.at("directions");
    if (!ds.is_array() || ds.empty())
      throw_invalid(where + ".directions: expected a non-empty list of \"minimize\"/\"maximize\"");
    for (size_t k = 0; k < ds.size(); ++k) {
      if (!ds[k].is_string())
        throw_invalid(where + ".directions[" + std::to_string(k) + "]: expected \"minimize\" or \"maximize\", got " +
                      ds[k].dump());
      try {
        o.directions.push_back(direction_from_string(ds[k].get<std::string>()));
      } catch (const Error& e) {
        throw_invalid(where + ".directions[" + std::to_string(k) + "]: " + e.what());
      }
    }
    o.direction = o.directions.front();
  }
  if (c.contains("seed")) o.seed = static_cast<uint64_t>(get_int(c, "seed", 0, where));
  o.storage = get_string(c, "storage", "", where);
  o.load_if_exists = get_bool(c, "load_if_exists", false, where);
  if (c.contains("sampler")) o.sampler = make_sampler(c.at("sampler"), o.seed);
  if (c.contains("pruner")) o.pruner = make_pruner(c.at("pruner"));
  return o;
}

std::shared_ptr<Study> create_study_from_json(const json& c, const std::string& where) {
  return create_study(study_options_from_json(c, where));
}

int64_t copy_study(Storage& from, const std::string& from_name, Storage& to, const std::string& to_name) {
  const int64_t sid = from.get_study_id_from_name(from_name);
  const int64_t did = to.create_new_study(from.get_study_directions(sid), to_name);
  try {
    for (auto& [k, v] : from.get_study_user_attrs(sid)) to.set_study_user_attr(did, k, v);
    for (auto& [k, v] : from.get_study_system_attrs(sid)) to.set_study_system_attr(did, k, v);
    auto trials = from.get_all_trials(sid);
    for (auto& t : trials) to.create_new_trial(did, &t);
    return static_cast<int64_t>(trials.size());
  } catch (...) {
    to.delete_study(did);  // no half-copied study left behind
    throw;
  }
}

OptimizeOptions optimize_options_from_json(const json& c, const std::string& where) {
  OptimizeOptions o;
  o.n_trials = get_int(c, "n_trials", 0, where);
  require_nonnegative(static_cast<double>(o.n_trials), "n_trials", where);
  o.timeout_s = get_double(c, "timeout", 0, where);
  require_nonnegative(o.timeout_s, "timeout", where);
  o.n_jobs = static_cast<int>(get_int(c, "n_jobs", 1, where));
  if (o.n_jobs < 1 && o.n_jobs != -1)
    throw_invalid(where + ".n_jobs must be >= 1 or -1, got " + std::to_string(o.n_jobs));
  o.catch_exceptions = get_bool(c, "catch_exceptions", true, where);
  return o;
}

}  // namespace hone
