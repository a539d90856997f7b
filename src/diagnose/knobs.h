// Config knobs by path ("train.lr", "model.layers[2].units", "train.optimizer.type"): reading the
// ones a run has, and setting them (the --fix study's trial configs).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hone {

// train.optimizer's type ("adam" when unset).
std::string optimizer_type(const nlohmann::json& config);
// train.lr or train.optimizer.lr; 0 when neither is set.
double learning_rate(const nlohmann::json& config);
// The dropout rates of the model ("model.layers[i].rate", "model.dropout").
std::vector<std::string> dropout_knobs(const nlohmann::json& config);
// The hidden widths: dense units and conv filters except the output layer ("model.layers[i].units").
std::vector<std::string> width_knobs(const nlohmann::json& config);
// The value at `knob` (null when absent) and setting it (train.lr also moves train.optimizer.lr).
nlohmann::json get_knob(const nlohmann::json& config, const std::string& knob);
void set_knob(nlohmann::json& config, const std::string& knob, const nlohmann::json& value);

// The epochs that made the run's model: all of them, or up to the best epoch when early stopping
// stopped the run and restored the best weights (the overfit epochs after it were undone).
std::vector<std::map<std::string, double>> effective_history(const nlohmann::json& config,
                                                             const std::vector<std::map<std::string, double>>& history,
                                                             const std::string& stop_reason);

}  // namespace hone
