#include "hone/tune/distribution.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "hone/error.h"

namespace hone {

namespace {

constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53: every integer up to it is exact in a double

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Shortest text that round-trips.
  for (int p = 1; p <= 17; ++p) {
    char b2[64];
    std::snprintf(b2, sizeof b2, "%.*g", p, v);
    if (std::strtod(b2, nullptr) == v) return b2;
  }
  return buf;
}

// Python's float repr: shortest round-trip digits; integral values keep ".0"; exponent form
// ("1e-05", "1e+16") below 1e-4 or from 1e16.
std::string py_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  double a = std::fabs(v);
  char buf[64];
  bool sci = a != 0 && (a < 1e-4 || a >= 1e16);
  auto r = std::to_chars(buf, buf + sizeof buf, v,
                         sci ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf, r.ptr);
  if (!sci && s.find('.') == std::string::npos) s += ".0";
  return s;
}

void dumps(const json& j, std::string& out) {
  switch (j.type()) {
    case json::value_t::null: out += "null"; break;
    case json::value_t::boolean: out += j.get<bool>() ? "true" : "false"; break;
    case json::value_t::number_integer: out += std::to_string(j.get<int64_t>()); break;
    case json::value_t::number_unsigned: out += std::to_string(j.get<uint64_t>()); break;
    case json::value_t::number_float: out += py_float(j.get<double>()); break;
    case json::value_t::string: out += json(j.get<std::string>()).dump(-1, ' ', true); break;
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (auto& e : j) {
        if (!first) out += ", ";
        first = false;
        dumps(e, out);
      }
      out += ']';
      break;
    }
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto& [k, v] : j.items()) {
        if (!first) out += ", ";
        first = false;
        out += json(k).dump(-1, ' ', true);
        out += ": ";
        dumps(v, out);
      }
      out += '}';
      break;
    }
    default: out += j.dump(); break;
  }
}

bool is_integral(double v) { return std::isfinite(v) && std::floor(v) == v; }

}  // namespace

std::string python_json_dumps(const json& j) {
  std::string out;
  dumps(j, out);
  return out;
}

Distribution Distribution::real(double low, double high, bool log, std::optional<double> step) {
  if (!std::isfinite(low) || !std::isfinite(high))
    throw_invalid("float distribution: low and high must be finite, got [" + num(low) + ", " +
                  num(high) + "]");
  if (low > high)
    throw_invalid("float distribution: low must be <= high, got [" + num(low) + ", " + num(high) + "]");
  if (!std::isfinite(high - low))
    throw_invalid("float distribution: high - low must be finite, got [" + num(low) + ", " + num(high) + "]");
  if (log && step)
    throw_invalid("float distribution: log and step cannot be used together");
  if (log && low <= 0)
    throw_invalid("float distribution: log=true needs low > 0, got low=" + num(low));
  Distribution d;
  d.kind_ = Kind::kReal;
  d.low_ = low;
  d.high_ = high;
  d.log_ = log;
  if (step) {
    if (!(*step > 0) || !std::isfinite(*step))
      throw_invalid("float distribution: step must be > 0, got " + num(*step));
    d.step_ = *step;
    // As Optuna: lower high to the last point of the grid low + k*step. The 1e-9 slack absorbs
    // binary rounding of decimal steps (0.1).
    double k = std::floor((high - low) / *step + 1e-9);
    if (!(k <= kMaxExactInt))
      throw_invalid("float distribution: (high - low) / step must be at most 2^53, got " + num(k));
    double adj = low + k * *step;
    if (std::fabs(adj - high) > 1e-12 * std::max(1.0, std::fabs(high))) d.high_ = adj;
  }
  return d;
}

Distribution Distribution::integer(int64_t low, int64_t high, bool log, int64_t step) {
  if (low > high)
    throw_invalid("int distribution: low must be <= high, got [" + std::to_string(low) + ", " +
                  std::to_string(high) + "]");
  // Values travel as doubles (as in Optuna's storages): beyond 2^53 they would not be exact, and
  // high - low would overflow int64.
  if (std::fabs(static_cast<double>(low)) > kMaxExactInt || std::fabs(static_cast<double>(high)) > kMaxExactInt)
    throw_invalid("int distribution: low and high must be within +-2^53 (9007199254740992), got [" +
                  std::to_string(low) + ", " + std::to_string(high) + "]");
  if (step <= 0 || static_cast<double>(step) > kMaxExactInt)
    throw_invalid("int distribution: step must be from 1 to 2^53, got " + std::to_string(step));
  if (log && step != 1) throw_invalid("int distribution: log=true needs step == 1");
  if (log && low < 1)
    throw_invalid("int distribution: log=true needs low >= 1, got low=" + std::to_string(low));
  Distribution d;
  d.kind_ = Kind::kInteger;
  d.low_ = static_cast<double>(low);
  d.high_ = static_cast<double>(low + (high - low) / step * step);
  d.log_ = log;
  d.step_ = static_cast<double>(step);
  return d;
}

