#!/usr/bin/env python3
"""Counts UDS services per ECU across a folder of recordings, with isotp.capture.

    python uds_services.py RECORDINGS_DIR

Prints one line per (ECU, service): how many requests it was sent. A request is a message whose
first byte (the service id) has bit 6 clear; its ECU is the conversation's other end, or
'functional' for a request to every ECU. `count_services` is the function the DuckDB and Spark
examples run too.
"""
import collections
import pathlib
import sys

from isotp import capture

LOG_SUFFIXES = {".log", ".asc", ".blf", ".trc"}


def recordings(folder):
    """The recordings of a folder, in name order."""
    return sorted(str(p) for p in pathlib.Path(folder).iterdir() if p.suffix.lower() in LOG_SUFFIXES)


def count_services(path):
    """(ECU, service id) -> number of requests, in one recording."""
    counts = collections.Counter()
    for m in capture.read_messages(path):
        if m.payload and m.payload[0] & 0x40 == 0:
            ecu = "functional" if m.functional or m.target is None else str(m.target)
            counts[(ecu, m.payload[0])] += 1
    return counts


def main():
    total = collections.Counter()
    for path in recordings(sys.argv[1]):
        total += count_services(path)
    for (ecu, service), n in sorted(total.items()):
        print(f"{ecu} 0x{service:02X} {n}")


if __name__ == "__main__":
    main()
