// Dataset::subset, one_hot, Scaler, train_val_split and the k-fold splitters.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "hone/dataset.h"
#include "hone/error.h"

namespace hone {
namespace {

// Fisher-Yates with our own index draw: std::shuffle's algorithm differs between standard
// libraries, and splits must be reproducible from the seed alone.
template <typename T>
void shuffle_vec(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

// Class index of every row of a (N) or (N, 1) label tensor; throws if one is not a non-negative
// integer. Sets num_classes to max + 1.
std::vector<int> class_indices(const Tensor& labels, const char* who, int& num_classes) {
  if (labels.ndim() == 0 || labels.ndim() > 2 || (labels.ndim() == 2 && labels.dim(1) != 1))
    throw_invalid(std::string(who) + ": labels must be class indices of shape (N) or (N, 1), got " +
                  labels.shape().str());
  const int64_t n = labels.dim(0);
  std::vector<int> c(static_cast<size_t>(n));
  num_classes = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v = labels[i];
    if (!(v >= 0.0f) || v != std::floor(v) || v > 1e8f)
      throw_invalid(std::string(who) + ": label " + std::to_string(v) + " at row " + std::to_string(i) +
                    " is not a class index");
    c[static_cast<size_t>(i)] = static_cast<int>(v);
    num_classes = std::max(num_classes, c[static_cast<size_t>(i)] + 1);
  }
  return c;
}

}  // namespace

Dataset Dataset::subset(const std::vector<int64_t>& idx) const {
  const int64_t n = size();
  for (size_t i = 0; i < idx.size(); ++i)
    if (idx[i] < 0 || idx[i] >= n)
      throw_invalid("Dataset::subset: index " + std::to_string(idx[i]) + " (position " + std::to_string(i) +
                    ") is outside [0, " + std::to_string(n) + ")");
  Dataset d;
  d.num_classes = num_classes;
  d.class_names = class_names;
  d.feature_names = feature_names;
  const auto count = static_cast<int64_t>(idx.size());
  if (x.ndim()) d.x.copy_rows_from(x, idx.data(), count);
  if (y.ndim()) {
    if (y.dim(0) != n)
      throw_invalid("Dataset::subset: x has " + std::to_string(n) + " rows but y has " + std::to_string(y.dim(0)));
    d.y.copy_rows_from(y, idx.data(), count);
  }
  return d;
}

Tensor one_hot(const Tensor& labels, int k) {
  if (k < 1) throw_invalid("one_hot: number of classes must be >= 1, got " + std::to_string(k));
  int seen = 0;
  std::vector<int> c = class_indices(labels, "one_hot", seen);
  if (seen > k)
    throw_invalid("one_hot: label " + std::to_string(seen - 1) + " is outside [0, " + std::to_string(k) + ")");
  const auto n = static_cast<int64_t>(c.size());
  Tensor out(Shape{n, k});
  for (int64_t i = 0; i < n; ++i) out[i * k + c[static_cast<size_t>(i)]] = 1.0f;
  return out;
}

Scaler::Scaler(std::string kind) : kind_(std::move(kind)) {
  if (kind_ != "standard" && kind_ != "minmax")
    throw_invalid("Scaler: kind must be \"standard\" or \"minmax\", got \"" + kind_ + "\"");
}

void Scaler::fit(const Tensor& x) {
  if (x.ndim() < 1 || x.dim(0) == 0) throw_invalid("Scaler::fit: no rows to fit on (shape " + x.shape().str() + ")");
  const int64_t n = x.dim(0);
  const int64_t f = x.size() / n;
  a_.assign(static_cast<size_t>(f), 0.0f);
  b_.assign(static_cast<size_t>(f), 1.0f);
  const float* p = x.data();
  if (kind_ == "standard") {
    // Two passes in double: the mean, then the centred sum of squares (exact enough for pixel
    // data with 60k rows, where a one-pass sum of squares loses digits).
    std::vector<double> mean(static_cast<size_t>(f), 0.0), ss(static_cast<size_t>(f), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < f; ++j) mean[static_cast<size_t>(j)] += p[i * f + j];
    for (auto& m : mean) m /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < f; ++j) {
        double d = p[i * f + j] - mean[static_cast<size_t>(j)];
        ss[static_cast<size_t>(j)] += d * d;
      }
    const double eps = DBL_EPSILON, nd = static_cast<double>(n);
    for (int64_t j = 0; j < f; ++j) {
      const auto sj = static_cast<size_t>(j);
      double var = ss[sj] / nd;  // population variance (ddof = 0), as StandardScaler
      // scikit-learn's _is_constant_feature: a variance within rounding error of 0 means a
      // constant feature, which keeps scale 1 rather than dividing by ~0.
      double bound = nd * eps * var + (nd * mean[sj] * eps) * (nd * mean[sj] * eps);
      a_[sj] = static_cast<float>(mean[sj]);
      b_[sj] = var <= bound ? 1.0f : static_cast<float>(1.0 / std::sqrt(var));
    }
  } else {
    std::vector<float> lo(p, p + f), hi(p, p + f);
    for (int64_t i = 1; i < n; ++i)
      for (int64_t j = 0; j < f; ++j) {
        float v = p[i * f + j];
        lo[static_cast<size_t>(j)] = std::min(lo[static_cast<size_t>(j)], v);
        hi[static_cast<size_t>(j)] = std::max(hi[static_cast<size_t>(j)], v);
      }
    for (int64_t j = 0; j < f; ++j) {
      const auto sj = static_cast<size_t>(j);
      double range = static_cast<double>(hi[sj]) - lo[sj];
      a_[sj] = lo[sj];
      b_[sj] = range > 0.0 ? static_cast<float>(1.0 / range) : 1.0f;  // constant -> 0 after shift
    }
  }
}

