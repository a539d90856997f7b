// The doctor's rules: learning curves, profile and memory -> findings with evidence and remedies.
// The numbers are DiagnoseThresholds' (include/hone/diagnose.h); docs/DOCTOR.md explains them.
#include "hone/diagnose.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "diagnose/knobs.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/model.h"
#include "hone/threads.h"

namespace hone {

const char* finding_name(FindingKind kind) {
  switch (kind) {
    case FindingKind::kOverfitting: return "overfitting";
    case FindingKind::kUnderfitting: return "underfitting";
    case FindingKind::kDiverging: return "diverging";
    case FindingKind::kSlow: return "slow";
    case FindingKind::kMemory: return "memory";
  }
  return "?";
}

std::vector<FindingKind> all_finding_kinds() {
  return {FindingKind::kOverfitting, FindingKind::kUnderfitting, FindingKind::kDiverging, FindingKind::kSlow,
          FindingKind::kMemory};
}

nlohmann::json Finding::to_json() const {
  nlohmann::json r = nlohmann::json::array();
  for (auto& m : remedies) r.push_back({{"knob", m.knob}, {"direction", m.direction}, {"why", m.why}});
  return {{"kind", finding_name(kind)}, {"severity", severity}, {"summary", summary}, {"evidence", evidence},
          {"remedies", r}};
}

bool has_finding(const std::vector<Finding>& findings, FindingKind kind) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) { return f.kind == kind; });
}

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw_io(p.string() + ": cannot read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json(const std::filesystem::path& p) {
  try {
    return nlohmann::json::parse(read_file(p));
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(p.string() + ": not JSON (" + e.what() + ")");
  }
}

// The series of `key` over the epochs (NaN where an epoch lacks it).
std::vector<double> series(const std::vector<Logs>& h, const std::string& key) {
  std::vector<double> v;
  for (auto& row : h) {
    auto it = row.find(key);
    v.push_back(it == row.end() ? std::nan("") : it->second);
  }
  return v;
}

bool has_key(const std::vector<Logs>& h, const std::string& key) { return !h.empty() && h.back().count(key); }

std::string g(double v) { return fmt::format("{:.4g}", v); }

std::string size_str(double bytes) {
  return bytes >= 1048576.0 ? fmt::format("{:.2f} MiB", bytes / 1048576.0) : fmt::format("{:.1f} KiB", bytes / 1024.0);
}

}  // namespace

RunRecord load_run_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw_invalid(dir + ": not a run directory (expected what `hone train` writes)");
  for (const char* f : {"config.toml", "history.json", "metrics.json"})
    if (!fs::exists(d / f)) throw_invalid((d / f).string() + ": missing (a `hone train` run directory has it)");
  RunRecord r;
  r.config = load_toml_file((d / "config.toml").string());
  const nlohmann::json h = read_json(d / "history.json");
  const nlohmann::json& rows = h.is_object() && h.contains("rows") ? h["rows"] : h;
  if (!rows.is_array()) throw_invalid((d / "history.json").string() + ": expected a list of epochs");
  for (auto& row : rows) {
    if (!row.is_object()) throw_invalid((d / "history.json").string() + ": expected one object per epoch");
    Logs l;
    for (auto& [k, v] : row.items())
      l[k] = v.is_number() ? v.get<double>() : std::nan("");  // NaN/Inf are written as null
    r.history.push_back(l);
  }
  const nlohmann::json m = read_json(d / "metrics.json");
  r.stop_reason = m.value("stop_reason", "");
  r.train_seconds = m.value("train_seconds", 0.0);
  r.peak_bytes = m.value("peak_tensor_bytes", int64_t{0});
  r.num_params = m.value("num_params", int64_t{0});
  if (fs::exists(d / "profile.json")) r.profile = read_json(d / "profile.json");
  if (fs::exists(d / "model.hone")) {
    try {
      nlohmann::json meta;
      Model::load((d / "model.hone").string(), &meta);
      if (meta.contains("class_names") && meta["class_names"].is_array())
        r.num_classes = static_cast<int>(meta["class_names"].size());
    } catch (const std::exception&) {
      // no class count: the chance-level rules are skipped
    }
  }
  return r;
}

