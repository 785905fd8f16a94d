import datetime as dt
import os
import socket
from pathlib import Path

import polars as pl
import pytest

from storage.lake import Lake

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALVH_SHARED_DATA", ROOT.parent / "shared" / "data"))
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def shared(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def index_frame(symbol: str, dates: list[dt.date], close: list[float]) -> pl.DataFrame:
    return pl.DataFrame({
        "symbol": [symbol] * len(dates), "date": dates, "open": close, "high": close,
        "low": close, "close": close, "ingested_at": [NOW] * len(dates),
    }, schema_overrides={"ingested_at": pl.Datetime("us", "UTC")})


@pytest.fixture(scope="session")
def prefect_api():
    """One temporary Prefect API for every test that runs flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Lake:
    """A small simulated lake (a year, ingested, built, recommended, published), shared."""
    from tests.flows.demo_lake import demo_lake as build_once

    return build_once(tmp_path_factory)
