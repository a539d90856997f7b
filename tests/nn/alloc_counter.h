// tests/nn/alloc_counter.h — counts heap allocations made by the calling code, for tests that
// assert a hot path allocates nothing.
//
// Usage (in exactly ONE .cc of a test binary, because it replaces the global allocation
// functions):
//     #define HONE_ALLOC_COUNTER_DEFINE
//     #include "nn/alloc_counter.h"
// and in any test:
//     hone::testing::AllocScope scope;   // starts counting
//     ... code under test ...
//     EXPECT_EQ(scope.count(), 0);
//
// What is counted: every operator new / new[] (all overloads) and, in builds without
// AddressSanitizer, every malloc / calloc / realloc / aligned_alloc / posix_memalign / memalign
// (so Eigen's internal std::malloc and Tensor's aligned_alloc are seen too). Under ASan the C
// allocator belongs to the sanitizer and only operator new is counted. Counting is process-wide
// while a scope is open; open scopes only from single-threaded test code.
#pragma once

#include <atomic>
#include <cstddef>

namespace hone::testing {

// Allocations counted since the process started (only while armed).
std::atomic<long>& alloc_count();
std::atomic<int>& alloc_armed();

class AllocScope {
 public:
  AllocScope() : start_(alloc_count().load()) { alloc_armed().fetch_add(1); }
  ~AllocScope() { stop(); }
  AllocScope(const AllocScope&) = delete;
  AllocScope& operator=(const AllocScope&) = delete;
  // Stops counting; count() keeps its value.
  void stop() {
    if (armed_) {
      end_ = alloc_count().load();
      alloc_armed().fetch_sub(1);
      armed_ = false;
    }
  }
  long count() const { return (armed_ ? alloc_count().load() : end_) - start_; }

 private:
  long start_;
  long end_ = 0;
  bool armed_ = true;
};

// Whether the C allocator (malloc & co.) is counted in this build.
bool counts_malloc();

}  // namespace hone::testing

#ifdef HONE_ALLOC_COUNTER_DEFINE
#include <cerrno>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define HONE_ALLOC_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HONE_ALLOC_COUNT_MALLOC 0
#endif
#endif
#ifndef HONE_ALLOC_COUNT_MALLOC
#define HONE_ALLOC_COUNT_MALLOC 1
#endif

namespace hone::testing {
std::atomic<long>& alloc_count() {
  static std::atomic<long> c{0};
  return c;
}
std::atomic<int>& alloc_armed() {
  static std::atomic<int> a{0};
  return a;
}
bool counts_malloc() { return HONE_ALLOC_COUNT_MALLOC != 0; }
namespace detail {
inline void note() {
  if (alloc_armed().load(std::memory_order_relaxed) > 0) alloc_count().fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail
}  // namespace hone::testing

#if HONE_ALLOC_COUNT_MALLOC
// glibc's own entry points; the replacements below forward to them.
extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* malloc(size_t n) noexcept {
  hone::testing::detail::note();
  return __libc_malloc(n);
}
void free(void* p) noexcept { __libc_free(p); }
void* calloc(size_t n, size_t s) noexcept {
  hone::testing::detail::note();
  return __libc_calloc(n, s);
}
void* realloc(void* p, size_t n) noexcept {
  hone::testing::detail::note();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t a, size_t n) noexcept {
  hone::testing::detail::note();
  return __libc_memalign(a, n);
}
void* memalign(size_t a, size_t n) noexcept {
  hone::testing::detail::note();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) noexcept {
  hone::testing::detail::note();
  void* p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}
#define HONE_ALLOC_NOTE_NEW() (void)0  // operator new reaches malloc, which counts
#else
#define HONE_ALLOC_NOTE_NEW() hone::testing::detail::note()
#endif

void* operator new(size_t n) {
  HONE_ALLOC_NOTE_NEW();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return ::operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  HONE_ALLOC_NOTE_NEW();
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void* operator new(size_t n, std::align_val_t a) {
  HONE_ALLOC_NOTE_NEW();
  size_t al = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) { return ::operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
#endif  // HONE_ALLOC_COUNTER_DEFINE