void Scaler::transform(Tensor& x) const {
  if (a_.empty()) throw_invalid("Scaler::transform: the scaler has not been fitted");
  if (a_.size() != b_.size()) throw_invalid("Scaler::transform: shift and scale have different lengths");
  if (x.ndim() < 1) throw_invalid("Scaler::transform: a 0-d tensor has no rows");
  const int64_t n = x.dim(0);
  const auto f = static_cast<int64_t>(a_.size());
  if (n == 0) return;
  if (x.size() / n != f || x.size() % n != 0)
    throw_invalid("Scaler::transform: fitted on " + std::to_string(f) + " features, got shape " + x.shape().str());
  float* p = x.data();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) p[i * f + j] = (p[i * f + j] - a_[static_cast<size_t>(j)]) * b_[static_cast<size_t>(j)];
}

std::pair<Dataset, Dataset> train_val_split(const Dataset& d, double fraction, uint64_t seed, bool stratify) {
  if (!(fraction > 0.0 && fraction < 1.0))
    throw_invalid("train_val_split: fraction must be in (0, 1), got " + std::to_string(fraction));
  const int64_t n = d.size();
  // As sklearn's train_test_split: ceil(fraction * n) rows go to validation.
  const auto n_val = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
  if (n_val < 1 || n_val >= n)
    throw_invalid("train_val_split: fraction " + std::to_string(fraction) + " of " + std::to_string(n) +
                  " rows leaves an empty training or validation set");
  Rng rng(seed);
  std::vector<int64_t> tr, va;
  if (stratify && d.is_classification()) {
    int k = 0;
    std::vector<int> c = class_indices(d.y, "train_val_split", k);
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(k));
    for (int64_t i = 0; i < n; ++i) members[static_cast<size_t>(c[static_cast<size_t>(i)])].push_back(i);
    // Largest-remainder allocation of the n_val validation rows over the classes (sklearn's
    // _approximate_mode), so each class keeps its share and the total is exact.
    std::vector<int64_t> take(static_cast<size_t>(k));
    std::vector<std::pair<double, int>> rem;
    int64_t assigned = 0;
    for (int j = 0; j < k; ++j) {
      double exact = static_cast<double>(members[static_cast<size_t>(j)].size()) * static_cast<double>(n_val) /
                     static_cast<double>(n);
      take[static_cast<size_t>(j)] = static_cast<int64_t>(std::floor(exact));
      assigned += take[static_cast<size_t>(j)];
      rem.emplace_back(exact - std::floor(exact), j);
    }
    std::stable_sort(rem.begin(), rem.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (size_t r = 0; assigned < n_val && r < rem.size(); ++r, ++assigned) ++take[static_cast<size_t>(rem[r].second)];
    for (int j = 0; j < k; ++j) {
      auto& m = members[static_cast<size_t>(j)];
      shuffle_vec(m, rng);
      auto t = static_cast<size_t>(take[static_cast<size_t>(j)]);
      va.insert(va.end(), m.begin(), m.begin() + static_cast<std::ptrdiff_t>(t));
      tr.insert(tr.end(), m.begin() + static_cast<std::ptrdiff_t>(t), m.end());
    }
    // Rows came out grouped by class; mix them so that neither part is ordered by label.
    shuffle_vec(tr, rng);
    shuffle_vec(va, rng);
  } else {
    std::vector<int64_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), int64_t{0});
    shuffle_vec(perm, rng);
    va.assign(perm.begin(), perm.begin() + n_val);
    tr.assign(perm.begin() + n_val, perm.end());
  }
  return {d.subset(tr), d.subset(va)};
}

