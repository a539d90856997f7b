// `hone batch-find`: the largest batch whose estimated peak memory fits a budget with a safety
// margin, and the fitting batch with the highest measured training throughput. Memory comes from
// estimate_memory (src/hw/estimate.cc, within ~10% of the measured RSS of `hone train`: tests/hw),
// so the margin (15% by default) covers the estimate's error and a batch it picks trains within
// the budget; throughput is measured for real with measure_samples_per_second.
#include <algorithm>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/threads.h"

namespace hone {

BatchFindResult batch_find(const nlohmann::json& config_in, const DataSplits& data, const BatchFindOptions& o) {
  if (o.memory_budget_bytes <= 0) throw_invalid("batch-find: a memory budget > 0 is needed (--memory-budget)");
  if (!(o.safety_margin >= 0 && o.safety_margin <= 0.9))
    throw_invalid("batch-find: the safety margin must be in [0, 0.9], got " + fmt::format("{}", o.safety_margin));
  require_finite_positive(o.seconds_per_point, "seconds_per_point", "batch-find");
  nlohmann::json config = config_in;
  config.erase("estimate");
  config.erase("study");
  validate_run_config(config);
  const int64_t n = data.train.size();
  if (n == 0) throw_invalid("batch-find: the training set is empty");
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const int threads = clamp_threads(o.threads > 0 ? o.threads : static_cast<int>(get_int(train, "threads", 1, "train")));
  std::vector<int64_t> batches = o.batch_sizes;
  if (batches.empty()) {
    for (int64_t b = 8; b < n; b *= 2) batches.push_back(b);
    batches.push_back(n);
  }
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
  batches.erase(std::remove_if(batches.begin(), batches.end(), [&](int64_t b) { return b < 1 || b > n; }), batches.end());
  if (batches.empty()) throw_invalid("batch-find: no batch size between 1 and the training set's " + std::to_string(n));

  BatchFindResult r;
  r.limit_bytes = static_cast<int64_t>((1.0 - o.safety_margin) * static_cast<double>(o.memory_budget_bytes));
  // The data's share of the peak does not depend on the batch: counted once from the loaded
  // tensors, the rest estimated per batch from the shapes alone (as autotune does).
  nlohmann::json shape_cfg = config;
  shape_cfg["model"] = expand_model_config(config, data);
  shape_cfg["estimate"] = {{"data", false}};
  int64_t data_bytes = 0;
  for (const Dataset* d : {&data.train, &data.val, &data.test}) data_bytes += (d->x.size() + d->y.size()) * 4;
  // With a [data] table the data are also loaded once the way `hone train` loads them, so that
  // the load's transient peak (a .gz file decompressed) counts: Fashion-MNIST's peak is its load.
  int64_t data_share = data_bytes;
  if (config.contains("data")) {
    EstimateOptions eo;
    eo.batch_size = batches.front();
    eo.threads = threads;
    const int64_t with_data = estimate_memory(config, eo).peak_bytes;
    eo.load_data = false;
    data_share = std::max(data_share, with_data - estimate_memory(shape_cfg, eo).peak_bytes);
  }
  for (int64_t b : batches) {
    BatchFindPoint p;
    p.batch_size = b;
    EstimateOptions eo;
    eo.batch_size = b;
    eo.threads = threads;
    eo.load_data = false;
    p.estimated_bytes = estimate_memory(shape_cfg, eo).peak_bytes + data_share;
    p.fits = p.estimated_bytes <= r.limit_bytes;
    r.points.push_back(p);
  }
  for (auto& p : r.points) {
    if (!p.fits) continue;
    r.largest = std::max(r.largest, p.batch_size);
    p.samples_per_s = measure_samples_per_second(config, data, threads, p.batch_size, o.seconds_per_point);
    if (p.samples_per_s > r.fastest_samples_per_s) {
      r.fastest_samples_per_s = p.samples_per_s;
      r.fastest = p.batch_size;
    }
  }
  if (r.largest == 0) {
    r.explanation = fmt::format("no batch fits: even batch {} needs about {:.1f} MB, over {:.1f} MB ({:.0f}% of the "
                                "{:.1f} MB budget)", batches.front(), r.points.front().estimated_bytes / 1e6,
                                r.limit_bytes / 1e6, 100 * (1 - o.safety_margin), o.memory_budget_bytes / 1e6);
    return r;
  }
  r.explanation = fmt::format("largest batch that fits: {} (limit {:.1f} MB = {:.0f}% of the budget); fastest per "
                              "sample: {} at {:.0f} samples/s ({} thread{})",
                              r.largest, r.limit_bytes / 1e6, 100 * (1 - o.safety_margin), r.fastest,
                              r.fastest_samples_per_s, threads, threads == 1 ? "" : "s");
  return r;
}

}  // namespace hone
