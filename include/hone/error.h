// hone/error.h — the one exception hierarchy of hone.
//
// Every failure that reaches the library surface is a hone::Error (or a subclass). Each carries a
// kind (which fixes the CLI exit code) and a message that says what went wrong and where (file:line,
// config key, trial number) and, when it helps, what to do. OS and third-party errors are translated
// into these once, at the boundary where they occur.
#pragma once

#include <stdexcept>
#include <string>

namespace hone {

enum class ErrorKind {
  kInvalidArgument,  // bad config, bad command line, bad hyperparameter: the user's input (exit 2)
  kDataError,        // a malformed data, model or database file (exit 2)
  kIoError,          // a file that cannot be opened, read or written (exit 1)
  kRuntime,          // anything else that failed while running (exit 1)
  kInterrupted,      // the user pressed Ctrl-C (exit 130)
};

// `what` as one printable line: control characters (a newline or a NUL byte from a file or a
// config value quoted in a message) are written as escapes (\n, \x00), so that every error is
// the one line the CLI prints, whole.
std::string one_line(const std::string& what);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(one_line(what)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  // The process exit code the CLI uses for this error: 2 for bad input, 1 for runtime failures.
  int exit_code() const;

 private:
  ErrorKind kind_;
};

// Shorthands used throughout the code base.
[[noreturn]] void throw_invalid(const std::string& what);
[[noreturn]] void throw_data(const std::string& what);
[[noreturn]] void throw_io(const std::string& what);
[[noreturn]] void throw_runtime(const std::string& what);

// Internal invariant check (a bug in hone, not bad input). Throws kRuntime with file:line.
#define HONE_CHECK(cond, msg)                                                                    \
  do {                                                                                           \
    if (!(cond))                                                                                 \
      ::hone::throw_runtime(std::string("internal check failed at ") + __FILE__ + ":" +          \
                            std::to_string(__LINE__) + ": " #cond ": " + std::string(msg));      \
  } while (0)

}  // namespace hone
