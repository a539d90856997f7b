// load_csv: RFC 4180 CSV (header row, quoted fields with "" escapes and embedded newlines,
// LF or CRLF line ends) read into one buffer and parsed in place; numbers go through
// std::from_chars, so a 100k-row file loads in tens of milliseconds.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/parse.h"
#include "hone/dataset.h"
#include "hone/error.h"

namespace hone {
namespace {

using data_internal::parse_double;
using data_internal::quote_cell;
using data_internal::trim;
using data_internal::where;

// Auto task: a numeric target is treated as class labels only when every value is an integer
// and there are at most this many distinct values (iris/wine-like files); otherwise regression.
constexpr size_t kAutoMaxClasses = 20;

// Splits a mutable buffer into records. Quoted fields are unescaped in place (the unescaped
// text is never longer than the escaped one), so fields are views into the buffer.
class CsvReader {
 public:
  CsvReader(const std::string& path, std::string& buf, char delim) : path_(path), buf_(buf), delim_(delim) {
    // A UTF-8 byte-order mark (Excel writes one) is not part of the first column's name.
    if (buf_.size() >= 3 && buf_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
  }

  // Reads the next non-blank record into `fields`; `line` is the line it starts on.
  // Returns false at the end of the file.
  bool next(std::vector<std::string_view>& fields, int64_t& line) {
    fields.clear();
    const size_t n = buf_.size();
    // Skip blank lines (including the trailing ones editors leave at the end).
    for (;;) {
      if (pos_ >= n) return false;
      size_t e = pos_;
      while (e < n && buf_[e] != '\n') ++e;
      if (!trim(std::string_view(buf_).substr(pos_, e - pos_)).empty()) break;
      pos_ = e < n ? e + 1 : n;
      ++line_;
    }
    line = line_;
    for (;;) {  // one field per iteration
      size_t p = pos_;
      while (p < n && (buf_[p] == ' ' || (buf_[p] == '\t' && delim_ != '\t'))) ++p;
      if (p < n && buf_[p] == '"') {
        const int64_t open_line = line_;
        size_t r = p + 1, w = p + 1;
        for (;;) {
          if (r >= n)
            throw_data(where(path_, open_line) + "unterminated quoted field (a '\"' opened here is never closed)");
          char c = buf_[r];
          if (c == '"') {
            if (r + 1 < n && buf_[r + 1] == '"') {  // "" is an escaped quote
              buf_[w++] = '"';
              r += 2;
              continue;
            }
            ++r;
            break;
          }
          if (c == '\n') ++line_;
          buf_[w++] = c;
          ++r;
        }
        fields.emplace_back(buf_.data() + p + 1, w - (p + 1));
        while (r < n && (buf_[r] == ' ' || buf_[r] == '\r' || (buf_[r] == '\t' && delim_ != '\t'))) ++r;
        if (r < n && buf_[r] != delim_ && buf_[r] != '\n')
          throw_data(where(path_, line_) + "unexpected character " + quote_cell(std::string_view(&buf_[r], 1)) +
                     " after a closing quote (field " + std::to_string(fields.size()) + ")");
        pos_ = r;
      } else {
        size_t e = p;
        while (e < n && buf_[e] != delim_ && buf_[e] != '\n') ++e;
        size_t f = e;
        while (f > p && (buf_[f - 1] == '\r' || buf_[f - 1] == ' ' || (buf_[f - 1] == '\t' && delim_ != '\t'))) --f;
        fields.emplace_back(buf_.data() + p, f - p);
        pos_ = e;
      }
      if (pos_ >= n) return true;
      if (buf_[pos_] == '\n') {
        ++pos_;
        ++line_;
        return true;
      }
      ++pos_;  // the delimiter; another field follows (possibly empty)
    }
  }

 private:
  const std::string& path_;
  std::string& buf_;
  char delim_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += names[i];
  }
  return s;
}

void check_options(const std::string& path, const CsvOptions& opts) {
  if (opts.target.empty()) throw_invalid("load_csv(" + path + "): the target column name is required");
  if (opts.task != "auto" && opts.task != "classification" && opts.task != "regression")
    throw_invalid("load_csv(" + path + "): task must be \"auto\", \"classification\" or \"regression\", got \"" +
                  opts.task + "\"");
  if (opts.delimiter == '"' || opts.delimiter == '\n' || opts.delimiter == '\r')
    throw_invalid("load_csv(" + path + "): invalid delimiter");
}

// The header: every column's name, the target's index and the feature columns.
struct Columns {
  std::vector<std::string> names;
  size_t target = 0;
  std::vector<size_t> features;
};

Columns read_header(CsvReader& reader, const std::string& path, const CsvOptions& opts) {
  std::vector<std::string_view> fields;
  int64_t header_line = 0;
  if (!reader.next(fields, header_line))
    throw_data(path + ": empty file (expected a header row with column names)");
  Columns cols;
  std::vector<std::string>& names = cols.names;
  names.reserve(fields.size());
  for (auto f : fields) names.emplace_back(trim(f));
  const size_t ncols = names.size();
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < ncols; ++i) {
    auto [it, fresh] = seen.emplace(names[i], i);
    if (!fresh)
      throw_data(where(path, header_line) + "duplicate column name \"" + names[i] + "\" (columns " +
                 std::to_string(it->second + 1) + " and " + std::to_string(i + 1) + ")");
  }
  auto find_col = [&](const std::string& name, const char* what) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      throw_data(where(path, header_line) + "no column \"" + name + "\"" + what + " (columns: " + join_names(names) + ")");
    return static_cast<size_t>(it - names.begin());
  };
  cols.target = find_col(opts.target, "");
  std::vector<char> is_feature(ncols, 1);
  is_feature[cols.target] = 0;
  for (const auto& d : opts.drop) {
    size_t c = find_col(d, " to drop");
    if (c == cols.target) throw_invalid("load_csv(" + path + "): cannot drop the target column \"" + d + "\"");
    is_feature[c] = 0;
  }
  for (size_t c = 0; c < ncols; ++c)
    if (is_feature[c]) cols.features.push_back(c);
  if (cols.features.empty())
    throw_data(where(path, header_line) + "no feature columns besides the target \"" + opts.target + "\"");
  return cols;
}

