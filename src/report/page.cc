// study_html: one self-contained page. plotly.js and the data travel gzip-compressed and base64
// encoded inside <script> elements; the page inflates them with the browser's DecompressionStream,
// so a 10,000-trial report stays a few MB and opens with no network.
#include <zlib.h>

#include <string>

#include "hone/error.h"
#include "report/data.h"
#include "report/embedded.h"

namespace hone::report {

namespace {

std::string gzip(std::string_view in, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw_runtime("report: zlib init failed");
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw_runtime("report: zlib deflate failed");
  return out;
}

void base64(std::string_view in, std::string& out) {
  static const char* T = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve(out.size() + (in.size() + 2) / 3 * 4 + 1);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += T[v >> 18], out += T[(v >> 12) & 63], out += T[(v >> 6) & 63], out += T[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = p[i] << 16;
    out += T[v >> 18], out += T[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (p[i] << 16) | (p[i + 1] << 8);
    out += T[v >> 18], out += T[(v >> 12) & 63], out += T[(v >> 6) & 63], out += '=';
  }
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// JSON inside a <script>: "</" would end the element.
std::string script_safe(std::string s) {
  for (size_t i = 0; (i = s.find("</", i)) != std::string::npos; i += 3) s.replace(i, 2, "<\\/");
  return s;
}

const char* kStyle = R"CSS(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#fafafa;color:#222}
header{background:#1f3b57;color:#fff;padding:14px 24px}
header h1{margin:0 0 6px 0;font-size:22px}
header table th{text-align:left;padding-right:14px;font-weight:600;color:#cfe0ef}
#status{font-size:12px;color:#cfe0ef}
main{padding:8px 24px 40px 24px;max-width:1400px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:16px 0;padding:8px 16px}
section h2{font-size:17px;margin:6px 0}
.note{font-size:13px;color:#555;margin:2px 0 6px 0}
.table table{border-collapse:collapse;font-size:13px;margin:8px 0}
.table td,.table th{border:1px solid #ddd;padding:3px 8px;text-align:left}
footer{font-size:12px;color:#777;padding:0 24px 24px 24px}
)CSS";

}  // namespace

std::string study_html(const json& data_in, const PageOptions& opts) {
  json data = data_in;
  if (!data.contains("views")) data["views"] = compute_views(data);
  const std::string name = data.value("study_name", std::string("study"));
  const std::string title = opts.title.empty() ? "hone report: " + name : opts.title;
  json cfg = {{"live", opts.live}, {"url", opts.data_url}, {"refresh", opts.refresh_s}};
  if (opts.live && opts.data_url.empty()) throw_invalid("report: a live page needs a data URL");

  std::string out;
  const auto plotly = plotly_gz();
  out.reserve(plotly.size() * 4 / 3 + 65536);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n<title>" + html_escape(title) + "</title>\n";
  out += "<style>";
  out += kStyle;
  out += "</style></head>\n<body>\n<header><h1>" + html_escape(title) + "</h1><div id=\"summary\"></div><div id=\"status\">";
  out += opts.live ? "live" : "";
  out += "</div></header>\n<main id=\"views\"></main>\n";
  out += "<footer>Made by hone " HONE_VERSION ". Charts: plotly.js (MIT licence), embedded.</footer>\n";
  out += "<script id=\"hone-data\" type=\"application/octet-stream\">";
  base64(gzip(data.dump(-1, ' ', false, json::error_handler_t::replace), 6), out);
  out += "</script>\n<script id=\"hone-plotly\" type=\"application/octet-stream\">";
  base64(plotly, out);
  out += "</script>\n<script>window.HONE_CONFIG = " + script_safe(cfg.dump()) + ";</script>\n<script>\n";
  out += page_js();
  out += "\n</script>\n</body></html>\n";
  return out;
}

}  // namespace hone::report
