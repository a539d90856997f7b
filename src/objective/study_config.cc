// Study configs resolved, and the stored study they open: hone/study_runner.h.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/files.h"
#include "hone/metrics.h"
#include "hone/random.h"
#include "hone/store.h"
#include "hone/study_runner.h"

namespace hone {

namespace {

namespace fs = std::filesystem;

// Keys of [study] that the runner reads itself; the rest go to study_options_from_json.
const std::vector<std::string> kRunnerKeys = {"metric", "objectives", "constraints", "baseline", "cv", "refit",
                                              "top", "storage", "load_if_exists"};

// A grid sampler without an explicit search_space takes the grid from the config's
// distributions: each choice list, each int range, each float with a step.
void fill_grid(json& study_json, const std::vector<FoundDistribution>& dists) {
  if (!study_json.contains("sampler")) return;
  json& s = study_json["sampler"];
  s = typed_table(s);
  if (!s.is_object() || get_string(s, "type", "", "study.sampler") != "grid" || s.contains("search_space")) return;
  json space = json::object();
  for (const auto& d : dists) {
    const Distribution& dist = d.distribution;
    json values = json::array();
    if (dist.is_categorical()) {
      for (const auto& c : dist.choices()) values.push_back(c);
    } else if (dist.step()) {
      const double step = *dist.step();
      const auto n = static_cast<int64_t>(std::floor((dist.high() - dist.low()) / step + 1e-9));
      if (n > 100000) throw_invalid("study.sampler: the grid of \"" + d.name + "\" has more than 100000 points");
      for (int64_t i = 0; i <= n; ++i) values.push_back(dist.to_external(dist.low() + static_cast<double>(i) * step));
    } else {
      throw_invalid("study.sampler: a grid needs a finite set of values, but \"" + d.name +
                    "\" is a continuous float; give it a step or use a choice list");
    }
    space[d.name] = values;
  }
  s["search_space"] = space;
}

// Data files are read by every worker, wherever it starts: store them as absolute paths.
void absolutize_data_paths(json& data) {
  if (!data.is_object()) return;
  for (const char* k : {"dir", "train", "test", "train_images", "train_labels", "test_images", "test_labels"})
    if (data.contains(k) && data[k].is_string() && !data[k].get<std::string>().empty())
      data[k] = fs::absolute(fs::path(data[k].get<std::string>())).lexically_normal().string();
}

// [study] objectives = [{metric = "val_accuracy", direction = "maximize"}, ...] (or the one metric and
// direction) and constraints = ["peak_memory_mb <= 64", ...] into sc.objectives, directions and
// constraints.
void derive_objectives(StudyConfig& sc) {
  const json& st = sc.study();
  // An external program's values have no known sense: minimize, as Optuna, unless told.
  auto default_of = [&](const std::string& m) { return sc.command ? Direction::kMinimize : default_direction(m); };
  sc.objectives.clear();
  sc.directions.clear();
  sc.constraints.clear();
  if (st.contains("objectives")) {
    const json& objs = st["objectives"];
    if (!objs.is_array() || objs.empty())
      throw_invalid("study.objectives: expected a list of tables, e.g. [{metric = \"val_accuracy\", direction = "
                    "\"maximize\"}, {metric = \"train_seconds\", direction = \"minimize\"}]");
    if (st.contains("metric")) throw_invalid("study.metric: give either metric or objectives, not both");
    if (st.contains("direction")) throw_invalid("study.direction: with objectives, each objective has its direction");
    for (size_t i = 0; i < objs.size(); ++i) {
      const std::string where = "study.objectives[" + std::to_string(i) + "]";
      json o = objs[i];
      if (o.is_string()) o = json{{"metric", o}};
      if (!o.is_object()) throw_invalid(where + ": expected {metric = \"...\", direction = \"minimize\"|\"maximize\"}");
      check_keys(o, {"metric", "direction"}, where);
      const std::string metric = canonical_metric_name(get_string(o, "metric", "", where));
      if (metric.empty()) throw_invalid(where + ".metric: required (the metric this objective optimises)");
      for (const auto& m : sc.objectives)
        if (m == metric) throw_invalid(where + ".metric: \"" + metric + "\" is already an objective");
      sc.objectives.push_back(metric);
      try {
        sc.directions.push_back(o.contains("direction") ? direction_from_string(get_string(o, "direction", "", where))
                                                        : default_of(metric));
      } catch (const Error& e) {
        throw_invalid(where + ".direction: " + e.what());
      }
    }
    sc.metric = sc.objectives[0];
  } else {
    sc.objectives = {sc.metric};
    sc.directions = {st.contains("direction")
                         ? direction_from_string(get_string(st, "direction", "minimize", "study"))
                         : default_of(sc.metric)};
  }
  if (st.contains("constraints")) {
    const json& cs = st["constraints"];
    if (!cs.is_array())
      throw_invalid("study.constraints: expected a list of strings, e.g. [\"peak_memory_mb <= 64\", \"latency_ms <= 2\"]");
    for (size_t i = 0; i < cs.size(); ++i) {
      const std::string where = "study.constraints[" + std::to_string(i) + "]";
      if (!cs[i].is_string()) throw_invalid(where + ": expected a string like \"peak_memory_mb <= 64\", got " + cs[i].dump());
      sc.constraints.push_back(parse_constraint(cs[i].get<std::string>(), where));
    }
  }
  // An external command reports values, not named metrics: a constraint names an objective.
  if (sc.command)
    for (size_t i = 0; i < sc.constraints.size(); ++i)
      if (std::find(sc.objectives.begin(), sc.objectives.end(), sc.constraints[i].metric) == sc.objectives.end())
        throw_invalid("study.constraints[" + std::to_string(i) + "] (\"" + sc.constraints[i].text + "\"): \"" +
                      sc.constraints[i].metric + "\" is not an objective of this command study (objectives: " +
                      [&] {
                        std::string s;
                        for (auto& o : sc.objectives) s += (s.empty() ? "" : ", ") + o;
                        return s;
                      }() + "); a program reports other constraints itself with \"hone: constraints c1 c2 ...\"");
  // A pruner compares per-epoch values; the efficiency metrics (time, memory, size, latency) are measured
  // once, when a trial ends, so a pruner on one of them would see nothing (or NaN) at every step.
  if (!sc.command && st.contains("pruner") && st["pruner"].is_object() && st["pruner"].contains("objective") &&
      st["pruner"]["objective"].is_number_integer()) {
    const int64_t k = st["pruner"]["objective"].get<int64_t>();
    if (k >= 0 && k < static_cast<int64_t>(sc.objectives.size()) && is_efficiency_metric(sc.objectives[k]))
      throw_invalid("study.pruner.objective = " + std::to_string(k) + ": objective " + std::to_string(k) + " (\"" +
                    sc.objectives[k] + "\") is measured once, when a trial ends; a pruner needs a value per epoch "
                    "(choose an objective logged every epoch, or \"dominance\")");
  }
}

// Fills what both `hone tune` and a worker derive from the config: the search space, metric and
// direction. `sc.cfg` already has [study].
void derive(StudyConfig& sc) {
  json& st = sc.study();
  sc.command = is_command_study(sc.cfg);
  if (!sc.command && sc.cfg.contains("objective"))
    throw_invalid("objective.command: required: an [objective] table runs an external command, e.g. command = "
                  "[\"python3\", \"train.py\", \"--lr\", \"{lr}\"] (without [objective], trials train [model])");
  if (sc.command) {
    sc.space = command_search_space(sc.cfg);
    sc.dists = find_distributions(sc.space);
    sc.metric = get_string(st, "metric", "value", "study");
    derive_objectives(sc);
    return;
  }
  sc.space = sc.cfg;
  sc.space.erase("study");
  sc.dists = find_distributions(sc.space);
  const json cv = st.value("cv", json::object());
  check_keys(cv, {"folds", "stratified", "shuffle"}, "study.cv");
  const int64_t folds = get_int(cv, "folds", 0, "study.cv");
  if (folds == 1 || folds < 0 || folds > 100000)
    throw_invalid("study.cv.folds must be 0 (off) or from 2 to 100000, got " + std::to_string(folds));
  sc.folds = static_cast<int>(folds);
  sc.metric = canonical_metric_name(get_string(st, "metric", sc.folds ? "accuracy" : "val_accuracy", "study"));
  if (!st.contains("direction") && !st.contains("objectives"))
    st["direction"] = default_direction(sc.metric) == Direction::kMaximize ? "maximize" : "minimize";
  derive_objectives(sc);
}

bool has_study(Storage& storage, const std::string& name, std::string* known = nullptr) {
  bool found = false;
  for (auto& n : storage.get_all_study_names()) {
    found = found || n == name;
    if (known) *known += (known->empty() ? "" : ", ") + n;
  }
  return found;
}

// True when the study stored under the same name was made from another search space.
bool stored_config_differs(const Study& study, const StudyConfig& sc) {
  auto attrs = study.storage().get_study_system_attrs(study.study_id());
  auto it = attrs.find(kConfigAttr);
  if (it == attrs.end()) return false;
  try {
    return study_config_from_stored(it->second, study.name()).space != sc.space;
  } catch (const Error&) {
    return false;
  }
}

// The runner's own [study] keys, and the run config itself at a few points of the search space
// (the baseline, each option of each choice): a bad value that is not searched fails here, once,
// before a database file is created or any data is read, not in every trial.
void check_runner_keys(const StudyConfig& sc) {
  const json& st = sc.study();
  get_bool(st, "refit", true, "study");
  get_int_at_least(st, "top", 10, 1, "study");
  const json baseline = sc.baseline();
  if (sc.command) {
    command_options_from_json(sc.cfg["objective"], sc.base_dir, "objective");
    return;
  }
  if (st.contains("cv")) {
    get_bool(st["cv"], "stratified", true, "study.cv");
    get_bool(st["cv"], "shuffle", true, "study.cv");
  }
  for (const json& run : probe_configs(sc.space, baseline)) validate_run_config(run);
}

}  // namespace

// ------------------------------------------------------------------------------ storage URLs

std::string normalize_storage_url(const std::string& url) {
  if (url.empty() || url == ":memory:" || url == "memory") return "";
  return url;
}

std::string sqlite_file_of(const std::string& url) {
  const std::string prefix = "sqlite:///";
  if (url.rfind(prefix, 0) != 0) return "";
  std::string rest = url.substr(prefix.size());
  rest = rest.substr(0, rest.find('?'));
  return rest == ":memory:" ? "" : rest;
}

bool is_private_storage(const std::string& url) {
  if (url.empty()) return true;
  if (url.rfind("sqlite:", 0) == 0) return sqlite_file_of(url).empty();
  return false;
}

std::shared_ptr<Storage> open_study_storage(const std::string& url) {
  register_sql_storages();
  // SQLite creates the file, not its folder (e.g. sqlite:///runs/demo/study.db).
  const std::string file = sqlite_file_of(url);
  if (!file.empty() && fs::path(file).has_parent_path()) make_dirs(fs::path(file).parent_path().string());
  return open_storage(url);
}

std::string process_tag() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid());
}

