// CommandObjective: a trial's values -> argv/env/JSON -> one process (tune/command/process.cc)
// -> a value, a prune, or a failure with a reason a user can act on.
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/tune/command.h"
#include "tune/command/process.h"

extern char** environ;

namespace hone {

namespace fs = std::filesystem;
using command_detail::EndCause;

namespace {

const std::vector<std::string> kBuiltins = {"trial.number", "trial.dir", "study.name"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool parse_double(std::string_view s, double* v) {
  s = trim(s);
  if (s.empty() || s.size() > 64) return false;
  std::string z(s);  // strtod: also reads nan, inf, -inf, hex floats
  char* end = nullptr;
  *v = std::strtod(z.c_str(), &end);
  return end == z.c_str() + z.size();
}

// Calls f(key) for each placeholder and returns the filled text; "{{" / "}}" are literal braces.
template <class F>
std::string expand(const std::string& t, const std::string& where, F&& f) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if ((c == '{' || c == '}') && i + 1 < t.size() && t[i + 1] == c) {
      out.push_back(c);
      ++i;
    } else if (c == '{') {
      const size_t close = t.find('}', i);
      if (close == std::string::npos) throw_invalid(where + ": unclosed \"{\" in \"" + t + "\" (write {{ for a literal brace)");
      out += f(t.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '}') {
      throw_invalid(where + ": unmatched \"}\" in \"" + t + "\" (write }} for a literal brace)");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string last_component(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string to_text(const json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return format_param_value(v);
  throw_invalid(where + ": expected a string, got " + v.dump());
}

// The last few non-empty lines of stderr, short enough for a trial's fail_reason.
std::string stderr_summary(const std::string& tail) {
  std::vector<std::string> lines;
  std::istringstream in(tail);
  for (std::string l; std::getline(in, l);) {
    std::string_view t = trim(l);
    if (!t.empty()) lines.emplace_back(t);
  }
  std::string s;
  for (size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) s += (s.empty() ? "" : " | ") + lines[i];
  if (s.size() > 400) s = "..." + s.substr(s.size() - 400);
  return s;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

std::optional<MetricLine> parse_metric_line(std::string_view line, bool* malformed) {
  if (malformed) *malformed = false;
  constexpr std::string_view kPrefix = "hone:";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = trim(line.substr(kPrefix.size()));
  MetricLine m{};
  std::string_view args;
  bool known = false;
  for (auto [word, kind] : {std::pair{std::string_view("report"), MetricLine::Kind::kReport},
                            std::pair{std::string_view("result"), MetricLine::Kind::kResult},
                            std::pair{std::string_view("constraints"), MetricLine::Kind::kConstraints},
                            std::pair{std::string_view("metric"), MetricLine::Kind::kMetric}}) {
    if (rest == word || (rest.substr(0, word.size()) == word && rest.size() > word.size() &&
                         std::isspace(static_cast<unsigned char>(rest[word.size()])))) {
      m.kind = kind;
      args = trim(rest.substr(word.size()));
      known = true;
      break;
    }
  }
  if (!known) return std::nullopt;  // "hone: something else" is an ordinary line
  auto bad = [&]() -> std::optional<MetricLine> {
    if (malformed) *malformed = true;
    return std::nullopt;
  };
  const size_t sp = args.find_first_of(" \t");
  const bool vector_report = m.kind == MetricLine::Kind::kReport && !args.empty() && args.front() == '[';
  if (m.kind == MetricLine::Kind::kReport && sp != std::string_view::npos && !vector_report) {
    std::string_view step_text = args.substr(0, sp);
    int64_t step = 0;
    auto [p, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
    if (ec != std::errc() || p != step_text.data() + step_text.size() || step < 0) return bad();
    m.step = step;
    args = trim(args.substr(sp));
  }
  if (m.kind == MetricLine::Kind::kMetric) {
    if (sp == std::string_view::npos) return bad();
    m.name = std::string(args.substr(0, sp));
    args = trim(args.substr(sp));
  }
  const bool list_report = m.kind == MetricLine::Kind::kReport && !args.empty() && args.front() == '[';
  if ((m.kind == MetricLine::Kind::kReport && !list_report) || m.kind == MetricLine::Kind::kMetric) {
    if (!parse_double(args, &m.value)) return bad();
    return m;
  }
  // result / constraints: values separated by blanks (or commas), or a JSON list; a report's vector
  // (one value per objective): a JSON list only ("hone: report 3 [0.8, 12]").
  std::string list(args);
  if (!list.empty() && list.front() == '[') {
    if (list.back() != ']') return bad();
    list = list.substr(1, list.size() - 2);
  }
  for (char& c : list)
    if (c == ',') c = ' ';
  std::istringstream in(list);
  for (std::string word; in >> word;) {
    double v = 0;
    if (!parse_double(word, &v)) return bad();
    m.values.push_back(v);
  }
  if (m.values.empty()) return bad();
  m.value = m.values[0];
  return m;
}

std::string format_param_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());  // shortest round-trip
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return v.dump();
}

std::string param_env_name(const std::string& name) {
  std::string s = "HONE_PARAM_";
  for (char c : name) s.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_');
  return s;
}

bool is_command_study(const json& config) {
  return config.is_object() && config.contains("objective") && config["objective"].is_object() &&
         config["objective"].contains("command");
}

CommandOptions command_options_from_json(const json& o, const std::string& base_dir, const std::string& where) {
  if (!o.is_object()) throw_invalid(where + ": expected a table");
  check_keys(o, {"command", "cwd", "env", "threads", "timeout", "kill_grace", "max_retries", "log_limit", "params"}, where);
  CommandOptions c;
  if (!o.contains("command") || !o["command"].is_array() || o["command"].empty())
    throw_invalid(where + ".command: expected a non-empty array of strings, e.g. [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]");
  for (size_t i = 0; i < o["command"].size(); ++i)
    c.command.push_back(to_text(o["command"][i], where + ".command[" + std::to_string(i) + "]"));
  if (c.command[0].empty()) throw_invalid(where + ".command[0]: the program name is empty");
  const std::string cwd = get_string(o, "cwd", "", where);
  fs::path base = base_dir.empty() ? fs::current_path() : fs::path(base_dir);
  c.cwd = cwd.empty() ? base.string() : (fs::path(cwd).is_absolute() ? fs::path(cwd) : base / cwd).string();
  if (o.contains("env")) {
    if (!o["env"].is_object()) throw_invalid(where + ".env: expected a table of NAME = \"value\"");
    for (auto& [k, v] : o["env"].items()) {
      if (k.empty() || k.find('=') != std::string::npos) throw_invalid(where + ".env: bad variable name \"" + k + "\"");
      c.env[k] = to_text(v, where + ".env." + k);
    }
  }
  const int64_t threads = get_int(o, "threads", 0, where);
  require_in_range(static_cast<double>(threads), 0, 1 << 20, "threads", where);
  c.threads = static_cast<int>(threads);
  c.timeout_s = get_double(o, "timeout", 0, where);
  require_nonnegative(c.timeout_s, "timeout", where);
  c.kill_grace_s = get_double(o, "kill_grace", 5, where);
  require_nonnegative(c.kill_grace_s, "kill_grace", where);
  c.max_retries = get_int_in(o, "max_retries", 0, 0, 1000, where);
  require_nonnegative(c.max_retries, "max_retries", where);
  c.log_limit_bytes = get_int(o, "log_limit", c.log_limit_bytes, where);
  require_positive(static_cast<double>(c.log_limit_bytes), "log_limit", where);
  return c;
}

json command_search_space(const json& config) {
  json space = config.is_object() ? config : json::object();
  space.erase("study");
  space.erase("objective");
  if (config.contains("objective") && config["objective"].contains("params")) {
    const json& p = config["objective"]["params"];
    if (!p.is_object()) throw_invalid("objective.params: expected a table of parameters, e.g. lr = {float = [1e-4, 1e-1], log = true}");
    for (auto& [k, v] : p.items()) {
      if (space.contains(k))
        throw_invalid("objective.params." + k + ": clashes with the top-level key \"" + k + "\"; rename one of them");
      space[k] = v;
    }
  }
  return space;
}

CommandObjective::CommandObjective(json space, CommandOptions options)
    : space_(std::move(space)), opt_(std::move(options)) {
  if (opt_.command.empty() || opt_.command[0].empty()) throw_invalid("objective.command: empty");
  if (opt_.run_dir.empty()) throw_invalid("objective: no run directory for the trials' logs");
  dists_ = find_distributions(space_);
  std::map<std::string, int> count;
  for (auto& d : dists_) ++count[last_component(d.name)];
  for (auto& d : dists_)
    if (count[last_component(d.name)] == 1) short_names_[last_component(d.name)] = d.name;
  // Every placeholder must mean something now, not at trial 37.
  auto check = [&](const std::string& t, const std::string& where) {
    expand(t, where, [&](const std::string& key) -> std::string {
      for (auto& b : kBuiltins)
        if (key == b) return "";
      for (auto& d : dists_)
        if (d.name == key) return "";
      if (short_names_.count(key) || find_path(space_, key)) return "";
      std::string known;
      for (auto& d : dists_) known += (known.empty() ? "" : ", ") + d.name;
      for (auto& b : kBuiltins) known += (known.empty() ? "" : ", ") + b;
      if (count.count(key)) throw_invalid(where + ": {" + key + "} is ambiguous (several parameters end in \"" + key + "\"); use the full name (" + known + ")");
      throw_invalid(where + ": unknown placeholder {" + key + "} (known: " + known + ")");
    });
  };
  for (size_t i = 0; i < opt_.command.size(); ++i) check(opt_.command[i], "objective.command[" + std::to_string(i) + "]");
  for (auto& [k, v] : opt_.env) check(v, "objective.env." + k);
}

std::string CommandObjective::resolve(const std::string& key, const json& values, Trial& trial,
                                      const std::string& trial_dir) const {
  if (key == "trial.number") return std::to_string(trial.number());
  if (key == "trial.dir") return trial_dir;
  if (key == "study.name") return trial.study().name();
  std::string name = key;
  if (auto it = short_names_.find(key); it != short_names_.end()) name = it->second;
  const json& params = values["params"];
  if (params.contains(name)) return format_param_value(params[name]);
  for (auto& d : dists_)
    if (d.name == name) throw_runtime("{" + key + "}: parameter \"" + name + "\" is not set in this trial (it is conditional)");
  if (const json* v = find_path(values["config"], key)) return format_param_value(*v);
  throw_runtime("{" + key + "}: not set in this trial");
}

std::string CommandObjective::fill(const std::string& tmpl, const json& values, Trial& trial,
                                   const std::string& trial_dir) const {
  return expand(tmpl, "objective.command", [&](const std::string& key) { return resolve(key, values, trial, trial_dir); });
}

double CommandObjective::operator()(Trial& trial) {
  CommandResult r = run(trial);
  if (r.values.size() != 1)
    throw_runtime(fmt::format("the program reported {} values; a single-objective study takes one", r.values.size()));
  if (!r.constraints.empty()) trial.set_constraints(r.constraints);
  return r.values[0];
}

CommandResult CommandObjective::run(Trial& trial) {
  const fs::path dir = fs::absolute(fs::path(opt_.run_dir) / "trials" / std::to_string(trial.number()));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_io("cannot create " + dir.string() + ": " + ec.message());
  const std::string trial_dir = dir.string();
  json values = {{"config", instantiate(space_, trial)}, {"params", trial.params()}};

  command_detail::SpawnRequest req;
  for (auto& t : opt_.command) req.argv.push_back(fill(t, values, trial, trial_dir));
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : opt_.env) env[k] = fill(v, values, trial, trial_dir);
  if (opt_.threads > 0)
    for (const char* k : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}) env[k] = std::to_string(opt_.threads);
  const std::string params_file = (dir / "params.json").string(), result_file = (dir / "result.json").string();
  env["HONE_TRIAL_NUMBER"] = std::to_string(trial.number());
  env["HONE_STUDY"] = trial.study().name();
  env["HONE_TRIAL_DIR"] = trial_dir;
  env["HONE_PARAMS_FILE"] = params_file;
  env["HONE_RESULT_FILE"] = result_file;
  for (auto& [k, v] : values["params"].items()) env[param_env_name(k)] = format_param_value(v);
  for (auto& [k, v] : env) req.env.push_back(k + "=" + v);
  {
    std::ofstream f(params_file);
    f << values["params"].dump(2) << "\n";
    if (!f) throw_io("cannot write " + params_file);
  }
  fs::remove(result_file, ec);  // a stale one from an earlier study of the same name
  req.cwd = opt_.cwd;
  req.stdout_log = (dir / "stdout.log").string();
  req.stderr_log = (dir / "stderr.log").string();
  req.log_limit_bytes = opt_.log_limit_bytes;
  trial.set_user_attr("command", req.argv);
  trial.set_user_attr("trial_dir", trial_dir);

  command_detail::RunLimits limits{opt_.timeout_s, opt_.kill_grace_s, opt_.stop};
  int64_t last_step = -1;
  auto on_report = [&](int64_t step, const std::vector<double>& v) {
    if (v.size() == 1) trial.report(v.front(), step);
    else trial.report(v, step);  // one value per objective (pruners' objective = K or "dominance")
    last_step = step;
    return trial.should_prune();
  };
  json retry_reasons = json::array();
  for (int attempt = 0;; ++attempt) {
    const command_detail::RunOutcome o = command_detail::run_process(req, limits, on_report);
    switch (o.cause) {
      case EndCause::kSpawnFailed:
        throw_runtime(o.error);
      case EndCause::kPruned:
        throw TrialPruned("pruned at step " + std::to_string(last_step));
      case EndCause::kTimedOut:
        throw_runtime(fmt::format("timed out after {:g} s", opt_.timeout_s));
      case EndCause::kInterrupted:
        throw Error(ErrorKind::kInterrupted, "interrupted: hone was stopped while the trial ran");
      case EndCause::kExited:
      case EndCause::kSignaled:
        break;
    }
    if (o.cause == EndCause::kExited) trial.set_user_attr("exit_code", o.exit_code);
    if (o.cause == EndCause::kExited && o.exit_code == 0) {
      CommandResult res;
      std::optional<std::vector<double>> value = o.result;
      res.metrics = o.metrics;
      if (o.constraints) res.constraints = *o.constraints;
      if (fs::exists(result_file)) {
        json r;
        try {
          std::ifstream f(result_file);
          r = json::parse(f);
        } catch (const std::exception& e) {
          throw_runtime("result file " + result_file + ": not valid JSON (" + e.what() + ")");
        }
        if (!r.is_object()) throw_runtime("result file " + result_file + ": expected {\"value\": x, \"intermediate\": {...}}");
        if (r.contains("intermediate") && r["intermediate"].is_object()) {
          for (auto& [k, v] : r["intermediate"].items()) {
            int64_t step = 0;
            auto [p, perr] = std::from_chars(k.data(), k.data() + k.size(), step);
            const bool vec = v.is_array() && !v.empty() &&
                             std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); });
            if (perr != std::errc() || p != k.data() + k.size() || step < 0 || (!v.is_number() && !vec))
              throw_runtime("result file " + result_file + ": intermediate \"" + k +
                            "\": expected a step (integer >= 0) and a number or a list of numbers");
            if (vec) trial.report(v.get<std::vector<double>>(), step);
            else trial.report(v.get<double>(), step);
          }
        }
        // A number, a numeric string, or a list of them.
        auto numbers = [&](const json& v, const std::string& key) {
          std::vector<double> out;
          for (const json& x : v.is_array() ? v : json::array({v})) {
            double d = 0;
            if (x.is_number()) d = x.get<double>();
            else if (!x.is_string() || !parse_double(x.get<std::string>(), &d))
              throw_runtime("result file " + result_file + ": \"" + key + "\" is not a number or a list of numbers: " +
                            v.dump());
            out.push_back(d);
          }
          if (out.empty()) throw_runtime("result file " + result_file + ": \"" + key + "\" is an empty list");
          return out;
        };
        for (const char* key : {"value", "values"})
          if (!value && r.contains(key)) value = numbers(r[key], key);
        if (!o.constraints && r.contains("constraints")) res.constraints = numbers(r["constraints"], "constraints");
        if (r.contains("metrics")) {
          if (!r["metrics"].is_object())
            throw_runtime("result file " + result_file + ": \"metrics\" is not a table of numbers");
          for (auto& [k, v] : r["metrics"].items()) res.metrics.emplace(k, numbers(v, "metrics." + k)[0]);
        }
      }
      if (!value) {
        std::string why = "no result: the program exited with code 0 without printing \"hone: result <value>\" or writing $HONE_RESULT_FILE";
        if (!o.malformed.empty()) why += "; ignored malformed line \"" + o.malformed + "\"";
        throw_runtime(why);
      }
      if (!retry_reasons.empty()) trial.set_user_attr("retries", static_cast<int64_t>(retry_reasons.size()));
      if (!res.metrics.empty()) trial.set_user_attr("metrics", json(res.metrics));
      res.values = *value;
      return res;
    }
    std::string reason = o.cause == EndCause::kSignaled ? "killed by " + signal_name(o.signal)
                                                       : "exit code " + std::to_string(o.exit_code);
    const std::string err = stderr_summary(o.stderr_tail);
    if (!err.empty()) reason += "; stderr: " + err;
    if (attempt < opt_.max_retries && !(opt_.stop && opt_.stop->load())) {
      retry_reasons.push_back(reason);
      trial.set_user_attr("retries", static_cast<int64_t>(retry_reasons.size()));
      trial.set_user_attr("retry_reasons", retry_reasons);
      const std::string k = std::to_string(attempt + 1);
      fs::rename(req.stdout_log, (dir / ("stdout.attempt" + k + ".log")), ec);
      fs::rename(req.stderr_log, (dir / ("stderr.attempt" + k + ".log")), ec);
      continue;
    }
    if (!retry_reasons.empty()) reason += fmt::format(" (after {} retries)", retry_reasons.size());
    throw_runtime(reason);
  }
}

}  // namespace hone
