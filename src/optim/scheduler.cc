// The epoch- and step-based schedules, the warmup wrapper, and make_scheduler.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <numbers>

#include "hone/config.h"
#include "hone/error.h"
#include "optim/schedules.h"

namespace hone::optim {

void Schedule::start(double base_lr, int64_t steps_per_epoch, int epochs) {
  if (!(base_lr > 0.0) || !std::isfinite(base_lr))
    throw_invalid(where_ + ": the base learning rate must be a finite number > 0, got " +
                  python_float_repr(base_lr));
  if (steps_per_epoch < 1)
    throw_invalid(where_ + ": steps_per_epoch must be >= 1, got " + std::to_string(steps_per_epoch));
  if (epochs < 1) throw_invalid(where_ + ": epochs must be >= 1, got " + std::to_string(epochs));
  begin_span(base_lr, steps_per_epoch, epochs, steps_per_epoch * epochs);
}

void Schedule::begin_span(double base_lr, int64_t steps_per_epoch, int epochs,
                          int64_t total_steps) {
  LrScheduler::start(base_lr, steps_per_epoch, epochs);
  total_steps_ = std::max<int64_t>(total_steps, 1);
}

namespace {

constexpr double kPi = std::numbers::pi;

class Constant : public Schedule {
 public:
  using Schedule::Schedule;
  std::string type() const override { return "constant"; }
  double lr_at_step(int64_t, int) override { return base_lr_; }
};

// torch.optim.lr_scheduler.StepLR: base · γ^⌊epoch / step_size⌋.
class StepDecay : public Schedule {
 public:
  StepDecay(std::string where, int64_t step_size, double gamma)
      : Schedule(std::move(where)), step_size_(step_size), gamma_(gamma) {}
  std::string type() const override { return "step"; }
  double lr_at_step(int64_t, int epoch) override {
    return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
  }

 private:
  int64_t step_size_;
  double gamma_;
};

// torch MultiStepLR: base · γ^(number of milestones <= epoch); a repeated milestone counts
// once per repetition, as with torch's Counter.
class MultiStep : public Schedule {
 public:
  MultiStep(std::string where, std::vector<int64_t> milestones, double gamma)
      : Schedule(std::move(where)), milestones_(std::move(milestones)), gamma_(gamma) {
    std::sort(milestones_.begin(), milestones_.end());
  }
  std::string type() const override { return "multistep"; }
  double lr_at_step(int64_t, int epoch) override {
    auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) -
                  milestones_.begin();
    return base_lr_ * std::pow(gamma_, static_cast<double>(passed));
  }

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// torch ExponentialLR: base · γ^epoch.
class Exponential : public Schedule {
 public:
  Exponential(std::string where, double gamma) : Schedule(std::move(where)), gamma_(gamma) {}
  std::string type() const override { return "exponential"; }
  double lr_at_step(int64_t, int epoch) override {
    return base_lr_ * std::pow(gamma_, static_cast<double>(epoch));
  }

 private:
  double gamma_;
};

// torch CosineAnnealingLR (closed form) and, with restarts, CosineAnnealingWarmRestarts (SGDR,
// Loshchilov & Hutter 2017) stepped once per epoch:
//   η = η_min + (base − η_min)·(1 + cos(π·T_cur/T_i))/2
// Without restarts T_cur = epoch and T_i = t_max; past t_max the cosine keeps going (the rate
// climbs back), exactly as torch's CosineAnnealingLR does. With restarts T_i starts at t_max and
// is multiplied by t_mult at every restart; T_cur counts epochs since the last restart.
class Cosine : public Schedule {
 public:
  Cosine(std::string where, int64_t t_max, double eta_min, bool restarts, int64_t t_mult)
      : Schedule(std::move(where)), t_max_opt_(t_max), eta_min_(eta_min), restarts_(restarts),
        t_mult_(t_mult) {}
  std::string type() const override { return "cosine"; }
  void begin_span(double base_lr, int64_t spe, int epochs, int64_t total) override {
    Schedule::begin_span(base_lr, spe, epochs, total);
    t_max_ = t_max_opt_ > 0 ? t_max_opt_ : epochs;
  }
  double lr_at_step(int64_t, int epoch) override {
    double t_cur = epoch, t_i = static_cast<double>(t_max_);
    if (restarts_) {
      int64_t e = epoch, ti = t_max_;
      if (t_mult_ == 1) {
        e %= ti;
      } else {
        while (e >= ti) {
          e -= ti;
          ti *= t_mult_;
        }
      }
      t_cur = static_cast<double>(e);
      t_i = static_cast<double>(ti);
    }
    return eta_min_ + (base_lr_ - eta_min_) * (1.0 + std::cos(kPi * t_cur / t_i)) / 2.0;
  }