// ------------------------------------------------------------------------------ configs

std::string StudyConfig::name() const { return get_string(study(), "name", "", "study"); }

json StudyConfig::study_json() const {
  json sj = study();
  for (auto& k : kRunnerKeys) sj.erase(k);
  fill_grid(sj, dists);
  if (study().contains("objectives")) {
    sj.erase("direction");
    if (multi_objective()) {
      json d = json::array();
      for (auto x : directions) d.push_back(x == Direction::kMaximize ? "maximize" : "minimize");
      sj["directions"] = d;
    } else {
      sj["direction"] = directions[0] == Direction::kMaximize ? "maximize" : "minimize";
    }
  }
  // Optuna 3.1's default sampler for several objectives is NSGA-II.
  if (multi_objective() && !sj.contains("sampler")) {
    const auto names = sampler_names();
    sj["sampler"] = json{
        {"type", std::find(names.begin(), names.end(), "nsga2") != names.end() ? "nsga2" : "random"}};
  }
  return sj;
}

bool StudyConfig::grid() const {
  json sj = study_json();
  return sj.contains("sampler") && sj["sampler"].is_object() && get_string(sj["sampler"], "type", "", "study.sampler") == "grid";
}

int64_t StudyConfig::n_trials() const {
  const int64_t n = get_int(study(), "n_trials", 0, "study");
  require_nonnegative(static_cast<double>(n), "n_trials", "study");
  return n;
}

