"""Delta behaviour of the lake: versions, races between writers, time travel, vacuum, migrate."""

import datetime as dt
import os
import time

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from storage.delta import ConcurrentWriteError
from storage.lake import Lake
from tests.conftest import index_frame

D1, D2, D3 = dt.date(2019, 3, 16), dt.date(2020, 3, 16), dt.date(2021, 3, 16)


def test_one_command_is_one_version_over_every_partition(lake):
    lake.upsert("index_daily", index_frame("VIX", [D1, D2, D3], [1.0, 2.0, 3.0]))
    assert lake.snapshot("index_daily").version == 0
    lake.upsert("index_daily", index_frame("VIX", [D1, D3], [10.0, 30.0]))
    snap = lake.snapshot("index_daily")
    assert snap.version == 1 and len(snap.files) == 3
    (last,) = lake.history("index_daily", limit=1)
    assert last["version"] == 1 and last["rows"] == 3 and last["rows_written"] == 2


def test_a_writer_that_lost_the_race_redoes_its_merge_on_the_new_version(lake):
    lake.upsert("index_daily", index_frame("VIX", [D1, D2], [1.0, 2.0]))
    stale = lake.delta("index_daily")  # what a slower writer read
    lake.upsert("index_daily", index_frame("SPX", [D2], [2386.13]))  # the faster writer
    # the slower writer commits its own merge on the version it read: refused by Delta...
    from storage import delta, schemas
    t = schemas.get("index_daily")
    with pytest.raises(Exception) as err:
        delta.commit(lake.table_uri("index_daily"), lake.delta_options, t, stale,
                     index_frame("VIX", [D2], [20.0]), [{"year": 2020}], "upsert",
                     lake.data_file_writer("index_daily"))
    assert delta.is_conflict(err.value)
    # ...and Lake.upsert, which re-reads on a conflict, keeps both changes
    lake.upsert("index_daily", index_frame("VIX", [D2], [20.0]))
    got = lake.scan("index_daily").sort("symbol", "date").collect()
    assert got.select("symbol", "date", "close").rows() == [
        ("SPX", D2, 2386.13), ("VIX", D1, 1.0), ("VIX", D2, 20.0)]


def test_write_partition_and_replace_refuse_rather_than_discard_a_concurrent_change(lake):
    from storage import schemas
    lake.upsert("index_daily", index_frame("VIX", [D2], [1.0]))
    t = schemas.get("index_daily")
    stale = lake.delta("index_daily")
    lake.upsert("index_daily", index_frame("SPX", [D2], [2.0]))
    with pytest.raises(ConcurrentWriteError, match="index_daily.*not written"):
        lake._commit_or_refuse(t, stale, index_frame("VIX", [D2], [3.0]), [{"year": 2020}],
                               "write_partition")
    assert lake.scan("index_daily").collect().height == 2


def test_time_travel_reads_old_versions_by_number_and_time(lake):
    lake.upsert("index_daily", index_frame("VIX", [D2], [1.0]))
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    lake.upsert("index_daily", index_frame("VIX", [D2], [2.0]))
    at_v0 = lake.scan("index_daily", files=lake.snapshot("index_daily", version=0).files)
    at_t = lake.scan("index_daily", files=lake.snapshot("index_daily", as_of=between).files)
    assert at_v0.collect()["close"].to_list() == [1.0] == at_t.collect()["close"].to_list()
    before = lake.snapshot("index_daily", as_of=between - dt.timedelta(days=1))
    assert before.files == []  # the table did not exist yet
    assert lake.scan("index_daily").collect()["close"].to_list() == [2.0]


def test_vacuum_keeps_what_the_retention_needs_and_drops_the_rest(lake):
    lake.upsert("index_daily", index_frame("VIX", [D2], [1.0]))
    old = lake.snapshot("index_daily").files
    lake.upsert("index_daily", index_frame("VIX", [D2], [2.0]))
    assert lake.vacuum("index_daily", retention_hours=24) == []  # inside the window
    assert all(os.path.exists(f) for f in old)
    removed = lake.vacuum("index_daily", retention_hours=0)
    assert len(removed) == 1 and not any(os.path.exists(f) for f in old)
    assert lake.scan("index_daily").collect()["close"].to_list() == [2.0]


