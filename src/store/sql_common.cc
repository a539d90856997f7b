#include "store/sql_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <mutex>
#include <random>

#include "hone/error.h"

namespace hone::store {

std::optional<Clock::time_point> parse_datetime(const std::string& s) {
  int Y, M, D, h, m, sec, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6)
    return std::nullopt;
  // SQLAlchemy reads the fraction as an integer number of microseconds; Optuna always writes 6
  // digits, so reading it as a decimal fraction agrees on everything Optuna writes.
  long us = 0;
  if (s.size() > static_cast<size_t>(n) && s[static_cast<size_t>(n)] == '.') {
    long scale = 100000;
    for (size_t i = static_cast<size_t>(n) + 1; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      us += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;  // naive local time, as datetime.now() writes it
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return Clock::time_point(std::chrono::seconds(t)) + std::chrono::microseconds(us);
}

const char* value_type_of(double v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INF_POS" : "INF_NEG";
  return "FINITE";
}

double value_from_row(double v, bool value_is_null, const std::string& type) {
  if (type == "FINITE") return value_is_null ? NAN : v;
  if (type == "INF_POS") return INFINITY;
  if (type == "INF_NEG") return -INFINITY;
  if (type == "NAN") return NAN;
  throw_data("unknown value_type \"" + type + "\" (known: FINITE, INF_POS, INF_NEG, NAN)");
}

namespace {
// Sentinel strings for the bare tokens json.dumps writes; a control character no real
// attribute holds makes a collision impossible in practice.
const std::string kNaN = "\x01hone:NaN", kInf = "\x01hone:Inf", kNegInf = "\x01hone:-Inf";

void restore_specials(json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() > 6 && s[0] == '\x01') {
      if (s == kNaN) j = NAN;
      else if (s == kInf) j = INFINITY;
      else if (s == kNegInf) j = -INFINITY;
    }
  } else if (j.is_structured()) {
    for (auto& e : j) restore_specials(e);
  }
}
}  // namespace

json parse_python_json(const std::string& text) {
  bool special = text.find("NaN") != std::string::npos || text.find("Infinity") != std::string::npos;
  if (!special) return json::parse(text);
  std::string out;
  out.reserve(text.size() + 16);
  bool in_str = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_str) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') {
      in_str = true;
      out += c;
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += "\"\\u0001hone:NaN\"";
      i += 2;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += "\"\\u0001hone:Inf\"";
      i += 7;
    } else if (text.compare(i, 9, "-Infinity") == 0) {
      out += "\"\\u0001hone:-Inf\"";
      i += 8;
    } else {
      out += c;
    }
  }
  json j = json::parse(out);
  restore_specials(j);
  return j;
}

namespace {
constexpr const char* kJsonChoices = "hone:json_choices";
bool structured(const json& c) { return c.is_array() || c.is_object(); }
}  // namespace

std::string distribution_text(const Distribution& d) {
  if (!d.is_categorical()) return d.to_json_string();
  const std::vector<json>& choices = d.choices();
  if (std::none_of(choices.begin(), choices.end(), structured)) return d.to_json_string();
  json texts = json::array();
  for (const json& c : choices) texts.push_back(python_json_dumps(c));
  return "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": " + python_json_dumps(texts) +
         "}, \"" + kJsonChoices + "\": true}";
}

Distribution parse_distribution_text(const std::string& text) {
  if (text.find(kJsonChoices) == std::string::npos) return Distribution::from_json_string(text);
  json j;
  try {
    j = parse_python_json(text);
  } catch (const json::exception&) {
    throw_data("distribution_json: not JSON: " + text.substr(0, 80));
  }
  if (!j.is_object() || !j.value(kJsonChoices, false)) return Distribution::from_json(j);
  std::vector<json> choices;
  try {
    for (const json& c : j.at("attributes").at("choices")) choices.push_back(parse_python_json(c.get<std::string>()));
  } catch (const json::exception&) {
    throw_data("distribution_json: " + std::string(kJsonChoices) + " choices must be JSON texts: " + text.substr(0, 80));
  }
  return Distribution::categorical(choices);
}

