// load_libsvm: "label idx:val idx:val ... # comment" lines with 1-based, increasing indices
// (SVMlight/LibSVM, as sklearn.datasets.load_svmlight_file reads them). "qid:n" tokens are skipped.
// The data are densified: hone's engine works on dense (N, F) tensors.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "data/parse.h"
#include "hone/dataset.h"
#include "hone/error.h"

namespace hone {
namespace {

using data_internal::parse_double;
using data_internal::quote_cell;
using data_internal::where;

constexpr int64_t kMaxDenseElements = int64_t{1} << 31;  // 8 GiB of floats

struct Entry {
  int64_t row, col;
  float val;
};

// The shortest text that reads back as v ("1", "-1", "0.5").
std::string number_name(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

Dataset load_libsvm(const std::string& path, int64_t n_features, const std::string& task) {
  if (n_features < 0) throw_invalid("load_libsvm(" + path + "): n_features must be >= 0 (0 infers it)");
  if (task != "auto" && task != "classification" && task != "regression")
    throw_invalid("load_libsvm(" + path + "): task must be \"auto\", \"classification\" or \"regression\", got \"" +
                  task + "\"");
  const std::string buf = data_internal::read_file(path);
  const std::string_view all(buf);

  std::vector<double> labels;
  std::vector<Entry> entries;
  int64_t max_col = 0;
  size_t pos = 0;
  int64_t line = 0;
  while (pos < all.size()) {
    ++line;
    size_t eol = all.find('\n', pos);
    if (eol == std::string_view::npos) eol = all.size();
    std::string_view s = all.substr(pos, eol - pos);
    pos = eol + 1;
    if (size_t hash = s.find('#'); hash != std::string_view::npos) s = s.substr(0, hash);

    size_t i = 0;
    auto next_token = [&]() -> std::string_view {
      while (i < s.size() && data_internal::is_space(s[i])) ++i;
      size_t b = i;
      while (i < s.size() && !data_internal::is_space(s[i])) ++i;
      return s.substr(b, i - b);
    };
    std::string_view tok = next_token();
    if (tok.empty()) continue;  // blank or comment-only line
    if (tok.find(',') != std::string_view::npos)
      throw_data(where(path, line) + "multi-label rows (" + quote_cell(tok) + ") are not supported");
    double label;
    if (!parse_double(tok, label)) throw_data(where(path, line) + "label is not a number: " + quote_cell(tok));
    if (!std::isfinite(label)) throw_data(where(path, line) + "label " + quote_cell(tok) + " is NaN or infinite");
    const int64_t row = static_cast<int64_t>(labels.size());
    labels.push_back(label);

    int64_t prev = 0;
    for (tok = next_token(); !tok.empty(); tok = next_token()) {
      size_t colon = tok.find(':');
      if (colon == std::string_view::npos)
        throw_data(where(path, line) + "expected index:value, got " + quote_cell(tok));
      std::string_view key = tok.substr(0, colon), sval = tok.substr(colon + 1);
      if (key == "qid") continue;
      int64_t col = 0;
      auto r = std::from_chars(key.data(), key.data() + key.size(), col);
      if (r.ec != std::errc() || r.ptr != key.data() + key.size())
        throw_data(where(path, line) + "feature index is not an integer: " + quote_cell(tok));
      if (col < 1) throw_data(where(path, line) + "feature index " + std::to_string(col) + " (indices are 1-based)");
      if (col <= prev)
        throw_data(where(path, line) + "feature indices must be increasing (" + std::to_string(col) + " after " +
                   std::to_string(prev) + ")");
      if (n_features > 0 && col > n_features)
        throw_data(where(path, line) + "feature index " + std::to_string(col) + " exceeds n_features=" +
                   std::to_string(n_features));
      prev = col;
      double v;
      if (!parse_double(sval, v)) throw_data(where(path, line) + "feature value is not a number: " + quote_cell(tok));
      if (!std::isfinite(v) || std::fabs(v) > 3.4e38)
        throw_data(where(path, line) + "feature value " + quote_cell(tok) + " is NaN, infinite or outside the float range");
      max_col = std::max(max_col, col);
      entries.push_back({row, col - 1, static_cast<float>(v)});
    }
  }
  const int64_t n = static_cast<int64_t>(labels.size());
  if (n == 0) throw_data(path + ": no data rows");
  const int64_t nf = n_features > 0 ? n_features : max_col;
  if (nf == 0) throw_data(path + ": no features (every row holds only a label)");
  if (n > kMaxDenseElements / nf)
    throw_data(path + ": " + std::to_string(n) + " x " + std::to_string(nf) + " is too large to hold densely");

  Dataset ds;
  ds.x = Tensor(Shape{n, nf});  // zero-filled: absent entries are 0
  for (const Entry& e : entries) ds.x[e.row * nf + e.col] = e.val;
  for (int64_t j = 0; j < nf; ++j) ds.feature_names.push_back(std::to_string(j + 1));

  bool integral = std::all_of(labels.begin(), labels.end(), [](double v) { return v == std::floor(v); });
  bool classify = task == "classification" || (task == "auto" && integral);
  if (!classify) {
    ds.y = Tensor(Shape{n, 1});
    for (int64_t i = 0; i < n; ++i) ds.y[i] = static_cast<float>(labels[static_cast<size_t>(i)]);
    return ds;
  }
  std::map<double, int> index;
  for (double v : labels) index.emplace(v, 0);
  for (auto& [v, k] : index) {
    k = static_cast<int>(ds.class_names.size());
    ds.class_names.push_back(number_name(v));
  }
  ds.num_classes = static_cast<int>(ds.class_names.size());
  ds.y = Tensor(Shape{n});
  for (int64_t i = 0; i < n; ++i) ds.y[i] = static_cast<float>(index[labels[static_cast<size_t>(i)]]);
  return ds;
}

}  // namespace hone