std::vector<Fold> kfold(int64_t n, int k, bool shuffle, uint64_t seed) {
  if (k < 2) throw_invalid("kfold: k must be at least 2, got " + std::to_string(k));
  if (k > n)
    throw_invalid("kfold: cannot have k=" + std::to_string(k) + " folds with only " + std::to_string(n) + " samples");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle) {
    Rng rng(seed);
    shuffle_vec(order, rng);
  }
  // sklearn KFold: the first n % k folds hold n / k + 1 samples, the rest n / k; each fold is a
  // contiguous run of `order`. Both index lists come back sorted, as sklearn's split() returns them.
  std::vector<int> fold_of(static_cast<size_t>(n));
  int64_t start = 0;
  for (int f = 0; f < k; ++f) {
    int64_t size = n / k + (f < n % k ? 1 : 0);
    for (int64_t i = start; i < start + size; ++i) fold_of[static_cast<size_t>(order[static_cast<size_t>(i)])] = f;
    start += size;
  }
  std::vector<Fold> folds(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i)
    for (int f = 0; f < k; ++f) (f == fold_of[static_cast<size_t>(i)] ? folds[f].second : folds[f].first).push_back(i);
  return folds;
}

std::vector<Fold> stratified_kfold(const Tensor& labels, int k, bool shuffle, uint64_t seed) {
  if (k < 2) throw_invalid("stratified_kfold: k must be at least 2, got " + std::to_string(k));
  int nc = 0;
  std::vector<int> c = class_indices(labels, "stratified_kfold", nc);
  const auto n = static_cast<int64_t>(c.size());
  if (k > n)
    throw_invalid("stratified_kfold: cannot have k=" + std::to_string(k) + " folds with only " + std::to_string(n) +
                  " samples");
  // This follows sklearn 1.2 StratifiedKFold._make_test_folds step by step, so fold sizes and the
  // per-class count of every fold equal sklearn's; without shuffle the folds are identical.
  // 1. Encode classes in order of first appearance.
  std::vector<int> code(static_cast<size_t>(nc), -1);
  int m = 0;
  for (int v : c)
    if (code[static_cast<size_t>(v)] < 0) code[static_cast<size_t>(v)] = m++;
  std::vector<int64_t> count(static_cast<size_t>(m), 0);
  for (int v : c) ++count[static_cast<size_t>(code[static_cast<size_t>(v)])];
  if (std::all_of(count.begin(), count.end(), [&](int64_t q) { return q < k; }))
    throw_invalid("stratified_kfold: k=" + std::to_string(k) + " cannot be greater than the number of members in " +
                  "each class");
  // 2. allocation[f][j] = how many of class j's positions in the sorted label order fall on
  //    fold f (sklearn: bincount(sort(y)[f::k])).
  std::vector<std::vector<int64_t>> alloc(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(m), 0));
  int64_t begin = 0;
  for (int j = 0; j < m; ++j) {
    for (int64_t p = begin; p < begin + count[static_cast<size_t>(j)]; ++p) ++alloc[static_cast<size_t>(p % k)][static_cast<size_t>(j)];
    begin += count[static_cast<size_t>(j)];
  }
  // 3. Per class, the fold labels 0..0,1..1,... (shuffled when asked) go to that class's samples in
  //    index order.
  Rng rng(seed);
  std::vector<int> test_fold(static_cast<size_t>(n));
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(m));
  for (int64_t i = 0; i < n; ++i) members[static_cast<size_t>(code[static_cast<size_t>(c[static_cast<size_t>(i)])])].push_back(i);
  for (int j = 0; j < m; ++j) {
    std::vector<int> ff;
    for (int f = 0; f < k; ++f) ff.insert(ff.end(), static_cast<size_t>(alloc[static_cast<size_t>(f)][static_cast<size_t>(j)]), f);
    if (shuffle) shuffle_vec(ff, rng);
    for (size_t r = 0; r < ff.size(); ++r) test_fold[static_cast<size_t>(members[static_cast<size_t>(j)][r])] = ff[r];
  }
  std::vector<Fold> folds(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i)
    for (int f = 0; f < k; ++f) (f == test_fold[static_cast<size_t>(i)] ? folds[static_cast<size_t>(f)].second : folds[static_cast<size_t>(f)].first).push_back(i);
  return folds;
}

}  // namespace hone
