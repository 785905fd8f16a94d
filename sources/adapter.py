"""What every source declares: its table, what to fetch, how to read and write its files.

Flows loop over ``sources.registry.ADAPTERS`` instead of branching on a source's name; the
demo market writes the providers' files through the same adapters' writers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import polars as pl

from sources.config import SourcesConfig
from storage import schemas

if TYPE_CHECKING:
    from storage.lake import Lake
    from validations.suites.base import Rules

Plan = list[tuple[str, str]]  # (file name, location)
Bounds = tuple[float | None, float | None]


class RunContext(Protocol):
    """What an adapter reads of an ingest run (``flows.ingest.Run`` is one)."""

    @property
    def lake(self) -> Lake: ...  # noqa: D102
    @property
    def config(self) -> SourcesConfig: ...  # noqa: D102
    @property
    def run_date(self) -> dt.date: ...  # noqa: D102
    @property
    def start(self) -> dt.date | None: ...  # noqa: D102
    @property
    def end(self) -> dt.date | None: ...  # noqa: D102
    @property
    def api_key(self) -> str | None: ...  # noqa: D102


@dataclass(frozen=True)
class SourceAdapter:
    """One provider as the flows see it.

    Attributes:
        name: the source's name on the CLI, in the raw archive and in reports.
        table: the lake table its rows go to (declared in ``storage.schemas``).
        plan: the ``(file name, location)`` pairs a run fetches from the configured URLs.
        wanted: whether a file found under ``--from FOLDER`` is one of this source's.
        parse: one payload (bytes, file name, run) -> rows of ``table`` minus ``ingested_at``.
        write: rows of ``table`` -> the provider's files under a folder (the paths written);
            ``parse`` reads them back.
        located: this source's sources-config section for a folder ``write`` filled (an
            ``http(s)://`` URL, a ``file://`` URL or a path), so a run fetches those files.
        merge: how parsed files make one frame, when a file holds only part of a row
            (default: the files stacked, a later file winning a key).
        bounds: per-series sanity bounds the sources config gives the validation gate.
        future_ok: rows may be dated after the run (scheduled events).
        runs_first: other sources read its table (FRED reads the release days), so a run
            ingests it before them.
        backfill_unit: how a backfill splits its window so units never share a partition
            (None: one unit, the files hold whole histories).
    """

    name: str
    table: str
    plan: Callable[[RunContext], Plan]
    wanted: Callable[[Path], bool]
    parse: Callable[[bytes, str, RunContext], pl.DataFrame]
    write: Callable[[pl.DataFrame, Path], list[Path]]
    located: Callable[[str], dict[str, str]]
    merge: Callable[[list[pl.DataFrame]], pl.DataFrame] | None = None
    bounds: Callable[[SourcesConfig], Mapping[str, Bounds]] | None = None
    future_ok: bool = False
    runs_first: bool = False
    backfill_unit: Literal["month", "year"] | None = None

    def combine(self, frames: list[pl.DataFrame]) -> pl.DataFrame:
        """One frame for the table from the parsed files; a later file wins a key."""
        if self.merge is not None:
            return self.merge(frames)
        keys = list(schemas.get(self.table).keys)
        return pl.concat(frames, how="vertical_relaxed").unique(keys, keep="last",
                                                                maintain_order=True)

    def rules(self, config: SourcesConfig) -> Rules | None:
        """The validation inputs that come from the sources config (None: none)."""
        if self.bounds is None:
            return None
        from validations.suites.base import Rules  # the gate's types: only when gating

        return Rules(series_bounds=self.bounds(config))


def csv_header(path: Path) -> list[str]:
    """The first line of a CSV file as trimmed, unquoted, upper-case cells."""
    with path.open("rb") as f:
        line = f.readline(4096).decode("utf-8", "replace").lstrip("\ufeff")
    return [c.strip().strip('"').strip().upper() for c in line.split(",")]


def write_file(path: Path, payload: bytes) -> Path:
    """Write ``payload`` at ``path`` (its folder created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path
