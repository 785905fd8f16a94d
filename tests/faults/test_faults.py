"""The lake under faults: SIGKILLs at random points, racing writers, readers during writes.

Real `alvh` processes on real files, killed with SIGKILL; the checks read the lake afterwards
as a user would. Counts are printed (pytest -s) for the issue's closing note.
"""

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from demo_market import simulator
from flows.ingest import SOURCE_NAMES, Run, ingest, plan_from
from flows.pipeline import build, publish
from flows.settings import Settings
from sources.http import HttpClient
from storage.catalog import connect_readonly
from storage.lake import Lake
from tests.conftest import ROOT

pytestmark = [pytest.mark.faults, pytest.mark.timeout(1800)]

START, END = dt.date(2024, 10, 1), dt.date(2025, 2, 28)  # index_daily spans two years
NOW = dt.datetime(2025, 3, 1, 1, 0, tzinfo=dt.UTC)
ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(sys.executable), "alvh")
STAMPS = ("ingested_at", "computed_at")
KILLS = {"ingest": 12, "build": 10, "publish": 10}
RNG = random.Random(15)


def tables(lake: Lake) -> list[str]:
    from storage import schemas
    return [t.name for t in schemas.all_tables()]


def rows(lake: Lake, table: str, version: int | None = None) -> pl.DataFrame:
    """A table's rows at a version, sorted, without the run stamps (they differ per run)."""
    from storage import schemas
    t = schemas.get(table)
    files = lake.snapshot(table, version=version).files
    frame = lake.scan(table, files=files).collect()
    return frame.drop([c for c in STAMPS if c in frame.columns]).sort(list(t.keys))


def state(lake: Lake) -> dict[str, int | None]:
    return {t: lake.snapshot(t).version for t in tables(lake)}


