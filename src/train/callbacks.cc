#include <cmath>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/trainer.h"

namespace hone {

namespace {

// Keras's mode "auto": accuracy-like monitors are maximised, losses minimised.
bool resolve_bigger_better(const std::string& monitor, const std::string& mode) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  if (mode != "auto") throw_invalid("mode must be \"auto\", \"min\" or \"max\", got \"" + mode + "\"");
  std::string base = monitor.rfind("val_", 0) == 0 ? monitor.substr(4) : monitor;
  if (base == "loss" || base.find("loss") != std::string::npos) return false;
  for (const auto& m : metric_names())
    if (m == base) return metric_bigger_is_better(base);
  return base.find("acc") != std::string::npos || base == "f1_macro" || base == "r2";
}

}  // namespace

std::vector<double> History::values(const std::string& key) const {
  std::vector<double> v;
  for (const auto& r : rows) {
    auto it = r.find(key);
    v.push_back(it == r.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
  }
  return v;
}

nlohmann::json History::to_json() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, v] : r) o[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    arr.push_back(o);
  }
  return arr;
}

std::string History::to_csv() const {
  std::vector<std::string> keys = {"epoch"};
  for (const auto& r : rows)
    for (const auto& [k, v] : r) {
      bool have = false;
      for (auto& x : keys) have = have || x == k;
      if (!have) keys.push_back(k);
    }
  std::ostringstream os;
  os.precision(9);
  for (size_t i = 0; i < keys.size(); ++i) os << (i ? "," : "") << keys[i];
  os << "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i) os << ",";
      auto it = r.find(keys[i]);
      if (it != r.end() && std::isfinite(it->second)) os << it->second;
    }
    os << "\n";
  }
  return os.str();
}

EarlyStopping::EarlyStopping(std::string monitor, int patience, double min_delta, std::string mode,
                             bool restore_best_weights)
    : monitor_(std::move(monitor)),
      mode_(std::move(mode)),
      patience_(patience),
      min_delta_(std::fabs(min_delta)),
      restore_(restore_best_weights) {
  if (patience_ < 0) throw_invalid("early_stopping.patience must be >= 0");
  bigger_better_ = resolve_bigger_better(monitor_, mode_);
}

void EarlyStopping::on_train_begin(Trainer&) {
  wait_ = 0;
  best_epoch_ = -1;
  stopped_epoch_ = -1;
  restored_ = false;
  best_ = bigger_better_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  best_weights_.clear();
}

bool EarlyStopping::on_epoch_end(Trainer& t, int epoch, Logs& logs) {
  auto it = logs.find(monitor_);
  if (it == logs.end()) {
    t.log("EarlyStopping: monitor \"" + monitor_ + "\" is not in the epoch's metrics; skipping");
    return false;
  }
  const double cur = it->second;
  // Keras: improvement iff monitor_op(current - min_delta, best) with min_delta signed by mode.
  const bool improved = bigger_better_ ? (cur - min_delta_ > best_) : (cur + min_delta_ < best_);
  ++wait_;
  if (improved) {
    best_ = cur;
    best_epoch_ = epoch;
    wait_ = 0;
    if (restore_) {
      auto params = t.model().params();
      best_weights_.resize(params.size());
      for (size_t i = 0; i < params.size(); ++i) best_weights_[i] = *params[i].value;
      auto bufs = t.model().buffers();
      best_weights_.resize(params.size() + bufs.size());
      for (size_t i = 0; i < bufs.size(); ++i) best_weights_[params.size() + i] = *bufs[i].value;
    }
    return false;
  }
  if (wait_ >= patience_ && epoch > 0) {
    stopped_epoch_ = epoch;
    t.log("Epoch " + std::to_string(epoch + 1) + ": early stopping (" + monitor_ + " did not improve for " +
          std::to_string(wait_) + " epochs; best " + std::to_string(best_) + " at epoch " +
          std::to_string(best_epoch_ + 1) + ")");
    return true;
  }
  return false;
}

void EarlyStopping::on_train_end(Trainer& t) {
  if (!restore_ || best_weights_.empty()) return;
  auto params = t.model().params();
  auto bufs = t.model().buffers();
  if (best_weights_.size() != params.size() + bufs.size()) return;
  for (size_t i = 0; i < params.size(); ++i) *params[i].value = best_weights_[i];
  for (size_t i = 0; i < bufs.size(); ++i) *bufs[i].value = best_weights_[params.size() + i];
  restored_ = true;
  t.log("Restoring model weights from the end of the best epoch: " + std::to_string(best_epoch_ + 1));
}

ModelCheckpoint::ModelCheckpoint(std::string path, std::string monitor, std::string mode)
    : path_(std::move(path)), monitor_(std::move(monitor)), mode_(std::move(mode)) {
  bigger_better_ = resolve_bigger_better(monitor_, mode_);
}

bool ModelCheckpoint::on_epoch_end(Trainer& t, int epoch, Logs& logs) {
  auto it = logs.find(monitor_);
  if (it == logs.end() || !std::isfinite(it->second)) return false;
  const double cur = it->second;
  if (has_best_ && !(bigger_better_ ? cur > best_ : cur < best_)) return false;
  has_best_ = true;
  best_ = cur;
  t.model().save(path_, nlohmann::json{{"epoch", epoch + 1}, {monitor_, cur}});
  return false;
}

}  // namespace hone
