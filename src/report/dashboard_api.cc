#include "report/dashboard_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include "hone/error.h"
#include "hone/study_runner.h"  // kConfigAttr

namespace hone::report {

using json = nlohmann::json;

namespace {

double epoch_s(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

// JSON has no NaN or infinity: such values travel as the strings the page shows.
json number_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

bool same_double(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::memcmp(&*a, &*b, sizeof(double)) == 0;  // NaN equals NaN here
}

// Did an unfinished trial change in a way the page shows?
bool same_trial(const FrozenTrial& a, const FrozenTrial& b) {
  if (a.state != b.state || !same_double(a.value, b.value) || a.params.size() != b.params.size() ||
      a.intermediate_values.size() != b.intermediate_values.size() || a.datetime_start != b.datetime_start ||
      a.datetime_complete != b.datetime_complete || a.user_attrs != b.user_attrs)
    return false;
  auto la = a.last_intermediate(), lb = b.last_intermediate();
  return !la || (la->first == lb->first && same_double(la->second, lb->second));
}

int64_t stored_budget(Storage& storage, int64_t id) {
  auto attrs = storage.get_study_system_attrs(id);
  auto it = attrs.find(kConfigAttr);
  if (it == attrs.end()) return 0;
  const json* n = &it->second;
  for (const char* key : {"config", "study", "n_trials"}) {
    if (!n->is_object() || !n->contains(key)) return 0;
    n = &(*n)[key];
  }
  return n->is_number_integer() ? n->get<int64_t>() : 0;
}

}  // namespace

// ------------------------------------------------------------------------------ cache

TrialCache::TrialCache(std::shared_ptr<Storage> storage, double min_interval_s)
    : storage_(std::move(storage)), min_interval_(min_interval_s) {}

std::vector<std::shared_ptr<const StudySnapshot>> TrialCache::studies() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  const bool stale = now - list_at_ >= min_interval_;
  if (stale) {
    std::vector<std::pair<int64_t, std::string>> list;
    for (auto& name : storage_->get_all_study_names()) list.emplace_back(storage_->get_study_id_from_name(name), name);
    std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.second < b.second; });
    // Forget studies that were deleted.
    std::set<int64_t> ids;
    for (auto& [id, name] : list) ids.insert(id);
    std::erase_if(entries_, [&](auto& e) { return !ids.count(e.first); });
    list_ = std::move(list);
    list_at_ = now;
  }
  std::vector<std::shared_ptr<const StudySnapshot>> out;
  for (auto& [id, name] : list_)
    if (auto s = refresh(id, name, false)) out.push_back(std::move(s));
  return out;
}

std::shared_ptr<const StudySnapshot> TrialCache::study(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.snap) return refresh(id, it->second.snap->name, false);
  std::string name;
  try {
    name = storage_->get_study_name(id);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInvalidArgument) return nullptr;  // no such study
    throw;
  }
  return refresh(id, name, true);
}

