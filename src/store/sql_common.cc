#include "store/sql_common.h"

#include <cmath>
#include <cstdio>
#include <ctime>
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
  t.state = TrialState::waiting;
  t.params = dead.params;
  t.distributions = dead.distributions;
  t.user_attrs = dead.user_attrs;
  t.system_attrs = dead.system_attrs;
  t.system_attrs.erase("fail_reason");
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

std::string mask_storage_url(const std::string& url) {
  std::string s = url;
  // scheme://user:password@host -> scheme://user:***@host
  auto scheme = s.find("://");
  if (scheme != std::string::npos) {
    auto at = s.find('@', scheme + 3);
    auto slash = s.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      auto colon = s.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) s = s.substr(0, colon + 1) + "***" + s.substr(at);
    }
  }
  // password=... in key=value strings and URL query parameters
  for (size_t p = s.find("password="); p != std::string::npos; p = s.find("password=", p + 1)) {
    size_t v = p + 9, e = v;
    if (e < s.size() && s[e] == '\'') {
      ++e;
      while (e < s.size() && s[e] != '\'') e += s[e] == '\\' ? 2 : 1;
      e = std::min(e + 1, s.size());
    } else {
      while (e < s.size() && s[e] != ' ' && s[e] != '&') ++e;
    }
    s = s.substr(0, v) + "***" + s.substr(e);
  }
  return s;
}

int64_t fail_stale_trials(Storage& storage, int64_t study_id) {
  if (auto* r = dynamic_cast<store::StaleTrialReaper*>(&storage)) return r->fail_stale(study_id);
  return 0;
}

}  // namespace hone