Distribution Distribution::categorical(std::vector<json> choices) {
  if (choices.empty()) throw_invalid("categorical distribution: choices must not be empty");
  for (auto& c : choices)
    if (c.is_object())
      throw_invalid("categorical distribution: a choice cannot be an object (" + c.dump() + ")");
  Distribution d;
  d.kind_ = Kind::kCategorical;
  d.low_ = 0;
  d.high_ = static_cast<double>(choices.size() - 1);
  d.choices_ = std::make_shared<const std::vector<json>>(std::move(choices));
  return d;
}

std::optional<double> Distribution::step() const {
  if (step_ > 0) return step_;
  return std::nullopt;
}

const std::vector<json>& Distribution::choices() const {
  static const std::vector<json> empty;
  return choices_ ? *choices_ : empty;
}

bool Distribution::single() const {
  if (kind_ == Kind::kCategorical) return n_choices() == 1;
  if (low_ == high_) return true;
  if (step_ > 0) return high_ - low_ < step_;
  return false;
}

bool Distribution::contains(double v) const {
  if (std::isnan(v)) return false;
  switch (kind_) {
    case Kind::kCategorical:
      return is_integral(v) && v >= 0 && v < static_cast<double>(n_choices());
    case Kind::kInteger:
      if (!is_integral(v) || v < low_ || v > high_) return false;
      return std::fmod(v - low_, step_) == 0;
    case Kind::kReal:
      if (v < low_ || v > high_) return false;
      if (step_ > 0) {
        double k = (v - low_) / step_;
        return std::fabs(k - std::round(k)) < 1e-8;
      }
      return true;
  }
  return false;
}

double Distribution::to_internal(const json& x) const {
  if (kind_ == Kind::kCategorical) {
    const auto& ch = *choices_;
    for (size_t i = 0; i < ch.size(); ++i) {
      if (ch[i] == x) return static_cast<double>(i);
      // 1 == 1.0 (Python compares numbers by value; json distinguishes int and float)
      if (ch[i].is_number() && x.is_number() && !ch[i].is_boolean() && !x.is_boolean() &&
          ch[i].get<double>() == x.get<double>())
        return static_cast<double>(i);
    }
    throw_invalid("value " + x.dump() + " is not one of the choices of " + describe());
  }
  if (!x.is_number() || x.is_boolean())
    throw_invalid("value " + x.dump() + " is not a number, for " + describe());
  double v = x.get<double>();
  if (kind_ == Kind::kInteger && !is_integral(v))
    throw_invalid("value " + x.dump() + " is not an integer, for " + describe());
  return v;
}

json Distribution::to_external(double v) const {
  switch (kind_) {
    case Kind::kCategorical: {
      if (!(v >= 0 && v < static_cast<double>(n_choices())))
        throw_data("categorical index " + num(v) + " out of range for " + describe());
      return (*choices_)[static_cast<size_t>(v)];
    }
    case Kind::kInteger:  // C-style truncation, as Optuna; a value outside int64 (a corrupt storage) is an error
      if (!(std::fabs(v) < 9.2e18)) throw_data("value " + num(v) + " out of range for " + describe());
      return json(static_cast<int64_t>(v));
    case Kind::kReal: return json(v);
  }
  return json();
}

json Distribution::to_json() const {
  json a = json::object();
  switch (kind_) {
    case Kind::kReal:
      a["step"] = step_ > 0 ? json(step_) : json(nullptr);
      a["low"] = low_;
      a["high"] = high_;
      a["log"] = log_;
      return json{{"name", "FloatDistribution"}, {"attributes", a}};
    case Kind::kInteger:
      a["log"] = log_;
      a["step"] = static_cast<int64_t>(step_);
      a["low"] = static_cast<int64_t>(low_);
      a["high"] = static_cast<int64_t>(high_);
      return json{{"name", "IntDistribution"}, {"attributes", a}};
    case Kind::kCategorical:
      a["choices"] = *choices_;
      return json{{"name", "CategoricalDistribution"}, {"attributes", a}};
  }
  return json();
}