RunRecord record_run(const nlohmann::json& config, const DataSplits& data, const RunResult& result) {
  RunRecord r;
  r.config = config;
  r.history = result.history.rows;
  r.stop_reason = result.stop_reason;
  r.train_seconds = result.train_seconds;
  r.peak_bytes = result.peak_tensor_bytes;
  r.num_params = result.num_params;
  r.num_classes = data.train.num_classes;
  r.train_samples = data.train.size();
  // Dead units of the final model on a probe (a NaN model after divergence has none to count).
  const Dataset& probe = data.val.size() ? data.val : data.train;
  if ((!result.diverged || result.restored_best) && probe.size() > 0 && result.model.built()) {
    Model m = result.model.clone();
    r.dead_units = count_dead_units(m, probe);
    r.probe_samples = std::min<int64_t>(probe.size(), 256);
  }
  return r;
}

namespace {

bool rate_far_off(const nlohmann::json& config, const DiagnoseThresholds& t) {
  const std::string opt = optimizer_type(config);
  const bool adam_like = opt.rfind("adam", 0) == 0 || opt == "rmsprop";
  return learning_rate(config) > (adam_like ? t.adam_lr_high : t.sgd_lr_high);
}

// The relu layers with more than dead_share of their units dead: evidence lines, and their indices.
std::vector<std::string> dead_layers(const RunRecord& run, const DiagnoseThresholds& t, std::vector<int>* layers) {
  std::vector<std::string> ev;
  for (const DeadUnits& d : run.dead_units) {
    if (d.total < t.dead_min_units || !(d.dead > t.dead_share * static_cast<double>(d.total))) continue;
    ev.push_back(fmt::format("model.layers[{}] (relu): {}/{} units dead ({:.0f}%): zero for all {} probe samples",
                             d.layer, d.dead, d.total, 100.0 * d.dead / d.total, run.probe_samples));
    if (layers) layers->push_back(d.layer);
  }
  return ev;
}

// Classification whose training loss stays at chance level in every epoch, not merely falling
// slowly (every epoch lower than the one before: a tiny rate, underfitting) unless the rate is far off.
bool stuck_at_chance(const RunRecord& run, const std::vector<double>& loss, const DiagnoseThresholds& t) {
  if (run.num_classes < 2 || loss.empty()) return false;
  const double chance = std::log(static_cast<double>(run.num_classes));
  const bool stuck = std::all_of(loss.begin(), loss.end(), [&](double v) { return v >= t.stuck_of_chance * chance; });
  bool falling = true;
  for (size_t i = 1; i < loss.size(); ++i) falling = falling && loss[i] < loss[i - 1];
  return stuck && !(falling && !rate_far_off(run.config, t));
}

void diagnose_diverging(const RunRecord& run, const DiagnoseThresholds& t, std::vector<Finding>& out) {
  const auto loss = series(run.history, "loss");
  Finding f{FindingKind::kDiverging, "critical", "", {}, {}};
  std::vector<int> dead_idx;
  const std::vector<std::string> dead = dead_layers(run, t, &dead_idx);
  int bad = -1;
  for (size_t i = 0; i < loss.size(); ++i)
    if (!std::isfinite(loss[i])) {
      bad = static_cast<int>(i);
      break;
    }
  if (run.stop_reason == "diverged" || bad >= 0) {
    f.summary = "training diverged: the loss became NaN or infinite";
    f.evidence.push_back(bad >= 0 ? fmt::format("epoch {}: loss {}", bad + 1, g(loss[bad]))
                                  : fmt::format("stopped (diverged) after epoch {}", run.history.size()));
  } else if (loss.size() >= 2 && loss.back() > loss.front() * (1 + t.diverge_rise)) {
    f.summary = "the training loss rises";
    f.evidence.push_back(fmt::format("loss {} at epoch 1 -> {} at epoch {} (+{:.0f}%)", g(loss.front()),
                                     g(loss.back()), loss.size(), 100 * (loss.back() / loss.front() - 1)));
  } else if (stuck_at_chance(run, loss, t)) {
    const double chance = std::log(static_cast<double>(run.num_classes));
    f.summary = "not learning: the training loss stays at chance level";
    f.evidence.push_back(fmt::format("loss >= {} (chance ln {} = {}) in all {} epochs, last {}",
                                     g(t.stuck_of_chance * chance), run.num_classes, g(chance), loss.size(),
                                     g(loss.back())));
  } else if (!dead.empty()) {
    f.summary = "not learning: dead ReLU units (zero for every input, so they get no gradient)";
  } else {
    return;
  }
  f.evidence.insert(f.evidence.end(), dead.begin(), dead.end());
  const std::string opt = optimizer_type(run.config);
  const double lr = learning_rate(run.config);
  const bool adam_like = opt.rfind("adam", 0) == 0 || opt == "rmsprop";
  if (lr > 0 && lr > (adam_like ? t.adam_lr_high : t.sgd_lr_high))
    f.evidence.push_back(fmt::format("train.lr = {} is far above the usual range for {} (<= {})", g(lr), opt,
                                     g(adam_like ? t.adam_lr_high : t.sgd_lr_high)));
  f.remedies.push_back({"train.lr", "down", "a smaller step keeps the loss finite; try 10x lower first"});
  f.remedies.push_back({"train.clip_norm", "set (e.g. 1.0)", "bounds each update when a batch's gradient explodes"});
  if (opt == "sgd" || opt == "gd")
    f.remedies.push_back({"train.optimizer.type", "adam", "adaptive steps are less sensitive to the rate"});
  for (int i : dead_idx)
    f.remedies.push_back({fmt::format("model.layers[{}].type", i), "leaky_relu (negative_slope = 0.01)",
                          "a leaky unit keeps a gradient for negative inputs, so a dead one can come back"});
  if (!dead_idx.empty())
    f.remedies.push_back({"model.layers[i].init (the dense/conv before each)", "he_uniform or he_normal",
                          "He initialisation keeps ReLU inputs centred with unit variance (He et al., 2015)"});
  out.push_back(std::move(f));
}

void diagnose_overfitting(const RunRecord& run, const DiagnoseThresholds& t, std::vector<Finding>& out) {
  // Early stopping that restored the best weights undid the epochs after the best one.
  const std::vector<Logs> h = effective_history(run.config, run.history, run.stop_reason);
  if (!has_key(h, "val_loss")) return;
  const auto loss = series(h, "loss"), val = series(h, "val_loss");
  const int n = static_cast<int>(val.size());
  if (n < 3) return;
  int m = 0;
  for (int i = 1; i < n; ++i)
    if (val[i] < val[m]) m = i;
  Finding f{FindingKind::kOverfitting, "warning", "", {}, {}};
  const double min_rise = t.overfit_min_abs_rise * (run.num_classes >= 2 ? std::log(run.num_classes) : val[m]);
  const bool turned_up = n - 1 - m >= t.overfit_min_epochs_after && val[n - 1] > val[m] * (1 + t.overfit_val_rise) &&
                         val[n - 1] - val[m] >= min_rise && loss[n - 1] < loss[m];
  if (turned_up) {
    f.summary = "overfitting: the validation loss turns up while the training loss falls";
    f.evidence.push_back(fmt::format("val_loss lowest {} at epoch {}, {} at epoch {} (+{:.0f}%)", g(val[m]), m + 1,
                                     g(val[n - 1]), n, 100 * (val[n - 1] / val[m] - 1)));
    f.evidence.push_back(fmt::format("loss {} at epoch {} -> {} at epoch {}", g(loss[m]), m + 1, g(loss[n - 1]), n));
  }
  const double gap0 = val[0] - loss[0], gap = val[n - 1] - loss[n - 1];
  const bool widening = gap > t.overfit_gap_ratio * loss[n - 1] && gap - gap0 > t.overfit_gap_growth * val[n - 1] &&
                        (run.num_classes < 2 || gap >= t.overfit_min_gap * std::log(run.num_classes));
  if (widening) {
    if (f.summary.empty()) f.summary = "overfitting: a widening train-validation gap";
    f.evidence.push_back(fmt::format("val_loss - loss: {} at epoch 1 -> {} at epoch {} (training loss {})", g(gap0),
                                     g(gap), n, g(loss[n - 1])));
  }
  if (!turned_up && !widening) return;
  if (has_key(h, "val_accuracy") && has_key(h, "accuracy"))
    f.evidence.push_back(fmt::format("accuracy {} vs val_accuracy {} at epoch {}", g(h.back().at("accuracy")),
                                     g(h.back().at("val_accuracy")), n));
  f.remedies.push_back({"train.l2", "up", "weight decay shrinks the weights the small data set cannot support"});
  const auto drop = dropout_knobs(run.config);
  if (!drop.empty())
    for (auto& k : drop) f.remedies.push_back({k, "up", "more dropout regularises the layers before it"});
  else
    f.remedies.push_back({"model.layers (a dropout layer, rate 0.2-0.5)", "add", "no dropout yet"});
  for (auto& k : width_knobs(run.config)) f.remedies.push_back({k, "down", "fewer units: less capacity to memorise"});
  f.remedies.push_back({"train.epochs", fmt::format("down (to about {})", m + 1), "stop where val_loss was lowest"});
  f.remedies.push_back({"train.early_stopping", "{ monitor = \"val_loss\", patience = 3, restore_best_weights = true }",
                        "stops at the upturn and keeps the best weights"});
  f.remedies.push_back({"train.augment", "shift = 2, flip = true, rotate = 10.0, cutout = 8, noise = 0.1, mixup = 0.2",
                        "more varied training data (images: shift/flip/rotate/cutout; any: noise, mixup)"});
  out.push_back(std::move(f));
}

void diagnose_underfitting(const RunRecord& run, const DiagnoseThresholds& t, std::vector<Finding>& out) {
  if (run.num_classes < 2 || static_cast<int>(run.history.size()) < t.underfit_min_epochs) return;
  const auto loss = series(run.history, "loss");
  const int n = static_cast<int>(loss.size());
  const double chance = std::log(static_cast<double>(run.num_classes));
  if (!(loss[n - 1] > t.underfit_loss_of_chance * chance)) return;
  const double mid = loss[(n - 1) / 2];
  const double improved = (mid - loss[n - 1]) / mid;
  if (improved >= t.underfit_flat) return;
  double gap = 0;
  if (has_key(run.history, "val_loss")) {
    gap = run.history.back().at("val_loss") - loss[n - 1];
    if (!(std::fabs(gap) < t.underfit_close * loss[n - 1])) return;
  }
  Finding f{FindingKind::kUnderfitting, "warning",
            "underfitting: the training loss stays high and flat, train and validation both poor and close", {}, {}};
  f.evidence.push_back(fmt::format("loss {} at epoch {} = {:.0f}% of chance level ln {} = {}", g(loss[n - 1]), n,
                                   100 * loss[n - 1] / chance, run.num_classes, g(chance)));
  f.evidence.push_back(fmt::format("loss {} at epoch {} -> {} at epoch {} ({:.0f}% better over the last half)", g(mid),
                                   (n - 1) / 2 + 1, g(loss[n - 1]), n, 100 * improved));
  if (has_key(run.history, "val_loss"))
    f.evidence.push_back(fmt::format("val_loss - loss = {} at epoch {}", g(gap), n));
  if (has_key(run.history, "accuracy"))
    f.evidence.push_back(fmt::format("accuracy {} at epoch {}", g(run.history.back().at("accuracy")), n));
  const double lr = learning_rate(run.config);
  f.remedies.push_back({"train.lr", "up", lr > 0 ? fmt::format("the loss moves slowly at {}", g(lr)) : "faster steps"});
  for (auto& k : width_knobs(run.config)) f.remedies.push_back({k, "up", "more capacity"});
  f.remedies.push_back({"train.epochs", "up", "train longer while the loss still falls"});
  f.remedies.push_back({"train.l2", "down (or 0)", "less regularisation"});
  for (auto& k : dropout_knobs(run.config)) f.remedies.push_back({k, "down", "less regularisation"});
  if (optimizer_type(run.config) == "sgd" || optimizer_type(run.config) == "gd")
    f.remedies.push_back({"train.optimizer.type", "adam", "adaptive steps"});
  out.push_back(std::move(f));
}

void diagnose_slow(const RunRecord& run, const DiagnoseOptions& o, std::vector<Finding>& out) {
  const DiagnoseThresholds& t = o.thresholds;
  Finding f{FindingKind::kSlow, "warning", "slow training: throughput far below what this machine allows", {}, {}};
  const nlohmann::json train = run.config.value("train", nlohmann::json::object());
  const int64_t batch = train.value("batch_size", int64_t{32});
  const int threads = train.value("threads", 1);
  const int cores = o.cores > 0 ? o.cores : available_cores();
  const double sps = has_key(run.history, "samples_per_s") ? run.history.back().at("samples_per_s") : -1;
  int64_t samples = run.train_samples;
  if (samples <= 0 && sps > 0 && has_key(run.history, "time_s")) samples = static_cast<int64_t>(sps * run.history.back().at("time_s"));
  if (batch <= t.slow_batch && samples >= t.slow_min_samples) {
    f.evidence.push_back(fmt::format("train.batch_size = {} on {} training samples{}", batch, samples,
                                     sps > 0 ? fmt::format(": {:.0f} samples/s", sps) : ""));
    f.remedies.push_back({"train.batch_size", "up (32-256)", "one matrix product per batch instead of per sample"});
    f.remedies.push_back({"train.lr", "up with the batch (about linearly)", "keeps the step per sample (Goyal et al., 2017)"});
  }
  if (threads > cores) {
    f.evidence.push_back(fmt::format("train.threads = {} above the {} cores", threads, cores));
    f.remedies.push_back({"train.threads", fmt::format("down (to {} or fewer)", cores), "threads beyond the cores only wait"});
  }
  if (run.profile.is_object() && run.profile.value("step_s", 0.0) > 0) {
    const double share = run.profile.value("data_s", 0.0) / run.profile["step_s"].get<double>();
    if (share > t.slow_data_share) {
      f.evidence.push_back(fmt::format("profile: data loading is {:.0f}% of a step", 100 * share));
      f.remedies.push_back({"train.batch_size", "up", "fewer, larger copies per epoch"});
    }
  }
  const auto times = series(run.history, "time_s");
  if (times.size() >= 5) {
    std::vector<double> s = times;
    std::sort(s.begin(), s.end());
    const double med = s[s.size() / 2];
    for (size_t i = 0; i < times.size(); ++i)
      if (times[i] > t.slow_outlier * med && times[i] > t.slow_outlier_min_s)
        f.evidence.push_back(fmt::format("epoch {} took {}s, {:.1f}x the median {}s (another process on the cores?)",
                                         i + 1, g(times[i]), times[i] / med, g(med)));
  }
  if (f.evidence.empty()) return;
  if (f.remedies.empty()) f.remedies.push_back({"train.threads", fmt::format("at most {}", cores), "leave cores to the rest"});
  out.push_back(std::move(f));
}

void diagnose_memory(const RunRecord& run, const DiagnoseOptions& o, std::vector<Finding>& out) {
  if (o.memory_budget <= 0 || run.peak_bytes <= o.memory_budget) return;
  Finding f{FindingKind::kMemory, "critical", "memory: the peak is over the budget", {}, {}};
  f.evidence.push_back(fmt::format("peak tensor memory {} > budget {} ({:.1f}x)", size_str(run.peak_bytes),
                                   size_str(o.memory_budget), static_cast<double>(run.peak_bytes) / o.memory_budget));
  try {
    EstimateOptions eo;
    eo.load_data = false;
    MemoryEstimate e;
    try {
      e = estimate_memory(run.config, eo);
    } catch (const std::exception&) {  // the data's shapes are needed: measure them by loading it
      eo.load_data = true;
      e = estimate_memory(run.config, eo);
    }
    f.evidence.push_back(fmt::format(
        "estimate: parameters {}, gradients {}, optimizer state {} ({}), activations {} at batch {}, batch buffers {}, "
        "data {}",
        size_str(e.param_bytes), size_str(e.grad_bytes), size_str(e.optimizer_bytes), e.optimizer,
        size_str(e.activation_bytes), e.batch_size, size_str(e.batch_bytes), size_str(e.data_bytes)));
  } catch (const std::exception&) {
    // no breakdown (a config the estimate cannot read without its data)
  }
  if (run.profile.is_object() && run.profile.contains("run_counters"))
    f.evidence.push_back(fmt::format("process peak RSS {}",
                                     size_str(run.profile["run_counters"].value("peak_rss_bytes", int64_t{0}))));
  f.remedies.push_back({"train.batch_size", "down", "activations and batch buffers scale with the batch"});
  f.remedies.push_back({"train.eval_batch_size", "down (default 1024)", "evaluation activations scale with it"});
  for (auto& k : width_knobs(run.config)) f.remedies.push_back({k, "down", "parameters, gradients and optimizer state"});
  f.remedies.push_back({"train.optimizer.type", "sgd", "no per-parameter state (Adam keeps 2 floats per parameter)"});
  f.remedies.push_back({"train.threads", "down", "per-thread gradient buffers"});
  out.push_back(std::move(f));
}

// The growth of a per-epoch memory series from epoch 2 to the last, or "" when it does not grow.
std::string memory_growth(const std::vector<Logs>& h, const std::string& key, const char* what, int64_t min_bytes,
                          const DiagnoseThresholds& t) {
  if (!has_key(h, key)) return "";
  const auto v = series(h, key);
  const int n = static_cast<int>(v.size());
  if (n < t.mem_growth_min_epochs || !std::isfinite(v[1]) || !std::isfinite(v[n - 1])) return "";
  int rises = 0;
  for (int i = 2; i < n; ++i) rises += v[i] > v[i - 1];
  const bool grew = v[n - 1] > v[1] * (1 + t.mem_growth) && v[n - 1] - v[1] >= static_cast<double>(min_bytes);
  if (!grew || rises < t.mem_growth_steady * (n - 2)) return "";
  return fmt::format("{} {} at epoch 2 -> {} at epoch {} (+{:.0f}%, +{} per epoch), rising in {} of {} epochs", what,
                     size_str(v[1]), size_str(v[n - 1]), n, 100 * (v[n - 1] / v[1] - 1),
                     size_str((v[n - 1] - v[1]) / (n - 2)), rises, n - 2);
}

void diagnose_memory_growth(const RunRecord& run, const DiagnoseThresholds& t, std::vector<Finding>& out) {
  Finding f{FindingKind::kMemory, "warning", "memory: the peak grows across epochs (something keeps memory each epoch)",
            {}, {}};
  for (const std::string& e :
       {memory_growth(run.history, "mem_peak_bytes", "epoch peak tensor memory", t.mem_growth_min_bytes, t),
        memory_growth(run.history, "mem_rss_bytes", "process RSS at the epoch's end", t.mem_growth_min_rss_bytes, t)})
    if (!e.empty()) f.evidence.push_back(e);
  if (f.evidence.empty()) return;
  f.remedies.push_back({"callbacks and hooks of the run", "keep nothing per epoch (scalars, not tensors or copies)",
                        "memory that rises every epoch is held by something that outlives the epoch"});
  f.remedies.push_back({"hone profile", "run it on the config", "the per-step memory timeline shows where it rises"});
  f.remedies.push_back({"train.epochs", "down while it is unfixed", "the peak grows with every epoch"});
  out.push_back(std::move(f));
}

}  // namespace

