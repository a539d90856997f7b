#include "hone/config.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "hone/error.h"

namespace hone {

namespace {

json node_to_json(const toml::node& n) {
  if (auto t = n.as_table()) {
    json o = json::object();
    for (auto&& [k, v] : *t) o[std::string(k.str())] = node_to_json(v);
    return o;
  }
  if (auto a = n.as_array()) {
    json arr = json::array();
    for (auto&& v : *a) arr.push_back(node_to_json(v));
    return arr;
  }
  if (auto v = n.as_string()) return json(v->get());
  if (auto v = n.as_integer()) return json(v->get());
  if (auto v = n.as_floating_point()) return json(v->get());
  if (auto v = n.as_boolean()) return json(v->get());
  // Dates and times: keep their TOML text.
  std::ostringstream os;
  if (auto v = n.as_date()) os << v->get();
  else if (auto v = n.as_time()) os << v->get();
  else if (auto v = n.as_date_time()) os << v->get();
  return json(os.str());
}

std::string type_name(const json& v) {
  if (v.is_string()) return "a string " + v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return "the number " + v.dump();
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a table";
  return "nothing";
}

std::string key_of(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

[[noreturn]] void bad_type(const std::string& where, const std::string& key, const char* want,
                           const json& got) {
  throw_invalid(key_of(where, key) + ": expected " + want + ", got " + type_name(got));
}

// obj[key], or nullptr when absent or null. A table given as anything else (cv = "yes") is an
// error naming it, not a table without the key.
const json* lookup(const json& obj, const std::string& key, const std::string& where) {
  if (obj.is_null()) return nullptr;
  if (!obj.is_object()) throw_invalid((where.empty() ? std::string("config") : where) + ": expected a table, got " +
                                      type_name(obj));
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string toml_key(const std::string& k) {
  bool bare = !k.empty();
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
  return bare ? k : json(k).dump();
}

std::string toml_value(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    double d = v.get<double>();
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), d);  // shortest text that reads back exactly
    std::string s(buf, res.ptr);
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  }
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + toml_value(v[i]);
    return s + "]";
  }
  if (v.is_object()) {
    std::string s = "{ ";
    bool first = true;
    for (auto& [k, x] : v.items()) {
      s += (first ? "" : ", ") + toml_key(k) + " = " + toml_value(x);
      first = false;
    }
    return s + " }";
  }
  return "\"\"";
}

void emit_table(const json& j, const std::string& prefix, std::string& out) {
  // Scalars and inline values first, then sub-tables, then arrays of tables.
  for (auto& [k, v] : j.items()) {
    bool array_of_tables = v.is_array() && !v.empty() && v[0].is_object();
    if (!v.is_object() && !array_of_tables) out += toml_key(k) + " = " + toml_value(v) + "\n";
  }
  for (auto& [k, v] : j.items()) {
    std::string name = prefix.empty() ? toml_key(k) : prefix + "." + toml_key(k);
    if (v.is_object()) {
      out += "\n[" + name + "]\n";
      emit_table(v, name, out);
    } else if (v.is_array() && !v.empty() && v[0].is_object()) {
      for (auto& e : v) {
        out += "\n[[" + name + "]]\n";
        emit_table(e, name, out);
      }
    }
  }
}

}  // namespace

json parse_toml(const std::string& text, const std::string& source_name) {
  try {
    toml::table t = toml::parse(text, source_name);
    return node_to_json(t);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw_data(source_name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
               std::string(e.description()));
  }
}

json load_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (path.empty()) throw_invalid("the config file's path is empty");
  if (!in) throw_invalid(path + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw_io(path + ": read error");
  return parse_toml(ss.str(), path);
}

std::string to_toml(const json& j) {
  std::string out;
  emit_table(j, "", out);
  if (!out.empty() && out[0] == '\n') out.erase(0, 1);
  return out;
}

void apply_override(json& root, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw_invalid("--set " + assignment + ": expected KEY=VALUE, e.g. train.lr=0.01");
  std::string key = assignment.substr(0, eq);
  std::string val = assignment.substr(eq + 1);
  json v;
  try {
    json t = parse_toml("v = " + val, "--set");
    v = t["v"];
  } catch (const Error&) {
    v = val;  // a bare word: a string
  }
  set_path(root, key, v);
}