std::shared_ptr<const StudySnapshot> TrialCache::refresh(int64_t id, const std::string& name, bool force) {
  Entry& e = entries_[id];
  const auto now = std::chrono::steady_clock::now();
  if (e.snap && !force && now - e.read_at < min_interval_) return e.snap;
  const StudySnapshot* prev = e.snap.get();
  auto next = std::make_shared<StudySnapshot>();
  next->id = id;
  next->name = name;
  std::set<std::string> names;
  try {
    if (!prev) {
      next->direction = storage_->get_study_directions(id).at(0);  // the first objective of an Optuna-made multi-objective study
      for (auto& t : storage_->get_all_trials(id)) {
        for (auto& [p, v] : t.params) names.insert(p);
        next->trials.push_back(std::make_shared<const FrozenTrial>(std::move(t)));
      }
      next->version = 1;
    } else {
      // Only what can have changed: trials past the known ones, and the known unfinished ones.
      const int64_t known = static_cast<int64_t>(prev->trials.size());
      int64_t first_open = known;
      for (auto& t : prev->trials)
        if (!is_finished(t->state)) {
          first_open = t->number;
          break;
        }
      auto added = storage_->get_all_trials(id, TrialStates::all(), known);
      std::map<int64_t, FrozenTrial> open;  // number -> unfinished now
      if (first_open < known)
        for (auto& t : storage_->get_all_trials(id, {TrialState::kRunning, TrialState::kWaiting}, first_open))
          if (t.number < known) open.emplace(t.number, std::move(t));
      next->direction = prev->direction;
      next->trials = prev->trials;
      bool changed = !added.empty();
      for (int64_t n = first_open; n < known; ++n) {
        auto& slot = next->trials[n];
        if (is_finished(slot->state)) continue;
        auto it = open.find(n);
        FrozenTrial now_t = it != open.end() ? std::move(it->second) : storage_->get_trial(slot->trial_id);
        if (same_trial(*slot, now_t)) continue;
        for (auto& [p, v] : now_t.params) names.insert(p);
        slot = std::make_shared<const FrozenTrial>(std::move(now_t));
        changed = true;
      }
      for (auto& t : added) {
        if (t.number != static_cast<int64_t>(next->trials.size())) {  // not dense: read it all again
          e.snap.reset();
          return refresh(id, name, true);
        }
        for (auto& [p, v] : t.params) names.insert(p);
        next->trials.push_back(std::make_shared<const FrozenTrial>(std::move(t)));
      }
      e.read_at = now;
      if (!changed) return e.snap;
      next->version = prev->version + 1;
      names.insert(prev->param_names.begin(), prev->param_names.end());
    }
    next->budget = stored_budget(*storage_, id);
  } catch (const Error& err) {
    if (err.kind() != ErrorKind::kInvalidArgument) {
      if (!e.snap) entries_.erase(id);  // no half-made entry stays behind (the next request retries)
      throw;
    }
    entries_.erase(id);  // the study was deleted meanwhile
    return nullptr;
  } catch (...) {
    if (!e.snap) entries_.erase(id);
    throw;
  }
  next->param_names.assign(names.begin(), names.end());
  e.snap = std::move(next);
  e.read_at = now;
  return e.snap;
}

// ------------------------------------------------------------------------------ JSON

json trial_row(const FrozenTrial& t) {
  json r = {{"number", t.number}, {"state", to_string(t.state)}};
  r["value"] = t.value ? number_json(*t.value) : json(nullptr);
  json params = json::object();
  for (auto& [name, internal] : t.params) {
    json v = t.param(name);
    params[name] = v.is_number_float() ? number_json(v.get<double>()) : v;
  }
  r["params"] = std::move(params);
  r["start"] = t.datetime_start ? json(epoch_s(*t.datetime_start)) : json(nullptr);
  r["complete"] = t.datetime_complete ? json(epoch_s(*t.datetime_complete)) : json(nullptr);
  auto d = t.duration_s();
  r["duration_s"] = d ? json(*d) : json(nullptr);
  if (auto last = t.last_intermediate()) {
    r["step"] = last->first;
    r["intermediate"] = number_json(last->second);
  } else {
    r["step"] = nullptr;
    r["intermediate"] = nullptr;
  }
  r["n_steps"] = t.intermediate_values.size();
  r["fail_reason"] = t.fail_reason();
  auto w = t.system_attrs.find(kWorkerAttr);
  r["worker"] = w != t.system_attrs.end() && w->second.is_string() ? w->second : json("");
  return r;
}

