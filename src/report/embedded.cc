// The page's script (src/report/page.js) and plotly.js (gzip-compressed at build time from
// Debian's python3-plotly, MIT licence, see THIRD_PARTY.md) linked into the binary, so a report
// needs no file next to the program and no network.
#include "report/embedded.h"

#define HONE_STR2(x) #x
#define HONE_STR(x) HONE_STR2(x)

#define HONE_INCBIN(sym, file)                                          \
  __asm__(".section .rodata\n.balign 16\n.global " #sym "_begin\n" #sym \
          "_begin:\n.incbin \"" file "\"\n.global " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n")

HONE_INCBIN(hone_report_plotly_gz, HONE_STR(HONE_PLOTLY_GZ));
HONE_INCBIN(hone_report_page_js, HONE_STR(HONE_PAGE_JS));

extern "C" const char hone_report_plotly_gz_begin[], hone_report_plotly_gz_end[];
extern "C" const char hone_report_page_js_begin[], hone_report_page_js_end[];

namespace hone::report {

// Keeps ccache honest: the embedded files' checksums are part of this file's compilation.
[[maybe_unused]] const char* const kEmbedMd5 = HONE_STR(HONE_EMBED_MD5);

std::string_view plotly_gz() {
  return {hone_report_plotly_gz_begin, static_cast<size_t>(hone_report_plotly_gz_end - hone_report_plotly_gz_begin)};
}
std::string_view page_js() {
  return {hone_report_page_js_begin, static_cast<size_t>(hone_report_page_js_end - hone_report_page_js_begin)};
}

}  // namespace hone::report
