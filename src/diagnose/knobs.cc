#include "diagnose/knobs.h"

#include <fmt/format.h>

namespace hone {

namespace {

const nlohmann::json& layers_of(const nlohmann::json& config) {
  static const nlohmann::json none = nlohmann::json::array();
  if (!config.contains("model") || !config["model"].is_object()) return none;
  const auto& m = config["model"];
  return m.contains("layers") && m["layers"].is_array() ? m["layers"] : none;
}

// "a.b[3].c" -> {"a", "b", 3, "c"} as a JSON pointer.
nlohmann::json::json_pointer pointer_of(const std::string& knob) {
  std::string p;
  for (size_t i = 0; i < knob.size(); ++i) {
    const char c = knob[i];
    if (c == '.') p += '/';
    else if (c == '[') p += '/';
    else if (c != ']') p += c;
  }
  return nlohmann::json::json_pointer("/" + p);
}

}  // namespace

std::string optimizer_type(const nlohmann::json& config) {
  if (!config.contains("train") || !config["train"].contains("optimizer")) return "adam";
  const auto& o = config["train"]["optimizer"];
  if (o.is_string()) return o.get<std::string>();
  if (o.is_object() && o.contains("type") && o["type"].is_string()) return o["type"].get<std::string>();
  return "adam";
}

double learning_rate(const nlohmann::json& config) {
  const nlohmann::json v = get_knob(config, "train.lr");
  return v.is_number() ? v.get<double>() : 0.0;
}

std::vector<std::string> dropout_knobs(const nlohmann::json& config) {
  std::vector<std::string> k;
  const auto& layers = layers_of(config);
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].value("type", "") == "dropout") k.push_back(fmt::format("model.layers[{}].rate", i));
  if (config.contains("model") && config["model"].is_object() && config["model"].contains("dropout"))
    k.push_back("model.dropout");
  return k;
}

std::vector<std::string> width_knobs(const nlohmann::json& config) {
  std::vector<std::string> k;
  const auto& layers = layers_of(config);
  int last = -1;
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].value("type", "") == "dense") last = static_cast<int>(i);
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string t = layers[i].value("type", "");
    if (t == "dense" && static_cast<int>(i) != last) k.push_back(fmt::format("model.layers[{}].units", i));
    if (t == "conv2d" || t == "conv") k.push_back(fmt::format("model.layers[{}].filters", i));
  }
  if (config.contains("model") && config["model"].is_object()) {
    for (const char* s : {"hidden_layers", "dense_units", "conv_filters"})
      if (config["model"].contains(s)) k.push_back(std::string("model.") + s);
  }
  return k;
}

nlohmann::json get_knob(const nlohmann::json& config, const std::string& knob) {
  if (knob == "train.lr") {
    const auto p = pointer_of("train.lr");
    if (config.contains(p)) return config[p];
    const auto q = pointer_of("train.optimizer.lr");
    return config.contains(q) ? config[q] : nlohmann::json();
  }
  if (knob == "train.optimizer.type") return optimizer_type(config);
  const auto p = pointer_of(knob);
  return config.contains(p) ? config[p] : nlohmann::json();
}

void set_knob(nlohmann::json& config, const std::string& knob, const nlohmann::json& value) {
  if (knob == "train.lr" && config.contains(pointer_of("train.optimizer.lr"))) {
    config[pointer_of("train.optimizer.lr")] = value;
    return;
  }
  if (knob == "train.optimizer.type") {
    auto& t = config["train"];
    if (t.contains("optimizer") && t["optimizer"].is_object()) t["optimizer"]["type"] = value;
    else t["optimizer"] = value;
    return;
  }
  config[pointer_of(knob)] = value;
}

std::vector<std::map<std::string, double>> effective_history(const nlohmann::json& config,
                                                             const std::vector<std::map<std::string, double>>& history,
                                                             const std::string& stop_reason) {
  const nlohmann::json es = get_knob(config, "train.early_stopping");
  if (stop_reason != "early_stopping" || !es.is_object() || !es.value("restore_best_weights", false)) return history;
  const std::string monitor = es.value("monitor", "val_loss");
  const bool maximize = monitor.find("acc") != std::string::npos;
  int best = -1;
  for (size_t i = 0; i < history.size(); ++i) {
    auto it = history[i].find(monitor);
    if (it == history[i].end()) continue;
    if (best < 0 || (maximize ? it->second > history[best].at(monitor) : it->second < history[best].at(monitor)))
      best = static_cast<int>(i);
  }
  if (best < 0) return history;
  return {history.begin(), history.begin() + best + 1};
}

}  // namespace hone
