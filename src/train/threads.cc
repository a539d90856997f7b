#include "hone/threads.h"

#include <sched.h>
#include <xmmintrin.h>

#include <algorithm>
#include <mutex>

#include <Eigen/Core>
#include <omp.h>

namespace hone {

namespace {
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)

// Eigen's thread count is process-wide: it is restored to what it was before the first live scope
// only when the last live scope (on any thread) ends. Restoring it when one of two concurrent
// trials ended (n_jobs = 2) put the other trial's math on every core mid-run: its curve then
// differed from run to run. A scope nested on the same thread still restores its outer scope's count.
std::mutex eigen_mu;
int eigen_live = 0;       // scopes alive, all threads
int eigen_before = 0;     // Eigen's count before the first of them
thread_local int thread_depth = 0;  // scopes alive on this thread
}  // namespace

ThreadScope::ThreadScope(int requested) : prev_threads_(Eigen::nbThreads()), prev_csr_(_mm_getcsr()) {
  const int threads = clamp_threads(requested);
  {
    std::lock_guard<std::mutex> lock(eigen_mu);
    if (eigen_live++ == 0) eigen_before = prev_threads_;
    Eigen::setNbThreads(threads);
  }
  ++thread_depth;
  omp_set_num_threads(threads);
  _mm_setcsr(prev_csr_ | kFtzDaz);
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    _mm_setcsr(_mm_getcsr() | kFtzDaz);
  }
}

ThreadScope::~ThreadScope() {
  {
    std::lock_guard<std::mutex> lock(eigen_mu);
    --eigen_live;
    if (--thread_depth > 0) Eigen::setNbThreads(prev_threads_);  // back to the outer scope's count
    else if (eigen_live == 0) Eigen::setNbThreads(eigen_before);
    // else: scopes on other threads are alive and asked for their count: keep it
  }
  omp_set_num_threads(prev_threads_);
  _mm_setcsr(prev_csr_);
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c > 0) return c;
  }
  return 1;
}

int clamp_threads(int64_t requested) {
  return static_cast<int>(std::clamp<int64_t>(requested, 1, available_cores()));
}

std::string threads_note(int64_t requested, const std::string& what) {
  const int cores = available_cores();
  if (requested <= cores) return "";
  return "note: " + what + " = " + std::to_string(requested) + " but this process may use " + std::to_string(cores) +
         " core(s); using " + std::to_string(cores);
}

}  // namespace hone
