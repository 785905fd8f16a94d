"""A small simulated lake, built once per test session and shared by the report tests.

Built without Prefect: the simulator's provider files ingested with ``--from`` semantics,
then features, one stored recommendation and the catalog. About 15 s on the test machine.
"""

import datetime as dt
from pathlib import Path

from demo_market import simulator
from flows.ingest import SOURCE_NAMES, Run, ingest, plan_from
from flows.pipeline import build, publish
from flows.recommend import recommend_day
from flows.settings import Settings
from hedge.policy import load_policy
from sources.http import HttpClient
from storage.lake import Lake

START = dt.date(2025, 6, 2)
DAY = dt.date(2026, 6, 12)  # a Friday: the last session, the one recommended from
NOW = dt.datetime(2026, 6, 12, 22, 30, tzinfo=dt.UTC)
_BUILT: dict[str, Lake] = {}


def build_demo_lake(folder: Path) -> Lake:
    """Simulate a year, ingest it, build features, store DAY's recommendation, publish."""
    provider = folder / "provider"
    simulator.write_raw(provider, START, DAY, seed=7, chain_days=3)
    lake = Lake(folder / "lake")
    config = Settings().sources_config()
    with HttpClient() as client:
        for source in SOURCE_NAMES:
            report = ingest(source, Run(lake, config, DAY, NOW), client=client,
                            files=plan_from(source, provider / source))
            assert report.ok, report.errors
    build(lake, DAY, now=NOW, full=True)
    recommend_day(lake, DAY, policy=load_policy(), equity=1_000_000.0, now=NOW)
    publish(lake)
    return lake


def demo_lake(tmp_path_factory) -> Lake:
    """The session's demo lake (built on first use)."""
    if "lake" not in _BUILT:
        _BUILT["lake"] = build_demo_lake(tmp_path_factory.mktemp("demo"))
    return _BUILT["lake"]