def alvh(home: Path, *args: str) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.Popen([ALVH, "--home", str(home), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A base lake from provider A, and provider B whose values differ (another seed)."""
    top = tmp_path_factory.mktemp("faults")
    a, b = top / "provider_a", top / "provider_b"
    simulator.write_raw(a, START, END, seed=5, chain_days=2)
    simulator.write_raw(b, START, END, seed=6, chain_days=2)
    lake = Lake(top / "base")
    config = Settings().sources_config()
    with HttpClient() as client:
        for source in SOURCE_NAMES:
            report = ingest(source, Run(lake, config, END, NOW), client=client,
                            files=plan_from(source, a / source))
            assert report.ok, report.errors
    build(lake, END, now=NOW, full=True)
    publish(lake)
    return {"top": top, "base": Path(lake.root), "b": b}


COMMANDS = {
    "ingest": lambda w: ("ingest", "cboe", "--from", str(w["b"] / "cboe")),
    "build": lambda w: ("build", "--full", "--date", END.isoformat()),
    "publish": lambda w: ("publish",),
}
TOUCHED = {"ingest": "index_daily", "build": "features_daily", "publish": None}


def fresh_copy(world, name: str) -> Path:
    target = world["top"] / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(world["base"], target)
    return target


@pytest.fixture(scope="module")
def references(world):
    """Each command run to the end once: its duration and the rows it leaves."""
    out = {}
    for kind, command in COMMANDS.items():
        home = fresh_copy(world, f"ref_{kind}")
        started = time.monotonic()
        proc = alvh(home, *command(world))
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        table = TOUCHED[kind]
        out[kind] = (time.monotonic() - started,
                     rows(Lake(home), table) if table else None)
    return out


@pytest.mark.parametrize("kind", list(KILLS))
def test_sigkill_at_random_points_leaves_old_or_new_versions(world, references, kind):
    base = Lake(world["base"])
    before = state(base)
    duration, new_rows = references[kind]
    table = TOUCHED[kind]
    old_rows = rows(base, table) if table else None
    outcomes = {"old": 0, "new": 0}
    for trial in range(KILLS[kind]):
        home = fresh_copy(world, f"kill_{kind}")
        catalog = os.stat(home / "alvh.duckdb").st_ino
        proc = alvh(home, *COMMANDS[kind](world))
        time.sleep(RNG.uniform(0.3, 1.0) * duration)  # imports take the first third
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lake = Lake(home)
        after = state(lake)
        if not table:  # publish: the old catalog file, or a whole new one renamed in
            swapped = os.stat(home / "alvh.duckdb").st_ino != catalog
            outcomes["new" if swapped else "old"] += 1
        for name, version in after.items():  # every table at its old or next version
            assert version in (before[name], None if before[name] is None else
                               before[name] + 1), (kind, trial, name, before[name], version)
        if table:
            got = rows(lake, table)
            at_new = after[table] != before[table]
            assert got.equals(new_rows if at_new else old_rows), (kind, trial, table)
            if "computed_at" in lake.scan(table).collect_schema():
                stamps = lake.scan(table).select(pl.col("computed_at").n_unique()).collect()
                assert stamps.item() == 1 or not at_new
            outcomes["new" if at_new else "old"] += 1
        with connect_readonly(lake) as con:  # the catalog opens and answers
            assert con.execute("SELECT count(*) FROM index_daily").fetchone()[0] > 0
        if kind != "ingest":  # build and publish write catalogs: the next publish cleans up
            publish(lake)
            assert [n for n in os.listdir(home) if ".building" in n] == []
    print(f"\nfaults: {KILLS[kind]} SIGKILLs of alvh {kind}: {outcomes}")


def test_two_ingests_racing_on_the_same_partitions_lose_nothing(world):
    cboe = world["b"] / "cboe"
    files = [cboe / "VIX_History.csv", cboe / "VIX9D_History.csv"]
    tally = {"both committed": 0, "one refused": 0}
    for _ in range(3):
        home = fresh_copy(world, "race")
        first = alvh(home, "ingest", "cboe", "--from", str(files[0]))
        time.sleep(0.25)
        second = alvh(home, "ingest", "cboe", "--from", str(files[1]))
        results = [(p, *p.communicate(timeout=600)) for p in (first, second)]
        lake = Lake(home)
        stored = lake.scan("index_daily").collect()
        refused = 0
        for (proc, _, err), path in zip(results, files, strict=True):
            symbol = path.name.removesuffix("_History.csv")
            want = pl.read_csv(path, try_parse_dates=True)["CLOSE"].to_list()[-5:]
            got = stored.filter(pl.col("symbol") == symbol).sort("date")["close"].to_list()[-5:]
            if proc.returncode == 0:
                assert got == pytest.approx(want), (symbol, err)  # its change is there
            else:
                assert "another writer" in err or "won the race" in err, err
                refused += 1
        assert refused < 2
        tally["one refused" if refused else "both committed"] += 1
    print(f"\nfaults: 3 races of two ingests 0.25 s apart: {tally}")


READER = textwrap.dedent("""
    import os, sys, time
    from storage.catalog import connect_readonly
    from storage.lake import Lake
    lake = Lake(sys.argv[1])
    while not os.path.exists(sys.argv[2]):
        try:
            with connect_readonly(lake) as con:
                con.execute("SELECT count(*), max(close) FROM index_daily").fetchone()
                con.execute("SELECT * FROM features_asof(DATE '2025-02-28')").fetchall()
                con.execute("SELECT count(*) FROM v_features").fetchone()
            print("ok", flush=True)
        except Exception as e:
            print("fail", type(e).__name__, str(e).splitlines()[0], flush=True)
        time.sleep(0.01)
""")


def test_readers_never_fail_during_nightly_and_publish(world, prefect_api):
    from flows.demo import sources_toml
    from flows.nightly import nightly
    from flows.serve import serve_directory

    home = fresh_copy(world, "readers")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    stop = world["top"] / "stop_readers"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home), str(stop)], env=env,
                              text=True, stdout=subprocess.PIPE)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(reader.stdout.readline, "")),
                     daemon=True).start()
    try:
        with serve_directory(str(world["b"])) as base:
            toml = world["top"] / "sources_b.toml"
            toml.write_text(sources_toml(simulator.sources_overrides(base)))
            state_ = nightly(run_date=END, home=str(home), sources=str(toml), return_state=True)
        during_nightly = len(lines)
        lake = Lake(home)
        while len(lines) < 200:
            publish(lake)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    failures = [line for line in lines if not line.startswith("ok")]
    print(f"\nfaults: {len(lines)} reader queries ({during_nightly} during nightly, "
          f"the rest during publishes): {len(failures)} failures")
    assert state_.is_completed() or "fred" in (state_.message or ""), state_.message
    assert len(lines) >= 200 and failures == []
