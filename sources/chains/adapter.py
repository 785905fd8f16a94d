"""The chains source as the flows see it: what to fetch, and the files the demo market writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from core.calendar import trading_days
from sources.adapter import Plan, RunContext, SourceAdapter, write_file
from sources.chains.datashop import render_datashop
from sources.chains.delayed_json import render_delayed_json
from sources.chains.layout import parse
from sources.chains.rows import SOURCE
from sources.config import SourcesConfig
from sources.config import render as render_template


def urls(config: SourcesConfig, dates: Iterable[dt.date] = ()) -> list[tuple[str, str]]:
    """The ``(file name, location)`` of the live snapshot and of each date's history file.

    Args:
        config: the sources config; ``chains.snapshot_url`` and ``chains.history_url``
            (a template with ``{date}``, filled ISO) may each be unset.
        dates: the session dates whose historical chain files are wanted.

    Returns:
        ``("_SPX.json", snapshot_url)`` when configured, then one entry per date named
        ``spx_chain_<date>.<ext>`` (the template's extension, ``csv`` by default), so a
        reformatted export without metadata still finds its date in the name.
    """
    out = [("_SPX.json", config.chains.snapshot_url)] if config.chains.snapshot_url else []
    template = config.chains.history_url
    if template:
        ext = template.rsplit(".", 1)[-1].lower() if "." in template.rsplit("/", 1)[-1] else ""
        ext = ext if ext in ("csv", "json") else "csv"
        out += [(f"spx_chain_{d.isoformat()}.{ext}", render_template(template, date=d))
                for d in dates]
    return out


def plan(run: RunContext) -> Plan:
    """The live snapshot and each session's history file of the run's window.

    A backfill (a window with a start) replays history files only: the live snapshot
    describes today.
    """
    days = trading_days(run.start or run.run_date, run.end or run.run_date).to_list()
    return [e for e in urls(run.config, days) if run.start is None or e[0] != "_SPX.json"]


def write(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """``option_chain`` rows as DataShop EOD files, one per session, and ``_SPX.json``.

    The delayed-quotes JSON holds the last session's quotes at their ``snapshot_at``; every
    session, the last included, also gets its ``UnderlyingOptionsEODCalcs_{date}.csv``.
    """
    if frame.is_empty():
        return []
    paths = [write_file(folder / f"UnderlyingOptionsEODCalcs_{day.isoformat()}.csv",
                        render_datashop(part))
             for (day,), part in frame.partition_by("quote_date", as_dict=True,
                                                    maintain_order=True).items()]
    last = frame.filter(pl.col("quote_date") == pl.col("quote_date").max())
    return [*paths, write_file(folder / "_SPX.json", render_delayed_json(last))]


def located(folder: str) -> dict[str, str]:
    """The snapshot and the history template of the files ``write`` put in ``folder``."""
    return {"snapshot_url": f"{folder}/_SPX.json",
            "history_url": f"{folder}/UnderlyingOptionsEODCalcs_{{date}}.csv"}


ADAPTER = SourceAdapter(
    name=SOURCE, table="option_chain", plan=plan,
    wanted=lambda path: path.name.lower().endswith((".csv", ".json")),
    parse=lambda payload, name, run: parse(payload, name),
    write=write, located=located, backfill_unit="month")
