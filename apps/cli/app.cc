#include "cli/app.h"

#include <cstdio>

namespace hone::cli {
int run(int argc, char** argv) {
  std::puts("hone " HONE_VERSION);
  return 0;
}
}  // namespace hone::cli
