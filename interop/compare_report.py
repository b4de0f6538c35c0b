#!/usr/bin/env python3
"""Prints the table of scripts/compare-bench from the two JSON results.

    python interop/compare_report.py PYTHON_JSON RUST_JSON
"""

import json
import sys


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        py = json.load(f)
    with open(sys.argv[2]) as f:
        rs = json.load(f)

    print("python: %s" % py["implementation"])
    print("ours:   %s" % rs["implementation"])
    print()
    rows = []
    py_rows = {(r["size"], r["block_size"]): r for r in py["throughput"]}
    for r in rs["throughput"]:
        p = py_rows.get((r["size"], r["block_size"]))
        if p is None:
            continue
        label = "throughput %d B, BS %d, STmin 0" % (r["size"], r["block_size"])
        rows.append((label + " (msg/s)", p["messages_per_s"], r["messages_per_s"], "%.0f", "higher"))
        rows.append((label + " (KiB/s)", p["kib_per_s"], r["kib_per_s"], "%.0f", "higher"))
    for key, name in (("median_us", "median"), ("p99_us", "p99")):
        rows.append(("round trip 1 B -> 1 B, %s (us)" % name, py["round_trip"][key], rs["round_trip"][key], "%.1f", "lower"))

    w = max(len(r[0]) for r in rows)
    header = "%-*s  %14s  %14s  %11s" % (w, "figure", "python", "ours", "ours/python")
    print(header)
    print("-" * len(header))
    for label, p, r, fmt, better in rows:
        ratio = r / p if p else float("nan")
        print("%-*s  %14s  %14s  %10.2fx" % (w, label, fmt % p, fmt % r, ratio))
    print()
    print("ratios: throughput above 1 = ours faster; round trip below 1 = ours faster.")
    print("counts: %s; round trips: %d (python) / %d (ours)" % (
        ", ".join("%d B x %d" % (r["size"], r["messages"]) for r in rs["throughput"] if r["block_size"] == rs["throughput"][0]["block_size"]),
        py["round_trip"]["count"], rs["round_trip"]["count"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
