// hone/threads.h — thread settings for a piece of training work, and the core budget.
//
// ThreadScope sets the Eigen/OpenMP thread count and flush-to-zero / denormals-are-zero on the
// calling thread and the OpenMP workers (Adam's second moments of tiny gradients make denormals,
// which cost ~30% at small batches on this kind of machine: shared/ref/perf-notes.md).
// RAII: the previous settings come back when the scope ends.
// Thread safety: Eigen's thread count is process-wide (OpenMP's and the MXCSR bits are per
// thread), so scopes alive at the same time on different threads should ask for the same count;
// it goes back to what it was only when the last live scope ends (a scope nested on one thread
// gives back its outer scope's count), so one trial ending does not change another's math.
#pragma once

#include <cstdint>
#include <string>

namespace hone {

// Any count is accepted: it is clamped to [1, available_cores()] (clamp_threads), since more
// OpenMP threads than cores only slow the math down, and a huge count (100000) overflows the
// OpenMP runtime's stacks.
class ThreadScope {
 public:
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int prev_threads_;
  unsigned prev_csr_;
};

// The number of cores this process may use (sched_getaffinity), at least 1.
int available_cores();

// `requested` clamped to [1, available_cores()]: the thread count any piece of hone's math runs with.
int clamp_threads(int64_t requested);

// The one-line note for a thread count that clamp_threads lowers ("note: train.threads = 100000 but
// this process may use 8 cores; using 8"); empty when `requested` is within the cores. `what` names
// the setting ("train.threads", "--threads").
std::string threads_note(int64_t requested, const std::string& what);

}  // namespace hone