 private:
  int64_t t_max_opt_;  // 0: all epochs of the span
  int64_t t_max_ = 1;
  double eta_min_;
  bool restarts_;
  int64_t t_mult_;
};

// torch OneCycleLR (Smith & Topin 2018), per step, with cycle_momentum=False: hone schedules the
// rate only. Phases (two, or three with three_phase), each annealed by cos or linearly:
//   0 … pct_start·T − 1:   max_lr/div_factor → max_lr
//   … T − 1:               max_lr → max_lr/(div_factor·final_div_factor)
class OneCycle : public Schedule {
 public:
  struct Options {
    double max_lr = 0.0;  // 0: the base rate
    double pct_start = 0.3, div_factor = 25.0, final_div_factor = 1e4;
    bool cos = true, three_phase = false;
  };
  OneCycle(std::string where, Options o) : Schedule(std::move(where)), o_(o) {}
  std::string type() const override { return "onecycle"; }
  void begin_span(double base_lr, int64_t spe, int epochs, int64_t total) override {
    Schedule::begin_span(base_lr, spe, epochs, total);
    max_ = o_.max_lr > 0.0 ? o_.max_lr : base_lr;
    initial_ = max_ / o_.div_factor;
    min_ = initial_ / o_.final_div_factor;
    const double t = static_cast<double>(total_steps_);
    if (o_.three_phase)
      phases_ = {{o_.pct_start * t - 1.0, initial_, max_},
                 {2.0 * o_.pct_start * t - 2.0, max_, initial_},
                 {t - 1.0, initial_, min_}};
    else
      phases_ = {{o_.pct_start * t - 1.0, initial_, max_}, {t - 1.0, max_, min_}};
  }
  double lr_at_step(int64_t step, int) override {
    // torch raises past total_steps; we hold the last step's value instead.
    const double s = static_cast<double>(std::clamp<int64_t>(step, 0, total_steps_ - 1));
    // Phase ends are pct_start·T − 1 and may land on an integer step; the compiler may fuse
    // that into an FMA, which leaves ±1e−17 where Python has exactly 0, so boundaries are
    // compared with a margin far below one step.
    constexpr double kMargin = 1e-9;
    double start = 0.0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (s <= ph.end_step + kMargin || i + 1 == phases_.size()) {
        // A phase of zero length (pct_start·T = 1) is a division by zero in torch; it ends at
        // its end value.
        const double len = ph.end_step - start;
        const double pct = std::fabs(len) > kMargin ? std::min((s - start) / len, 1.0) : 1.0;
        return o_.cos ? ph.end_lr + (ph.start_lr - ph.end_lr) / 2.0 * (std::cos(kPi * pct) + 1.0)
                      : (ph.end_lr - ph.start_lr) * pct + ph.start_lr;
      }
      start = ph.end_step;
    }
    return min_;  // not reached
  }

 private:
  struct Phase {
    double end_step, start_lr, end_lr;
  };
  Options o_;
  double max_ = 0, initial_ = 0, min_ = 0;
  std::vector<Phase> phases_;
};

// Linear warmup in front of any schedule (torch LinearLR's closed form, per step):
//   step < S:   base · (f + (1 − f)·step/S)
//   otherwise:  the inner schedule at step − S (see schedules.h)
// end_epoch reaches the inner schedule only for epochs with at least one step after the warmup.
class Warmup : public Schedule {
 public:
  Warmup(std::string where, std::unique_ptr<Schedule> inner, int64_t warmup_epochs,
         int64_t warmup_steps, double start_factor)
      : Schedule(std::move(where)), inner_(std::move(inner)), epochs_w_(warmup_epochs),
        steps_w_(warmup_steps), f_(start_factor) {
    inner_->set_log([this](const std::string& m) {
      if (log_) log_(m);
    });
  }
  std::string type() const override { return inner_->type(); }
  void begin_span(double base_lr, int64_t spe, int epochs, int64_t total) override {
    Schedule::begin_span(base_lr, spe, epochs, total);
    s_ = steps_w_ > 0 ? steps_w_ : epochs_w_ * spe;
    const int64_t rest = std::max<int64_t>(total_steps_ - s_, 1);
    const int64_t rest_epochs = (rest + spe - 1) / spe;
    inner_->begin_span(base_lr, spe, static_cast<int>(rest_epochs), rest);
  }
  double lr_at_step(int64_t step, int epoch) override {
    if (step < s_)
      return base_lr_ * (f_ + (1.0 - f_) * static_cast<double>(step) / static_cast<double>(s_));
    const int64_t inner_step = step - s_;
    return inner_->lr_at_step(inner_step, static_cast<int>(inner_step / steps_per_epoch_));
  }
  void end_epoch(int epoch, const Logs& logs) override {
    if ((static_cast<int64_t>(epoch) + 1) * steps_per_epoch_ > s_) inner_->end_epoch(epoch, logs);
  }

