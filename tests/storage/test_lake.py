import datetime as dt
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.errors import SchemaError, UnsafePathError
from tests.conftest import NOW, index_frame

D1, D2, D3 = dt.date(2020, 3, 16), dt.date(2020, 3, 17), dt.date(2020, 3, 18)


def test_write_then_scan_round_trip(lake):
    frame = index_frame("VIX", [D1, D2], [82.69, 75.91])
    lake.write_partition("index_daily", {"year": 2020}, frame)
    assert_frame_equal(lake.scan("index_daily").collect(), frame)


def test_same_input_gives_no_new_version_and_no_duplicates(lake):
    frame = index_frame("VIX", [D2, D1], [75.91, 82.69])
    lake.write_partition("index_daily", {"year": 2020}, frame)
    first = lake.snapshot("index_daily")
    lake.write_partition("index_daily", {"year": 2020}, frame)
    lake.upsert("index_daily", frame)
    assert lake.snapshot("index_daily") == first  # same version, same files
    assert lake.scan("index_daily").collect().height == 2


def test_upsert_replaces_by_key_and_keeps_other_rows(lake):
    lake.upsert("index_daily", index_frame("VIX", [D1, D2], [1.0, 2.0]))
    lake.upsert("index_daily", index_frame("VIX", [D2, D3], [20.0, 30.0]))
    lake.upsert("index_daily", index_frame("SPX", [D1], [2386.13]))
    got = lake.scan("index_daily").sort("symbol", "date").collect()
    assert got.select("symbol", "date", "close").rows() == [
        ("SPX", D1, 2386.13), ("VIX", D1, 1.0), ("VIX", D2, 20.0), ("VIX", D3, 30.0)]


def test_upsert_splits_rows_into_their_partitions(lake):
    frame = index_frame("VIX", [dt.date(2019, 12, 31), dt.date(2020, 1, 2)], [13.78, 12.47])
    written = lake.upsert("index_daily", frame)
    assert written == [{"year": 2019}, {"year": 2020}]
    assert [p.split("/")[-2] for p in lake.partitions("index_daily")] == ["year=2019", "year=2020"]


def test_replace_makes_the_frame_the_whole_table(lake):
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2019, 12, 31), D1], [13.78, 1.0]))
    lake.upsert("index_daily", index_frame("SPX", [D1], [2386.13]))
    new = index_frame("VIX", [D1, D2], [82.69, 75.91])
    assert lake.replace("index_daily", new) == [{"year": 2020}]
    assert_frame_equal(lake.scan("index_daily").sort("date").collect(), new)
    assert [p.split("/")[-2] for p in lake.partitions("index_daily")] == ["year=2020"]


def test_replace_with_a_bad_frame_writes_nothing(lake):
    old = index_frame("VIX", [D1], [82.69])
    lake.upsert("index_daily", old)
    before = {p: open(p, "rb").read() for p in lake.partitions("index_daily")}
    twice = index_frame("SPX", [D1, D1], [1.0, 2.0])  # a new partition first, then a bad one
    with pytest.raises(SchemaError, match="duplicate key"):
        lake.replace("index_daily", pl.concat([index_frame("SPX", [dt.date(2021, 1, 4)], [3.0]),
                                               twice]))
    assert {p: open(p, "rb").read() for p in lake.partitions("index_daily")} == before


def test_column_ranges_come_from_each_files_footer(lake):
    lake.upsert("index_daily", index_frame("VIX", [dt.date(2019, 12, 31), D1, D3],
                                           [13.78, 82.69, 76.45]))
    lake.upsert("index_daily", index_frame("SPX", [D2], [2529.19]).with_columns(
        open=pl.lit(None, pl.Float64)))
    ranges = lake.column_ranges("index_daily", ["date", "close", "open"])
    by_year = {p.split("/")[-2]: r for p, r in ranges.items()}
    assert by_year["year=2019"] == {"date": (dt.date(2019, 12, 31),) * 2,
                                    "close": (13.78, 13.78), "open": (13.78, 13.78)}
    assert by_year["year=2020"]["date"] == (D1, D3)
    assert by_year["year=2020"]["close"] == (76.45, 2529.19)
    assert by_year["year=2020"]["open"] == (76.45, 82.69)  # the null is not a value
    lake.upsert("index_daily", index_frame("SPX", [dt.date(2021, 1, 4)], [3700.65]).with_columns(
        open=pl.lit(None, pl.Float64)))
    (in_2021,) = [r for p, r in lake.column_ranges("index_daily", ["open"]).items()
                  if "year=2021" in p]
    assert in_2021 == {"open": None}  # all null: no range to trust
    assert lake.column_ranges("breadth_daily", ["date"]) == {}


@pytest.mark.parametrize("change, column", [
    (lambda f: f.drop("close"), "close"),
    (lambda f: f.with_columns(pl.col("close").cast(pl.String)), "close"),
    (lambda f: f.with_columns(pl.col("date").cast(pl.String)), "date"),
])
def test_schema_errors_name_table_and_column_and_write_nothing(lake, change, column):
    good = index_frame("VIX", [D1], [82.69])
    lake.write_partition("index_daily", {"year": 2020}, good)
    with pytest.raises(SchemaError, match=rf"index_daily.*'{column}'"):
        lake.write_partition("index_daily", {"year": 2020}, change(good))
    assert_frame_equal(lake.scan("index_daily").collect(), good)


