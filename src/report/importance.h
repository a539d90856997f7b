// report/importance.h — which parameters mattered: fANOVA (a random forest's variance
// decomposition, Hutter et al. 2014, as Optuna's default evaluator), PED-ANOVA (Watanabe et al.
// 2023) and Spearman correlation. Inputs are parameters scaled to [0, 1] (log-scaled for log
// domains; categoricals as index/(n-1) with their choice count, see Column) and one value per row.
#pragma once

#include <cstdint>
#include <vector>

namespace hone::report {

// One parameter's column: x[i] in [0, 1]; `levels` > 0 for a categorical of that many choices
// (then x = index / (levels - 1), and the forest's uniform measure weights each choice equally).
struct Column {
  std::vector<double> x;
  int levels = 0;
};

// A regression forest (bootstrap, all features tried at each split, MSE criterion) as sklearn's
// RandomForestRegressor that Optuna's fANOVA uses.
class Forest {
 public:
  struct Node {
    int feature = -1;  // -1: a leaf
    double threshold = 0, value = 0;
    int left = -1, right = -1;
  };
  void fit(const std::vector<Column>& cols, const std::vector<double>& y, int n_trees, int max_depth,
           uint64_t seed);
  double predict(const std::vector<double>& x) const;
  // Per parameter, the share of the prediction's variance explained by that parameter alone
  // (averaged over trees; fANOVA's individual importance). Each in [0, 1].
  std::vector<double> fanova() const;
  bool empty() const { return trees_.empty(); }

 private:
  std::vector<std::vector<Node>> trees_;
  std::vector<int> levels_;
};

// PED-ANOVA: for each parameter, the Pearson divergence between the 1-D Parzen density of the
// top `gamma` fraction of rows (by value, smaller is better) and that of all rows. Unnormalised.
std::vector<double> ped_anova(const std::vector<Column>& cols, const std::vector<double>& y, double gamma = 0.1);

// Spearman rank correlation of each column with y (NaN when a column or y is constant).
std::vector<double> spearman(const std::vector<Column>& cols, const std::vector<double>& y);

// Scales to sum 1 (all zero -> all zero).
std::vector<double> normalized(std::vector<double> v);

}  // namespace hone::report