json summary_json(const StudySnapshot& s, double now_s) {
  int64_t counts[5] = {0, 0, 0, 0, 0};
  std::optional<double> best;
  int64_t best_number = -1;
  double first_start = 0, last_activity = 0;
  const bool minimize = s.direction == Direction::kMinimize;
  for (auto& tp : s.trials) {
    const FrozenTrial& t = *tp;
    ++counts[static_cast<int>(t.state)];
    if (t.state == TrialState::kComplete && t.value && !std::isnan(*t.value) &&
        (!best || (minimize ? *t.value < *best : *t.value > *best))) {
      best = *t.value;
      best_number = t.number;
    }
    if (t.datetime_start) {
      const double st = epoch_s(*t.datetime_start);
      if (first_start == 0 || st < first_start) first_start = st;
      last_activity = std::max(last_activity, st);
    }
    if (t.datetime_complete) last_activity = std::max(last_activity, epoch_s(*t.datetime_complete));
  }
  const int64_t running = counts[static_cast<int>(TrialState::kRunning)];
  const int64_t waiting = counts[static_cast<int>(TrialState::kWaiting)];
  const int64_t n = static_cast<int64_t>(s.trials.size());
  const int64_t finished = n - running - waiting;
  json j = {{"id", s.id},           {"name", s.name},     {"direction", to_string(s.direction)},
            {"version", s.version}, {"n_trials", n},      {"finished", finished},
            {"running", running},   {"waiting", waiting}, {"params", s.param_names}};
  json c = json::object();
  for (auto st : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail, TrialState::kRunning,
                  TrialState::kWaiting})
    c[to_string(st)] = counts[static_cast<int>(st)];
  j["counts"] = std::move(c);
  j["best"] = best ? number_json(*best) : json(nullptr);
  j["best_number"] = best ? json(best_number) : json(nullptr);
  // The budget: the stored n_trials, or the queue's size when trials wait in it.
  int64_t budget = std::max(s.budget, waiting > 0 ? n : int64_t{0});
  j["budget"] = budget > 0 ? json(budget) : json(nullptr);
  j["progress"] = budget > 0 ? json(std::min(1.0, static_cast<double>(finished) / budget)) : json(nullptr);
  j["first_start"] = first_start > 0 ? json(first_start) : json(nullptr);
  j["last_activity"] = last_activity > 0 ? json(last_activity) : json(nullptr);
  const bool live = running + waiting > 0;
  j["live"] = live;
  // Finish rate over the 10 minutes up to now (a live study) or up to its last activity (an idle one),
  // or since the first start when the study is younger.
  const double end = live ? now_s : last_activity;
  const double window = first_start > 0 ? std::min(600.0, std::max(1.0, end - first_start)) : 0;
  int64_t recent = 0;
  for (auto& tp : s.trials)
    if (tp->datetime_complete && end - epoch_s(*tp->datetime_complete) <= window) ++recent;
  const double rate = window > 0 ? recent * 60.0 / window : 0;
  j["rate_per_min"] = rate;
  j["eta_s"] = live && budget > finished && rate > 0 ? json((budget - finished) * 60.0 / rate) : json(nullptr);
  return j;
}

// ------------------------------------------------------------------------------ trials page

