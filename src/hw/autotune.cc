// `hone autotune`: threads x batch size for the highest training throughput within a memory
// budget, guarded by statistical efficiency. A coarse pass measures every point briefly; the
// best two are measured again at full length, so the search costs a fraction of the grid.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/threads.h"

namespace hone {

namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

double measure_samples_per_second(const nlohmann::json& config, const DataSplits& data, int threads, int64_t batch,
                                  double seconds) {
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
  int64_t cursor = 0, samples = 0;
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
  step();
  auto t0 = Clock::now();
  double t = 0;
  do {
    step();
    samples += batch;
    t = since(t0);
  } while (t < seconds);
  return static_cast<double>(samples) / t;
}

AutotuneResult autotune(const nlohmann::json& config_in, const DataSplits& data, const AutotuneOptions& o) {
  auto t_start = Clock::now();
  nlohmann::json config = config_in;
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
    p.over_budget = p.peak_bytes > budget;
    if (p.over_budget) p.note = "over the memory budget";
    return p;
  };
  auto measure = [&](AutotunePoint& p, double seconds) {
    auto t0 = Clock::now();
    p.samples_per_s = measure_samples_per_second(config, data, p.threads, p.batch_size, seconds);
    p.seconds += since(t0);
  };

  std::vector<AutotunePoint> pts;
  for (int t : threads)
    for (int64_t b : batches) pts.push_back(point(t, b));
  if (o.exhaustive) {
    for (auto& p : pts)
      if (!p.over_budget) measure(p, o.seconds_per_point);
  } else {
    // Coarse: every point for a tenth of the time; fine: the best two again at full length.
    for (auto& p : pts)
      if (!p.over_budget) measure(p, o.seconds_per_point / 10);
    std::vector<size_t> idx(pts.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return pts[a].samples_per_s > pts[b].samples_per_s; });
    for (size_t k = 0; k < std::min<size_t>(2, idx.size()); ++k) {
      AutotunePoint& p = pts[idx[k]];
      if (p.over_budget) continue;
      measure(p, o.seconds_per_point);
      p.note = "re-measured";
    }
  }
  // Best by throughput, then the statistical-efficiency guard: one epoch on a subset at the
  // chosen batch against the config's batch, same seed; a batch that ends the epoch with a
  // validation loss more than `efficiency_tolerance` worse is refused and the next one tried.
  std::vector<size_t> rank(pts.size());
  std::iota(rank.begin(), rank.end(), 0);
  std::sort(rank.begin(), rank.end(), [&](size_t a, size_t b) { return pts[a].samples_per_s > pts[b].samples_per_s; });
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const int64_t base_batch = train.contains("batch_size") && train["batch_size"].is_number_integer()
                                 ? train["batch_size"].get<int64_t>()
                                 : 32;
  DataSplits small;
  small.train = head(data.train, 4096, 11);
  small.val = head(data.val.size() ? data.val : data.train, 1024, 13);
  auto epoch_loss = [&](int64_t b) {
    nlohmann::json c = with_settings(config, 1, b);
    c["train"]["epochs"] = 1;
    c["train"].erase("early_stopping");
    c["train"].erase("checkpoint");
    RunResult rr = train_model(c, small, RunHooks{});
    if (rr.history.rows.empty()) return 1e300;
    const Logs& last = rr.history.rows.back();
    auto it = last.find("val_loss");
    return it != last.end() ? it->second : last.at("loss");
  };
  const double base_loss = epoch_loss(base_batch);
  bool chosen = false;
  for (size_t k : rank) {
    AutotunePoint& p = pts[k];
    if (p.over_budget || p.samples_per_s <= 0) continue;
    if (p.batch_size != base_batch) {
      p.loss_after = epoch_loss(p.batch_size);
      if (!(p.loss_after <= base_loss * (1 + o.efficiency_tolerance))) {
        p.note = fmt::format("refused: 1-epoch validation loss {:.4f} vs {:.4f} at batch {}", p.loss_after, base_loss,
                             base_batch);
        continue;
      }
    } else {
      p.loss_after = base_loss;
    }
    r.best = p;
    chosen = true;
    break;
  }
  if (!chosen) throw_runtime("autotune: no setting fits the memory budget of " + std::to_string(budget) + " bytes");
  r.points = pts;
  r.seconds = since(t_start);
  for (const auto& p : pts) r.measure_seconds += p.seconds;
  r.explanation = fmt::format(
      "threads {} x batch {}: {:.0f} samples/s, the highest measured within the memory budget ({:.0f} MiB estimated "
      "of {:.0f} MiB), and its 1-epoch validation loss {:.4f} is within {:.0f}% of batch {}'s {:.4f}",
      r.best.threads, r.best.batch_size, r.best.samples_per_s, static_cast<double>(r.best.peak_bytes) / 1048576.0,
      static_cast<double>(budget) / 1048576.0, r.best.loss_after, 100 * o.efficiency_tolerance, base_batch, base_loss);
  return r;
}

}  // namespace hone
