// InMemoryStorage: one mutex over all studies. Trials are held by value; every read copies, so
// returned snapshots never change. Best trials are tracked incrementally so best_trial is O(1).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <random>

#include "hone/error.h"
#include "hone/tune/storage.h"

namespace hone {

int64_t Storage::get_n_trials(int64_t study_id, TrialStates states) {
  return static_cast<int64_t>(get_all_trials(study_id, states).size());
}

void Storage::create_new_trials(int64_t study_id, const std::vector<FrozenTrial>& templates) {
  for (const FrozenTrial& t : templates) create_new_trial(study_id, &t);
}

std::optional<int64_t> Storage::claim_waiting_trial(int64_t study_id) {
  for (auto& w : get_all_trials(study_id, {TrialState::kWaiting}))
    if (set_trial_state_values(w.trial_id, TrialState::kRunning)) return w.trial_id;
  return std::nullopt;
}

bool stores_values(int64_t number, TrialState state, const std::vector<double>& values) {
  const bool has_nan = std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); });
  if (state == TrialState::kComplete && (values.empty() || has_nan))
    throw_runtime("trial #" + std::to_string(number) + ": COMPLETE needs a value for every objective");
  // NaN is never stored as an objective value (Optuna turns it into FAIL); a PRUNED trial keeps
  // its values only when they are numbers.
  return !values.empty() && !has_nan && (state == TrialState::kComplete || state == TrialState::kPruned);
}

void normalize_values(FrozenTrial& t) {
  if (t.values.empty() && t.value) t.values = {*t.value};
  if (!t.values.empty()) t.value = t.values.front();
}

std::optional<FrozenTrial> Storage::get_best_trial(int64_t study_id) {
  Direction d = get_study_directions(study_id).front();
  std::optional<FrozenTrial> best;
  for (auto& t : get_all_trials(study_id, {TrialState::kComplete})) {
    if (!t.value || std::isnan(*t.value)) continue;
    if (!best || (d == Direction::kMinimize ? *t.value < *best->value : *t.value > *best->value))
      best = t;
  }
  return best;
}

namespace {

class InMemoryStorage final : public Storage {
 public:
  using Storage::create_new_study;
  using Storage::set_trial_state_values;

  int64_t create_new_study(const std::vector<Direction>& directions, const std::string& name_in) override {
    if (directions.empty()) throw_invalid("create_new_study: a study needs at least one direction");
    std::lock_guard<std::mutex> lock(mu_);
    std::string name = name_in;
    if (name.empty()) {
      std::mt19937_64 g(std::random_device{}());
      char buf[40];
      std::snprintf(buf, sizeof buf, "no-name-%016llx", static_cast<unsigned long long>(g()));
      name = buf;
    }
    if (names_.count(name)) throw_invalid("a study named \"" + name + "\" already exists");
    int64_t id = next_study_id_++;
    auto& s = studies_[id];
    s.name = name;
    s.directions = directions;
    names_[name] = id;
    return id;
  }
  void delete_study(int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = study(study_id);
    for (auto& t : s.trials) trial_index_.erase(t.trial_id);
    names_.erase(s.name);
    studies_.erase(study_id);
  }
  int64_t get_study_id_from_name(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = names_.find(name);
    if (it == names_.end()) throw_invalid("no study named \"" + name + "\"");
    return it->second;
  }
  std::string get_study_name(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return study(id).name;
  }
  Direction get_study_direction(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return study(id).directions.front();
  }
  std::vector<Direction> get_study_directions(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return study(id).directions;
  }
  std::vector<std::string> get_all_study_names() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (auto& [id, s] : studies_) out.push_back(s.name);
    return out;
  }
  void set_study_user_attr(int64_t id, const std::string& k, const json& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    study(id).user_attrs[k] = v;
  }
  void set_study_system_attr(int64_t id, const std::string& k, const json& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    study(id).system_attrs[k] = v;
  }
  std::map<std::string, json> get_study_user_attrs(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return study(id).user_attrs;
  }
  std::map<std::string, json> get_study_system_attrs(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return study(id).system_attrs;
  }

