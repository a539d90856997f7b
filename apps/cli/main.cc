// The `hone` command: a thin main(); the logic lives in apps/cli/*.cc.
#include "cli/app.h"

int main(int argc, char** argv) { return hone::cli::run(argc, argv); }
