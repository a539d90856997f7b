#!/usr/bin/env bash
# Opens `hone profile --trace` output in a real trace viewer, in headless Chromium, as a person
# would: speedscope 1.25.0 (an independent importer of Chrome's trace-event JSON, from the npm
# registry), with a screenshot to look at. Perfetto's UI is neither in Debian nor on npm, so it
# cannot be opened offline here; speedscope pairs begin/end events strictly, which is what broke
# on rounded decimal timestamps before the trace used binary-fraction microseconds.
#   bash bench/trace_viewer.sh [build/release/hone] [out.png]
set -euo pipefail
cd "$(dirname "$0")/.."
hone=${1:-build/release/hone}
shot=${2:-docs/img/trace_speedscope.png}
work=${HONE_TRACE_VIEWER_DIR:-/tmp/hone-trace-viewer}
mkdir -p "$work"
if [[ ! -f "$work/node_modules/speedscope/dist/release/index.html" ]]; then
  (cd "$work" && npm install --silent --no-audit --no-fund speedscope@1.25.0 >/dev/null)
fi
"$hone" profile examples/mlp.toml --set data.limit=2000 --trace "$work/trace.json" >/dev/null
/usr/bin/python3 - "$work" <<'PY'
import base64, json, sys
work = sys.argv[1]
data = open(f"{work}/trace.json", "rb").read()
open(f"{work}/load.js", "w").write(
    "speedscope.loadFileFromBase64(%s, %s)" % (json.dumps("trace.json"), json.dumps(base64.b64encode(data).decode())))
PY
/usr/bin/python3 tests/browser/check_page.py \
  "file://$work/node_modules/speedscope/dist/release/index.html#localProfilePath=$work/load.js" \
  --ready-js "document.title.indexOf('trace.json') >= 0" --screenshot "$shot" --height 300 --timeout 60
echo "trace_viewer: speedscope opened $(stat -c %s "$work/trace.json") bytes of trace without an error; screenshot: $shot"
