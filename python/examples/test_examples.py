"""isotp.capture and the fleet examples against the isotp command, on the recorded flash sessions
of crates/isotp-cli/tests/data in three formats. Run by scripts/fleet-tests (pandas, pyarrow,
duckdb, pyspark and Java installed there); ISOTP_BIN names the isotp binary."""
import collections
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from isotp import capture

import fleet_duckdb
import fleet_spark
import uds_services

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "crates" / "isotp-cli" / "tests" / "data"
ISOTP = os.environ["ISOTP_BIN"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The faulty session as candump, its clean twin as candump, BLF and ASC."""
    d = tmp_path_factory.mktemp("recordings")
    shutil.copy(DATA / "uds_flash.log", d / "a_flash.log")
    shutil.copy(DATA / "uds_flash_clean.log", d / "b_clean.log")
    for ext in ("blf", "asc"):
        subprocess.run([ISOTP, "convert", str(DATA / "uds_flash_clean.log"), str(d / f"c_clean.{ext}")],
                       check=True, capture_output=True)
    return d


def cli_findings(path):
    out = subprocess.run([ISOTP, "check", "--log", str(path), "--uds", "--json"],
                         capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_frames_of_every_format_are_the_same(folder):
    log = capture.read_frames(folder / "b_clean.log")
    assert len(log) == len((DATA / "uds_flash_clean.log").read_text().splitlines())
    first = log[0]
    assert (first.arbitration_id, first.is_extended_id, first.data[:3]) == (0x7E0, False, b"\x02\x10\x02")
    assert first.channel == "can0" and first.time == pytest.approx(1_700_000_000.0)
    for ext in ("blf", "asc"):
        other = capture.read_frames(folder / f"c_clean.{ext}")
        assert [(f.arbitration_id, f.data) for f in other] == [(f.arbitration_id, f.data) for f in log]
        assert [round(f.time, 6) for f in other] == [round(f.time, 6) for f in log]
    with pytest.raises(OSError):
        capture.read_frames(folder / "missing.log")
    with pytest.raises(ValueError):
        capture.read_frames(folder / "b_clean.log", format="mdf3")


def test_messages_are_reassembled_with_their_ends(folder):
    messages = capture.read_messages(folder / "a_flash.log")
    assert messages[0].payload == b"\x10\x02" and str(messages[0].source) == "7E0"
    transfer = next(m for m in messages if m.payload[:2] == b"\x36\x01")
    assert len(transfer.payload) == 4002
    assert (str(transfer.source), str(transfer.target)) == ("7E0", "7E8")
    assert transfer.last_frame - transfer.first_frame + 1 > 500  # FF, FCs and CFs between
    assert not transfer.functional


def test_exchanges_pair_requests_with_their_ecu(folder):
    exchanges = capture.read_exchanges(folder / "a_flash.log")
    assert [x.service for x in exchanges] == [0x10, 0x27, 0x27, 0x34, 0x36, 0x36, 0x37, 0x11]
    assert {(str(x.tester), str(x.ecu), x.outcome) for x in exchanges} == {("7E0", "7E8", "positive")}
    first_block = exchanges[4]
    assert first_block.pending == 2 and first_block.p2 == pytest.approx(0.006)
    exit_ = exchanges[6]
    assert exit_.p2 == pytest.approx(0.120) and exit_.response_frame == 1304


def test_check_gives_the_commands_findings(folder):
    for path in sorted(folder.iterdir()):
        ours = capture.check(path, uds=True)
        theirs = cli_findings(path)
        assert [(f.kind, f.severity, f.conversation, f.frame, f.since_frame) for f in ours] == \
            [(f["kind"], f["severity"], f["conversation"], f["frame"], f["since_frame"]) for f in theirs]
        for f, g in zip(ours, theirs):
            assert f.layer == g.get("layer", "iso-tp")
            if f.measured is not None:
                assert round(f.measured * 1e6) == g["measured_us"]
    kinds = [f.kind for f in capture.check(folder / "a_flash.log", uds=True)]
    assert kinds == ["st_min_violated", "p2_exceeded"]
    assert [f.kind for f in capture.check(folder / "a_flash.log")] == ["st_min_violated"]
    assert capture.check(folder / "a_flash.log", uds=True, p2=0.2)[-1].kind == "st_min_violated"


def test_pandas_and_arrow(folder):
    messages = capture.read_messages(folder / "a_flash.log")
    df = capture.to_pandas(messages)
    assert len(df) == len(messages)
    assert df["source"][0] == "7E0"
    table = capture.to_arrow(capture.check(folder / "a_flash.log", uds=True))
    assert table.column("kind").to_pylist() == ["st_min_violated", "p2_exceeded"]


def python_counts(folder):
    total = collections.Counter()
    for path in uds_services.recordings(folder):
        total += uds_services.count_services(path)
    return sorted((ecu, service, n) for (ecu, service), n in total.items())


def test_duckdb_agrees_with_the_command_and_with_python(folder):
    per_kind, services = fleet_duckdb.query(folder)
    cli = collections.Counter()
    for path in sorted(folder.iterdir()):
        for f in cli_findings(path):
            cli[(f.get("layer", "iso-tp"), f["kind"])] += 1
    assert sorted(per_kind) == sorted((layer, kind, n) for (layer, kind), n in cli.items())
    assert per_kind  # the planted faults are there
    assert sorted(services) == python_counts(folder)
    # 4 recordings, each with 1 session, 2 security access and 2 TransferData requests.
    assert {("7E8", 0x10, 4), ("7E8", 0x27, 8), ("7E8", 0x36, 8)} <= set(services)


def test_spark_agrees_with_python(folder):
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[2]").appName("isotp-fleet-test").getOrCreate()
    try:
        assert fleet_spark.spark_counts(folder, spark) == python_counts(folder)
    finally:
        spark.stop()
