#include "hone/error.h"

namespace hone {

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