const json* find_path(const json& root, const std::string& dotted) {
  const json* cur = &root;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array() && !part.empty() &&
               part.find_first_not_of("0123456789") == std::string::npos) {
      size_t i = std::stoul(part);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

json* find_path(json& root, const std::string& dotted) {
  return const_cast<json*>(find_path(static_cast<const json&>(root), dotted));
}

void set_path(json& root, const std::string& dotted, json value) {
  json* cur = &root;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw_invalid("key \"" + dotted + "\": empty component");
    if (cur->is_array()) {
      if (part.find_first_not_of("0123456789") != std::string::npos || std::stoul(part) >= cur->size())
        throw_invalid("key \"" + dotted + "\": \"" + part + "\" is not an index of the list");
      cur = &(*cur)[std::stoul(part)];
    } else {
      if (!cur->is_object()) {
        if (cur->is_null()) *cur = json::object();
        else throw_invalid("key \"" + dotted + "\": \"" + part + "\" is inside a value, not a table");
      }
      cur = &(*cur)[part];
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *cur = std::move(value);
}

double get_double(const json& obj, const std::string& key, double def, const std::string& where) {
  const json* it = lookup(obj, key, where);
  if (!it) return def;
  if (!it->is_number()) bad_type(where, key, "a number", *it);
  return it->get<double>();
}

int64_t get_int(const json& obj, const std::string& key, int64_t def, const std::string& where) {
  const json* it = lookup(obj, key, where);
  if (!it) return def;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    bad_type(where, key, "an integer below 2^63", *it);
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  bad_type(where, key, "an integer", *it);
}

bool get_bool(const json& obj, const std::string& key, bool def, const std::string& where) {
  const json* it = lookup(obj, key, where);
  if (!it) return def;
  if (!it->is_boolean()) bad_type(where, key, "true or false", *it);
  return it->get<bool>();
}

std::string get_string(const json& obj, const std::string& key, const std::string& def,
                       const std::string& where) {
  const json* it = lookup(obj, key, where);
  if (!it) return def;
  if (!it->is_string()) bad_type(where, key, "a string", *it);
  return it->get<std::string>();
}

std::vector<int64_t> get_ints(const json& obj, const std::string& key,
                              const std::vector<int64_t>& def, const std::string& where) {
  const json* it = lookup(obj, key, where);
  if (!it) return def;
  if (it->is_number_integer()) return {get_int(obj, key, 0, where)};
  if (!it->is_array()) bad_type(where, key, "a list of integers", *it);
  std::vector<int64_t> out;
  for (auto& e : *it) {
    if (!e.is_number_integer() || (e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
      bad_type(where, key, "a list of integers", *it);
    out.push_back(e.get<int64_t>());
  }
  return out;
}

void check_keys(const json& obj, const std::vector<std::string>& allowed, const std::string& where) {
  if (!obj.is_object()) throw_invalid(where + ": expected a table, got " + type_name(obj));
  for (auto& [k, v] : obj.items()) {
    bool ok = false;
    for (auto& a : allowed) ok = ok || a == k;
    if (!ok) {
      std::string known;
      for (auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      throw_invalid(where + ": unknown option \"" + k + "\" (known: " + known + ")");
    }
  }
}

static std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void require_positive(double v, const std::string& key, const std::string& where) {
  if (!(v > 0)) throw_invalid(key_of(where, key) + " must be > 0, got " + num(v));
}
void require_nonnegative(double v, const std::string& key, const std::string& where) {
  if (!(v >= 0)) throw_invalid(key_of(where, key) + " must be >= 0, got " + num(v));
}
void require_in_range(double v, double lo, double hi, const std::string& key, const std::string& where) {
  if (!(v >= lo && v <= hi))
    throw_invalid(key_of(where, key) + " must be in [" + num(lo) + ", " + num(hi) + "], got " + num(v));
}

// ------------------------------------------------------------------------------ typed tables

json typed_table(const json& spec) {
  return spec.is_string() ? json{{"type", spec.get<std::string>()}} : spec;
}

void throw_unregistered(const std::string& type, const std::string& names, const std::string& what,
                        const std::string& where) {
  if (type.empty()) throw_invalid(where + ".type: required option is missing (" + names + ")");
  throw_invalid(where + ".type: unknown " + what + " \"" + type + "\" (known: " + names + ")");
}

void require_finite_positive(double v, const std::string& key, const std::string& where) {
  require_positive(v, key, where);
  if (!std::isfinite(v)) throw_invalid(key_of(where, key) + " must be finite, got " + num(v));
}

void require_finite_nonnegative(double v, const std::string& key, const std::string& where) {
  require_nonnegative(v, key, where);
  if (!std::isfinite(v)) throw_invalid(key_of(where, key) + " must be finite, got " + num(v));
}

void require_unit(double v, const std::string& key, const std::string& where) {
  if (!(v >= 0.0 && v < 1.0)) throw_invalid(key_of(where, key) + " must be in [0, 1), got " + num(v));
}

double get_positive(const json& obj, const std::string& key, double def, const std::string& where) {
  const double v = get_double(obj, key, def, where);
  require_finite_positive(v, key, where);
  return v;
}

double get_nonnegative(const json& obj, const std::string& key, double def, const std::string& where) {
  const double v = get_double(obj, key, def, where);
  require_finite_nonnegative(v, key, where);
  return v;
}

double get_unit(const json& obj, const std::string& key, double def, const std::string& where) {
  const double v = get_double(obj, key, def, where);
  require_unit(v, key, where);
  return v;
}

int64_t get_int_at_least(const json& obj, const std::string& key, int64_t def, int64_t lo, const std::string& where) {
  const int64_t v = get_int(obj, key, def, where);
  if (v < lo) throw_invalid(key_of(where, key) + " must be >= " + std::to_string(lo) + ", got " + std::to_string(v));
  return v;
}

int get_int_in(const json& obj, const std::string& key, int def, int64_t lo, int64_t hi, const std::string& where) {
  const int64_t v = get_int(obj, key, def, where);
  hi = std::min<int64_t>(hi, INT32_MAX);
  lo = std::max<int64_t>(lo, INT32_MIN);
  if (v < lo) throw_invalid(key_of(where, key) + " must be >= " + std::to_string(lo) + ", got " + std::to_string(v));
  if (v > hi) throw_invalid(key_of(where, key) + " must be at most " + std::to_string(hi) + ", got " + std::to_string(v));
  return static_cast<int>(v);
}

}  // namespace hone