 private:
  std::unique_ptr<Schedule> inner_;
  int64_t epochs_w_, steps_w_;
  double f_;
  int64_t s_ = 0;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

std::string show(double v) { return python_float_repr(v); }

bool has(const json& c, const std::string& key) { return c.contains(key) && !c[key].is_null(); }

// ---------------------------------------------------------------- config readers (registry)
// Each reads its own options (check_keys has run) and returns the schedule; the warmup options
// are read once for all of them in make_scheduler.

std::unique_ptr<Schedule> constant_from(const json&, const std::string& where) {
  return std::make_unique<Constant>(where);
}

std::unique_ptr<Schedule> step_from(const json& c, const std::string& where) {
  if (!has(c, "step_size")) throw_invalid(where + ".step_size: required option is missing");
  int64_t step_size = get_int_at_least(c, "step_size", 1, 1, where);
  return std::make_unique<StepDecay>(where, step_size, get_positive(c, "gamma", 0.1, where));
}

std::unique_ptr<Schedule> multistep_from(const json& c, const std::string& where) {
  if (!has(c, "milestones")) throw_invalid(where + ".milestones: required option is missing");
  std::vector<int64_t> ms = get_ints(c, "milestones", {}, where);
  if (ms.empty()) throw_invalid(where + ".milestones: expected at least one epoch");
  for (int64_t m : ms)
    if (m < 0) throw_invalid(where + ".milestones: epochs must be >= 0, got " + std::to_string(m));
  return std::make_unique<MultiStep>(where, ms, get_positive(c, "gamma", 0.1, where));
}

std::unique_ptr<Schedule> exponential_from(const json& c, const std::string& where) {
  if (!has(c, "gamma")) throw_invalid(where + ".gamma: required option is missing");
  return std::make_unique<Exponential>(where, get_positive(c, "gamma", 1.0, where));
}

std::unique_ptr<Schedule> cosine_from(const json& c, const std::string& where) {
  int64_t t_max = has(c, "t_max") ? get_int_at_least(c, "t_max", 1, 1, where) : 0;
  double eta_min = get_nonnegative(c, "eta_min", 0.0, where);
  bool restarts = get_bool(c, "restarts", false, where);
  int64_t t_mult = get_int_at_least(c, "t_mult", 1, 1, where);
  if (t_mult != 1 && !restarts)
    throw_invalid(where + ".t_mult: only used with restarts = true (SGDR); set restarts = true"
                  " or remove t_mult");
  return std::make_unique<Cosine>(where, t_max, eta_min, restarts, t_mult);
}

std::unique_ptr<Schedule> plateau_from(const json& c, const std::string& where) {
  Plateau::Options o;
  o.monitor = get_string(c, "monitor", o.monitor, where);
  if (o.monitor.empty()) throw_invalid(where + ".monitor: must name a metric, e.g. \"val_loss\"");
  o.mode = lower(get_string(c, "mode", o.mode, where));
  if (o.mode != "auto" && o.mode != "min" && o.mode != "max")
    throw_invalid(where + ".mode: expected \"auto\", \"min\" or \"max\", got \"" + o.mode + "\"");
  o.factor = get_double(c, "factor", o.factor, where);
  if (!(o.factor > 0.0 && o.factor < 1.0))
    throw_invalid(where + ".factor must be in (0, 1) (ReduceLROnPlateau does not support a "
                  "factor >= 1.0), got " + show(o.factor));
  o.patience = get_int_at_least(c, "patience", o.patience, 0, where);
  o.min_delta = get_nonnegative(c, "min_delta", o.min_delta, where);
  o.cooldown = get_int_at_least(c, "cooldown", o.cooldown, 0, where);
  o.min_lr = get_nonnegative(c, "min_lr", o.min_lr, where);
  if (has(c, "verbose") && c["verbose"].is_number())
    o.verbose = get_double(c, "verbose", 1, where) > 0;  // Keras's verbose=0/1
  else
    o.verbose = get_bool(c, "verbose", o.verbose, where);
  return std::make_unique<Plateau>(where, o);
}

std::unique_ptr<Schedule> onecycle_from(const json& c, const std::string& where) {
  OneCycle::Options o;
  if (has(c, "max_lr")) o.max_lr = get_positive(c, "max_lr", 1.0, where);
  o.pct_start = get_double(c, "pct_start", o.pct_start, where);
  require_in_range(o.pct_start, 0.0, 1.0, "pct_start", where);
  o.div_factor = get_positive(c, "div_factor", o.div_factor, where);
  o.final_div_factor = get_positive(c, "final_div_factor", o.final_div_factor, where);
  if (has(c, "anneal") && has(c, "anneal_strategy"))
    throw_invalid(where + ": give anneal or anneal_strategy, not both");
  const std::string akey = has(c, "anneal_strategy") ? "anneal_strategy" : "anneal";
  const std::string anneal = lower(get_string(c, akey, "cos", where));
  if (anneal != "cos" && anneal != "linear")
    throw_invalid(where + "." + akey + ": expected \"cos\" or \"linear\", got \"" + anneal + "\"");
  o.cos = anneal == "cos";
  o.three_phase = get_bool(c, "three_phase", false, where);
  return std::make_unique<OneCycle>(where, o);
}

struct ScheduleRow {
  const char* name;
  std::vector<std::string> keys;  // its own options; the warmup ones are added for check_keys
  std::unique_ptr<Schedule> (*from_config)(const json& c, const std::string& where);
};

// One row per schedule; the order is the order of the "known: ..." lists in error messages.
const std::vector<ScheduleRow>& schedule_registry() {
  static const std::vector<ScheduleRow> rows = {
      {"constant", {}, &constant_from},
      {"step", {"step_size", "gamma"}, &step_from},
      {"multistep", {"milestones", "gamma"}, &multistep_from},
      {"exponential", {"gamma"}, &exponential_from},
      {"cosine", {"t_max", "eta_min", "restarts", "t_mult"}, &cosine_from},
      {"plateau",
       {"monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr", "verbose"},
       &plateau_from},
      {"onecycle",
       {"max_lr", "pct_start", "div_factor", "final_div_factor", "anneal", "anneal_strategy",
        "three_phase"},
       &onecycle_from},
  };
  return rows;
}

}  // namespace

}  // namespace hone::optim

