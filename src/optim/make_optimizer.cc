// make_optimizer: config → optimizer, with every option checked before anything is built.
#include <algorithm>
#include <cmath>
#include <cctype>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/optimizer.h"
#include "optim/optimizers.h"

namespace hone {

std::unique_ptr<Optimizer> make_optimizer(const json& config, const std::string& where) {
  json c = typed_table(config);
  if (!c.is_object())
    throw_invalid(where + ": expected a table with \"type\" (sgd, gd, adam, adamw, rmsprop, "
                  "adagrad), got " + c.dump());
  std::string type = get_string(c, "type", "", where);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });

  if (type == "sgd" || type == "gd") {
    check_keys(c, {"type", "lr", "momentum", "dampening", "nesterov", "weight_decay"}, where);
    optim::Sgd::Options o;
    double lr = get_positive(c, "lr", 0.01, where);
    o.momentum = get_unit(c, "momentum", 0.0, where);
    double damp = get_double(c, "dampening", 0.0, where);
    require_in_range(damp, 0.0, 1.0, "dampening", where);
    o.dampening = damp;
    o.nesterov = get_bool(c, "nesterov", false, where);
    o.weight_decay = get_nonnegative(c, "weight_decay", 0.0, where);
    if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
      throw_invalid(where + ".nesterov: Nesterov momentum requires momentum > 0 and dampening = 0"
                    " (got momentum " + json(o.momentum).dump() + ", dampening " +
                    json(o.dampening).dump() + ")");
    return std::make_unique<optim::Sgd>(type, lr, o);
  }
  if (type == "adam" || type == "adamw") {
    check_keys(c, {"type", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"}, where);
    optim::Adam::Options o;
    o.decoupled = type == "adamw";
    double lr = get_positive(c, "lr", 1e-3, where);
    o.beta1 = get_unit(c, "beta1", 0.9, where);
    o.beta2 = get_unit(c, "beta2", 0.999, where);
    o.eps = get_nonnegative(c, "eps", 1e-8, where);
    o.weight_decay = get_nonnegative(c, "weight_decay", o.decoupled ? 0.01 : 0.0, where);
    o.amsgrad = get_bool(c, "amsgrad", false, where);
    return std::make_unique<optim::Adam>(lr, o);
  }
  if (type == "rmsprop") {
    check_keys(c, {"type", "lr", "alpha", "eps", "momentum", "centered", "weight_decay"}, where);
    optim::RmsProp::Options o;
    double lr = get_positive(c, "lr", 0.01, where);
    o.alpha = get_unit(c, "alpha", 0.99, where);
    o.eps = get_nonnegative(c, "eps", 1e-8, where);
    o.momentum = get_unit(c, "momentum", 0.0, where);
    o.centered = get_bool(c, "centered", false, where);
    o.weight_decay = get_nonnegative(c, "weight_decay", 0.0, where);
    return std::make_unique<optim::RmsProp>(lr, o);
  }
  if (type == "adagrad") {
    check_keys(c, {"type", "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"},
               where);
    optim::Adagrad::Options o;
    double lr = get_positive(c, "lr", 0.01, where);
    o.lr_decay = get_nonnegative(c, "lr_decay", 0.0, where);
    o.weight_decay = get_nonnegative(c, "weight_decay", 0.0, where);
    o.initial_accumulator_value = get_nonnegative(c, "initial_accumulator_value", 0.0, where);
    o.eps = get_nonnegative(c, "eps", 1e-10, where);
    return std::make_unique<optim::Adagrad>(lr, o);
  }
  if (type.empty()) throw_invalid(where + ".type: required option is missing (sgd, gd, adam, "
                                  "adamw, rmsprop, adagrad)");
  throw_invalid(where + ".type: unknown optimizer \"" + type +
                "\" (known: sgd, gd, adam, adamw, rmsprop, adagrad)");
}

}  // namespace hone
