// `hone autotune`: threads x batch size for the highest training throughput within a memory
// budget, guarded by statistical efficiency. A coarse pass measures every point briefly; the
// best two that pass the guards are measured again for longer, so the search costs a fraction
// of the grid.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/threads.h"
#include "hone/tune/search_space.h"

namespace hone {

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kEstimateMargin = 0.10;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

nlohmann::json with_settings(nlohmann::json config, int threads, int64_t batch) {
  config["train"]["threads"] = threads;
  config["train"]["batch_size"] = batch;
  return config;
}

// A subset of `d` (the first `n` rows of a seeded shuffle).
Dataset head(const Dataset& d, int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(d.size()));
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(static_cast<size_t>(std::min<int64_t>(n, d.size())));
  return d.subset(idx);
}

// A study config with every distribution replaced by a representative value (the middle of a
// numeric range, geometric for log ranges; the first choice), so that its model and training
// settings can be measured.
nlohmann::json representative(const nlohmann::json& v) {
  if (is_distribution_spec(v)) {
    if (v.contains("choice")) return representative(v["choice"].at(0));
    const bool is_int = v.contains("int");
    const auto& range = is_int ? v["int"] : v["float"];
    const double lo = range.at(0).get<double>(), hi = range.at(1).get<double>();
    const double mid = v.value("log", false) ? std::sqrt(lo * hi) : 0.5 * (lo + hi);
    if (is_int) return static_cast<int64_t>(std::llround(mid));
    return mid;
  }
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = representative(it.value());
    return out;
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : v) out.push_back(representative(e));
    return out;
  }
  return v;
}

}  // namespace

double measure_samples_per_second(const nlohmann::json& config, const DataSplits& data, int threads, int64_t batch,
                                  double seconds, double give_up_below) {
  nlohmann::json cfg = with_settings(config, threads, batch);
  cfg.erase("estimate");
  TrainingParts parts = validate_run_config(cfg);
  if (!parts.loss) parts.loss = make_loss(data.train.is_classification() ? "cross_entropy" : "mse", "train.loss");
  Model model = Model::from_config(expand_model_config(cfg, data), "model");
  const std::vector<Param> params = model.params();
  const int64_t n = data.train.size();
  batch = std::min(batch, n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  ThreadScope scope(threads);
  Tensor xb, yb, dl;
  int64_t cursor = 0;
  auto step = [&] {
    if (cursor + batch > n) cursor = 0;
    xb.copy_rows_from(data.train.x, order.data() + cursor, batch);
    yb.copy_rows_from(data.train.y, order.data() + cursor, batch);
    cursor += batch;
    const Tensor& out = model.forward(xb, true);
    parts.loss->compute(out, yb, &dl);
    model.backward(dl);
    parts.optimizer->step(params);
  };
  step();  // first step: buffers, optimizer state
  auto tw = Clock::now();
  step();
  const double warm_rate = static_cast<double>(batch) / std::max(since(tw), 1e-9);
  if (warm_rate < give_up_below) return warm_rate;  // clearly slower than the best so far
  // The rate is the batch over the MEDIAN step time, not samples over wall time: on a shared
  // machine other work preempts some steps, and the median ignores them where a mean would not,
  // so two points measured minutes apart compare as if the machine had been quiet.
  std::vector<double> steps;
  steps.reserve(1024);
  auto t0 = Clock::now();
  double t = 0;
  do {
    auto ts = Clock::now();
    step();
    steps.push_back(since(ts));
    t = since(t0);
  } while (t < seconds);
  auto mid = steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2);
  std::nth_element(steps.begin(), mid, steps.end());
  return static_cast<double>(batch) / std::max(*mid, 1e-9);
}

