#include "cli/tune_common.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cli/progress.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/random.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

// Keys of [study] that the tune command reads itself; the rest go to the study factory.
const std::vector<std::string> kCommandKeys = {"metric", "baseline", "cv", "refit", "top", "storage",
                                               "load_if_exists"};

// A grid sampler without an explicit search_space takes the grid from the config's
// distributions: each choice list, each int range, each float with a step.
void fill_grid(json& study_json, const std::vector<FoundDistribution>& dists) {
  if (!study_json.contains("sampler")) return;
  json& s = study_json["sampler"];
  s = typed_table(s);
  if (s.value("type", "") != "grid" || s.contains("search_space")) return;
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

const json* baseline_of(const StudyConfig& sc) {
  const json& st = sc.study();
  if (!st.contains("baseline")) return nullptr;
  if (!st["baseline"].is_object()) throw_invalid("study.baseline: expected a table of parameter values");
  for (auto& [k, v] : st["baseline"].items()) {
    bool known = false;
    for (auto& d : sc.dists) known = known || d.name == k;
    if (!known) throw_invalid("study.baseline: \"" + k + "\" is not a parameter of the search space");
  }
  return &st["baseline"];
}

// Forwards to the study's sampler; in queue mode it reports "exhausted" so that Study::ask
// claims WAITING trials only and never creates one beyond the queue.
class QueueSampler final : public Sampler {
 public:
  explicit QueueSampler(std::shared_ptr<Sampler> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  SearchSpace infer_relative_search_space(const Study& s, const FrozenTrial& t) override {
    return inner_->infer_relative_search_space(s, t);
  }
  std::map<std::string, double> sample_relative(const Study& s, const FrozenTrial& t, const SearchSpace& sp) override {
    return inner_->sample_relative(s, t, sp);
  }
  double sample_independent(const Study& s, const FrozenTrial& t, const std::string& n, const Distribution& d) override {
    return inner_->sample_independent(s, t, n, d);
  }
  void before_trial(const Study& s, const FrozenTrial& t) override { inner_->before_trial(s, t); }
  void after_trial(Study& s, const FrozenTrial& t, TrialState st, std::optional<double> v) override {
    inner_->after_trial(s, t, st, v);
  }
  void reseed(uint64_t seed) override { inner_->reseed(seed); }
  bool exhausted(const Study& s) override { return queued_.load() || inner_->exhausted(s); }
  std::atomic<bool> queued_{false};

 private:
  std::shared_ptr<Sampler> inner_;
};

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

std::string process_tag() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid());
}

// ------------------------------------------------------------------------------ study configs

json StudyConfig::study_json() const {
  json sj = study();
  for (auto& k : kCommandKeys) sj.erase(k);
  fill_grid(sj, dists);
  return sj;
}

bool StudyConfig::grid() const {
  json sj = study_json();
  return sj.contains("sampler") && sj["sampler"].is_object() && sj["sampler"].value("type", "") == "grid";
}

int64_t StudyConfig::n_trials() const {
  const int64_t n = get_int(study(), "n_trials", 0, "study");
  require_nonnegative(static_cast<double>(n), "n_trials", "study");
  return n;
}

json StudyConfig::to_stored() const { return json{{"version", 1}, {"config", cfg}, {"base_dir", base_dir}}; }

namespace {
// Fills what both `hone tune` and a worker derive from the config: the search space, metric and
// direction. `cfg` already has [study].
void derive(StudyConfig& sc) {
  json& st = sc.study();
  sc.command = is_command_study(sc.cfg);
  if (sc.command) {
    sc.space = command_search_space(sc.cfg);
    sc.dists = find_distributions(sc.space);
    sc.metric = get_string(st, "metric", "value", "study");
    return;
  }
  sc.space = sc.cfg;
  sc.space.erase("study");
  sc.dists = find_distributions(sc.space);
  const json cv = st.value("cv", json::object());
  sc.folds = static_cast<int>(get_int(cv, "folds", 0, "study.cv"));
  sc.metric = get_string(st, "metric", sc.folds ? "accuracy" : "val_accuracy", "study");
  if (!st.contains("direction"))
    st["direction"] = metric_bigger_is_better(sc.metric.rfind("val_", 0) == 0 ? sc.metric.substr(4) : sc.metric)
                          ? "maximize"
                          : "minimize";
}
}  // namespace

