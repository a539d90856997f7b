// The typed optimizer constructors, and make_optimizer: a registry of config readers on top.
#include <algorithm>
#include <cctype>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/optimizer.h"
#include "optim/optimizers.h"

namespace hone {

namespace {

// The checks, in the order the options are listed; `where` names the source ("adam" for a
// typed constructor, "train.optimizer" for a config).
void check(const SgdOptions& o, const std::string& where) {
  require_finite_positive(o.lr, "lr", where);
  require_unit(o.momentum, "momentum", where);
  require_in_range(o.dampening, 0.0, 1.0, "dampening", where);
  require_finite_nonnegative(o.weight_decay, "weight_decay", where);
  if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
    throw_invalid(where + ".nesterov: Nesterov momentum requires momentum > 0 and dampening = 0"
                  " (got momentum " + json(o.momentum).dump() + ", dampening " +
                  json(o.dampening).dump() + ")");
}

template <double kDecay>
void check(const AdamFamilyOptions<kDecay>& o, const std::string& where) {
  require_finite_positive(o.lr, "lr", where);
  require_unit(o.beta1, "beta1", where);
  require_unit(o.beta2, "beta2", where);
  require_finite_nonnegative(o.eps, "eps", where);
  require_finite_nonnegative(o.weight_decay, "weight_decay", where);
}

void check(const RmsPropOptions& o, const std::string& where) {
  require_finite_positive(o.lr, "lr", where);
  require_unit(o.alpha, "alpha", where);
  require_finite_nonnegative(o.eps, "eps", where);
  require_unit(o.momentum, "momentum", where);
  require_finite_nonnegative(o.weight_decay, "weight_decay", where);
}

void check(const AdagradOptions& o, const std::string& where) {
  require_finite_positive(o.lr, "lr", where);
  require_finite_nonnegative(o.lr_decay, "lr_decay", where);
  require_finite_nonnegative(o.weight_decay, "weight_decay", where);
  require_finite_nonnegative(o.initial_accumulator_value, "initial_accumulator_value", where);
  require_finite_nonnegative(o.eps, "eps", where);
}

std::unique_ptr<Optimizer> build_sgd(const SgdOptions& o, const std::string& type,
                                     const std::string& where) {
  check(o, where);
  return std::make_unique<optim::Sgd>(type, o);
}

template <double kDecay>
std::unique_ptr<Optimizer> build_adam(const AdamFamilyOptions<kDecay>& o, bool decoupled,
                                      const std::string& where) {
  check(o, where);
  const AdamOptions a{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad};
  return std::make_unique<optim::Adam>(a, decoupled);
}

std::unique_ptr<Optimizer> build_rmsprop(const RmsPropOptions& o, const std::string& where) {
  check(o, where);
  return std::make_unique<optim::RmsProp>(o);
}

std::unique_ptr<Optimizer> build_adagrad(const AdagradOptions& o, const std::string& where) {
  check(o, where);
  return std::make_unique<optim::Adagrad>(o);
}

// ---------------------------------------------------------------- config readers (registry)
// Each reads its options over the struct's defaults; the builder then checks them.

std::unique_ptr<Optimizer> sgd_from(const json& c, const std::string& type, const std::string& w) {
  SgdOptions o;
  o.lr = get_double(c, "lr", o.lr, w);
  o.momentum = get_double(c, "momentum", o.momentum, w);
  o.dampening = get_double(c, "dampening", o.dampening, w);
  o.nesterov = get_bool(c, "nesterov", o.nesterov, w);
  o.weight_decay = get_double(c, "weight_decay", o.weight_decay, w);
  return build_sgd(o, type, w);
}

template <double kDecay>
std::unique_ptr<Optimizer> adam_from(const json& c, const std::string& type, const std::string& w) {
  AdamFamilyOptions<kDecay> o;
  o.lr = get_double(c, "lr", o.lr, w);
  o.beta1 = get_double(c, "beta1", o.beta1, w);
  o.beta2 = get_double(c, "beta2", o.beta2, w);
  o.eps = get_double(c, "eps", o.eps, w);
  o.weight_decay = get_double(c, "weight_decay", o.weight_decay, w);
  o.amsgrad = get_bool(c, "amsgrad", o.amsgrad, w);
  return build_adam(o, type == "adamw", w);
}

std::unique_ptr<Optimizer> rmsprop_from(const json& c, const std::string&, const std::string& w) {
  RmsPropOptions o;
  o.lr = get_double(c, "lr", o.lr, w);
  o.alpha = get_double(c, "alpha", o.alpha, w);
  o.eps = get_double(c, "eps", o.eps, w);
  o.momentum = get_double(c, "momentum", o.momentum, w);
  o.centered = get_bool(c, "centered", o.centered, w);
  o.weight_decay = get_double(c, "weight_decay", o.weight_decay, w);
  return build_rmsprop(o, w);
}

std::unique_ptr<Optimizer> adagrad_from(const json& c, const std::string&, const std::string& w) {
  AdagradOptions o;
  o.lr = get_double(c, "lr", o.lr, w);
  o.lr_decay = get_double(c, "lr_decay", o.lr_decay, w);
  o.weight_decay = get_double(c, "weight_decay", o.weight_decay, w);
  o.initial_accumulator_value =
      get_double(c, "initial_accumulator_value", o.initial_accumulator_value, w);
  o.eps = get_double(c, "eps", o.eps, w);
  return build_adagrad(o, w);
}

struct OptimizerRow {
  const char* name;
  std::vector<std::string> keys;  // every option it reads, for check_keys
  std::unique_ptr<Optimizer> (*from_config)(const json& c, const std::string& type,
                                            const std::string& where);
};

// One row per optimizer; the order is the order of the "known: ..." lists in error messages.
const std::vector<OptimizerRow>& optimizer_registry() {
  static const std::vector<OptimizerRow> rows = {
      {"sgd", {"type", "lr", "momentum", "dampening", "nesterov", "weight_decay"}, &sgd_from},
      {"gd", {"type", "lr", "momentum", "dampening", "nesterov", "weight_decay"}, &sgd_from},
      {"adam", {"type", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"}, &adam_from<0.0>},
      {"adamw", {"type", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"},
       &adam_from<0.01>},
      {"rmsprop", {"type", "lr", "alpha", "eps", "momentum", "centered", "weight_decay"},
       &rmsprop_from},
      {"adagrad", {"type", "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"},
       &adagrad_from},
  };
  return rows;
}

}  // namespace

std::unique_ptr<Optimizer> make_sgd(const SgdOptions& o) { return build_sgd(o, "sgd", "sgd"); }
std::unique_ptr<Optimizer> make_adam(const AdamOptions& o) { return build_adam(o, false, "adam"); }
std::unique_ptr<Optimizer> make_adamw(const AdamWOptions& o) { return build_adam(o, true, "adamw"); }
std::unique_ptr<Optimizer> make_rmsprop(const RmsPropOptions& o) { return build_rmsprop(o, "rmsprop"); }
std::unique_ptr<Optimizer> make_adagrad(const AdagradOptions& o) { return build_adagrad(o, "adagrad"); }

std::unique_ptr<Optimizer> make_optimizer(const json& config, const std::string& where) {
  const auto& rows = optimizer_registry();
  json c = typed_table(config);
  if (!c.is_object())
    throw_invalid(where + ": expected a table with \"type\" (" + registered_names(rows) +
                  "), got " + c.dump());
  std::string type = get_string(c, "type", "", where);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const OptimizerRow& row = find_registered(rows, type, "optimizer", where);
  check_keys(c, row.keys, where);
  return row.from_config(c, type, where);
}

}  // namespace hone
