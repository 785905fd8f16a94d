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

from storage.catalog import connect_readonly, publish_catalog
from tests.conftest import NOW, ROOT, index_frame

WRITER = textwrap.dedent("""
    import datetime as dt, sys
    import polars as pl
    from storage.lake import Lake
    from tests.conftest import index_frame
    lake = Lake(sys.argv[1])
    days = pl.date_range(dt.date(2019, 1, 1), dt.date(2020, 12, 31), eager=True).to_list()
    i = 0
    while True:  # every commit rewrites both years with one close value
        i += 1
        lake.upsert("index_daily", index_frame("VIX", days, [float(i)] * len(days)))
        print(i, flush=True)
""")


def test_sigkill_mid_commit_leaves_one_whole_version(lake):
    import datetime as dt
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2019, 3, 16), dt.date(2020, 3, 16)],
                                           [0.0, 0.0]))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, lake.root], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # some commits landed: the next kill lands inside one
            assert proc.stdout.readline(), "writer died"
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    got = lake.scan("index_daily").collect()
    closes = got["close"].unique().to_list()
    assert len(closes) == 1 and closes[0] >= 3  # one version across both years, never a mix
    assert got.height in (2, 731)


READER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    con.execute("SET GLOBAL file_search_path = ?", [sys.argv[2]])  # paths are relative to the home
    print(con.execute("SELECT count(*) FROM index_daily").fetchone()[0], flush=True)
    sys.stdin.readline()  # hold the old file open while the parent publishes
    for _ in range(20):
        print(con.execute("SELECT count(*) FROM table_status").fetchone()[0], flush=True)
""")


def test_catalog_swap_under_a_live_reader(lake):
    import datetime as dt
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    path = publish_catalog(lake)
    reader = subprocess.Popen([sys.executable, "-c", READER, path, lake.root],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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
    with connect_readonly(lake) as fresh:
        assert fresh.execute("SELECT count(*) FROM index_daily").fetchone()[0] == 2
        status = dict(fresh.execute("SELECT table_name, rows FROM table_status").fetchall())
    assert status["index_daily"] == 2 and status["vx_futures"] == 0
    assert [n for n in os.listdir(lake.root) if "building" in n] == []


def test_catalog_views_have_declared_types_on_empty_and_full_tables(lake):
    import datetime as dt
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    publish_catalog(lake)
    with connect_readonly(lake) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'index_daily'").fetchall())
        empty = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns"
                                 " WHERE table_name = 'vx_futures'").fetchall())
    assert types["date"] == "DATE" and types["close"] == "DOUBLE"
    assert empty["settle"] == "DOUBLE" and empty["no_trade"] == "BOOLEAN"


@pytest.mark.parametrize("bad", ["..", "a/b"])
def test_catalog_is_unaffected_by_rejected_writes(lake, bad):
    import datetime as dt

    from core.errors import UnsafePathError
    day = dt.date(2020, 3, 16)
    with pytest.raises(UnsafePathError):
        lake.upsert("macro_observations", pl.DataFrame({
            "series_id": [bad], "date": [day], "value": [1.0], "realtime_start": [day],
            "available_at": [day], "ingested_at": [NOW]}))
    publish_catalog(lake)
    with connect_readonly(lake) as con:
        assert con.execute("SELECT count(*) FROM macro_observations").fetchone()[0] == 0


def test_catalog_versions_are_the_versions_it_pins(lake) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from storage.catalog import catalog_versions, current_versions
    from tests.conftest import index_frame

    assert catalog_versions(lake) is None
    publish_catalog(lake)
    assert catalog_versions(lake) == current_versions(lake)
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2024, 1, 2)], [13.2]))
    assert current_versions(lake) != catalog_versions(lake)
    publish_catalog(lake)
    assert catalog_versions(lake) == current_versions(lake)
    assert current_versions(lake)["index_daily"] is not None
    with open(lake.path("alvh.duckdb"), "wb") as fh:
        fh.write(b"not a database")
    assert catalog_versions(lake) is None


def test_copied_lake_reads_its_own_files(lake, tmp_path):
    import datetime as dt
    import shutil

    from storage.lake import Lake
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    publish_catalog(lake)
    copy = Lake(shutil.copytree(lake.root, tmp_path / "copy"))
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [1.0]))
    shutil.rmtree(os.path.join(lake.root, "tables"))  # the original is gone
    with connect_readonly(copy) as con:
        assert con.execute("SELECT close FROM index_daily").fetchall() == [(82.69,)]
    with duckdb.connect(copy.path("alvh.duckdb"), read_only=True) as con:
        sql = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'index_daily'"
                          ).fetchone()[0]
    assert lake.root not in sql and "tables/index_daily/year=2020" in sql


def test_publish_removes_leftovers_of_killed_publishes_only(lake):
    import datetime as dt
    import uuid
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    target = lake.path("alvh.duckdb")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = [f"{target}.{uuid.uuid4().hex}.building", f"{target}.{uuid.uuid4().hex}.building.wal",
             f"{target}.{dead}.{uuid.uuid4().hex}.building"]
    live = f"{target}.{os.getpid()}.{uuid.uuid4().hex}.building"  # a publish under way
    os.makedirs(lake.root, exist_ok=True)
    for path in [*stale, live]:
        open(path, "wb").close()
    publish_catalog(lake)
    assert [n for n in os.listdir(lake.root) if "building" in n] == [os.path.basename(live)]


def test_catalog_records_the_version_it_pins(lake):
    import datetime as dt
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2020, 3, 16)], [82.69]))
    with duckdb.connect(publish_catalog(lake), read_only=True) as con:
        files = dict(con.execute("SELECT table_name, files FROM table_versions").fetchall())
    assert files["index_daily"] == 1 and files["vx_futures"] == 0