def write_legacy(lake: Lake, table: str, partition: dict, frame: pl.DataFrame) -> None:
    """A partition as the pre-Delta lake wrote it: one data.parquet per hive folder."""
    from storage import schemas
    t = schemas.get(table)
    folder = lake.partition_dir(table, partition)
    os.makedirs(folder, exist_ok=True)
    hive = [k for k in t.partition_by if k in t.columns]
    frame.sort(list(t.keys)).drop(hive).write_parquet(f"{folder}/data.parquet",
                                                      compression="zstd")


def test_migrate_keeps_exactly_the_rows_and_values(lake):
    frames = {2019: index_frame("VIX", [D1], [82.69]), 2020: index_frame("SPX", [D2], [2386.13])}
    for year, frame in frames.items():
        write_legacy(lake, "index_daily", {"year": year}, frame)
    before = lake.scan("index_daily").sort("symbol", "date").collect()
    assert lake.snapshot("index_daily").version is None  # read as the old lake
    assert lake.convert("index_daily") == 2
    after = lake.scan("index_daily").sort("symbol", "date").collect()
    assert_frame_equal(after, before)
    assert lake.snapshot("index_daily").version == 0 and lake.legacy_files("index_daily") == []


def test_a_crash_before_the_migration_commit_leaves_the_old_table_readable(lake):
    write_legacy(lake, "index_daily", {"year": 2020}, index_frame("VIX", [D2], [82.69]))
    folder = lake.partition_dir("index_daily", {"year": 2020})
    # what a killed migration leaves: Delta data files written, no commit yet
    pq.write_table(index_frame("VIX", [D2], [1.0]).to_arrow(), f"{folder}/part-0-x.parquet")
    assert lake.scan("index_daily").collect()["close"].to_list() == [82.69]
    lake.convert("index_daily")  # the re-run finishes the job
    assert lake.scan("index_daily").collect()["close"].to_list() == [82.69]


def test_first_write_to_a_legacy_table_converts_it_whole(lake):
    write_legacy(lake, "index_daily", {"year": 2019}, index_frame("VIX", [D1], [82.69]))
    lake.upsert("index_daily", index_frame("VIX", [D2], [75.91]))
    got = lake.scan("index_daily").sort("date").collect()
    assert got["close"].to_list() == [82.69, 75.91]
    assert lake.snapshot("index_daily").version == 1


def test_migrate_keeps_every_table_kind_of_partition_exactly(lake):
    from storage import schemas
    from storage.lake import in_partition, iter_partitions
    chain = schemas.get("option_chain")
    row = {c: None for c in chain.columns} | {"root": "SPXW", "expiration": D3, "right": "C"}
    frames = {
        "index_daily": pl.concat([index_frame("VIX", [D1, D2], [82.69, 75.91]),
                                  index_frame("SPX", [D3], [2386.13])]),
        "option_chain": pl.DataFrame([row | {"quote_date": D1, "strike": 2400.0, "bid": 1.5},
                                      row | {"quote_date": D2, "strike": 2500.0}],
                                     schema=chain.schema),
        "events": pl.DataFrame({"date": [D1, D2], "kind": ["fomc", "cpi"],
                                "ingested_at": [None, None]},
                               schema=schemas.get("events").schema),
    }
    for table, frame in frames.items():
        t = schemas.get(table)
        for part in iter_partitions(t, frame):
            write_legacy(lake, table, part, frame.filter(in_partition(t, part)))
    before = {t: lake.scan(t).collect().sort(list(schemas.get(t).keys)) for t in frames}
    for table in frames:
        lake.convert(table)
    for table, frame in before.items():
        assert lake.snapshot(table).version == 0
        assert_frame_equal(lake.scan(table).collect().sort(list(schemas.get(table).keys)), frame)
        assert frame.height == frames[table].height


def test_writers_racing_on_the_same_partitions_all_land(lake):
    import threading
    lake.upsert("index_daily", index_frame("VIX", [D1, D2], [1.0, 2.0]))
    symbols = ["SPX", "VIX9D", "VVIX", "SKEW"]
    start = threading.Barrier(len(symbols))
    errors: list[Exception] = []

    def write(symbol: str) -> None:
        start.wait()  # every writer reads the same version, then races to commit
        try:
            Lake(lake.root).upsert("index_daily", index_frame(symbol, [D1, D2], [3.0, 4.0]))
        except ConcurrentWriteError as e:  # allowed: refused loudly, never lost silently
            errors.append(e)

    threads = [threading.Thread(target=write, args=(s,)) for s in symbols]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = set(lake.scan("index_daily").collect()["symbol"].to_list())
    landed = {s for s in symbols if s in got}
    assert len(landed) + len(errors) == len(symbols) and "VIX" in got
    assert lake.snapshot("index_daily").version == len(landed)


