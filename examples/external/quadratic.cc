// A C++ objective using hone_report.h: gradient descent on (x - 3)^2 with a tuned learning rate.
//   g++ -O2 -o /tmp/quadratic examples/external/quadratic.cc
//   hone tune examples/external/cpp_study.toml
#include <cmath>

#include "hone_report.h"

int main() {
  const double lr = hone_report::param_double("lr", 0.1);
  const long long steps = hone_report::param_int("steps", 20);
  double x = 0;
  for (long long s = 0; s < steps; ++s) {
    x -= lr * 2 * (x - 3);
    if (!std::isfinite(x)) return 1;  // diverged: a failed trial
    hone_report::report(s, (x - 3) * (x - 3));
  }
  hone_report::result((x - 3) * (x - 3));
}
