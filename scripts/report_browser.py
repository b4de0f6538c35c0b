#!/usr/bin/env python3
"""Opens `isotp check --html` reports in headless Chromium and judges what it rendered.

    report_browser.py ISOTP FAULTY.log CLEAN.log LARGE.log WORKDIR

For the faulty recording: `isotp check --uds --json` must find exactly one STmin violation and one
P2 violation; the report must load without a console message of level error or warning, its
screenshot must not be blank (light and dark themes, which must differ), and after load the DOM
must hold a timeline mark, a findings row and a transfer row for the STmin violation's frame, and a
timeline mark, a findings row and a late exchange bar for the P2 violation's frame. For the clean
twin: no finding, no mark. LARGE.log is the faulty session grown past what the report keeps frame
by frame: both findings listed, the overview drawn, and a link to the P2 violation's frame
(report.html#frame=N) opens on its mark with the frames around it. A probe page first proves that console errors do reach the log, so the
test cannot pass blind.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1300,1800"]


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def chromium(page, *extra, fragment=""):
    """Runs Chromium on `page` (#`fragment`); returns (stdout, stderr)."""
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra,
                              "file://" + os.path.abspath(page) + fragment],
                             capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        fail(f"chromium exited with {out.returncode}: {out.stderr[-2000:]}")
    return out.stdout, out.stderr


def console_problems(stderr):
    """Console messages: Chromium logs each as a CONSOLE line, without its level. The report writes
    none, so any is a problem (an uncaught exception, a refused resource, a script error)."""
    return [l for l in stderr.splitlines() if ":CONSOLE" in l]


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA PNG into rows of (r, g, b) tuples."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = (int.from_bytes(body[0:4], "big"),
                                           int.from_bytes(body[4:8], "big"), body[8], body[9])
            if depth != 8 or color not in (2, 6) or body[12] != 0:
                fail(f"unexpected PNG layout in {path}: depth {depth}, color type {color}")
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        prev = line
    return rows


def judge_screenshot(path):
    """Returns the background colour; fails when the picture is (nearly) one colour."""
    rows = png_pixels(path)
    colours = {}
    for row in rows[::4]:
        for px in row[::4]:
            colours[px] = colours.get(px, 0) + 1
    background, most = max(colours.items(), key=lambda kv: kv[1])
    drawn = sum(colours.values()) - most
    if len(colours) < 8 or drawn < 0.01 * sum(colours.values()):
        fail(f"{path} looks blank: {len(colours)} colours, {drawn} pixels off the background")
    return background


class Dom(HTMLParser):
    """Every element's tag, classes and data attributes."""

    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, set((a.get("class") or "").split()), a))

    def find(self, tag=None, cls=None, **data):
        return [e for e in self.elements
                if (tag is None or e[0] == tag) and (cls is None or cls in e[1])
                and all(e[2].get("data-" + k) == str(v) for k, v in data.items())]


def dom_of(page, fragment=""):
    html, stderr = chromium(page, "--dump-dom", fragment=fragment)
    problems = console_problems(stderr)
    if problems:
        fail(f"{page}: console messages:\n" + "\n".join(problems))
    dom = Dom()
    dom.feed(html)
    if not dom.find("body") or dom.find("body")[0][2].get("data-ready") != "true":
        fail(f"{page}: the page's script did not run to its end")
    return dom


def report(isotp, log, html):
    out = subprocess.run([isotp, "check", "--log", log, "--uds", "--json", "--html", html],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1) or not os.path.exists(html):
        fail(f"isotp check failed ({out.returncode}): {out.stderr}")
    text = open(html, encoding="utf-8").read()
    if re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text) or "@import" in text:
        fail(f"{html} refers to an external resource")
    return [json.loads(l) for l in out.stdout.splitlines()]


