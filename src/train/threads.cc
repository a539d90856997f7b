#include "hone/threads.h"

#include <sched.h>
#include <xmmintrin.h>

#include <Eigen/Core>
#include <omp.h>

namespace hone {

namespace {
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)
}

ThreadScope::ThreadScope(int threads) : prev_threads_(Eigen::nbThreads()), prev_csr_(_mm_getcsr()) {
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

}  // namespace hone