json StudyConfig::baseline() const {
  const json& st = study();
  if (!st.contains("baseline")) return json();
  if (!st["baseline"].is_object()) throw_invalid("study.baseline: expected a table of parameter values");
  for (auto& [k, v] : st["baseline"].items()) {
    bool known = false;
    for (auto& d : dists) known = known || d.name == k;
    if (!known) throw_invalid("study.baseline: \"" + k + "\" is not a parameter of the search space");
  }
  return st["baseline"];
}

QueuePlan StudyConfig::queue_plan() const {
  QueuePlan plan;
  plan.baseline = baseline();
  if (grid()) plan.grid = study_json()["sampler"];
  return plan;
}

json StudyConfig::to_stored() const { return json{{"version", 1}, {"config", cfg}, {"base_dir", base_dir}}; }

StudyConfig resolve_study_config(json cfg, const std::string& config_path) {
  if (!cfg.contains("study") || !cfg["study"].is_object())
    throw_invalid(config_path + ": the [study] table is missing");
  StudyConfig sc;
  sc.cfg = std::move(cfg);
  json& st = sc.study();
  if (!st.contains("name")) st["name"] = fs::path(config_path).stem().string();
  const uint64_t seed = static_cast<uint64_t>(get_int(sc.cfg, "seed", 0, "config"));
  if (!st.contains("seed")) st["seed"] = seed;
  st.erase("storage");  // given to the study separately (and never stored: it may hold a password)
  st.erase("load_if_exists");
  sc.base_dir = fs::absolute(fs::path(config_path)).parent_path().lexically_normal().string();
  if (sc.cfg.contains("data")) absolutize_data_paths(sc.cfg["data"]);
  derive(sc);
  // Everything in [study] is checked now, before a database file is created or a worker started.
  sc.n_trials();
  const json sj = sc.study_json();
  optimize_options_from_json(sj, "study");
  study_options_from_json(sj, "study");
  check_runner_keys(sc);
  return sc;
}