  int64_t create_new_trial(int64_t study_id, const FrozenTrial* templ) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = study(study_id);
    FrozenTrial t;
    if (templ) {
      t = *templ;
      normalize_values(t);
      for (auto& [name, d] : t.distributions) check_param(s, name, d);
      if (t.state == TrialState::kWaiting) {
        t.datetime_start.reset();
        t.datetime_complete.reset();
      } else if (!t.datetime_start) {
        t.datetime_start = Clock::now();
      }
    } else {
      t.state = TrialState::kRunning;
      t.datetime_start = Clock::now();
    }
    t.trial_id = next_trial_id_++;
    t.number = static_cast<int64_t>(s.trials.size());
    for (auto& [name, d] : t.distributions) s.param_dists.emplace(name, d);
    trial_index_[t.trial_id] = {study_id, t.number};
    s.trials.push_back(std::move(t));
    update_best(s, s.trials.back());
    return s.trials.back().trial_id;
  }
  int64_t get_trial_id_from_study_id_trial_number(int64_t study_id, int64_t number) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = study(study_id);
    if (number < 0 || number >= static_cast<int64_t>(s.trials.size()))
      throw_invalid("study \"" + s.name + "\" has no trial #" + std::to_string(number));
    return s.trials[static_cast<size_t>(number)].trial_id;
  }
  int64_t get_trial_number_from_id(int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return locate(trial_id).second;
  }
  int64_t get_study_id_from_trial_id(int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return locate(trial_id).first;
  }
  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto [s, t] = mutable_trial(trial_id);
    check_param(*s, name, dist);
    s->param_dists.emplace(name, dist);
    t->params[name] = internal;
    t->distributions[name] = dist;
  }
  bool set_trial_state_values(int64_t trial_id, TrialState state, const std::vector<double>& values) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto [s, t] = mutable_trial(trial_id);
    if (state == TrialState::kRunning) {
      if (t->state != TrialState::kWaiting) return false;
      t->datetime_start = Clock::now();
    }
    if (stores_values(t->number, state, values)) {
      t->values = values;
      t->value = values.front();
    }
    t->state = state;
    if (is_finished(state)) t->datetime_complete = Clock::now();
    update_best(*s, *t);
    return true;
  }
  void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) override {
    std::lock_guard<std::mutex> lock(mu_);
    mutable_trial(trial_id).second->intermediate_values[step] = value;
  }
  void set_trial_user_attr(int64_t trial_id, const std::string& k, const json& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    mutable_trial(trial_id).second->user_attrs[k] = v;
  }
  void set_trial_system_attr(int64_t trial_id, const std::string& k, const json& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    mutable_trial(trial_id).second->system_attrs[k] = v;
  }
  FrozenTrial get_trial(int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto [sid, num] = locate(trial_id);
    return studies_.at(sid).trials[static_cast<size_t>(num)];
  }
  std::vector<FrozenTrial> get_all_trials(int64_t study_id, TrialStates states,
                                          int64_t min_number) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = study(study_id);
    std::vector<FrozenTrial> out;
    for (size_t i = static_cast<size_t>(std::max<int64_t>(0, min_number)); i < s.trials.size(); ++i)
      if (states.has(s.trials[i].state)) out.push_back(s.trials[i]);
    return out;
  }
  int64_t get_n_trials(int64_t study_id, TrialStates states) override {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = 0;
    for (auto& t : study(study_id).trials) n += states.has(t.state);
    return n;
  }
  std::optional<FrozenTrial> get_best_trial(int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = study(study_id);
    if (s.best < 0) return std::nullopt;
    return s.trials[static_cast<size_t>(s.best)];
  }

 private:
  struct StudyData {
    std::string name;
    std::vector<Direction> directions;
    std::map<std::string, json> user_attrs, system_attrs;
    std::vector<FrozenTrial> trials;  // index = number
    std::map<std::string, Distribution> param_dists;  // first distribution seen per name
    int64_t best = -1;
  };

  StudyData& study(int64_t id) {
    auto it = studies_.find(id);
    if (it == studies_.end()) throw_invalid("no study with id " + std::to_string(id));
    return it->second;
  }
  std::pair<int64_t, int64_t> locate(int64_t trial_id) {
    auto it = trial_index_.find(trial_id);
    if (it == trial_index_.end()) throw_invalid("no trial with id " + std::to_string(trial_id));
    return it->second;
  }
  std::pair<StudyData*, FrozenTrial*> mutable_trial(int64_t trial_id) {
    auto [sid, num] = locate(trial_id);
    auto& s = studies_.at(sid);
    auto& t = s.trials[static_cast<size_t>(num)];
    if (is_finished(t.state))
      throw_runtime("trial #" + std::to_string(t.number) + " of study \"" + s.name +
                    "\" has already finished (" + to_string(t.state) + "); it cannot change");
    return {&s, &t};
  }
  void check_param(const StudyData& s, const std::string& name, const Distribution& d) {
    auto it = s.param_dists.find(name);
    if (it != s.param_dists.end() && !it->second.compatible(d))
      throw_invalid("parameter \"" + name + "\": " + d.describe() +
                    " is incompatible with its earlier distribution " + it->second.describe() +
                    " in study \"" + s.name + "\" (kind, log and choices must not change)");
  }
  void update_best(StudyData& s, const FrozenTrial& t) {
    if (t.state != TrialState::kComplete || !t.value || std::isnan(*t.value)) return;
    if (s.best < 0) {
      s.best = t.number;
      return;
    }
    double b = *s.trials[static_cast<size_t>(s.best)].value;
    bool better = s.directions.front() == Direction::kMinimize ? *t.value < b : *t.value > b;
    if (better || (*t.value == b && t.number < s.best)) s.best = t.number;
  }

  std::mutex mu_;
  std::map<int64_t, StudyData> studies_;
  std::map<std::string, int64_t> names_;
  std::map<int64_t, std::pair<int64_t, int64_t>> trial_index_;  // trial_id -> (study, number)
  int64_t next_study_id_ = 0, next_trial_id_ = 0;
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, StorageFactory>& registry() {
  static std::map<std::string, StorageFactory> r;
  return r;
}

}  // namespace

