// hone/threads.h — thread settings for a piece of training work, and the core budget.
//
// ThreadScope sets the Eigen/OpenMP thread count and flush-to-zero / denormals-are-zero on the
// calling thread and the OpenMP workers (Adam's second moments of tiny gradients make denormals,
// which cost ~30% at small batches on this kind of machine: shared/ref/perf-notes.md).
// RAII: the previous settings come back when the scope ends.
// Thread safety: Eigen's thread count is process-wide (OpenMP's and the MXCSR bits are per
// thread), so scopes alive at the same time on different threads should ask for the same count.
#pragma once

namespace hone {

// REQUIRES: threads >= 1.
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

}  // namespace hone