std::string Distribution::to_json_string() const {
  // Key order as Optuna writes it (nlohmann's object sorts keys, so write by hand).
  std::string a;
  switch (kind_) {
    case Kind::kReal:
      a = "{\"step\": " + (step_ > 0 ? py_float(step_) : std::string("null")) +
          ", \"low\": " + py_float(low_) + ", \"high\": " + py_float(high_) +
          ", \"log\": " + (log_ ? "true" : "false") + "}";
      return "{\"name\": \"FloatDistribution\", \"attributes\": " + a + "}";
    case Kind::kInteger:
      a = std::string("{\"log\": ") + (log_ ? "true" : "false") +
          ", \"step\": " + std::to_string(static_cast<int64_t>(step_)) +
          ", \"low\": " + std::to_string(static_cast<int64_t>(low_)) +
          ", \"high\": " + std::to_string(static_cast<int64_t>(high_)) + "}";
      return "{\"name\": \"IntDistribution\", \"attributes\": " + a + "}";
    case Kind::kCategorical:
      return "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": " +
             python_json_dumps(json(*choices_)) + "}}";
  }
  return "";
}

Distribution Distribution::from_json(const json& j) {
  try {
    if (!j.is_object()) throw_data("distribution_json: expected an object, got " + j.dump());
    if (j.contains("type") && !j.contains("name")) {  // abbreviated form
      std::string t = j.at("type").get<std::string>();
      if (t == "categorical") return categorical(j.at("choices").get<std::vector<json>>());
      bool log = j.value("log", false);
      if (t == "float") {
        std::optional<double> step;
        if (j.contains("step") && !j.at("step").is_null()) step = j.at("step").get<double>();
        return real(j.at("low").get<double>(), j.at("high").get<double>(), log, step);
      }
      if (t == "int")
        return integer(j.at("low").get<int64_t>(), j.at("high").get<int64_t>(), log,
                       j.value("step", int64_t{1}));
      throw_data("distribution_json: unknown type \"" + t + "\"");
    }
    std::string name = j.at("name").get<std::string>();
    const json& a = j.at("attributes");
    if (name == "FloatDistribution") {
      std::optional<double> step;
      if (a.contains("step") && !a.at("step").is_null()) step = a.at("step").get<double>();
      return real(a.at("low").get<double>(), a.at("high").get<double>(), a.value("log", false), step);
    }
    if (name == "IntDistribution")
      return integer(a.at("low").get<int64_t>(), a.at("high").get<int64_t>(), a.value("log", false),
                     a.value("step", int64_t{1}));
    if (name == "CategoricalDistribution")
      return categorical(a.at("choices").get<std::vector<json>>());
    if (name == "UniformDistribution")
      return real(a.at("low").get<double>(), a.at("high").get<double>());
    if (name == "LogUniformDistribution")
      return real(a.at("low").get<double>(), a.at("high").get<double>(), true);
    if (name == "DiscreteUniformDistribution")
      return real(a.at("low").get<double>(), a.at("high").get<double>(), false, a.at("q").get<double>());
    if (name == "IntUniformDistribution")
      return integer(a.at("low").get<int64_t>(), a.at("high").get<int64_t>(), false,
                     a.value("step", int64_t{1}));
    if (name == "IntLogUniformDistribution")
      return integer(a.at("low").get<int64_t>(), a.at("high").get<int64_t>(), true, 1);
    throw_data("distribution_json: unknown distribution \"" + name + "\"");
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kDataError) throw;
    throw_data(std::string("distribution_json: ") + e.what());
  } catch (const json::exception& e) {
    throw_data(std::string("distribution_json: ") + e.what() + " in " + j.dump());
  }
}

Distribution Distribution::from_json_string(const std::string& text) {
  json j;
  try {
    j = json::parse(text, nullptr, true, false);
  } catch (const json::exception& e) {
    throw_data("distribution_json: not JSON: " + text);
  }
  return from_json(j);
}

bool Distribution::compatible(const Distribution& o) const {
  if (kind_ != o.kind_) return false;
  if (kind_ == Kind::kCategorical) return choices() == o.choices();
  return log_ == o.log_;
}

bool Distribution::operator==(const Distribution& o) const {
  if (kind_ != o.kind_) return false;
  if (kind_ == Kind::kCategorical) return choices() == o.choices();
  return low_ == o.low_ && high_ == o.high_ && log_ == o.log_ && step_ == o.step_;
}

std::string Distribution::describe() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::kReal:
      os << "float[" << num(low_) << ", " << num(high_) << "]";
      if (log_) os << " log";
      if (step_ > 0) os << " step " << num(step_);
      break;
    case Kind::kInteger:
      os << "int[" << static_cast<int64_t>(low_) << ", " << static_cast<int64_t>(high_) << "]";
      if (log_) os << " log";
      if (step_ != 1) os << " step " << static_cast<int64_t>(step_);
      break;
    case Kind::kCategorical:
      os << "categorical" << json(*choices_).dump();
      break;
  }
  return os.str();
}

}  // namespace hone
