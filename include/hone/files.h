// hone/files.h — writing the files a run leaves behind (configs, tables, summaries).
#pragma once

#include <string>

namespace hone {

// Writes `content` to `path` atomically (a temporary file beside it, then rename), so a reader
// never sees half a file and a failed write leaves the old one. Throws Error(kIoError) naming
// the path.
void write_text(const std::string& path, const std::string& content);
// Creates `dir` and its parents (nothing if it exists). Throws Error(kIoError) naming it.
void make_dirs(const std::string& dir);

}  // namespace hone
