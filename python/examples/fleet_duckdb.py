#!/usr/bin/env python3
"""A folder of recordings queried with DuckDB (embedded, in this process): isotp.capture reads each
recording into Arrow tables, DuckDB's SQL does the rest.

    python fleet_duckdb.py RECORDINGS_DIR

Prints the findings of `isotp check --uds` per kind, and the UDS requests per ECU and service.
"""
import sys

import duckdb
import pyarrow

from isotp import capture
from uds_services import recordings


def tables(folder):
    """(findings, requests) over every recording of `folder`, as Arrow tables with a file column."""
    findings, requests = [], []
    for path in recordings(folder):
        f = capture.to_arrow(capture.check(path, uds=True))
        if f.num_rows:
            findings.append(f.append_column("file", pyarrow.array([path] * f.num_rows)))
        m = capture.to_arrow(capture.read_messages(path))
        if m.num_rows:
            requests.append(m.append_column("file", pyarrow.array([path] * m.num_rows)))
    return pyarrow.concat_tables(findings), pyarrow.concat_tables(requests)


def query(folder):
    findings, messages = tables(folder)
    db = duckdb.connect()  # in memory
    db.register("findings", findings)
    db.register("messages", messages)
    per_kind = db.execute(
        "SELECT layer, kind, count(*) AS n FROM findings GROUP BY layer, kind ORDER BY layer, kind"
    ).fetchall()
    # A request: the service id's bit 6 clear; a functional one counts for 'functional'.
    services = db.execute(
        """SELECT CASE WHEN functional OR target IS NULL THEN 'functional' ELSE target END AS ecu,
                  get_byte(payload, 0) AS service, count(*) AS n
           FROM messages
           WHERE octet_length(payload) > 0 AND get_byte(payload, 0) & 64 = 0
           GROUP BY ecu, service ORDER BY ecu, service"""
    ).fetchall()
    return per_kind, services


def main():
    per_kind, services = query(sys.argv[1])
    for layer, kind, n in per_kind:
        print(f"{layer} {kind} {n}")
    for ecu, service, n in services:
        print(f"{ecu} 0x{service:02X} {n}")


if __name__ == "__main__":
    main()