def main():
    if not CHROMIUM:
        fail("chromium is not installed (Debian package chromium)")
    isotp, faulty, clean, large, work = sys.argv[1:6]
    os.makedirs(work, exist_ok=True)

    probe = os.path.join(work, "probe.html")
    with open(probe, "w") as f:
        f.write("<!DOCTYPE html><body><script>document.body.dataset.ready = 'true'; "
                "probeUndefinedFunction()</script></body>")
    _, stderr = chromium(probe, "--dump-dom")
    if not any("probeUndefinedFunction" in l for l in console_problems(stderr)):
        fail("a probe page's uncaught exception did not reach Chromium's log: the check would be blind")

    page = os.path.join(work, "faulty.html")
    findings = report(isotp, faulty, page)
    kinds = sorted(f["kind"] for f in findings)
    if kinds != ["p2_exceeded", "st_min_violated"]:
        fail(f"expected exactly the planted STmin and P2 violations, found {kinds}")
    st_min = next(f for f in findings if f["kind"] == "st_min_violated")["frame"]
    p2 = next(f for f in findings if f["kind"] == "p2_exceeded")
    dom = dom_of(page)
    expected = {
        "STmin mark on the timeline": dom.find("g", "finding", kind="st_min_violated", frame=st_min),
        "STmin row in the findings": dom.find("tr", "violation", kind="st_min_violated", frame=st_min),
        "STmin gap in the transfer table": dom.find("tr", "gap-too-short", frame=st_min),
        "P2 mark on the timeline": dom.find("g", "finding", kind="p2_exceeded", frame=p2["frame"]),
        "P2 row in the findings": dom.find("tr", "violation", kind="p2_exceeded", frame=p2["frame"]),
        "late exchange bar": dom.find("g", "late", frame=p2["since_frame"]),
    }
    missing = [name for name, found in expected.items() if not found]
    if missing:
        fail(f"{page}: not in the DOM after load: {', '.join(missing)}")
    if len(dom.find("g", "finding")) != 2:
        fail(f"{page}: {len(dom.find('g', 'finding'))} finding marks, expected 2")
    if len(dom.find("g", "frame")) < 1000:
        fail(f"{page}: only {len(dom.find('g', 'frame'))} frame marks drawn")

    light = os.path.join(work, "light.png")
    dark = os.path.join(work, "dark.png")
    chromium(page, f"--screenshot={light}")
    chromium(page, f"--screenshot={dark}", "--force-dark-mode")
    if judge_screenshot(light) == judge_screenshot(dark):
        fail("the dark theme has the light theme's background")

    clean_page = os.path.join(work, "clean.html")
    if report(isotp, clean, clean_page):
        fail("the clean twin has findings")
    dom = dom_of(clean_page)
    if dom.find("g", "finding") or dom.find("g", "late"):
        fail(f"{clean_page}: finding marks on a clean recording")
    if not dom.find("g", "exchange"):
        fail(f"{clean_page}: no UDS exchange drawn")
    chromium(clean_page, f"--screenshot={os.path.join(work, 'clean.png')}")
    judge_screenshot(os.path.join(work, "clean.png"))

    large_page = os.path.join(work, "large.html")
    findings = report(isotp, large, large_page)
    if sorted(f["kind"] for f in findings) != ["p2_exceeded", "st_min_violated"]:
        fail(f"{large}: expected the two planted violations, found {findings}")
    late = next(f for f in findings if f["kind"] == "p2_exceeded")
    dom = dom_of(large_page, fragment=f"#frame={late['frame']}")
    if not dom.find("g", "finding", kind="p2_exceeded", frame=late["frame"]):
        fail(f"{large_page}#frame={late['frame']}: the P2 violation's mark is not shown")
    if not dom.find("g", "frame", frame=late["since_frame"]):
        fail(f"{large_page}#frame={late['frame']}: the request before it is not drawn")
    if len(dom.find("tr", "violation")) < 2 or len(dom.find("rect", "ov-finding")) != 2:
        fail(f"{large_page}: the findings are not all listed and on the overview")
    chromium(large_page, f"--screenshot={os.path.join(work, 'large.png')}")
    judge_screenshot(os.path.join(work, "large.png"))
    print(f"report in Chromium: large recording ({late['frame']} frames) opened on its P2 violation")
    print(f"report in Chromium: planted STmin (frame {st_min}) and P2 (frame {p2['frame']}) "
          f"violations shown, clean twin clean, light and dark themes")


if __name__ == "__main__":
    main()
