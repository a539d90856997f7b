// Thread settings for a training run: Eigen/OpenMP threads, and flush-to-zero / denormals-are-
// zero on the calling thread and the OpenMP workers (Adam's second moments of tiny gradients make
// denormals, which cost ~30% at small batches on this kind of machine: shared/ref/perf-notes.md).
// RAII: the previous settings come back when the scope ends.
#pragma once

namespace hone {

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
