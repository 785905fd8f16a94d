"""The demo: a simulated market's provider files, served over local HTTP to the real flows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.calendar import trading_days
from core.errors import PipelineError
from demo_market import simulator
from flows.nightly import SOURCE_NAMES, backfill, nightly
from flows.serve import serve_directory
from storage.lake import Lake


def sources_toml(overrides: Mapping[str, Mapping[str, str]]) -> str:
    """A sources TOML file from two-level overrides (sections of string values)."""
    lines = []
    for section, values in overrides.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def run_demo(lake: Lake, *, seed: int = 7, equity: float = 1_000_000.0,
             start: dt.date = simulator.DEMO_START, end: dt.date = simulator.DEMO_END,
             chain_days: int = 20, say: Callable[[str], Any] = print) -> tuple[Any, dt.date]:
    """Simulate, serve, backfill the history, then run ``nightly`` for the last session.

    Returns:
        The nightly flow's final state and its trading day.
    """
    if not lake.local:
        raise PipelineError("the demo writes its provider files locally: use a local --home")
    folder = Path(lake.root) / "demo" / "provider"
    manifest = simulator.write_raw(folder, start, end, seed, chain_days=chain_days)
    days = trading_days(start, end).to_list()
    last, chain_first = days[-1], days[-chain_days]
    say(f"simulated market: {manifest['sessions']} sessions {days[0]}..{last}, seed {seed}, "
        f"files in {folder}")
    with serve_directory(str(folder)) as base:
        toml = folder.parent / "sources.toml"
        toml.write_text(sources_toml(simulator.sources_overrides(base)))
        say(f"providers served at {base} (sources config {toml})")
        history = [s for s in SOURCE_NAMES if s != "chains"]
        _check(backfill(start=days[0], end=days[-2], sources=history, workers=0,
                        home=lake.root, sources_file=str(toml), return_state=True))
        _check(backfill(start=chain_first, end=days[-2], sources=["chains"], workers=0,
                        home=lake.root, sources_file=str(toml), return_state=True))
        say(f"history backfilled; nightly run for {last}")
        state = nightly(run_date=last, home=lake.root, sources=str(toml), equity=equity,
                        return_state=True)
    return state, last


def _check(state: Any) -> None:
    if not state.is_completed():
        raise PipelineError(f"demo backfill {state.name}: {state.message}")