std::shared_ptr<Storage> make_in_memory_storage() { return std::make_shared<InMemoryStorage>(); }

void register_storage_backend(const std::string& scheme, StorageFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[scheme] = std::move(factory);
}

bool is_keyword_conninfo(const std::string& url) {
  size_t i = url.find_first_not_of(" \t");
  if (i == std::string::npos) return false;
  const size_t word = i;
  while (i < url.size() && (std::isalnum(static_cast<unsigned char>(url[i])) || url[i] == '_')) ++i;
  if (i == word) return false;
  i = url.find_first_not_of(" \t", i);
  return i != std::string::npos && url[i] == '=';
}

std::string mask_storage_url(const std::string& url) {
  std::string s = url;
  // scheme://user:password@host -> scheme://user:***@host (the last '@' of the authority: a
  // password may hold '@' unescaped)
  auto scheme = s.find("://");
  if (scheme != std::string::npos) {
    const size_t from = scheme + 3;
    const size_t end = std::min(s.find('?', from), s.size());
    auto at = s.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= from) {
      auto colon = s.find(':', from);
      if (colon != std::string::npos && colon < at) s = s.substr(0, colon + 1) + "***" + s.substr(at);
    }
  }
  // password=... / password = '...' in key=value strings and URL query parameters
  for (size_t p = s.find("password"); p != std::string::npos; p = s.find("password", p + 1)) {
    size_t v = s.find_first_not_of(" \t", p + 8);
    if (v == std::string::npos || s[v] != '=') continue;
    v = s.find_first_not_of(" \t", v + 1);
    if (v == std::string::npos) v = s.size();
    size_t e = v;
    if (e < s.size() && s[e] == '\'') {
      ++e;
      while (e < s.size() && s[e] != '\'') e += s[e] == '\\' ? 2 : 1;
      e = std::min(e + 1, s.size());
    } else {
      while (e < s.size() && s[e] != ' ' && s[e] != '&' && s[e] != '\t') ++e;
    }
    s = s.substr(0, v) + "***" + s.substr(e);
  }
  return s;
}

std::shared_ptr<Storage> open_storage(const std::string& url) {
  if (url.empty() || url == ":memory:" || url == "memory" || url == "inmemory")
    return make_in_memory_storage();
  auto colon = url.find(':');
  std::string scheme = colon == std::string::npos ? url : url.substr(0, colon);
  if (is_keyword_conninfo(url)) scheme = "postgresql";  // libpq's host=... dbname=... form
  auto plus = scheme.find('+');  // "postgresql+psycopg2" as SQLAlchemy URLs
  if (plus != std::string::npos) scheme = scheme.substr(0, plus);
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(scheme);
  if (it == registry().end()) {
    std::string known = "memory";
    for (auto& [k, f] : registry()) known += ", " + k;
    throw_invalid("storage \"" + mask_storage_url(url) + "\": unknown scheme \"" + mask_storage_url(scheme) +
                  "\" (known: " + known + "; or a libpq key=value string)");
  }
  return it->second(url);
}

}  // namespace hone
