#pragma once
namespace hone::cli {
// Parses argv, runs the subcommand, maps errors to exit codes (0 ok, 1 runtime, 2 bad input).
int run(int argc, char** argv);
}
