// hone/tensor.h — a float32, contiguous, row-major, shape-checked array.
//
// A Tensor owns its storage (64-byte aligned). resize() keeps the storage when the new size fits
// the capacity, so a training step that resizes its buffers to the same shapes allocates nothing
// after the first step. Shape is a fixed-capacity value type (no heap) of up to kMaxDims dims.
// Layout conventions: a batch of feature vectors is (N, F); images are (N, C, H, W).
// Heavy math maps tensors onto Eigen in the .cc files (src/nn/eigen.h); Eigen stays out of the
// public headers.
// Thread safety: none; distinct tensors may be used from distinct threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

namespace hone {

class Shape {
 public:
  static constexpr int kMaxDims = 5;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int ndim() const { return n_; }
  int64_t operator[](int i) const { return d_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return d_[static_cast<size_t>(i)]; }
  int64_t numel() const;  // product of dims; 1 for a 0-d shape
  void push_back(int64_t v);
  // The shape without its first (batch) dimension; REQUIRES: ndim() >= 1.
  Shape tail() const;
  // {n} followed by this shape's dims.
  Shape with_batch(int64_t n) const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "(32, 784)"

 private:
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& shape);  // zero-filled
  Tensor(const Shape& shape, float fill);
  Tensor(const Tensor& o);
  Tensor& operator=(const Tensor& o);
  Tensor(Tensor&& o) noexcept;
  Tensor& operator=(Tensor&& o) noexcept;
  ~Tensor();

  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  // Changes the shape; contents are unspecified afterwards. Allocates only when the new size
  // exceeds the capacity.
  void resize(const Shape& shape);
  // Same element count, new shape. Throws if the counts differ.
  void reshape(const Shape& shape);
  void fill(float v);
  void zero() { fill(0.0f); }
  // Resizes to (count, src's other dims) and copies row rows[i] of src into row i (a mini-batch gather).
  void copy_rows_from(const Tensor& src, const int64_t* rows, int64_t count);

  size_t capacity() const { return capacity_; }

 private:
  Shape shape_;
  float* data_ = nullptr;
  int64_t size_ = 0;
  size_t capacity_ = 0;
};

// Bytes of tensor storage allocated by the calling thread: live now, and the high-water mark
// since the last reset. A trial or training run that stays on one thread measures its own peak
// tensor memory with these (activations, parameters, gradients, optimizer state, batches).
struct TensorMemory {
  int64_t current = 0;
  int64_t peak = 0;
};
TensorMemory tensor_memory();
void reset_tensor_memory_peak();

}  // namespace hone