std::string generated_study_name() {
  static std::mutex mu;
  static std::mt19937_64 g(std::random_device{}());
  uint64_t a, b;
  {
    std::lock_guard<std::mutex> lock(mu);
    a = g();
    b = g();
  }
  // uuid4 layout: version nibble 4, variant bits 10.
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[64];
  std::snprintf(buf, sizeof buf, "no-name-%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
                static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

FrozenTrial make_retry_template(const FrozenTrial& dead) {
  // As Optuna's RetryFailedTrialCallback: the dead trial's attrs plus failed_trial (the first
  // trial of the chain) and retry_history; its params both as params (Optuna workers reuse set
  // params) and as fixed_params (hone's enqueue path).
  FrozenTrial t;
  t.state = TrialState::kWaiting;
  t.params = dead.params;
  t.distributions = dead.distributions;
  t.user_attrs = dead.user_attrs;
  t.system_attrs = dead.system_attrs;
  t.system_attrs.erase("fail_reason");
  // The dead process's tags (hone:worker, hone:process) are not the copy's: whoever claims it tags it.
  for (auto it = t.system_attrs.begin(); it != t.system_attrs.end();)
    it = it->first.rfind("hone:", 0) == 0 ? t.system_attrs.erase(it) : std::next(it);
  if (!t.system_attrs.count("failed_trial")) t.system_attrs["failed_trial"] = dead.number;
  json hist = t.system_attrs.count("retry_history") && t.system_attrs["retry_history"].is_array()
                  ? t.system_attrs["retry_history"]
                  : json::array();
  hist.push_back(dead.number);
  t.system_attrs["retry_history"] = hist;
  json fixed = t.system_attrs.count("fixed_params") && t.system_attrs["fixed_params"].is_object()
                   ? t.system_attrs["fixed_params"]
                   : json::object();
  for (auto& [name, v] : dead.params) fixed[name] = dead.distributions.at(name).to_external(v);
  t.system_attrs["fixed_params"] = fixed;
  return t;
}


namespace sql {
std::string delete_trial_children(const char* table) {
  return std::string("DELETE FROM ") + table + " WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id=?)";
}
std::string delete_study_rows(const char* table) { return std::string("DELETE FROM ") + table + " WHERE study_id=?"; }
std::string upsert_trial_attr(const char* table) {
  return std::string("INSERT INTO ") + table +
         " (trial_id, \"key\", value_json) VALUES (?, ?, ?) ON CONFLICT (trial_id, \"key\") "
         "DO UPDATE SET value_json=excluded.value_json";
}
std::string upsert_study_attr(const char* table) {
  return std::string("INSERT INTO ") + table +
         " (study_id, \"key\", value_json) VALUES (?, ?, ?) ON CONFLICT (study_id, \"key\") "
         "DO UPDATE SET value_json=excluded.value_json";
}
std::string select_study_attrs(const char* table) {
  return std::string("SELECT \"key\", value_json FROM ") + table + " WHERE study_id=?";
}
std::string best_trial(Direction d) {
  return "SELECT t.trial_id FROM trials t JOIN trial_values v ON v.trial_id=t.trial_id AND v.objective=0 "
         "WHERE t.study_id=? AND t.state='COMPLETE' AND CAST(v.value_type AS TEXT)!='NAN' ORDER BY "
         "CASE CAST(v.value_type AS TEXT) WHEN 'INF_NEG' THEN -1 WHEN 'INF_POS' THEN 1 ELSE 0 END " +
         std::string(d == Direction::kMinimize ? "ASC, v.value ASC" : "DESC, v.value DESC") +
         ", t.number ASC LIMIT 1";
}
}  // namespace sql

FrozenTrial TrialRecords::from_row(const TrialRow& r) const {
  FrozenTrial t;
  t.trial_id = r.trial_id;
  t.number = r.number;
  t.state = r.state;
  if (!r.start.empty()) t.datetime_start = parse_datetime(r.start);
  if (!r.complete.empty()) t.datetime_complete = parse_datetime(r.complete);
  return t;
}
void TrialRecords::add_value(FrozenTrial& t, double v, bool is_null, const std::string& type) const {
  double x = value_from_row(v, is_null, type);
  if (!std::isnan(x)) t.value = x;
}
void TrialRecords::add_objective_value(FrozenTrial& t, int64_t objective, double v, bool is_null,
                                       const std::string& type) const {
  if (objective == 0) add_value(t, v, is_null, type);
  if (objective < 0 || objective > 1000) return;  // not a row any writer makes
  const auto k = static_cast<size_t>(objective);
  if (t.values.size() <= k) t.values.resize(k + 1, std::numeric_limits<double>::quiet_NaN());
  t.values[k] = value_from_row(v, is_null, type);
}
void TrialRecords::add_param(FrozenTrial& t, const std::string& name, double v, const std::string& distribution_json) {
  t.params[name] = v;
  t.distributions.emplace(name, distribution(distribution_json));
}
void TrialRecords::add_intermediate(FrozenTrial& t, int64_t step, double v, bool is_null,
                                    const std::string& type) const {
  t.intermediate_values[step] = value_from_row(v, is_null, type);
}
json TrialRecords::attr(const std::string& text) const {
  try {
    return parse_python_json(text);
  } catch (const json::exception&) {
    throw_data(where_ + ": attribute value is not JSON: " + text.substr(0, 80));
  }
}
const Distribution& TrialRecords::distribution(const std::string& text) {
  auto it = dist_text_.find(text);
  if (it == dist_text_.end()) it = dist_text_.emplace(text, parse_distribution_text(text)).first;
  return it->second;
}
std::optional<FrozenTrial> TrialRecords::cached(const TrialRow& r) const {
  auto it = cache_.find(r.trial_id);
  if (it == cache_.end()) return std::nullopt;
  const TrialRow& e = it->second.row;
  if (e.number != r.number || e.study_id != r.study_id || e.state != r.state || e.start != r.start ||
      e.complete != r.complete)
    return std::nullopt;
  return it->second.trial;
}
void TrialRecords::remember(const TrialRow& r, const FrozenTrial& t) {
  if (is_finished(r.state)) cache_[r.trial_id] = Entry{r, t};
}
void TrialRecords::forget_study(int64_t study_id) {
  for (auto it = cache_.begin(); it != cache_.end();)
    it = it->second.row.study_id == study_id ? cache_.erase(it) : std::next(it);
  for (auto it = first_dist_.begin(); it != first_dist_.end();)
    it = it->first.first == study_id ? first_dist_.erase(it) : std::next(it);
}
void TrialRecords::check_param(int64_t study_id, const std::string& name, const Distribution& d,
                               const std::function<std::optional<std::string>()>& first_stored) {
  auto key = std::make_pair(study_id, name);
  auto it = first_dist_.find(key);
  if (it == first_dist_.end()) {
    auto text = first_stored();
    if (!text) return;  // first use in the study: nothing to be compatible with
    it = first_dist_.emplace(key, distribution(*text)).first;
  }
  if (!it->second.compatible(d))
    throw_invalid("parameter \"" + name + "\": " + d.describe() + " is incompatible with its earlier distribution " +
                  it->second.describe() + " in study " + std::to_string(study_id) + " of " + where_ +
                  " (kind, log and choices must not change)");
}

TrialStart trial_start(const FrozenTrial* templ) {
  TrialStart s{templ ? templ->state : TrialState::kRunning, std::nullopt, std::nullopt};
  if (!templ) {
    s.start = Clock::now();
  } else if (s.state != TrialState::kWaiting) {
    s.start = templ->datetime_start ? templ->datetime_start : std::optional(Clock::now());
    s.complete = templ->datetime_complete;
    if (is_finished(s.state) && !s.complete) s.complete = Clock::now();
  }
  return s;
}

void write_template_children(TrialChildWriter& w, int64_t study_id, int64_t trial_id, const FrozenTrial& t,
                             bool check_params) {
  for (auto& [name, v] : t.params) {
    auto d = t.distributions.find(name);
    if (d == t.distributions.end()) throw_invalid("trial template: parameter \"" + name + "\" has no distribution");
    if (check_params) w.check_param(study_id, name, d->second);
    w.insert_param(trial_id, name, v, d->second);
  }
  if (t.state == TrialState::kComplete || t.state == TrialState::kPruned) {
    FrozenTrial n;
    n.value = t.value;
    n.values = t.values;
    normalize_values(n);
    for (size_t k = 0; k < n.values.size(); ++k)
      if (!std::isnan(n.values[k])) w.upsert_value(trial_id, static_cast<int64_t>(k), n.values[k]);
  }
  for (auto& [step, v] : t.intermediate_values) w.upsert_intermediate(trial_id, step, v);
  for (auto& [k, v] : t.user_attrs) w.upsert_trial_attr("trial_user_attributes", trial_id, k, v);
  for (auto& [k, v] : t.system_attrs) w.upsert_trial_attr("trial_system_attributes", trial_id, k, v);
}

void throw_finished(int64_t number, const std::string& study_name, TrialState state) {
  throw_runtime("trial #" + std::to_string(number) + " of study \"" + study_name + "\" has already finished (" +
                to_string(state) + "); it cannot change");
}

void check_step(int64_t step) {
  if (step < 0) throw_invalid("intermediate value step must be >= 0, got " + std::to_string(step));
}

std::string fmt_seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", s);
  return b;
}

std::string stale_fail_reason(double grace_period_s) {
  return "no heartbeat for more than " + fmt_seconds(grace_period_s) + " s: its worker died or hung";
}

HeartbeatThread::HeartbeatThread(double interval_s, std::function<void()> beat) {
  thread_ = std::thread([this, interval_s, beat = std::move(beat)] {
    auto period = std::chrono::duration<double>(interval_s);
    std::unique_lock<std::mutex> lk(mu_);
    while (!cv_.wait_for(lk, period, [&] { return stopping_; })) {
      try {
        beat();
      } catch (const std::exception&) {
      }
    }
  });
}

HeartbeatThread::~HeartbeatThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::vector<FrozenTrial> retry_templates(const std::vector<FrozenTrial>& dead, int max_retries) {
  std::vector<FrozenTrial> out;
  if (max_retries <= 0) return out;
  for (auto& t : dead) {
    FrozenTrial re = make_retry_template(t);
    if (static_cast<int>(re.system_attrs["retry_history"].size()) <= max_retries) out.push_back(std::move(re));
  }
  return out;
}

}  // namespace hone::store