def test_extra_column_duplicates_and_wrong_partition_are_rejected(lake):
    good = index_frame("VIX", [D1], [82.69])
    part = {"year": 2020}
    with pytest.raises(SchemaError, match="unexpected column"):
        lake.write_partition("index_daily", part, good.with_columns(x=pl.lit(1)))
    with pytest.raises(SchemaError, match="duplicate key"):
        lake.write_partition("index_daily", part, pl.concat([good, good]))
    with pytest.raises(SchemaError, match="belong to partition"):
        lake.write_partition("index_daily", {"year": 2019}, good)
    with pytest.raises(SchemaError, match="partition keys"):
        lake.write_partition("index_daily", {"symbol": "VIX", "year": 2020}, good)
    with pytest.raises(SchemaError, match="unknown table"):
        lake.write_partition("nope", part, good)
    assert lake.partitions("index_daily") == []


UNSAFE = ["..", "../x", "a/b", "/etc", "a\x00b", ".hidden", "a=b", "", "a\\b"]


@pytest.mark.parametrize("bad", UNSAFE)
def test_values_that_could_escape_the_lake_are_rejected(lake, bad, tmp_path):
    frame = pl.DataFrame({"series_id": [bad], "date": [D1], "value": [1.0],
                          "realtime_start": [D1], "available_at": [D1], "ingested_at": [NOW]})
    with pytest.raises(UnsafePathError):
        lake.write_partition("macro_observations", {"series_id": bad}, frame)
    with pytest.raises(UnsafePathError):
        lake.save_raw("cboe", bad, b"x", {"url": "u", "fetched_at": NOW, "status": 200})
    with pytest.raises(UnsafePathError):
        lake.quarantine(bad, "f.csv", b"x", "why", at=NOW)
    assert not any(p.name != "lake" for p in tmp_path.iterdir())


def test_save_raw_keeps_every_payload_with_its_metadata(lake):
    meta = {"url": "http://x/VIX_History.csv", "fetched_at": NOW, "status": 200}
    a = lake.save_raw("cboe", "VIX_History.csv", b"DATE,OPEN\n", meta)
    b = lake.save_raw("cboe", "VIX_History.csv", b"DATE,OPEN,HIGH\n", meta)
    assert a != b and open(a, "rb").read() == b"DATE,OPEN\n"
    info = json.load(open(a + ".meta.json"))
    assert info["url"] == meta["url"] and info["status"] == 200 and info["bytes"] == 10
    import hashlib
    assert info["sha256"] == hashlib.sha256(b"DATE,OPEN\n").hexdigest()
    assert lake.list_area("raw", "cboe") == sorted([a, b])


def test_quarantine_keeps_payload_and_reason(lake):
    path = lake.quarantine("fred", "DFF.csv", b"<html>", "HTML instead of CSV", at=NOW)
    assert open(path, "rb").read() == b"<html>"
    assert json.load(open(path + ".meta.json"))["reason"] == "HTML instead of CSV"
    assert lake.list_area("quarantine") == [path]


def test_scan_of_an_empty_table_has_the_declared_schema(lake):
    from storage import schemas
    assert lake.scan("vx_futures").collect_schema() == schemas.get("vx_futures").schema


def test_hive_columns_come_back_typed(lake):
    from storage import schemas
    t = schemas.get("option_chain")
    row = {c: None for c in t.columns} | {"quote_date": D1, "root": "SPXW", "expiration": D2,
                                          "strike": 2400.0, "right": "C"}
    frame = pl.DataFrame([row], schema=t.schema)
    lake.upsert("option_chain", frame)
    assert_frame_equal(lake.scan("option_chain").collect(), frame)
    assert "/option_chain/quote_date=2020-03-16/" in lake.partitions("option_chain")[0]


def test_scan_since_skips_earlier_years_only_when_partitioned_by_year(lake):
    from storage import schemas
    frame = pl.concat([index_frame("VIX", [dt.date(y, 6, 1)], [float(y)]) for y in
                       (2018, 2019, 2020)])
    lake.upsert("index_daily", frame)
    by_date = pl.col("date")
    assert_frame_equal(lake.scan("index_daily", since=None).sort(by_date).collect(),
                       lake.scan("index_daily").sort(by_date).collect())
    kept = lake.scan("index_daily", since=dt.date(2019, 12, 31)).sort(by_date).collect()
    assert kept["date"].to_list() == [dt.date(2019, 6, 1), dt.date(2020, 6, 1)]
    assert lake.scan("index_daily", since=dt.date(2030, 1, 1)).collect().is_empty()
    assert lake.scan("index_daily", since=dt.date(2030, 1, 1)).collect_schema() == (
        lake.scan("index_daily").collect_schema())
    lake.upsert("events", pl.DataFrame(
        {"date": [dt.date(2018, 1, 31)], "kind": ["fomc"], "ingested_at": [NOW]},
        schema=schemas.get("events").schema))
    assert lake.scan("events", since=dt.date(2030, 1, 1)).collect().height == 1
