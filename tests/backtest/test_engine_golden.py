"""The engine's recommendations on real days, chained as the backtest chains them, are pinned.

Every session of 2018-01-02..2018-03-29 on the real lake (held ladders, the day-before
outcome, stale curves, Volmageddon), for both sizings: the sha256 of each recommendation's
JSON document must equal the one recorded before the engine's speed work (issue 14). Any
change of any number, rule, cap or reason in any document fails, naming the first day that
differs. A deliberate change of the engine's results re-records the file:

    .venv/bin/python -m tests.backtest.test_engine_golden
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from backtest.market import load_market
from backtest.tables import STRATEGIES
from backtest.walk import ENGINE_SIZING, Book, Walk
from hedge.policy import Policy, load_policy
from storage.lake import Lake

GOLDEN = Path(__file__).with_name("engine_golden.json")
START, END = dt.date(2018, 1, 1), dt.date(2018, 3, 31)

pytestmark = pytest.mark.realdata


def engine_documents(lake: Lake, policy: Policy) -> dict[str, dict[str, str]]:
    """Per session and ALVH strategy, the sha256 of the engine's JSON document of that day."""
    market = load_market(lake, START, END, max_rate_age=policy.pricing.max_rate_age,
                         dtes=tuple(layer.target_dte for layer in policy.ladder.layers))
    equity = policy.backtest.initial_equity
    w = Walk(policy=policy, equity=equity,
             books={s: Book(s, equity, equity) for s in STRATEGIES})
    out: dict[str, dict[str, str]] = {}
    for day in market.sessions:
        w.step(market.known(day))
        for name in ENGINE_SIZING:
            rec = w.books[name].rec
            if rec is not None and rec.date == day:
                digest = hashlib.sha256(rec.to_json().encode()).hexdigest()
                out.setdefault(day.isoformat(), {})[name] = digest
    return out


def test_engine_documents_are_unchanged_on_real_days(real_lake):
    want = json.loads(GOLDEN.read_text())
    got = engine_documents(real_lake, load_policy())
    assert len(got) >= 55 and set(got) == set(want)
    differ = [(d, s) for d in sorted(want) for s in want[d] if got[d].get(s) != want[d][s]]
    assert not differ, f"engine documents changed, first on {differ[0]} ({len(differ)} in all)"


if __name__ == "__main__":  # re-record (a deliberate change of the engine's results)
    import tempfile

    from tests.backtest.conftest import FIRST, LAST
    from tests.backtest.real_lake import shared_inputs, write_lake

    with tempfile.TemporaryDirectory() as tmp:
        lake = write_lake(Path(tmp) / "lake", shared_inputs(), FIRST, LAST)
        docs = engine_documents(lake, load_policy())
    GOLDEN.write_text(json.dumps(docs, indent=1, sort_keys=True) + "\n")
    print(f"{GOLDEN}: {len(docs)} sessions")
