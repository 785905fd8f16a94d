"""Re-ingesting a provider's whole history keeps the stamps (and bytes) of unchanged rows."""

import datetime as dt

import polars as pl

from flows.ingest import restamped
from tests.conftest import index_frame

T0 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 1, 3, tzinfo=dt.UTC)
DAYS = [dt.date(2025, 12, 30), dt.date(2025, 12, 31), dt.date(2026, 1, 2)]


def test_unchanged_rows_keep_their_stamp_changed_and_new_rows_get_now(lake):
    lake.upsert("index_daily", restamped(lake, "index_daily",
                                         index_frame("VIX", DAYS, [1.0, 2.0, 3.0]).drop(
                                             "ingested_at"), T0))
    files = {p: open(p, "rb").read() for p in lake.partitions("index_daily")}
    again = restamped(lake, "index_daily",
                      index_frame("VIX", DAYS, [1.0, 2.0, 3.0]).drop("ingested_at"), T1)
    assert again["ingested_at"].to_list() == [T0, T0, T0]
    lake.upsert("index_daily", again)
    assert {p: open(p, "rb").read() for p in lake.partitions("index_daily")} == files
    revised = index_frame("VIX", [*DAYS, dt.date(2026, 1, 5)], [1.0, 2.5, 3.0, 4.0])
    stamps = restamped(lake, "index_daily", revised.drop("ingested_at"), T1)
    assert stamps.sort("date")["ingested_at"].to_list() == [T0, T1, T0, T1]
    assert stamps.schema == pl.Schema(lake.scan("index_daily").collect_schema())