// The data rows: features parsed (row-major), target cells kept as text until the task is known.
struct Rows {
  std::vector<float> xs;
  std::vector<std::string> ttext;  // target cells as written (trimmed, unescaped)
  std::vector<int64_t> tline;      // the line of each row, for errors found after the scan
  int64_t size() const { return static_cast<int64_t>(ttext.size()); }
};

Rows read_rows(CsvReader& reader, const std::string& path, const Columns& cols, const std::string& target,
               size_t bytes) {
  const std::vector<std::string>& names = cols.names;
  const size_t ncols = names.size(), nf = cols.features.size();
  Rows rows;
  rows.xs.reserve(bytes / 4);
  std::vector<std::string_view> fields;
  int64_t line = 0;
  while (reader.next(fields, line)) {
    if (fields.size() != ncols)
      throw_data(where(path, line) + "expected " + std::to_string(ncols) + " fields (as in the header), got " +
                 std::to_string(fields.size()));
    for (size_t j = 0; j < nf; ++j) {
      const size_t c = cols.features[j];
      std::string_view cell = fields[c];
      double v;
      if (!parse_double(cell, v)) {
        const std::string col = "column \"" + names[c] + "\": ";
        if (trim(cell).empty()) throw_data(where(path, line) + col + "empty cell (missing values are not supported)");
        throw_data(where(path, line) + col + "not a number: " + quote_cell(cell));
      }
      if (std::isnan(v))
        throw_data(where(path, line) + "column \"" + names[c] + "\": NaN (missing values are not supported)");
      if (!std::isfinite(v) || std::fabs(v) > FLT_MAX)
        throw_data(where(path, line) + "column \"" + names[c] + "\": value " + quote_cell(cell) +
                   " is infinite or outside the float range");
      rows.xs.push_back(static_cast<float>(v));
    }
    std::string_view t = trim(fields[cols.target]);
    if (t.empty())
      throw_data(where(path, line) + "column \"" + target + "\": empty target cell (missing values are not supported)");
    rows.ttext.emplace_back(t);
    rows.tline.push_back(line);
  }
  if (rows.size() == 0) throw_data(path + ": no data rows after the header");
  return rows;
}

// What the target column holds: its values where numeric, and whether all are numbers/integers.
struct TargetScan {
  std::vector<double> values;
  bool numeric = true, integral = true;
  int64_t first_text_row = -1;
};

TargetScan scan_target(const Rows& rows, const std::string& path, const std::string& target) {
  const int64_t n = rows.size();
  TargetScan ts;
  ts.values.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto si = static_cast<size_t>(i);
    double v;
    if (!parse_double(rows.ttext[si], v)) {
      ts.numeric = false;
      if (ts.first_text_row < 0) ts.first_text_row = i;
      continue;
    }
    if (!std::isfinite(v))
      throw_data(where(path, rows.tline[si]) + "column \"" + target + "\": target " +
                 quote_cell(rows.ttext[si]) + " is NaN or infinite");
    ts.values[si] = v;
    if (v != std::floor(v)) ts.integral = false;
  }
  return ts;
}