AutotuneResult autotune(const nlohmann::json& config_in, const DataSplits& data, const AutotuneOptions& o) {
  auto t_start = Clock::now();
  if (config_in.contains("objective") && config_in["objective"].is_object() && config_in["objective"].contains("command"))
    throw_invalid("autotune: the study runs an external command; autotune measures hone's own training");
  nlohmann::json config = representative(config_in);
  config.erase("estimate");
  validate_run_config(config);
  const int cores = available_cores();
  std::vector<int> threads = o.threads;
  if (threads.empty())
    for (int t = 1; t <= cores; ++t) threads.push_back(t);
  std::vector<int64_t> batches = o.batch_sizes;
  if (batches.empty())
    for (int64_t b = 16; b <= 1024; b *= 2) batches.push_back(b);
  const int64_t n = data.train.size();
  batches.erase(std::remove_if(batches.begin(), batches.end(), [&](int64_t b) { return b < 1 || b > n; }), batches.end());
  if (batches.empty() || threads.empty()) throw_invalid("autotune: no batch size fits the training data");

  int64_t budget = o.memory_budget_bytes;
  if (budget <= 0) budget = static_cast<int64_t>(0.8 * static_cast<double>(load_machine(false).mem_available_bytes));
  // Memory of each point without reloading the data: the model's shapes are fixed by the data.
  nlohmann::json shape_cfg = config;
  shape_cfg["model"] = expand_model_config(config, data);
  shape_cfg["estimate"] = {{"data", false}};
  int64_t data_bytes = 0;
  for (const Dataset* d : {&data.train, &data.val, &data.test}) data_bytes += (d->x.size() + d->y.size()) * 4;

  AutotuneResult r;
  auto point = [&](int t, int64_t b) {
    AutotunePoint p;
    p.threads = t;
    p.batch_size = b;
    EstimateOptions eo;
    eo.batch_size = b;
    eo.threads = t;
    eo.load_data = false;
    p.peak_bytes = estimate_memory(shape_cfg, eo).peak_bytes + data_bytes;
    // The estimate is within 10% of the measured peak (docs/BENCHMARKS.md), so a point must fit
    // with that margin: the chosen setting never runs out of memory when it trains for real.
    p.over_budget = static_cast<double>(p.peak_bytes) * (1 + kEstimateMargin) > static_cast<double>(budget);
    if (p.over_budget) p.note = "over the memory budget (with the estimate's 10% margin)";
    return p;
  };
  double best_coarse = 0;
  auto measure = [&](AutotunePoint& p, double seconds, bool coarse = false) {
    auto t0 = Clock::now();
    p.samples_per_s = measure_samples_per_second(config, data, p.threads, p.batch_size, seconds,
                                                 coarse ? 0.5 * best_coarse : 0.0);
    if (coarse) best_coarse = std::max(best_coarse, p.samples_per_s);
    p.seconds += since(t0);
  };

  std::vector<AutotunePoint> pts;
  for (int t : threads)
    for (int64_t b : batches) pts.push_back(point(t, b));

  // The statistical-efficiency guard: one epoch on a subset at a batch size against the
  // config's, same seed and rate; a batch whose validation loss after the epoch is more than
  // `efficiency_tolerance` worse is refused. Losses are kept per batch size (threads do not
  // change them).
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const int64_t base_batch = train.contains("batch_size") && train["batch_size"].is_number_integer()
                                 ? train["batch_size"].get<int64_t>()
                                 : 32;
  DataSplits small;
  small.train = head(data.train, 4096, 11);
  small.val = head(data.val.size() ? data.val : data.train, 1024, 13);
  std::map<int64_t, double> losses;
  auto epoch_loss = [&](int64_t b) {
    if (auto it = losses.find(b); it != losses.end()) return it->second;
    const auto t0 = Clock::now();
    nlohmann::json c = with_settings(config, 1, b);
    c["train"]["epochs"] = 1;
    c["train"].erase("early_stopping");
    c["train"].erase("checkpoint");
    RunResult rr = train_model(c, small, RunHooks{});
    double loss = 1e300;
    if (!rr.history.rows.empty()) {
      const Logs& last = rr.history.rows.back();
      auto it = last.find("val_loss");
      loss = it != last.end() ? it->second : last.at("loss");
    }
    r.guard_seconds += since(t0);
    return losses[b] = loss;
  };
  const double base_loss = epoch_loss(base_batch);
  auto passes = [&](AutotunePoint& p) {
    p.loss_after = epoch_loss(p.batch_size);
    if (p.loss_after <= base_loss * (1 + o.efficiency_tolerance)) return true;
    p.note = fmt::format("refused: 1-epoch validation loss {:.4f} vs {:.4f} at batch {}", p.loss_after, base_loss,
                         base_batch);
    return false;
  };
  // The fastest points first; the first `keep` that fit the budget and pass the guard, among
  // the points with `threads` threads (0: all).
  auto admissible = [&](size_t keep, int threads_only) {
    std::vector<size_t> rank(pts.size()), out;
    std::iota(rank.begin(), rank.end(), 0);
    std::sort(rank.begin(), rank.end(), [&](size_t a, size_t b) { return pts[a].samples_per_s > pts[b].samples_per_s; });
    for (size_t k : rank) {
      if (out.size() >= keep) break;
      if (threads_only > 0 && pts[k].threads != threads_only) continue;
      if (!pts[k].over_budget && pts[k].samples_per_s > 0 && passes(pts[k])) out.push_back(k);
    }
    return out;
  };
  std::vector<size_t> finalists;
  if (o.exhaustive) {
    for (auto& p : pts)
      if (!p.over_budget) measure(p, o.seconds_per_point);
    finalists = admissible(1, 0);
  } else {
    // Coarse: every point for a twentieth of the time (a point whose warm-up step runs at under
    // half the best rate so far stops there); fine: the best two admissible points, and the best
    // admissible one of each thread count that is close (a short measurement is noisiest between
    // thread counts), again for a third of it.
    //
    // Within a thread count the largest batch goes first: throughput grows with the batch until
    // it saturates, so when a thread count's largest batch runs at under 35% of the best rate so
    // far (an oversubscribed machine: other work holds the cores), its smaller batches are
    // skipped, not run at a fraction of the speed for nothing.
    for (int t : threads) {
      bool hopeless = false, first = true;
      for (auto it = pts.rbegin(); it != pts.rend(); ++it) {
        AutotunePoint& p = *it;
        if (p.threads != t || p.over_budget) continue;
        if (hopeless) {
          p.note = fmt::format("skipped: the largest batch at {} threads ran under 35% of the best rate", t);
          continue;
        }
        const double before = best_coarse;
        measure(p, o.seconds_per_point / 20, true);
        hopeless = first && before > 0 && p.samples_per_s < 0.35 * before;
        first = false;
      }
    }
    // A thread count's best joins only when its coarse rate is within reach of the best (under
    // 60% of it, a 15 ms measurement is not that noisy): re-measuring a clearly slower point costs
    // its full time and cannot change the choice.
    finalists = admissible(2, 0);
    const double best_admissible = finalists.empty() ? 0.0 : pts[finalists.front()].samples_per_s;
    for (int t : threads)
      for (size_t k : admissible(1, t))
        if (pts[k].samples_per_s >= 0.6 * best_admissible &&
            std::find(finalists.begin(), finalists.end(), k) == finalists.end())
          finalists.push_back(k);
    // The finalists are measured in interleaved rounds (A B C A B C ...), so that a burst of
    // other work on the machine hits all of them alike, and each keeps the median of its rounds.
    constexpr int kRounds = 3;
    std::vector<std::vector<double>> rates(finalists.size());
    for (int round = 0; round < kRounds; ++round)
      for (size_t i = 0; i < finalists.size(); ++i) {
        measure(pts[finalists[i]], o.seconds_per_point / 3 / kRounds);
        rates[i].push_back(pts[finalists[i]].samples_per_s);
      }
    for (size_t i = 0; i < finalists.size(); ++i) {
      std::sort(rates[i].begin(), rates[i].end());
      pts[finalists[i]].samples_per_s = rates[i][kRounds / 2];
      pts[finalists[i]].note = fmt::format("re-measured, median of {} interleaved rounds", kRounds);
    }
  }
  bool chosen = !finalists.empty();
  for (size_t k : finalists)
    if (pts[k].samples_per_s > r.best.samples_per_s) r.best = pts[k];
  if (!chosen) {
    int64_t least = pts.front().peak_bytes;
    for (const auto& p : pts) least = std::min(least, p.peak_bytes);
    throw_invalid(fmt::format("autotune: no setting fits the memory budget of {:.1f} MiB and passes the efficiency "
                              "guard (the smallest needs {:.1f} MiB); raise --budget-mb",
                              static_cast<double>(budget) / 1048576.0, static_cast<double>(least) / 1048576.0));
  }
  r.points = pts;
  if (o.study) {
    // Trials at once x threads per trial at the chosen batch: j trainings side by side, each
    // with t threads (the same t for all, as Eigen's thread count is process-wide).
    for (int j = 1; j <= cores; ++j)
      for (int t = 1; j * t <= cores; ++t) {
        std::vector<double> rates(static_cast<size_t>(j), 0.0);
        std::vector<std::thread> team;
        auto t0 = Clock::now();
        for (int k = 0; k < j; ++k)
          team.emplace_back([&, k] {
            rates[static_cast<size_t>(k)] =
                measure_samples_per_second(config, data, t, r.best.batch_size, o.seconds_per_point);
          });
        for (auto& th : team) th.join();
        r.measure_seconds += since(t0);
        StudySplit sp{j, t, std::accumulate(rates.begin(), rates.end(), 0.0)};
        r.study_splits.push_back(sp);
        if (sp.samples_per_s > r.study_best.samples_per_s) r.study_best = sp;
      }
  }
  r.seconds = since(t_start);
  for (const auto& p : pts) r.measure_seconds += p.seconds;  // (plus the study splits above)
  r.explanation = fmt::format(
      "threads {} x batch {}: {:.0f} samples/s, the highest measured within the memory budget ({:.0f} MiB estimated "
      "of {:.0f} MiB), and its 1-epoch validation loss {:.4f} is within {:.0f}% of batch {}'s {:.4f}",
      r.best.threads, r.best.batch_size, r.best.samples_per_s, static_cast<double>(r.best.peak_bytes) / 1048576.0,
      static_cast<double>(budget) / 1048576.0, r.best.loss_after, 100 * o.efficiency_tolerance, base_batch, base_loss);
  return r;
}

}  // namespace hone
