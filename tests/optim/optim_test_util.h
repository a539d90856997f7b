// Helpers for the optim tests: Params over plain Tensors (no layers needed).
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "hone/layer.h"
#include "hone/tensor.h"

namespace hone::testing {

// Owns the tensors behind a list of Params; Param pointers stay valid as params are added.
class ParamSet {
 public:
  // Adds a 1-d param with initial `values` and a zero grad.
  void add(const std::string& name, const std::vector<float>& values, bool decay = true) {
    Shape s{static_cast<int64_t>(values.size())};
    values_.emplace_back(s);
    grads_.emplace_back(s);
    for (size_t i = 0; i < values.size(); ++i) values_.back()[static_cast<int64_t>(i)] = values[i];
    params_.push_back(Param{name, &values_.back(), &grads_.back(), decay});
  }
  void set_grad(size_t i, const std::vector<float>& g) {
    for (size_t k = 0; k < g.size(); ++k) grads_[i][static_cast<int64_t>(k)] = g[k];
  }
  std::vector<float> value(size_t i) const { return to_vec(values_[i]); }
  std::vector<float> grad(size_t i) const { return to_vec(grads_[i]); }
  const std::vector<Param>& params() const { return params_; }

 private:
  static std::vector<float> to_vec(const Tensor& t) {
    return std::vector<float>(t.data(), t.data() + t.size());
  }
  std::deque<Tensor> values_, grads_;
  std::vector<Param> params_;
};

}  // namespace hone::testing

// Element-wise EXPECT_NEAR of a float vector against expected values.
#define EXPECT_VEC_NEAR(actual, expected, tol)                                        \
  do {                                                                                \
    const std::vector<float> a_ = (actual);                                           \
    const std::vector<double> e_ = (expected);                                        \
    ASSERT_EQ(a_.size(), e_.size());                                                  \
    for (size_t k_ = 0; k_ < a_.size(); ++k_)                                         \
      EXPECT_NEAR(a_[k_], e_[k_], (tol)) << "element " << k_;                         \
  } while (0)
