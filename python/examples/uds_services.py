#!/usr/bin/env python3
"""Counts UDS services per ECU across a folder of recordings, with isotp.capture.

    python uds_services.py RECORDINGS_DIR

Prints one line per (ECU, service): how many requests it was sent, from the UDS exchanges
isotp.capture pairs (the ECU is the one that answered; 'functional' for a request to every ECU
that none answered). `count_services` is the function the Spark example runs too; the DuckDB example
asks the same in SQL.
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
    for x in capture.read_exchanges(path):
        counts[(str(x.ecu) if x.ecu else "functional", x.service)] += 1
    return counts


def main():
    total = collections.Counter()
    for path in recordings(sys.argv[1]):
        total += count_services(path)
    for (ecu, service), n in sorted(total.items()):
        print(f"{ecu} 0x{service:02X} {n}")


if __name__ == "__main__":
    main()