std::vector<Finding> diagnose(const RunRecord& run, const DiagnoseOptions& options) {
  if (!run.config.is_object()) {  // a record without a config (RunRecord{}): the rules read {}
    RunRecord r = run;
    r.config = nlohmann::json::object();
    return diagnose(r, options);
  }
  std::vector<Finding> out;
  diagnose_diverging(run, options.thresholds, out);
  if (out.empty()) {  // the curve findings of a diverged run are its symptoms
    diagnose_overfitting(run, options.thresholds, out);
    diagnose_underfitting(run, options.thresholds, out);
  }
  diagnose_slow(run, options, out);
  diagnose_memory(run, options, out);
  diagnose_memory_growth(run, options.thresholds, out);
  return out;
}

std::string format_findings(const std::vector<Finding>& findings) {
  if (findings.empty()) return "healthy: no finding\n";
  std::string s;
  for (auto& f : findings) {
    s += fmt::format("[{}] {}: {}\n", f.severity, finding_name(f.kind), f.summary);
    for (auto& e : f.evidence) s += "  evidence: " + e + "\n";
    for (auto& r : f.remedies) s += fmt::format("  remedy:   {} {} ({})\n", r.knob, r.direction, r.why);
  }
  return s;
}

nlohmann::json findings_json(const std::vector<Finding>& findings) {
  nlohmann::json a = nlohmann::json::array();
  for (auto& f : findings) a.push_back(f.to_json());
  return {{"healthy", findings.empty()}, {"findings", a}};
}

