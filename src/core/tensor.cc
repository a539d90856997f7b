#include "hone/tensor.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "hone/error.h"

namespace hone {

Shape::Shape(std::initializer_list<int64_t> dims) {
  if (dims.size() > static_cast<size_t>(kMaxDims)) throw_invalid("Shape: more than 5 dimensions");
  for (int64_t v : dims) push_back(v);
}

int64_t Shape::numel() const {
  int64_t p = 1;
  for (int i = 0; i < n_; ++i)
    if (__builtin_mul_overflow(p, d_[static_cast<size_t>(i)], &p))  // a corrupt or absurd shape, not UB
      throw_invalid("Shape: " + str() + " has more than 2^63 elements");
  return p;
}

void Shape::push_back(int64_t v) {
  if (n_ >= kMaxDims) throw_invalid("Shape: more than 5 dimensions");
  if (v < 0) throw_invalid("Shape: negative dimension " + std::to_string(v));
  d_[static_cast<size_t>(n_++)] = v;
}

Shape Shape::tail() const {
  HONE_CHECK(n_ >= 1, "tail of a 0-d shape");
  Shape s;
  for (int i = 1; i < n_; ++i) s.push_back(d_[static_cast<size_t>(i)]);
  return s;
}

Shape Shape::with_batch(int64_t n) const {
  Shape s;
  s.push_back(n);
  for (int i = 0; i < n_; ++i) s.push_back(d_[static_cast<size_t>(i)]);
  return s;
}

bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[static_cast<size_t>(i)] != o.d_[static_cast<size_t>(i)]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < n_; ++i) {
    if (i) s += ", ";
    s += std::to_string(d_[static_cast<size_t>(i)]);
  }
  if (n_ == 1) s += ",";
  return s + ")";
}

namespace {
constexpr size_t kAlign = 64;
thread_local TensorMemory t_mem;

// This machine's memory in bytes (0 when unknown).
uint64_t physical_memory() {
  static const uint64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : uint64_t{0};
  }();
  return bytes;
}

float* alloc_floats(size_t n) {
  if (n == 0) return nullptr;
  // A tensor larger than the machine's memory (units = 1e9, a corrupt header) is one clear error
  // up front, not an out-of-memory kill half-way through filling it.
  const uint64_t mem = physical_memory();
  if (n > (uint64_t{1} << 60) / sizeof(float) || (mem > 0 && n * sizeof(float) > mem)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "a tensor of %zu values (%.1f GiB) is larger than this machine's memory (%.1f GiB)",
                  n, static_cast<double>(n) * sizeof(float) / (1u << 30), static_cast<double>(mem) / (1u << 30));
    throw_runtime(buf);
  }
  size_t bytes = (n * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p) throw std::bad_alloc();
  return static_cast<float*>(p);
}

void account(int64_t delta) {
  t_mem.current += delta;
  if (t_mem.current > t_mem.peak) t_mem.peak = t_mem.current;
}
}  // namespace

TensorMemory tensor_memory() { return t_mem; }
void reset_tensor_memory_peak() { t_mem.peak = t_mem.current; }

Tensor::Tensor(const Shape& shape) : Tensor(shape, 0.0f) {}

Tensor::Tensor(const Shape& shape, float fill_value) {
  resize(shape);
  fill(fill_value);
}

Tensor::Tensor(const Tensor& o) {
  resize(o.shape_);
  if (size_) std::memcpy(data_, o.data_, static_cast<size_t>(size_) * sizeof(float));
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this != &o) {
    resize(o.shape_);
    if (size_) std::memcpy(data_, o.data_, static_cast<size_t>(size_) * sizeof(float));
  }
  return *this;
}

Tensor::Tensor(Tensor&& o) noexcept
    : shape_(o.shape_), data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.capacity_ = 0;
  o.shape_ = Shape();
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this != &o) {
    if (data_) account(-static_cast<int64_t>(capacity_) * 4);
    std::free(data_);
    shape_ = o.shape_;
    data_ = o.data_;
    size_ = o.size_;
    capacity_ = o.capacity_;
    o.data_ = nullptr;
    o.size_ = 0;
    o.capacity_ = 0;
    o.shape_ = Shape();
  }
  return *this;
}

Tensor::~Tensor() {
  // A tensor freed on another thread than it was allocated on shifts the counts between threads;
  // the per-thread figure is exact for the usual case of a run that stays on one thread.
  if (data_) account(-static_cast<int64_t>(capacity_) * 4);
  std::free(data_);
}

void Tensor::resize(const Shape& shape) {
  int64_t n = shape.numel();
  if (static_cast<size_t>(n) > capacity_) {
    float* p = alloc_floats(static_cast<size_t>(n));
    std::free(data_);
    account((static_cast<int64_t>(n) - static_cast<int64_t>(capacity_)) * 4);
    data_ = p;
    capacity_ = static_cast<size_t>(n);
  }
  shape_ = shape;
  size_ = n;
}

void Tensor::reshape(const Shape& shape) {
  if (shape.numel() != size_)
    throw_invalid("Tensor::reshape: cannot view " + shape_.str() + " as " + shape.str());
  shape_ = shape;
}

void Tensor::fill(float v) { std::fill(data_, data_ + size_, v); }

void Tensor::copy_rows_from(const Tensor& src, const int64_t* rows, int64_t count) {
  Shape s = src.shape();
  HONE_CHECK(s.ndim() >= 1, "copy_rows_from a 0-d tensor");
  int64_t row = s.numel() / std::max<int64_t>(1, s[0]);
  s[0] = count;
  resize(s);
  if (row == 0) return;  // zero-size samples (a dimension of 0): nothing to copy, data() may be null
  for (int64_t i = 0; i < count; ++i) {
    HONE_CHECK(rows[i] >= 0 && rows[i] < src.dim(0), "row index out of range");
    std::memcpy(data_ + i * row, src.data() + rows[i] * row, static_cast<size_t>(row) * sizeof(float));
  }
}

}  // namespace hone