namespace hone {

SqlStorageOptions parse_storage_options(const std::string& url, std::string* url_out) {
  SqlStorageOptions o;
  auto q = url.find('?');
  if (url_out) *url_out = url.substr(0, q);
  if (q == std::string::npos) return o;
  std::string rest = url.substr(q + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t amp = rest.find('&', pos);
    std::string kv = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? rest.size() + 1 : amp + 1;
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    auto num = [&](double lo) {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(d >= lo))
        throw_invalid("storage URL option " + k + "=\"" + v + "\": expected a number >= " +
                      std::to_string(static_cast<int>(lo)));
      return d;
    };
    if (k == "timeout") o.timeout_s = num(0);
    else if (k == "heartbeat_interval") o.heartbeat_interval_s = num(0);
    else if (k == "grace_period") o.grace_period_s = num(0);
    else if (k == "max_retries") o.max_retries = static_cast<int>(num(0));
    else if (k == "synchronous") {
      if (v == "full") o.synchronous_full = true;
      else if (v == "normal") o.synchronous_full = false;
      else throw_invalid("storage URL option synchronous=\"" + v + "\": expected normal or full");
    } else {
      throw_invalid("storage URL: unknown option \"" + k +
                    "\" (known: timeout, synchronous, heartbeat_interval, grace_period, max_retries)");
    }
  }
  return o;
}

FrozenTrial make_retry_trial(const FrozenTrial& dead) { return store::make_retry_template(dead); }

int64_t fail_stale_trials(Storage& storage, int64_t study_id) {
  if (auto* r = dynamic_cast<store::StaleTrialReaper*>(&storage)) return r->fail_stale(study_id);
  return 0;
}

}  // namespace hone
