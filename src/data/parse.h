// src/data/parse.h — small text helpers shared by the loaders (internal, not installed).
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include "hone/error.h"

namespace hone::data_internal {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses all of `s` (surrounding blanks allowed, a leading '+' allowed) as a double.
// Returns false when `s` is not a number. "nan"/"inf" parse (from_chars accepts them); callers
// that must reject non-finite values check std::isfinite themselves so that they can say why.
inline bool parse_double(std::string_view s, double& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, out);
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars refuses subnormal/overflowing values; strtod gives the IEEE answer (0 or inf).
    std::string tmp(s);
    char* e = nullptr;
    out = std::strtod(tmp.c_str(), &e);
    return e == tmp.c_str() + tmp.size();
  }
  return r.ec == std::errc() && r.ptr == end;
}

// A short, printable excerpt of a cell for error messages.
inline std::string quote_cell(std::string_view s) {
  std::string out = "\"";
  size_t n = std::min<size_t>(s.size(), 40);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > n) out += "...";
  return out + "\"";
}

// Reads a whole file into memory (one read: the CSV and LibSVM parsers then work on one buffer,
// which is what makes 100k-row files take milliseconds).
inline std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw_io(path + ": is a directory, not a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw_io(path + ": cannot open for reading: " + std::strerror(errno));
  f.seekg(0, std::ios::end);
  std::streamoff n = f.tellg();
  if (n < 0) throw_io(path + ": cannot determine the file size");
  f.seekg(0, std::ios::beg);
  std::string buf(static_cast<size_t>(n), '\0');
  if (n > 0 && !f.read(buf.data(), n)) throw_io(path + ": read failed");
  return buf;
}

inline std::string where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line) + ": "; }

}  // namespace hone::data_internal