namespace {

int64_t parse_int(const std::map<std::string, std::string>& p, const char* key, int64_t def, int64_t lo,
                  int64_t hi) {
  auto it = p.find(key);
  if (it == p.end() || it->second.empty()) return def;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
    throw_invalid(std::string(key) + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                  " (got \"" + s + "\")");
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// A cell as sorting and filtering see it: absent, a number (NaN allowed) or text.
struct Cell {
  enum Kind { kAbsent, kNumber, kText } kind = kAbsent;
  double num = 0;
  std::string text;
};

Cell number_cell(double v) { return Cell{Cell::kNumber, v, {}}; }
Cell text_cell(std::string s) { return Cell{Cell::kText, 0, std::move(s)}; }

const char* const kBuiltinColumns[] = {"number", "state", "value", "duration", "start", "complete", "step", "worker"};

bool is_builtin(const std::string& k) {
  return std::any_of(std::begin(kBuiltinColumns), std::end(kBuiltinColumns), [&](const char* c) { return k == c; });
}

Cell cell_of(const FrozenTrial& t, const std::string& key) {
  auto time = [](const std::optional<Clock::time_point>& tp) { return tp ? number_cell(epoch_s(*tp)) : Cell{}; };
  if (key == "number") return number_cell(static_cast<double>(t.number));
  if (key == "state") return text_cell(to_string(t.state));
  if (key == "value") return t.value ? number_cell(*t.value) : Cell{};
  if (key == "duration") {
    auto d = t.duration_s();
    return d ? number_cell(*d) : Cell{};
  }
  if (key == "start") return time(t.datetime_start);
  if (key == "complete") return time(t.datetime_complete);
  if (key == "step") {
    auto last = t.last_intermediate();
    return last ? number_cell(static_cast<double>(last->first)) : Cell{};
  }
  if (key == "worker") {
    auto w = t.system_attrs.find(kWorkerAttr);
    return w != t.system_attrs.end() && w->second.is_string() ? text_cell(w->second.get<std::string>()) : Cell{};
  }
  if (!t.params.count(key)) return Cell{};
  json v = t.param(key);
  if (v.is_number()) return number_cell(v.get<double>());
  if (v.is_boolean()) return text_cell(v.get<bool>() ? "true" : "false");
  if (v.is_string()) return text_cell(v.get<std::string>());
  return text_cell(v.dump());
}

// The column a query names: a built-in one, a parameter, or "params.NAME".
std::string column_of(const StudySnapshot& s, std::string key, const char* what) {
  if (key.rfind("params.", 0) == 0) key = key.substr(7);
  else if (is_builtin(key)) return key;
  if (!std::binary_search(s.param_names.begin(), s.param_names.end(), key))
    throw_invalid(std::string(what) + ": unknown column \"" + key +
                  "\" (known: number, state, value, duration, start, complete, step, worker, or a parameter)");
  return key;
}

// Absent and NaN sort last whatever the order; numbers before text.
int rank(const Cell& c) { return c.kind == Cell::kAbsent || (c.kind == Cell::kNumber && std::isnan(c.num)) ? 2 : c.kind == Cell::kText; }

struct Clause {
  std::string key, op;
  std::string text;
  std::optional<double> num;
};

Clause parse_clause(const StudySnapshot& s, const std::string& raw) {
  static const char* const kOps[] = {"<=", ">=", "!=", "=", "<", ">", "~"};
  for (size_t i = 0; i < raw.size(); ++i)
    for (const char* op : kOps)
      if (raw.compare(i, std::strlen(op), op) == 0) {
        Clause c;
        c.key = column_of(s, trim(raw.substr(0, i)), ("filter \"" + raw + "\"").c_str());
        c.op = op;
        c.text = trim(raw.substr(i + std::strlen(op)));
        double v = 0;
        auto [end, ec] = std::from_chars(c.text.data(), c.text.data() + c.text.size(), v);
        if (!c.text.empty() && ec == std::errc() && end == c.text.data() + c.text.size()) c.num = v;
        else if (c.text == "NaN" || c.text == "nan") c.num = std::nan("");
        if (c.key == "state") {  // states are names: COMPLETE, complete, ...
          std::string up = c.text;
          for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
          c.text = up;
        }
        return c;
      }
  throw_invalid("filter \"" + raw + "\": expected KEY OP VALUE with OP one of < <= > >= = != ~ (e.g. value<0.5)");
}

bool matches(const Clause& c, const Cell& cell) {
  if (cell.kind == Cell::kAbsent) return c.op == "!=";
  if (c.op == "~") {
    std::string hay = cell.kind == Cell::kText ? cell.text : json(cell.num).dump();
    return hay.find(c.text) != std::string::npos;
  }
  int cmp;
  if (cell.kind == Cell::kNumber && c.num) {
    if (std::isnan(cell.num) || std::isnan(*c.num)) {  // NaN equals only NaN and orders with nothing
      const bool both = std::isnan(cell.num) && std::isnan(*c.num);
      return c.op == "=" ? both : c.op == "!=" ? !both : false;
    }
    cmp = cell.num < *c.num ? -1 : cell.num > *c.num ? 1 : 0;
  } else {
    const std::string lhs = cell.kind == Cell::kText ? cell.text : json(cell.num).dump();
    cmp = lhs.compare(c.text);
  }
  if (c.op == "<") return cmp < 0;
  if (c.op == "<=") return cmp <= 0;
  if (c.op == ">") return cmp > 0;
  if (c.op == ">=") return cmp >= 0;
  if (c.op == "=") return cmp == 0;
  return cmp != 0;
}

}  // namespace

TrialQuery parse_trial_query(const std::map<std::string, std::string>& p) {
  TrialQuery q;
  q.page = parse_int(p, "page", 0, 0, 1'000'000'000);
  q.size = parse_int(p, "size", 50, 1, 1000);
  if (auto it = p.find("sort"); it != p.end() && !it->second.empty()) q.sort = it->second;
  if (auto it = p.find("order"); it != p.end() && !it->second.empty()) {
    if (it->second != "asc" && it->second != "desc")
      throw_invalid("order must be asc or desc (got \"" + it->second + "\")");
    q.descending = it->second == "desc";
  }
  if (auto it = p.find("state"); it != p.end() && !it->second.empty())
    for (auto& name : split(it->second, ',')) {
      try {
        q.states.push_back(trial_state_from_string(trim(name)));
      } catch (const Error&) {
        throw_invalid("state \"" + name + "\" is not one of COMPLETE, PRUNED, FAIL, RUNNING, WAITING");
      }
    }
  if (auto it = p.find("filter"); it != p.end()) q.filter = it->second;
  return q;
}

json trials_page(const StudySnapshot& s, const TrialQuery& q) {
  const std::string sort_key = column_of(s, q.sort, "sort");
  std::vector<Clause> clauses;
  for (auto& raw : split(q.filter, ','))
    if (!trim(raw).empty()) clauses.push_back(parse_clause(s, trim(raw)));

  struct Row {
    const FrozenTrial* t;
    Cell key;
  };
  std::vector<Row> rows;
  rows.reserve(s.trials.size());
  for (auto& tp : s.trials) {
    const FrozenTrial& t = *tp;
    if (!q.states.empty() && std::find(q.states.begin(), q.states.end(), t.state) == q.states.end()) continue;
    bool ok = true;
    for (auto& c : clauses)
      if (!(ok = matches(c, cell_of(t, c.key)))) break;
    if (ok) rows.push_back(Row{&t, cell_of(t, sort_key)});
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    const int ra = rank(a.key), rb = rank(b.key);
    if (ra != rb) return ra < rb;
    int cmp = 0;
    if (ra == 0) cmp = a.key.num < b.key.num ? -1 : a.key.num > b.key.num ? 1 : 0;
    else if (ra == 1) cmp = a.key.text.compare(b.key.text);
    if (cmp != 0) return q.descending ? cmp > 0 : cmp < 0;
    return a.t->number < b.t->number;
  });
  const int64_t matched = static_cast<int64_t>(rows.size());
  const int64_t pages = std::max<int64_t>(1, (matched + q.size - 1) / q.size);
  const int64_t page = std::min(q.page, pages - 1);  // a live table whose filter shrank stays filled
  json out_rows = json::array();
  for (int64_t i = page * q.size; i < std::min(matched, (page + 1) * q.size); ++i)
    out_rows.push_back(trial_row(*rows[i].t));
  return json{{"study", s.id},       {"version", s.version},      {"total", s.trials.size()},
              {"matched", matched},  {"page", page},              {"size", q.size},
              {"pages", pages},      {"sort", sort_key},          {"order", q.descending ? "desc" : "asc"},
              {"columns", s.param_names}, {"rows", std::move(out_rows)}};
}

}  // namespace hone::report
