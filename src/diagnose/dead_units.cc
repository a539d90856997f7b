// Dead ReLU units: a probe of the data through the final model, layer by layer, counting the relu
// units that stay zero for every probe sample (the doctor's "not learning" evidence).
#include <algorithm>
#include <filesystem>

#include "hone/diagnose.h"
#include "hone/error.h"
#include "hone/model.h"

namespace hone {

std::vector<DeadUnits> count_dead_units(Model& model, const Dataset& probe, int64_t max_samples) {
  std::vector<DeadUnits> out;
  const int64_t n = std::min(probe.size(), max_samples);
  if (n <= 0 || !model.built()) return out;
  const nlohmann::json cfg = model.config();
  if (!cfg.contains("layers") || !cfg["layers"].is_array()) return out;
  if (probe.x.shape().tail() != model.input_shape())
    throw_invalid("dead units: the probe's samples " + probe.x.shape().tail().str() + " do not fit the model's input " +
                  model.input_shape().str());
  const size_t layers = cfg["layers"].size();
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
  Tensor a, b;
  a.copy_rows_from(probe.x, rows.data(), n);
  for (size_t i = 0; i < layers; ++i) {
    Layer& layer = model.layer(i);
    layer.forward(a, b, /*training=*/false);
    std::swap(a, b);  // a: the output of layer i, (N, ...)
    if (layer.type() != "relu" || a.ndim() < 2) continue;
    // Units: the last dim of (N, F), the channels of (N, C, H, W), else every per-sample element.
    const bool image = a.ndim() == 4;
    const int64_t per_sample = a.size() / n;
    const int64_t units = image ? a.dim(1) : per_sample;
    const int64_t spatial = image ? per_sample / units : 1;
    std::vector<char> alive(static_cast<size_t>(units), 0);
    const float* p = a.data();
    for (int64_t s = 0; s < n; ++s)
      for (int64_t u = 0; u < units; ++u) {
        if (alive[static_cast<size_t>(u)]) continue;
        const float* q = p + s * per_sample + u * spatial;
        for (int64_t k = 0; k < spatial; ++k)
          if (q[k] != 0.0f) {  // NaN counts as alive: a diverged model is the NaN rule's
            alive[static_cast<size_t>(u)] = 1;
            break;
          }
      }
    const int64_t dead = units - std::count(alive.begin(), alive.end(), char{1});
    out.push_back({static_cast<int>(i), dead, units});
  }
  return out;
}

bool probe_run_dir(RunRecord& run, const std::string& dir, const DataSplits& data) {
  const std::filesystem::path file = std::filesystem::path(dir) / "model.hone";
  if (!std::filesystem::exists(file)) return false;
  Model model = Model::load(file.string());
  const Dataset& probe = data.val.size() ? data.val : data.train;
  try {
    run.dead_units = count_dead_units(model, probe);
  } catch (const Error&) {
    return false;  // the data's shape does not fit the model (the config's data changed since)
  }
  run.probe_samples = std::min<int64_t>(probe.size(), 256);
  return true;
}

}  // namespace hone
