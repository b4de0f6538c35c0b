#!/usr/bin/env python3
"""A folder of recordings queried with DuckDB (embedded, in this process): isotp.capture reads each
recording into Arrow tables, DuckDB's SQL does the rest.

    python fleet_duckdb.py RECORDINGS_DIR

Prints the findings of `isotp check --uds` per kind, and the UDS requests per ECU and service
(from the exchanges, as uds_services.py counts them).
"""
import sys

import duckdb
import pyarrow

from isotp import capture
from uds_services import recordings


def tables(folder):
    """(findings, exchanges) over every recording of `folder`, as Arrow tables with a file column."""
    findings, requests = [], []
    for path in recordings(folder):
        f = capture.to_arrow(capture.check(path, uds=True))
        if f.num_rows:
            findings.append(f.append_column("file", pyarrow.array([path] * f.num_rows)))
        x = capture.to_arrow(capture.read_exchanges(path))
        if x.num_rows:
            requests.append(x.append_column("file", pyarrow.array([path] * x.num_rows)))
    return pyarrow.concat_tables(findings), pyarrow.concat_tables(requests)


def query(folder):
    findings, exchanges = tables(folder)
    db = duckdb.connect()  # in memory
    db.register("findings", findings)
    db.register("exchanges", exchanges)
    per_kind = db.execute(
        "SELECT layer, kind, count(*) AS n FROM findings GROUP BY layer, kind ORDER BY layer, kind"
    ).fetchall()
    services = db.execute(
        """SELECT coalesce(ecu, 'functional') AS ecu, service, count(*) AS n
           FROM exchanges GROUP BY ALL ORDER BY ecu, service"""
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
