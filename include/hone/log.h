// hone/log.h — where a run's messages and per-epoch metrics go.
//
// Logs is one epoch's (or one evaluation's) named numbers; LogSink receives one human-readable
// message per call ("Epoch 3: ReduceLROnPlateau reducing learning rate to 0.001.", early-stopping
// notices, divergence). An empty LogSink means "discard". Whoever calls a sink may do so from the
// thread running the training; a sink shared by concurrent runs must be thread safe itself.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace hone {

using Logs = std::map<std::string, double>;  // "loss", "val_loss", "val_accuracy", "lr", ...
using LogSink = std::function<void(const std::string&)>;

}  // namespace hone
