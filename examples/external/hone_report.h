// hone_report.h — hone's metric protocol for C++ programs tuned by `hone tune` (docs/EXTERNAL.md).
// Header-only, no dependencies; copy it beside your program.
//
//   #include "hone_report.h"
//   double lr = hone_report::param_double("lr", 0.01);   // HONE_PARAM_LR, else the default
//   for (int epoch = 0; epoch < n; ++epoch) { ...; hone_report::report(epoch, val_acc); }
//   hone_report::result(val_acc);
#pragma once

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace hone_report {

// An intermediate value at `step` (>= 0); hone may prune (SIGTERM) right after it.
inline void report(long long step, double value) {
  std::printf("hone: report %lld %.17g\n", step, value);
  std::fflush(stdout);  // hone reads a pipe: unflushed lines would arrive too late to prune
}

// The final value; print it last, then exit 0.
inline void result(double value) {
  std::printf("hone: result %.17g\n", value);
  std::fflush(stdout);
}

// A parameter from the environment: HONE_PARAM_<NAME> (name upper-cased, other characters -> '_'),
// or `def` when hone did not set it (the program was run by hand).
inline const char* param(const std::string& name) {
  std::string env = "HONE_PARAM_";
  for (char c : name) env += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
  return std::getenv(env.c_str());
}
inline double param_double(const std::string& name, double def) {
  const char* v = param(name);
  return v ? std::strtod(v, nullptr) : def;
}
inline long long param_int(const std::string& name, long long def) {
  const char* v = param(name);
  return v ? std::strtoll(v, nullptr, 10) : def;
}
inline std::string param_string(const std::string& name, const std::string& def) {
  const char* v = param(name);
  return v ? std::string(v) : def;
}

}  // namespace hone_report