StudyConfig load_study_config(const std::string& path, const std::vector<std::string>& overrides) {
  json cfg = load_toml_file(path);
  for (const auto& o : overrides) apply_override(cfg, o);
  return resolve_study_config(std::move(cfg), path);
}

StudyConfig study_config_from_stored(const json& stored, const std::string& where) {
  if (!stored.is_object() || !stored.contains("config") || !stored["config"].is_object() ||
      !stored["config"].contains("study"))
    throw_data(where + ": the stored hone config is not readable (expected {\"config\": {...}})");
  StudyConfig sc;
  sc.cfg = stored["config"];
  sc.base_dir = stored.value("base_dir", std::string("."));
  derive(sc);
  return sc;
}

// ------------------------------------------------------------------------------ studies

std::shared_ptr<Study> open_study(const StudyConfig& sc, std::shared_ptr<Storage> storage) {
  const json sj = sc.study_json();
  StudyOptions o = study_options_from_json(sj, "study");
  o.storage = StorageSpec(std::move(storage));
  o.load_if_exists = true;
  return create_study(o);
}

PreparedStudy prepare_study(StudyConfig& sc, const PrepareOptions& options) {
  PreparedStudy p;
  p.storage_url = normalize_storage_url(options.storage_url);
  p.shared = !is_private_storage(p.storage_url);
  if (options.more > 0 && !p.shared)
    throw_invalid("--more continues a stored study; storage \"memory\" is in this process (start with --n-trials)");
  std::shared_ptr<Storage> storage = open_study_storage(p.storage_url);
  const std::string name = sc.name();
  p.existed = has_study(*storage, name);
  if (p.existed && options.fresh) {
    const int64_t id = storage->get_study_id_from_name(name);
    p.deleted_trials = storage->get_n_trials(id);
    storage->delete_study(id);
    p.existed = false;
  }
  p.study = open_study(sc, storage);
  // One name, two different searches: say so (Optuna would silently mix them).
  p.config_changed = p.existed && stored_config_differs(*p.study, sc);

  // The budget. A stored study's n_trials is its total, kept as a queue of WAITING trials that
  // every process (this one, its workers, any `hone worker`) claims from.
  p.queue = queue_state(*p.study);
  if (options.more > 0) sc.study()["n_trials"] = p.queue.total() + options.more;
  p.queued = p.shared && (sc.n_trials() > 0 || sc.grid());
  if (p.queued) {
    p.queue = fill_queue(*p.study, sc.queue_plan(), sc.n_trials(), options.stop);
    if (sc.n_trials() == 0) sc.study()["n_trials"] = p.queue.total();  // a whole grid
  } else if (!p.shared || p.queue.total() == 0) {
    enqueue_baseline(*p.study, sc.baseline());
  }
  if (p.shared) p.study->storage().set_study_system_attr(p.study->study_id(), kConfigAttr, sc.to_stored());
  p.total = p.queued ? queue_state(*p.study).total() : sc.n_trials();
  return p;
}

