"""The one table of sources: every flow loops over it, in this order.

The calendar comes first: FRED's release-day series need the release days it publishes.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import PipelineError
from sources import breadth, calendar, cboe, cfe, chains, fred
from sources.adapter import SourceAdapter

ADAPTERS: Mapping[str, SourceAdapter] = {a.name: a for a in (
    calendar.ADAPTER, cboe.ADAPTER, cfe.ADAPTER, chains.ADAPTER, breadth.ADAPTER, fred.ADAPTER)}
SOURCE_NAMES = tuple(ADAPTERS)


def adapter(source: str) -> SourceAdapter:
    """The adapter named ``source``, or a PipelineError listing the known ones."""
    try:
        return ADAPTERS[source]
    except KeyError:
        raise PipelineError(
            f"unknown source {source!r}; known: {', '.join(SOURCE_NAMES)}") from None