StudyConfig resolve_study_config(json cfg, const std::string& config_path) {
  if (!cfg.contains("study") || !cfg["study"].is_object())
    throw_invalid(config_path + ": the [study] table is missing");
  StudyConfig sc;
  sc.cfg = std::move(cfg);
  json& st = sc.study();
  if (!st.contains("name")) st["name"] = stem(config_path);
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
  std::optional<uint64_t> s;
  if (sj.contains("seed")) s = static_cast<uint64_t>(get_int(sj, "seed", 0, "study"));
  if (sj.contains("sampler")) make_sampler(sj.at("sampler"), s);
  if (sj.contains("pruner")) make_pruner(sj.at("pruner"));
  if (sj.contains("direction")) {
    try {
      direction_from_string(get_string(sj, "direction", "minimize", "study"));
    } catch (const Error& e) {
      throw_invalid(std::string("study.") + e.what());
    }
  }
  baseline_of(sc);
  return sc;
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

// ------------------------------------------------------------------------------ studies, queue

std::shared_ptr<Study> open_configured_study(const StudyConfig& sc, std::shared_ptr<Storage> storage) {
  const json sj = sc.study_json();
  StudyOptions o;
  o.name = get_string(sj, "name", "", "study");
  o.direction = Direction::kMinimize;
  if (sj.contains("direction")) {
    try {
      o.direction = direction_from_string(get_string(sj, "direction", "minimize", "study"));
    } catch (const Error& e) {
      throw_invalid(std::string("study.") + e.what());
    }
  }
  if (sj.contains("seed")) o.seed = static_cast<uint64_t>(get_int(sj, "seed", 0, "study"));
  std::shared_ptr<Sampler> inner;
  if (sj.contains("sampler")) {
    inner = make_sampler(sj.at("sampler"), o.seed);
  } else {
    TpeOptions to;
    to.seed = o.seed;
    inner = make_tpe_sampler(to);
  }
  if (sj.contains("pruner")) o.pruner = make_pruner(sj.at("pruner"));
  o.sampler = std::make_shared<QueueSampler>(inner);
  o.storage = StorageSpec(std::move(storage));
  o.load_if_exists = true;
  optimize_options_from_json(sj, "study");  // validates n_trials, timeout, n_jobs before any work
  return create_study(o);
}

void set_queued(Study& study, bool queued) {
  if (auto* q = dynamic_cast<QueueSampler*>(&study.sampler())) q->queued_.store(queued);
}

bool uses_queue(const StudyConfig& sc, const std::string& storage_url) {
  return !is_private_storage(storage_url) && (sc.n_trials() > 0 || sc.grid());
}

QueueState queue_state(const Study& study) {
  QueueState q;
  for (auto& t : study.trials()) {
    if (is_finished(t.state)) ++q.finished;
    else if (t.state == TrialState::kRunning) ++q.running;
    else ++q.waiting;
  }
  return q;
}

void enqueue_baseline(Study& study, const StudyConfig& sc) {
  const json* b = baseline_of(sc);
  if (b && study.trials().empty()) study.enqueue_trial(*b, json{{"baseline", true}});
}

QueueState fill_queue(Study& study, const StudyConfig& sc, int64_t target) {
  auto all = study.trials();
  QueueState q;
  bool has_baseline = false;
  for (auto& t : all) {
    if (is_finished(t.state)) ++q.finished;
    else if (t.state == TrialState::kRunning) ++q.running;
    else ++q.waiting;
    has_baseline = has_baseline || t.user_attrs.count("baseline");
  }
  const json* baseline = has_baseline ? nullptr : baseline_of(sc);
  Storage& storage = study.storage();
  auto add = [&](const json& fixed, const json& user_attrs, const json* grid_space, int64_t grid_id) {
    FrozenTrial t;
    t.state = TrialState::kWaiting;
    if (fixed.is_object()) t.system_attrs["fixed_params"] = fixed;
    if (grid_space) {
      t.system_attrs["search_space"] = *grid_space;
      t.system_attrs["grid_id"] = grid_id;
    }
    if (user_attrs.is_object())
      for (auto& [k, v] : user_attrs.items()) t.user_attrs[k] = v;
    storage.create_new_trial(study.study_id(), &t);
    ++q.waiting;
  };

  if (!sc.grid()) {
    if (baseline && q.total() < target) add(*baseline, json{{"baseline", true}}, nullptr, 0);
    while (q.total() < target) add(json(), json(), nullptr, 0);
    return q;
  }
  // A grid: one WAITING trial per point, its values fixed, tagged as GridSampler tags its claims
  // (grid_id, search_space), so no two processes ever evaluate a point twice.
  const json sampler = sc.study_json()["sampler"];
  const json& space = sampler["search_space"];
  std::vector<std::string> names;
  std::vector<std::vector<json>> values;
  size_t total = 1;
  for (auto& [k, v] : space.items()) {  // sorted by name, as GridSampler
    names.push_back(k);
    values.push_back(v.get<std::vector<json>>());
    total *= values.back().size();
  }
  std::vector<size_t> order(total);
  std::iota(order.begin(), order.end(), 0);
  if (sampler.contains("seed")) {  // GridSampler's seeded permutation
    Rng rng(static_cast<uint64_t>(sampler["seed"].get<int64_t>()));
    std::shuffle(order.begin(), order.end(), rng);
  }
  auto point = [&](size_t id) {
    json p = json::object();
    size_t stride = total;
    for (size_t i = 0; i < names.size(); ++i) {
      stride /= values[i].size();
      p[names[i]] = values[i][(id / stride) % values[i].size()];
    }
    return p;
  };
  std::set<int64_t> present;
  for (auto& t : all) {
    auto g = t.system_attrs.find("grid_id");
    auto s = t.system_attrs.find("search_space");
    if (g != t.system_attrs.end() && s != t.system_attrs.end() && s->second == space)
      present.insert(g->second.get<int64_t>());
  }
  if (target <= 0) target = std::numeric_limits<int64_t>::max();
  if (baseline && q.total() < target) {
    // The baseline is one of the grid points when it fixes every grid parameter to a grid value.
    std::optional<size_t> match;
    for (size_t id : order) {
      json p = point(id);
      bool same = true;
      for (auto& [k, v] : p.items()) same = same && baseline->contains(k) && (*baseline)[k] == v;
      if (same) {
        match = id;
        break;
      }
    }
    if (match && !present.count(static_cast<int64_t>(*match))) {
      json fixed = *baseline;
      add(fixed, json{{"baseline", true}}, &space, static_cast<int64_t>(*match));
      present.insert(static_cast<int64_t>(*match));
    } else if (!match) {
      add(*baseline, json{{"baseline", true}}, nullptr, 0);
    }
  }
  for (size_t id : order) {
    if (q.total() >= target) break;
    if (present.count(static_cast<int64_t>(id))) continue;
    add(point(id), json(), &space, static_cast<int64_t>(id));
    present.insert(static_cast<int64_t>(id));
  }
  return q;
}

// ------------------------------------------------------------------------------ the runner

StudyRunner::StudyRunner(StudyConfig sc, int cores, int jobs, const std::string& out,
                         const std::atomic<bool>* stop)
    : sc_(std::move(sc)), out_(out), stop_(stop) {
  json& st = sc_.study();
  int n_jobs = jobs > 0 ? jobs : static_cast<int>(get_int(st, "n_jobs", 1, "study"));
  if (n_jobs < 1) throw_invalid("study.n_jobs must be >= 1");
  if (n_jobs > cores) {  // cores are a budget: at most one trial per core at once
    std::fprintf(stderr, "note: %d trials at once asked, but this process has %d cores; running %d at once\n",
                 n_jobs, cores, cores);
    n_jobs = cores;
  }
  n_jobs_ = n_jobs;
  st["n_jobs"] = n_jobs;
  if (sc_.command) {
    CommandOptions co = command_options_from_json(sc_.cfg["objective"], sc_.base_dir, "objective");
    if (!sc_.cfg["objective"].contains("threads")) co.threads = std::max(1, cores / n_jobs);
    threads_ = co.threads;
    co.run_dir = out_;
    co.stop = stop_;
    command_ = std::make_unique<CommandObjective>(sc_.space, co);
    return;
  }
  // Trials at once x threads per trial <= cores.
  const json train = sc_.cfg.value("train", json::object());
  if (train.contains("threads") && train["threads"].is_number_integer()) {
    threads_ = train["threads"].get<int>();
    if (threads_ * n_jobs > cores) {
      int t = std::max(1, cores / n_jobs);
      std::fprintf(stderr, "note: %d trials x %d threads > %d cores; each trial gets %d thread(s)\n", n_jobs,
                   threads_, cores, t);
      sc_.cfg["train"]["threads"] = threads_ = t;
    }
  } else if (!train.contains("threads")) {
    sc_.cfg["train"]["threads"] = threads_ = std::max(1, cores / n_jobs);
  }
  const uint64_t seed = static_cast<uint64_t>(get_int(sc_.cfg, "seed", 0, "config"));
  json data_cfg = sc_.cfg.value("data", json::object());
  if (sc_.folds && !data_cfg.contains("validation_fraction")) data_cfg["validation_fraction"] = 0.0;
  data_ = load_data(data_cfg, seed);
  sc_.cfg["data"] = data_cfg;
  const json cv = st.value("cv", json::object());
  ObjectiveOptions oopt;
  oopt.metric = sc_.metric;
  oopt.cv_folds = sc_.folds;
  oopt.stratified = get_bool(cv, "stratified", true, "study.cv");
  oopt.shuffle = get_bool(cv, "shuffle", true, "study.cv");
  oopt.seed = seed;
  oopt.stop = stop_;
  training_ = std::make_unique<TrainingObjective>(sc_.cfg, data_, oopt);
}

std::string StudyRunner::describe(const Study& study) const {
  std::string s = fmt::format("study \"{}\": {} parameters, {} {}, sampler {}, pruner {}, {} trial(s) at once x {} thread(s)\n",
                              study.name(), sc_.dists.size(), to_string(study.direction()), sc_.metric,
                              study.sampler().name(), study.pruner().name(), n_jobs_, threads_);
  if (command_) {
    std::string shown;
    for (auto& a : command_->options().command) shown += (shown.empty() ? "" : " ") + a;
    s += fmt::format("command: {} (in {}; logs in {}/trials/<n>/)\n", shown, command_->options().cwd, out_);
  } else {
    s += fmt::format("data: {} train, {} validation, {} test samples{}\n", data_.train.size(), data_.val.size(),
                     data_.test.size(), sc_.folds ? fmt::format(", {}-fold cross-validation", sc_.folds) : "");
  }
  return s;
}

double StudyRunner::run(Study& study, bool queued, int64_t progress_total, double timeout_s, std::FILE* progress_out) {
  set_queued(study, queued);
  OptimizeOptions oo = optimize_options_from_json(sc_.study_json(), "study");
  oo.n_trials = queued ? 0 : sc_.n_trials();  // a queue is its own limit
  oo.timeout_s = timeout_s;
  oo.n_jobs = n_jobs_;
  oo.stop = const_cast<std::atomic<bool>*>(stop_);
  int64_t before = 0;
  for (auto& t : study.trials()) before += is_finished(t.state);
  TuneProgress progress(progress_total, timeout_s, progress_out, before);
  oo.callbacks.push_back([&](Study& s, const FrozenTrial& t) { progress.on_trial(s, t); });
  const std::string tag = process_tag();
  auto t0 = std::chrono::steady_clock::now();
  study.optimize(
      [&](Trial& t) {
        t.set_system_attr(kWorkerAttr, tag);
        return training_ ? (*training_)(t) : (*command_)(t);
      },
      oo);
  progress.finish();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ------------------------------------------------------------------------------ progress

TuneProgress::TuneProgress(int64_t total, double timeout, std::FILE* out, int64_t finished_before)
    : n_(total), timeout_(timeout), out_(out), tty_(isatty(fileno(out)) != 0), before_(finished_before),
      t0_(std::chrono::steady_clock::now()) {}

void TuneProgress::on_trial(const std::vector<FrozenTrial>& all, Direction direction, const FrozenTrial& t) {
  Counts c;
  const FrozenTrial* best = nullptr;
  for (const auto& x : all) {
    if (x.state == TrialState::kComplete) {
      ++c.done;
      if (x.value && (!best || (direction == Direction::kMinimize ? *x.value < *best->value : *x.value > *best->value)))
        best = &x;
    } else if (x.state == TrialState::kPruned) {
      ++c.pruned, ++c.done;
    } else if (x.state == TrialState::kFail) {
      ++c.failed, ++c.done;
    } else if (x.state == TrialState::kRunning) {
      ++c.running;
    }
  }
  if (best) c.best = std::pair(*best->value, best->number);
  print(c, t);
}

void TuneProgress::on_trial(const Study& study, const FrozenTrial& t) {
  Storage& s = study.storage();
  const int64_t id = study.study_id();
  Counts c;
  c.pruned = s.get_n_trials(id, {TrialState::kPruned});
  c.failed = s.get_n_trials(id, {TrialState::kFail});
  c.done = s.get_n_trials(id, {TrialState::kComplete}) + c.pruned + c.failed;
  c.running = s.get_n_trials(id, {TrialState::kRunning});
  if (auto b = s.get_best_trial(id); b && b->value) c.best = std::pair(*b->value, b->number);
  print(c, t);
}

void TuneProgress::print(const Counts& c, const FrozenTrial& t) {
  const int64_t done = c.done, pruned = c.pruned, failed = c.failed, running = c.running;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  double eta = NAN;
  if (n_ > 0 && done > before_) eta = el / static_cast<double>(done - before_) * static_cast<double>(std::max<int64_t>(0, n_ - done));
  if (timeout_ > 0) eta = std::isnan(eta) ? timeout_ - el : std::min(eta, timeout_ - el);
  const std::string best_s = c.best ? fmt::format("{:.4f} (#{})", c.best->first, c.best->second) : "-";
  const std::string value = t.state == TrialState::kFail ? t.fail_reason()
                            : t.value                   ? fmt::format("{:.4f}", *t.value)
                                                        : "-";
  std::string what = fmt::format("trial {:>3} {:<8} {}", t.number, to_string(t.state), value);
  std::string status = fmt::format("done {}{} | running {} | pruned {} | failed {} | best {} | {} elapsed, ETA {}", done,
                                   n_ > 0 ? fmt::format("/{}", n_) : "", running, pruned, failed, best_s,
                                   format_duration(el), std::isnan(eta) ? "?" : format_duration(std::max(0.0, eta)));
  if (tty_) std::fprintf(out_, "\r\033[K%s\n%s", what.c_str(), status.c_str());
  else std::fprintf(out_, "%s | %s\n", what.c_str(), status.c_str());
  std::fflush(out_);
}

void TuneProgress::finish() {
  if (tty_) std::fputs("\n", out_);
}

// ------------------------------------------------------------------------------ exports

// A stored study's unclaimed queue (WAITING trials) is not part of a run's outputs or tables.
static const TrialStates kStarted{TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail};

std::vector<FrozenTrial> started_trials(const Study& study) { return study.trials(kStarted); }

void export_trials(const Study& study, const std::string& out) {
  make_dirs(out);
  write_text((fs::path(out) / "trials.json").string(), study.to_json(kStarted).dump(2) + "\n");
  write_text((fs::path(out) / "trials.csv").string(), study.to_csv(kStarted));
}

}  // namespace hone::cli
