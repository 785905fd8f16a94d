"""Crash consistency of partition writes and the catalog swap under a live reader."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import polars as pl
import pytest

from storage.catalog import publish_catalog
from tests.conftest import NOW, ROOT, index_frame

WRITER = textwrap.dedent("""
    import datetime as dt, sys
    import polars as pl
    from storage.lake import Lake
    from tests.conftest import index_frame
    lake = Lake(sys.argv[1])
    n = 400_000
    days = pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 12, 31), eager=True).to_list()
    rows = (days * (n // len(days) + 1))[:n]
    big = index_frame("VIX", rows, [float(i) for i in range(n)])
    big = big.with_columns(symbol=pl.lit("VIX"), date=pl.Series(rows))
    big = big.unique(subset=["symbol", "date"])
    while True:
        lake.write_partition("index_daily", {"year": 2020},
                             big.with_columns(pl.col("close") + 1))
""")


def test_sigkill_mid_write_leaves_previous_version_and_no_visible_temp(lake):
    import datetime as dt
    good = index_frame("VIX", [dt.date(2020, 3, 16)], [82.69])
    path = lake.write_partition("index_daily", {"year": 2020}, good)
    folder = os.path.dirname(path)
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, lake.root], env=env)
    try:
        deadline = time.monotonic() + 60
        while not any(n.endswith(".tmp") for n in os.listdir(folder)):
            assert proc.poll() is None and time.monotonic() < deadline, "writer never started"
            time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)  # a temporary file exists: the write is under way
    finally:
        proc.kill()
        proc.wait()
    assert lake.partitions("index_daily") == [path]
    got = lake.scan("index_daily").collect()
    assert got.height in (1, 366)  # the old version, or a whole new one, never half a file
    assert any(n.endswith(".tmp") for n in os.listdir(folder)) or got.height == 366


READER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM index_daily").fetchone()[0], flush=True)
    sys.stdin.readline()  # hold the old file open while the parent publishes
    for _ in range(20):
        print(con.execute("SELECT count(*) FROM table_status").fetchone()[0], flush=True)
""")


def test_catalog_swap_under_a_live_reader(lake):
    import datetime as dt
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    path = publish_catalog(lake)
    reader = subprocess.Popen([sys.executable, "-c", READER, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"
        lake.upsert("index_daily", index_frame("SPX", [dt.date(2020, 3, 16)], [2386.13]))
        for _ in range(3):
            publish_catalog(lake)
        reader.stdin.write("go\n")
        reader.stdin.flush()
        out, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0 and len(out.split()) == 20
    with duckdb.connect(path, read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM index_daily").fetchone()[0] == 2
        status = dict(fresh.execute("SELECT table_name, rows FROM table_status").fetchall())
    assert status["index_daily"] == 2 and status["vx_futures"] == 0
    assert [n for n in os.listdir(lake.root) if "building" in n] == []


def test_catalog_views_have_declared_types_on_empty_and_full_tables(lake):
    import datetime as dt
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    with duckdb.connect(publish_catalog(lake), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'index_daily'").fetchall())
        empty = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns"
                                 " WHERE table_name = 'vx_futures'").fetchall())
    assert types["date"] == "DATE" and types["close"] == "DOUBLE"
    assert empty["settle"] == "DOUBLE" and empty["no_trade"] == "BOOLEAN"


@pytest.mark.parametrize("bad", ["..", "a/b"])
def test_catalog_is_unaffected_by_rejected_writes(lake, bad):
    import datetime as dt

    from storage.errors import UnsafePathError
    day = dt.date(2020, 3, 16)
    with pytest.raises(UnsafePathError):
        lake.upsert("macro_observations", pl.DataFrame({
            "series_id": [bad], "date": [day], "value": [1.0], "realtime_start": [day],
            "available_at": [day], "ingested_at": [NOW]}))
    with duckdb.connect(publish_catalog(lake), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM macro_observations").fetchone()[0] == 0


def test_catalog_tables_are_those_with_rows_when_it_was_built(lake) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from storage.catalog import catalog_tables, published_tables
    from tests.conftest import index_frame

    assert catalog_tables(lake) is None and published_tables(lake) == frozenset()
    publish_catalog(lake)
    assert catalog_tables(lake) == frozenset()
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2024, 1, 2)], [13.2]))
    assert published_tables(lake) == {"index_daily"} != catalog_tables(lake)
    publish_catalog(lake)
    assert catalog_tables(lake) == {"index_daily"}
    with open(lake.path("alvh.duckdb"), "wb") as fh:
        fh.write(b"not a database")
    assert catalog_tables(lake) is None
