// hone/dataset.h — in-memory data sets, loaders, scaling and splits.
//
// A Dataset is loaded once and then shared read-only (e.g. by every trial of a study).
// Features are float32 (N, F) or images (N, C, H, W). Targets: class indices stored as floats,
// shape (N), when num_classes > 0 (classification); otherwise (N, K) real targets (regression).
// Every loader error names the file and, where there is one, the line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hone/random.h"
#include "hone/tensor.h"

namespace hone {

struct Dataset {
  Tensor x;
  Tensor y;
  int num_classes = 0;                    // 0 = regression
  std::vector<std::string> class_names;   // index -> original label text (classification)
  std::vector<std::string> feature_names;

  int64_t size() const { return x.ndim() ? x.dim(0) : 0; }
  bool is_classification() const { return num_classes > 0; }
  // Rows idx[0], idx[1], ... as a new data set (metadata copied).
  Dataset subset(const std::vector<int64_t>& idx) const;
};

// CSV with a header row. `target` names the target column. A numeric target with task
// "regression" gives (N,1) targets; a target with task "classification" (or any non-numeric
// target) is mapped to class indices in sorted order of its distinct values (the one-hot
// encoding is applied by the loss / one_hot()). Malformed rows, non-numeric feature cells, NaN
// cells and a missing target column throw Error(kDataError) with file:line.
struct CsvOptions {
  std::string target;                 // required
  std::string task = "auto";          // "auto" | "classification" | "regression"
  char delimiter = ',';
  std::vector<std::string> drop;      // columns to ignore
};
Dataset load_csv(const std::string& path, const CsvOptions& opts);

// IDX files (MNIST/Fashion-MNIST), plain or .gz. Images become (N, 1, H, W) float32 scaled by
// 1/255 when `scale` is true; labels become class indices (num_classes = max label + 1, at least 10
// for the u8 label files of MNIST-like data sets).
Dataset load_idx(const std::string& images_path, const std::string& labels_path, bool scale = true);

// LibSVM / SVMlight: "label idx:val idx:val ..." with 1-based indices. n_features=0 infers it.
// task "auto" treats integer labels as classes.
Dataset load_libsvm(const std::string& path, int64_t n_features = 0, const std::string& task = "auto");

// One-hot encoding of class indices (N) -> (N, k).
Tensor one_hot(const Tensor& labels, int k);

// Scalers fitted on training data only, applied per feature (column of (N, F), or every value of
// a (N, ...) tensor flattened per feature).
class Scaler {
 public:
  // kind: "standard" (zero mean, unit variance) or "minmax" (to [0,1]).
  explicit Scaler(std::string kind = "standard");
  void fit(const Tensor& x);
  void transform(Tensor& x) const;  // in place
  const std::string& kind() const { return kind_; }
  const std::vector<float>& a() const { return a_; }  // shift
  const std::vector<float>& b() const { return b_; }  // scale: x' = (x - a) * b
  void set(std::vector<float> a, std::vector<float> b) { a_ = std::move(a); b_ = std::move(b); }

 private:
  std::string kind_;
  std::vector<float> a_, b_;
};

// Shuffled (stratified when the data are classification and stratify is true) split into
// (train, validation) with `fraction` of the rows in validation.
std::pair<Dataset, Dataset> train_val_split(const Dataset& d, double fraction, uint64_t seed,
                                            bool stratify = true);

// K-fold index splits, scikit-learn semantics: KFold(n_splits, shuffle, random_state) and
// StratifiedKFold (each fold keeps the class proportions). Returns (train_idx, test_idx) pairs.
using Fold = std::pair<std::vector<int64_t>, std::vector<int64_t>>;
std::vector<Fold> kfold(int64_t n, int k, bool shuffle, uint64_t seed);
std::vector<Fold> stratified_kfold(const Tensor& labels, int k, bool shuffle, uint64_t seed);

}  // namespace hone
