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

// CSV with a header row. `target` names the target column; every other column (less `drop`) is
// a numeric feature, in file order (feature_names). A numeric target with task "regression" gives
// (N,1) targets; a target with task "classification" (or any non-numeric target) is mapped to
// class indices in sorted order of its distinct values — by value for numbers (2 < 10), bytewise
// for text — and class_names holds each class's text as first written (the one-hot encoding is
// applied by the loss / one_hot()). Task "auto": non-numeric target -> classification; a numeric
// target whose values are all integers with at most 20 distinct values -> classification;
// otherwise regression.
// Format: RFC 4180 basics — quoted fields with "" escapes, delimiters and newlines inside quotes,
// LF or CRLF line ends, a UTF-8 BOM, blank lines (skipped), blanks around unquoted cells (trimmed).
// Errors: malformed rows (field count differs from the header), non-numeric, empty, NaN, infinite
// or float-overflowing cells, an unterminated quote, duplicate column names, a missing target or
// drop column ("path:1: no column "y" (columns: a, b, c)"), an empty file or a file without data
// rows throw Error(kDataError) as "path:line: column "name": what". A file that cannot be opened
// is kIoError; a bad CsvOptions value (empty target, unknown task) is kInvalidArgument.
struct CsvOptions {
  std::string target;                 // required
  std::string task = "auto";          // "auto" | "classification" | "regression"
  char delimiter = ',';
  std::vector<std::string> drop;      // columns to ignore
  // When non-empty, the class list to use instead of deriving one from this file — pass the
  // training set's class_names when loading its test/validation file so that indices agree even
  // if this file lacks a class. Labels match by text, else by numeric value ("1" == "1.0"); an
  // unknown label throws Error(kDataError) with file:line. Implies classification.
  std::vector<std::string> classes;
};
Dataset load_csv(const std::string& path, const CsvOptions& opts);

// IDX files (MNIST/Fashion-MNIST), plain or .gz (detected from the content, not the name). Only
// unsigned-byte IDX files (magic 0x000008xx) are read. Images (3-d IDX) become (N, 1, H, W) float32
// scaled by 1/255 when `scale` is true (a 2-d IDX file gives (N, F)); labels (1-d IDX) become class
// indices (num_classes = max label + 1, at least 10 for the u8 label files of MNIST-like data sets;
// class_names "0", "1", ...). A wrong magic number, a truncated or corrupt file and differing
// image/label counts throw Error(kDataError) naming the file(s).
Dataset load_idx(const std::string& images_path, const std::string& labels_path, bool scale = true);
// The images of an IDX file alone (for prediction): y is empty and num_classes 0.
Dataset load_idx_images(const std::string& images_path, bool scale = true);

// LibSVM / SVMlight: "label idx:val idx:val ..." with 1-based, strictly increasing indices
// (as sklearn's load_svmlight_file requires); '#' starts a comment; "qid:n" is skipped; absent
// entries are 0 (the result is dense (N, F)). n_features=0 infers it from the largest index.
// task "auto" treats integer labels as classes (sorted by value; class_names "-1", "1", ...) and
// real labels as regression targets (N, 1). Errors throw Error(kDataError) as "path:line: what".
Dataset load_libsvm(const std::string& path, int64_t n_features = 0, const std::string& task = "auto");

// One-hot encoding of class indices (N) or (N, 1) -> (N, k). Throws Error(kInvalidArgument) for a
// label that is not an integer in [0, k).
Tensor one_hot(const Tensor& labels, int k);

// Scalers fitted on training data only, applied per feature (column of (N, F), or every value of
// a (N, ...) tensor flattened per feature, e.g. per pixel of (N, C, H, W)). Statistics are
// accumulated in double. "standard" uses the population standard deviation (ddof = 0) as
// sklearn's StandardScaler; a constant feature (variance within rounding error of 0, sklearn's
// test) and a constant feature under "minmax" keep scale 1, so nothing is divided by zero.
// transform() throws Error(kInvalidArgument) before fit() or for a different feature count.
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
// (train, validation) with ceil(fraction * N) rows in validation, as sklearn's train_test_split;
// stratified splits give each class its share by largest remainders (sklearn's _approximate_mode)
// so the total is exact. Both parts come out in shuffled order. Deterministic in `seed`.
// Throws Error(kInvalidArgument) unless 0 < fraction < 1 and both parts are non-empty.
std::pair<Dataset, Dataset> train_val_split(const Dataset& d, double fraction, uint64_t seed,
                                            bool stratify = true);

// K-fold index splits, scikit-learn semantics: KFold(n_splits, shuffle, random_state) and
// StratifiedKFold (each fold keeps the class proportions). Returns k (train_idx, test_idx) pairs,
// both sorted ascending, the test sets partitioning 0..n-1.
// kfold: the first n % k folds hold n / k + 1 samples, the rest n / k.
// stratified_kfold follows sklearn 1.2's algorithm, so fold sizes and per-class counts equal
// sklearn's for any seed, and without shuffle the folds are identical to sklearn's (with shuffle
// the RNG differs). labels: class indices (N) or (N, 1).
// Both throw Error(kInvalidArgument) for k < 2 or k > n; stratified_kfold also when every class
// has fewer than k members (sklearn's ValueError).
using Fold = std::pair<std::vector<int64_t>, std::vector<int64_t>>;
std::vector<Fold> kfold(int64_t n, int k, bool shuffle, uint64_t seed);
std::vector<Fold> stratified_kfold(const Tensor& labels, int k, bool shuffle, uint64_t seed);

}  // namespace hone
