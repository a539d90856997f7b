// Test helper: a schedule needs an optimizer to write its rates to.
#pragma once

#include <memory>

#include "hone/optimizer.h"
#include "hone/scheduler.h"

namespace hone {

// Plain SGD at `base`, with `s` attached to it for a run of `epochs` × `spe` steps. Keep the
// result alive while `s` is used.
inline std::unique_ptr<Optimizer> begin_at(LrScheduler& s, double base, int64_t spe, int epochs) {
  auto opt = make_sgd({.lr = base});
  s.begin(*opt, spe, epochs);
  return opt;
}

}  // namespace hone