// Labels numbered by a given class list (a test file takes its training file's numbering).
void label_by_given_classes(Dataset& ds, const Rows& rows, const std::string& path, const CsvOptions& opts) {
  if (opts.task == "regression")
    throw_invalid("load_csv(" + path + "): a class list was given with task \"regression\"");
  std::map<std::string, int> by_text;
  std::map<double, int> by_value;
  std::string known;
  for (size_t k = 0; k < opts.classes.size(); ++k) {
    by_text.emplace(opts.classes[k], static_cast<int>(k));
    double v;
    if (parse_double(opts.classes[k], v)) by_value.emplace(v, static_cast<int>(k));
    if (k < 20) known += (k ? ", " : "") + opts.classes[k];
  }
  if (opts.classes.size() > 20) known += ", ...";
  const int64_t n = rows.size();
  ds.y = Tensor(Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    const auto si = static_cast<size_t>(i);
    auto t = by_text.find(rows.ttext[si]);
    int k = -1;
    if (t != by_text.end()) {
      k = t->second;
    } else if (double v; parse_double(rows.ttext[si], v)) {
      auto b = by_value.find(v);
      if (b != by_value.end()) k = b->second;
    }
    if (k < 0)
      throw_data(where(path, rows.tline[si]) + "column \"" + opts.target + "\": label " + quote_cell(rows.ttext[si]) +
                 " is not one of the given classes (" + known + ")");
    ds.y[i] = static_cast<float>(k);
  }
  ds.class_names = opts.classes;
  ds.num_classes = static_cast<int>(opts.classes.size());
}

// Classification or regression, from opts.task and, for "auto", the target's values.
bool is_classification(const TargetScan& ts, const Rows& rows, const std::string& path, const CsvOptions& opts) {
  if (opts.task == "regression") {
    if (!ts.numeric) {
      const auto r = static_cast<size_t>(ts.first_text_row);
      throw_data(where(path, rows.tline[r]) + "column \"" + opts.target + "\": target " + quote_cell(rows.ttext[r]) +
                 " is not a number (task \"regression\")");
    }
    return false;
  }
  if (opts.task == "classification" || !ts.numeric) return true;
  if (!ts.integral) return false;  // auto, numeric target
  std::vector<double> u(ts.values);
  std::sort(u.begin(), u.end());
  return static_cast<size_t>(std::unique(u.begin(), u.end()) - u.begin()) <= kAutoMaxClasses;
}

// Class indices in sorted order of the distinct labels: by value for numeric labels (so 2 < 10),
// by text (bytewise, as numpy.unique sorts strings) otherwise.
void label_by_sorted_classes(Dataset& ds, const Rows& rows, const TargetScan& ts) {
  const int64_t n = rows.size();
  ds.y = Tensor(Shape{n});
  if (ts.numeric) {
    std::map<double, std::string> classes;  // value -> text of its first occurrence
    for (int64_t i = 0; i < n; ++i)
      classes.emplace(ts.values[static_cast<size_t>(i)], rows.ttext[static_cast<size_t>(i)]);
    std::map<double, int> index;
    for (auto& [v, text] : classes) {
      index[v] = static_cast<int>(ds.class_names.size());
      ds.class_names.push_back(text);
    }
    for (int64_t i = 0; i < n; ++i) ds.y[i] = static_cast<float>(index[ts.values[static_cast<size_t>(i)]]);
  } else {
    std::map<std::string, int> index;
    for (const auto& t : rows.ttext) index.emplace(t, 0);
    for (auto& [text, k] : index) {
      k = static_cast<int>(ds.class_names.size());
      ds.class_names.push_back(text);
    }
    for (int64_t i = 0; i < n; ++i) ds.y[i] = static_cast<float>(index[rows.ttext[static_cast<size_t>(i)]]);
  }
  ds.num_classes = static_cast<int>(ds.class_names.size());
}

}  // namespace

Dataset load_csv(const std::string& path, const CsvOptions& opts) {
  check_options(path, opts);
  std::string buf = data_internal::read_file(path);
  CsvReader reader(path, buf, opts.delimiter);
  const Columns cols = read_header(reader, path, opts);
  const Rows rows = read_rows(reader, path, cols, opts.target, buf.size());
  const TargetScan target = scan_target(rows, path, opts.target);

  Dataset ds;
  for (size_t c : cols.features) ds.feature_names.push_back(cols.names[c]);
  const int64_t n = rows.size();
  ds.x = Tensor(Shape{n, static_cast<int64_t>(cols.features.size())});
  std::copy(rows.xs.begin(), rows.xs.end(), ds.x.data());
  if (!opts.classes.empty()) {
    label_by_given_classes(ds, rows, path, opts);
  } else if (is_classification(target, rows, path, opts)) {
    label_by_sorted_classes(ds, rows, target);
  } else {
    ds.y = Tensor(Shape{n, 1});
    for (int64_t i = 0; i < n; ++i) ds.y[i] = static_cast<float>(target.values[static_cast<size_t>(i)]);
  }
  return ds;
}

}  // namespace hone
