// ReduceLROnPlateau with Keras's logic and messages.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "hone/error.h"
#include "optim/schedules.h"

namespace hone::optim {

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form ("1.5e-05"), then laid out with Python's
  // rule: positional when −4 <= exponent < 16, else d.ddde±XX.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.erase(0, 1);
  size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  int exp = std::atoi(s.c_str() + e + 1);
  std::string digits;
  for (char ch : mant)
    if (ch != '.') digits += ch;
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out = "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exp) + 1) + "." +
            digits.substr(static_cast<size_t>(exp) + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  }
  if (neg) out.insert(out.begin(), '-');
  return out;
}

Plateau::Plateau(std::string where, Options o) : Schedule(std::move(where)), o_(std::move(o)) {
  maximize_ = o_.mode == "max" || (o_.mode == "auto" && o_.monitor.find("acc") != std::string::npos);
}

void Plateau::begin_span(double base_lr, int64_t steps_per_epoch, int epochs,
                         int64_t total_steps) {
  Schedule::begin_span(base_lr, steps_per_epoch, epochs, total_steps);
  // Keras's _reset() at on_train_begin.
  lr_ = base_lr;
  best_ = maximize_ ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  wait_ = 0;
  cooldown_counter_ = 0;
}

bool Plateau::improved(double current) const {
  // np.less(a, b - min_delta) / np.greater(a, b + min_delta): a NaN is never an improvement.
  return maximize_ ? current > best_ + o_.min_delta : current < best_ - o_.min_delta;
}

void Plateau::end_epoch(int epoch, const Logs& logs) {
  auto it = logs.find(o_.monitor);
  if (it == logs.end()) {
    // Keras logs a warning and carries on; so do we.
    if (log_) {
      std::string keys;
      for (const auto& [k, v] : logs) keys += (keys.empty() ? "" : ",") + k;
      log_("WARNING: Learning rate reduction is conditioned on metric `" + o_.monitor +
           "` which is not available. Available metrics are: " + keys);
    }
    return;
  }
  const double current = it->second;
  const bool in_cooldown = cooldown_counter_ > 0;
  if (in_cooldown) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improved(current)) {
    best_ = current;
    wait_ = 0;
  } else if (!(cooldown_counter_ > 0)) {  // Keras re-reads in_cooldown() after the decrement
    ++wait_;
    if (wait_ >= o_.patience) {
      // Keras compares the float32 variable with np.float32(min_lr): once the rate has reached
      // the floor it stays there silently, even if lr·factor rounding left it a hair above it.
      if (static_cast<float>(lr_) > static_cast<float>(o_.min_lr)) {
        lr_ = std::max(lr_ * o_.factor, o_.min_lr);
        if (o_.verbose && log_)
          log_("Epoch " + std::to_string(epoch + 1) +
               ": ReduceLROnPlateau reducing learning rate to " + python_float_repr(lr_) + ".");
        cooldown_counter_ = o_.cooldown;
        wait_ = 0;
      }
    }
  }
}

}  // namespace hone::optim