nlohmann::json brief_config(const nlohmann::json& config, int64_t max_epochs, int64_t* full_epochs) {
  if (max_epochs < 1) throw_invalid("--epochs must be at least 1");
  nlohmann::json c = config;
  const nlohmann::json e = get_knob(config, "train.epochs");
  const int64_t full = e.is_number_integer() ? e.get<int64_t>() : 10;
  if (full_epochs) *full_epochs = full;
  if (full > max_epochs) c["train"]["epochs"] = max_epochs;
  return c;
}

int64_t parse_size(const std::string& text, const std::string& what) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw_invalid(what + ": \"" + text + "\" is not a size (e.g. 512MiB, 2G, 1000000)");
  }
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "IB") unit.resize(unit.size() - 2);
  else if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  double mult = 1;
  if (unit == "K") mult = 1024.0;
  else if (unit == "M") mult = 1024.0 * 1024;
  else if (unit == "G") mult = 1024.0 * 1024 * 1024;
  else if (unit == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) throw_invalid(what + ": \"" + text + "\" has an unknown unit (K, M, G, T)");
  if (!(v > 0) || !std::isfinite(v * mult) || v * mult > 9e18) throw_invalid(what + ": \"" + text + "\" must be a positive size");
  return static_cast<int64_t>(v * mult);
}

}  // namespace hone
