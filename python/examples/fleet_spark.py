#!/usr/bin/env python3
"""The UDS service count of uds_services.py run by Spark over a folder of recordings: a DataFrame
of file paths, each partition reading its files with isotp.capture (mapInPandas), Spark summing.
Local mode here; on a cluster the same code runs where the recordings are.

    python fleet_spark.py RECORDINGS_DIR
"""
import sys

import pandas
from pyspark.sql import SparkSession

from uds_services import count_services, recordings

SCHEMA = "ecu string, service int, n long"


def per_file(batches):
    """Each batch of paths becomes rows of (ECU, service, requests)."""
    for batch in batches:
        rows = [(ecu, service, n) for path in batch["path"]
                for (ecu, service), n in count_services(path).items()]
        yield pandas.DataFrame(rows, columns=["ecu", "service", "n"])


def spark_counts(folder, spark):
    paths = spark.createDataFrame([(p,) for p in recordings(folder)], "path string")
    counts = paths.repartition(2).mapInPandas(per_file, SCHEMA).groupBy("ecu", "service").sum("n")
    return sorted((r["ecu"], r["service"], r["sum(n)"]) for r in counts.collect())


def main():
    spark = SparkSession.builder.master("local[2]").appName("isotp-fleet").getOrCreate()
    try:
        for ecu, service, n in spark_counts(sys.argv[1], spark):
            print(f"{ecu} 0x{service:02X} {n}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
