#include "hone/error.h"

namespace hone {

std::string one_line(const std::string& what) {
  std::string out;
  out.reserve(what.size());
  for (char c : what) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

int Error::exit_code() const {
  switch (kind_) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kDataError:
      return 2;
    case ErrorKind::kInterrupted:
      return 130;
    default:
      return 1;
  }
}

void throw_invalid(const std::string& what) { throw Error(ErrorKind::kInvalidArgument, what); }
void throw_data(const std::string& what) { throw Error(ErrorKind::kDataError, what); }
void throw_io(const std::string& what) { throw Error(ErrorKind::kIoError, what); }
void throw_runtime(const std::string& what) { throw Error(ErrorKind::kRuntime, what); }

}  // namespace hone
