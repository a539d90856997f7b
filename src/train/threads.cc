#include "hone/threads.h"

#include <sched.h>
#include <xmmintrin.h>

#include <algorithm>

#include <Eigen/Core>
#include <omp.h>

namespace hone {

namespace {
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)
}

ThreadScope::ThreadScope(int requested) : prev_threads_(Eigen::nbThreads()), prev_csr_(_mm_getcsr()) {
  const int threads = clamp_threads(requested);
  Eigen::setNbThreads(threads);
  omp_set_num_threads(threads);
  _mm_setcsr(prev_csr_ | kFtzDaz);
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    _mm_setcsr(_mm_getcsr() | kFtzDaz);
  }
}

ThreadScope::~ThreadScope() {
  Eigen::setNbThreads(prev_threads_);
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
