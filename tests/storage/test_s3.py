"""The same lake API on an s3:// root, against moto's S3 server on 127.0.0.1."""

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
import requests
from polars.testing import assert_frame_equal

from core.errors import SchemaError
from storage.lake import Lake
from tests.conftest import NOW, free_port, index_frame

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_lake(s3_endpoint, monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    opts = {"endpoint_url": s3_endpoint, "key": "test", "secret": "test"}
    bucket = f"alvh-{os.getpid()}-{time.monotonic_ns()}"
    lake = Lake(f"s3://{bucket}/lake", storage_options=opts)
    lake.fs.mkdir(bucket)
    return lake


def test_s3_round_trip_idempotence_and_raw(s3_lake):
    d1, d2 = dt.date(2020, 3, 16), dt.date(2020, 3, 17)
    frame = index_frame("VIX", [d1, d2], [82.69, 75.91])
    assert not s3_lake.local and s3_lake.url.startswith("s3://")
    s3_lake.upsert("index_daily", frame)
    path = s3_lake.partitions("index_daily")[0]
    first = s3_lake.fs.cat_file(path)
    s3_lake.upsert("index_daily", frame)
    assert s3_lake.fs.cat_file(path) == first
    assert_frame_equal(s3_lake.scan("index_daily").sort("date").collect(), frame)
    with pytest.raises(SchemaError, match="close"):
        s3_lake.write_partition("index_daily", {"year": 2020}, frame.drop("close"))
    assert s3_lake.scan("index_daily").collect().height == 2
    raw = s3_lake.save_raw("cboe", "VIX_History.csv", b"DATE,OPEN\n",
                           {"url": "u", "fetched_at": NOW, "status": 200})
    assert s3_lake.fs.cat_file(raw) == b"DATE,OPEN\n"
    assert s3_lake.fs.exists(raw + ".meta.json")
    q = s3_lake.quarantine("cboe", "bad.csv", b"<html>", "HTML page", at=NOW)
    assert s3_lake.list_area("quarantine") == [q]


def test_s3_commits_are_put_if_absent_so_a_stale_writer_is_refused(s3_lake):
    from storage import delta, schemas
    d1, d2 = dt.date(2020, 3, 16), dt.date(2021, 3, 16)
    s3_lake.upsert("index_daily", index_frame("VIX", [d1, d2], [82.69, 1.0]))
    stale = s3_lake.delta("index_daily")
    s3_lake.upsert("index_daily", index_frame("SPX", [d1], [2386.13]))
    with pytest.raises(Exception) as err:  # version 1 exists: the conditional PUT fails
        delta.commit(s3_lake.table_uri("index_daily"), s3_lake.delta_options,
                     schemas.get("index_daily"), stale, index_frame("VIX", [d1], [0.0]),
                     [{"year": 2020}], "upsert", s3_lake.data_file_writer("index_daily"))
    assert delta.is_conflict(err.value)
    s3_lake.upsert("index_daily", index_frame("VIX", [d1], [0.0]))  # redone on version 1
    got = s3_lake.scan("index_daily").sort("symbol", "date").collect()
    assert got.select("symbol", "close").rows() == [("SPX", 2386.13), ("VIX", 0.0), ("VIX", 1.0)]
    assert s3_lake.snapshot("index_daily").version == 2
    old = s3_lake.scan("index_daily", files=s3_lake.snapshot("index_daily", version=0).files)
    assert old.collect().height == 2