JoinedStudy join_study(const std::string& name, const std::string& storage_url) {
  const std::string url = normalize_storage_url(storage_url);
  const std::string shown = mask_storage_url(url);
  if (is_private_storage(url))
    throw_invalid("hone worker: storage \"" + (url.empty() ? storage_url : shown) +
                  "\" lives in one process's memory; give the study's shared storage, sqlite:///file.db or "
                  "postgresql://...");
  const std::string file = sqlite_file_of(url);
  if (!file.empty() && !fs::exists(file))
    throw_io("hone worker: " + file + ": no such database file (create the study first: hone tune study.toml "
             "--storage " + shown + ")");
  std::shared_ptr<Storage> storage = open_study_storage(url);
  std::string known;
  if (!has_study(*storage, name, &known))
    throw_invalid("hone worker: no study named \"" + name + "\" in " + shown +
                  (known.empty() ? std::string(" (it has no studies)") : " (it has: " + known + ")"));
  auto attrs = storage->get_study_system_attrs(storage->get_study_id_from_name(name));
  if (!attrs.count(kConfigAttr))
    throw_invalid("hone worker: study \"" + name + "\" in " + shown + " has no hone config (system attr " +
                  kConfigAttr + "); create it with `hone tune study.toml --storage " + shown + "`");
  JoinedStudy j;
  j.config = study_config_from_stored(attrs[kConfigAttr], "study \"" + name + "\"");
  PreparedStudy& p = j.prepared;
  p.storage_url = url;
  p.shared = p.existed = true;
  p.study = open_study(j.config, storage);
  // TPE and random draw from one stream per process (numpy's, seeded like Optuna's): workers
  // sharing the config's seed would propose the same start-up trials, so each worker mixes its
  // host:pid into the seed. (QMC and grid stay shared: their points are indexed by trial.)
  if (const std::string sn = p.study->sampler().name(); sn == "tpe" || sn == "random")
    p.study->sampler().reseed(derive_seed(static_cast<uint64_t>(get_int(j.config.study(), "seed", 0, "study")),
                                          std::hash<std::string>{}(process_tag())));
  p.queued = j.config.n_trials() > 0 || j.config.grid();
  p.queue = queue_state(*p.study);
  p.total = p.queued ? p.queue.total() : 0;
  return j;
}

}  // namespace hone
