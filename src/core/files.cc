#include "hone/files.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "hone/error.h"

namespace hone {

void write_text(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw_io(path + ": cannot write");
    f << content;
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw_io(path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw_io(path + ": cannot rename into place");
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw_io(dir + ": cannot create directory: " + ec.message());
}

}  // namespace hone
