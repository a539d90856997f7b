#!/usr/bin/python3
"""Opens a page in real headless Chromium and checks it as a person would.

usage: check_page.py URL [--serve DIR] [--expect SELECTOR ...] [--screenshot out.png] [--width 1400]
                     [--height 900] [--full-page] [--timeout 30] [--ready-js EXPR]
                     [--element-shot SELECTOR out.png ...]

Loads URL (http://, file://), waits until every --expect CSS selector matches at least one element
(and, if given, until the JavaScript expression --ready-js is true), then takes a screenshot.
Exit status: 0 all good; 1 a console error, an uncaught exception, a failed load or a selector
that never matched (each printed on its own line); 3 chromium is not installed (callers skip).
Talks to Chromium over the DevTools protocol (python3-websocket, Debian's python3-websocket).
Reused by the report and the dashboard tests.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    return None


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        end = time.time() + timeout
        while time.time() < end:
            self.ws.settimeout(max(0.05, end - time.time()))
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            try:
                self.ws.settimeout(max(0.01, end - time.time()))
                msg = json.loads(self.ws.recv())
                if "method" in msg:
                    self.events.append(msg)
            except Exception:
                return

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        return r.get("result", {}).get("value")


def console_errors(events):
    errs = []
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            errs.append("uncaught: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errs.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            ent = p["entry"]
            errs.append(f"log error: {ent.get('text', '')} {ent.get('url', '')}")
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--full-page", action="store_true")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--ready-js")
    ap.add_argument("--serve", metavar="DIR",
                    help="serve DIR over http://127.0.0.1:<free port>/ and open URL relative to it")
    ap.add_argument("--print-js", help="print the value of this JavaScript expression once ready")
    ap.add_argument("--element-shot", nargs=2, action="append", default=[], metavar=("SELECTOR", "PNG"),
                    help="also a screenshot of just this element (e.g. one plot's section)")
    a = ap.parse_args()

    if a.serve:
        import functools
        import http.server
        import threading

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=a.serve))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        a.url = f"http://127.0.0.1:{server.server_address[1]}/{a.url.lstrip('/')}"
    chromium = find_chromium()
    if not chromium:
        print("check_page: chromium is not installed", file=sys.stderr)
        return 3
    import websocket  # python3-websocket

    profile = tempfile.mkdtemp(prefix="hone-chromium-")
    proc = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                             "--remote-debugging-port=0", f"--user-data-dir={profile}",
                             f"--window-size={a.width},{a.height}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        end = time.time() + 20
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > end or proc.poll() is not None:
                print("check_page: chromium did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page_t = next(t for t in targets if t.get("type") == "page")
        ws = websocket.create_connection(page_t["webSocketDebuggerUrl"], timeout=10,
                                         suppress_origin=True)
        page = Page(ws)
        for dom in ("Runtime", "Log", "Page"):
            page.call(f"{dom}.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": a.width, "height": a.height, "deviceScaleFactor": 1, "mobile": False})
        t0 = time.time()
        nav = page.call("Page.navigate", {"url": a.url})
        if nav.get("errorText"):
            print(f"check_page: cannot load {a.url}: {nav['errorText']}")
            return 1
        missing = list(a.expect)
        ready = not a.ready_js
        end = t0 + a.timeout
        while time.time() < end and (missing or not ready):
            page.pump(0.1)
            missing = [s for s in missing if not page.eval(f"document.querySelectorAll({json.dumps(s)}).length > 0")]
            if not ready:
                ready = bool(page.eval(a.ready_js))
        load_s = time.time() - t0
        page.pump(0.3)  # late errors
        errors = console_errors(page.events)
        if a.screenshot:
            params = {"format": "png"}
            if a.full_page:
                h = page.eval("Math.ceil(document.documentElement.scrollHeight)") or a.height
                page.call("Emulation.setDeviceMetricsOverride",
                          {"width": a.width, "height": int(h), "deviceScaleFactor": 1, "mobile": False})
                page.pump(0.5)
                params["captureBeyondViewport"] = True
            shot = page.call("Page.captureScreenshot", params, timeout=60)
            os.makedirs(os.path.dirname(os.path.abspath(a.screenshot)), exist_ok=True)
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        for sel, path in a.element_shot:
            box = page.eval(f"(() => {{ const e = document.querySelector({json.dumps(sel)}); if (!e) return null; "
                            "const r = e.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()")
            if not box:
                print(f"check_page: no element {sel} to screenshot")
                continue
            shot = page.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                             "clip": {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": 1}}, timeout=60)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        print(f"check_page: rendered in {load_s:.2f} s")
        if a.print_js:
            print("check_page: " + json.dumps(page.eval(a.print_js)))
        bad = False
        for e in errors:
            print(f"check_page: {e}")
            bad = True
        for s in missing:
            print(f"check_page: never matched: {s}")
            bad = True
        if not ready:
            print(f"check_page: never true: {a.ready_js}")
            bad = True
        ws.close()
        return 1 if bad else 0
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