namespace hone {

std::unique_ptr<LrScheduler> make_scheduler(const json& config, const std::string& where) {
  using namespace optim;
  const auto& rows = schedule_registry();
  json c = typed_table(config);
  if (!c.is_object())
    throw_invalid(where + ": expected a table with \"type\" (" + registered_names(rows) +
                  "), got " + c.dump());
  const std::string type = lower(get_string(c, "type", "", where));
  const ScheduleRow& row = find_registered(rows, type, "scheduler", where);
  std::vector<std::string> keys = row.keys;
  for (const char* k : {"type", "warmup_epochs", "warmup_steps", "warmup_start_factor"})
    keys.emplace_back(k);
  check_keys(c, keys, where);
  std::unique_ptr<Schedule> s = row.from_config(c, where);

  if (has(c, "warmup_epochs") && has(c, "warmup_steps"))
    throw_invalid(where + ": give warmup_epochs or warmup_steps, not both");
  const int64_t w_epochs = get_int_at_least(c, "warmup_epochs", 0, 0, where);
  const int64_t w_steps = get_int_at_least(c, "warmup_steps", 0, 0, where);
  const double f = get_double(c, "warmup_start_factor", 1.0 / 3.0, where);
  require_in_range(f, 0.0, 1.0, "warmup_start_factor", where);
  if (has(c, "warmup_start_factor") && w_epochs == 0 && w_steps == 0)
    throw_invalid(where + ".warmup_start_factor: only used with warmup_epochs or warmup_steps > 0");
  if (w_epochs > 0 || w_steps > 0)
    return std::make_unique<Warmup>(where, std::move(s), w_epochs, w_steps, f);
  return s;
}

}  // namespace hone
