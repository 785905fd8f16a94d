"""Digests of what alvh computes on the real data: features_daily over the whole history and
the recommendation of a few telling days. A restructure must leave them identical; they
were recorded at the commit before one (run this file to print them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
from pathlib import Path

import polars as pl

from features.build import build_features
from flows.recommend import recommend_day
from hedge.policy import load_policy
from storage.lake import Lake
from tests.conftest import NOW, SHARED_DATA
from tests.features.feature_inputs import all_inputs

FIRST, LAST = dt.date(1990, 1, 2), dt.date(2025, 3, 14)
# A quiet day, the March 2020 crash, the VX data's last session, the first without VX.
DAYS = (dt.date(2018, 2, 5), dt.date(2020, 3, 16), dt.date(2021, 11, 19), dt.date(2025, 3, 14))


def _sha(frame: pl.DataFrame) -> str:
    out = io.BytesIO()
    frame.write_csv(out)
    return hashlib.sha256(out.getvalue()).hexdigest()


def digests() -> dict[str, str]:
    """``features_daily`` and ``recommend <day>`` -> sha256 of their full content."""
    inputs = all_inputs(SHARED_DATA)
    features = build_features({k: v.lazy() for k, v in inputs.items()}, start=FIRST, end=LAST,
                              computed_at=NOW).sort("date")
    out = {"features_daily": _sha(features)}
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake")
        lake.upsert("features_daily", features)
        lake.upsert("macro_observations", inputs["macro_observations"])
        policy = load_policy()
        for day in DAYS:
            rec = recommend_day(lake, day, policy=policy, equity=1_000_000.0, now=NOW,
                                store=False)
            out[f"recommend {day}"] = hashlib.sha256(rec.to_json().encode()).hexdigest()
    return out


if __name__ == "__main__":
    for name, digest in digests().items():
        print(f"    {name!r}: {digest!r},")