def test_each_file_carries_delta_statistics_other_readers_can_use(lake):
    """Rows, null counts, min and max per file, as Delta readers expect them."""
    frame = index_frame("VIX", [D1, D2, D3], [1.0, 2.0, 3.0]).with_columns(
        pl.when(pl.col("date") == D3).then(None).otherwise(pl.col("high")).alias("high"))
    lake.upsert("index_daily", frame)
    actions = pl.DataFrame(lake.delta("index_daily").get_add_actions(flatten=True)).sort(
        "partition.year")
    assert actions["num_records"].to_list() == [1, 1, 1]
    assert actions["min.date"].to_list() == [D1, D2, D3]
    assert actions["max.close"].to_list() == [1.0, 2.0, 3.0]
    assert actions["null_count.high"].to_list() == [0, 0, 1]
    assert pq.read_metadata(os.path.join(lake.root, "tables", "index_daily",
                                         actions["path"][0])).num_rows == 1


def test_a_checkpoint_every_ten_commits_keeps_opening_a_table_cheap(lake):
    for i in range(11):
        lake.upsert("index_daily", index_frame("VIX", [D1], [float(i)]))
    log = os.path.join(lake.root, "tables", "index_daily", "_delta_log")
    assert [f for f in os.listdir(log) if f.endswith(".checkpoint.parquet")] == [
        "00000000000000000009.checkpoint.parquet"]  # the tenth commit
    assert lake.scan("index_daily").collect()["close"].to_list() == [10.0]


def test_two_writers_adding_the_same_new_partition_do_not_both_land(lake):
    """A commit on a stale version is refused when its partitions changed, even new ones."""
    from storage import delta, schemas

    lake.upsert("index_daily", index_frame("VIX", [D1], [1.0]))
    stale = lake.delta("index_daily")
    lake.upsert("index_daily", index_frame("VIX", [D2], [2.0]))  # adds year 2020
    with pytest.raises(Exception) as err:
        delta.commit(lake.table_uri("index_daily"), lake.delta_options,
                     schemas.get("index_daily"), stale, index_frame("VIX", [D2], [20.0]),
                     [{"year": 2020}], "upsert", lake.data_file_writer("index_daily"))
    assert delta.is_conflict(err.value)
    got = lake.scan("index_daily").collect()
    assert got.filter(pl.col("date") == D2)["close"].to_list() == [2.0]  # one row, not two
    with pytest.raises(ConcurrentWriteError):  # the lake refuses it with one line
        lake._commit_or_refuse(schemas.get("index_daily"), stale,
                               index_frame("VIX", [D2], [20.0]), [{"year": 2020}], "upsert")


def test_a_commit_to_other_partitions_meanwhile_is_no_conflict(lake):
    from storage import schemas

    lake.upsert("index_daily", index_frame("VIX", [D1], [1.0]))
    stale = lake.delta("index_daily")
    lake.upsert("index_daily", index_frame("VIX", [D3], [3.0]))  # another year
    lake._commit_or_refuse(schemas.get("index_daily"), stale,
                           index_frame("VIX", [D2], [2.0]), [{"year": 2020}], "write_partition")
    got = lake.scan("index_daily").sort("date").collect()
    assert got["close"].to_list() == [1.0, 2.0, 3.0]


def test_vacuum_removes_the_files_of_commits_that_never_landed(lake):
    lake.upsert("index_daily", index_frame("VIX", [D1], [1.0]))
    folder = os.path.join(lake.root, "tables", "index_daily", "year=2019")
    orphan = os.path.join(folder, "part-00000-killed-c000.zstd.parquet")
    with open(orphan, "wb") as fh:
        fh.write(b"written before a commit that was killed")
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))
    lake.vacuum("index_daily", retention_hours=1)
    assert not os.path.exists(orphan)
    assert lake.scan("index_daily").collect()["close"].to_list() == [1.0]
