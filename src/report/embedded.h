// report/embedded.h — files linked into the binary (embedded.cc).
#pragma once

#include <string_view>

namespace hone::report {

std::string_view plotly_gz();  // plotly.js, gzip-compressed
std::string_view page_js();    // src/report/page.js

}  // namespace hone::report
