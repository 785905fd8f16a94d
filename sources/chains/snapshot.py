"""When a chain snapshot was taken: the instant a date line states, and its NYSE session.

CBOE's quotedata export carries a ``Date:`` line in the browser's language; delayed-quotes
JSON and DataShop files carry their instant plainly. Either way the quotes belong to a session.
"""

from __future__ import annotations

import datetime as dt
import re

from core.calendar import xnys
from core.clock import NEW_YORK
from sources.chains.rows import error


def session_of(snapshot_at: dt.datetime) -> dt.date:
    """The NYSE session whose quotes a snapshot taken at ``snapshot_at`` shows.

    During or after a session: that session. Before the open, or on a weekend or holiday:
    the previous session (the chain still shows its closing quotes).

    Args:
        snapshot_at: a timezone-aware instant inside the calendar (core.calendar FIRST..LAST).

    Returns:
        The session date.

    Raises:
        ValueError: the instant is outside the calendar's range.
    """
    import pandas as pd

    cal = xnys()
    day = pd.Timestamp(snapshot_at.astimezone(NEW_YORK).date())
    if not cal.first_session < day <= cal.last_session:
        raise ValueError(f"{snapshot_at} is outside the NYSE calendar "
                         f"({cal.first_session.date()}..{cal.last_session.date()})")
    if cal.is_session(day) and pd.Timestamp(snapshot_at) >= cal.session_open(day):
        return day.date()
    prior = cal.previous_session(day) if cal.is_session(day) else cal.date_to_session(
        day, direction="previous")
    return prior.date()


# -- locale date lines --------------------------------------------------------------------
# Browsers write the date line in the reader's language: dateparser reads it in any of its
# 200-odd locales. The zone stays ours: browsers print abbreviations dateparser does not
# know (HNE, MEZ) and offsets in several spellings (GMT-5, UTC\u22125, GMT-05:00).

# Zone abbreviations browsers print; EST/EDT are what CBOE's US pages show.
ZONE_OFFSETS = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
                "PDT": -7, "GMT": 0, "UTC": 0, "BST": 1, "CET": 1, "CEST": 2, "MEZ": 1,
                "MESZ": 2, "EET": 2, "EEST": 3, "HNE": -5, "HAE": -4, "WET": 0, "WEST": 1}

# A time of day: 8:02, 20h02, 8.02 (not the 11.12 of 11.12.2024), with an optional am/pm.
_TIME = re.compile(r"(\d{1,2})[:h.](\d{2})(?![.\d])(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?"
                   r"(?!\w)", re.I)
_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_ZONE = re.compile(r"\b([A-Z]{3,4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_DOTTED_DATE = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")


def _zone_of(text: str) -> dt.tzinfo | None:
    """The time zone a date line names (``GMT-5``, ``UTC+01:00``, ``EST``), else None."""
    if m := _OFFSET.search(text):
        sign = -1 if m.group(1) == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
    for abbr in _ZONE.findall(text):
        if abbr in ZONE_OFFSETS:
            return dt.timezone(dt.timedelta(hours=ZONE_OFFSETS[abbr]))
    return None


def _without_zone(text: str) -> str:
    """``text`` without its zone, which ``_zone_of`` reads (dateparser would misread some)."""
    text = _OFFSET.sub(" ", text)
    return _ZONE.sub(lambda m: " " if m.group(1) in ZONE_OFFSETS else m.group(0), text)


def _clock_normalised(text: str) -> str:
    """``text`` with its time as ``H:MM[:SS] AM/PM``, or 24-hour when the hour says so.

    ``20:02 p. m.`` (a 24-hour time with the locale's marker), ``8.02`` and ``20h02``
    are not forms dateparser reads.
    """
    m = _TIME.search(text)
    if not m:
        raise ValueError("no time of day")
    hour, minute, second = int(m.group(1)), m.group(2), m.group(3) or "00"
    marker = f" {m.group(4).upper()}M" if m.group(4) and 1 <= hour <= 12 else ""
    return f"{text[: m.start()]} {hour}:{minute}:{second}{marker} {text[m.end():]}"


def _date_order(text: str) -> str:
    """How a numeric date reads: month first on US 12-hour pages, else day first."""
    if _ISO_DATE.search(text):
        return "YMD"
    twelve_hour = re.search(r"\d\s*[ap]\.?\s*m\b", text, re.I)
    return "MDY" if twelve_hour and not _DOTTED_DATE.search(text) else "DMY"


def snapshot_time(line: str) -> dt.datetime:
    """The UTC instant a quotedata ``Date: ...`` line states, in any browser locale.

    Args:
        line: the metadata line, e.g. ``Date: February 7, 2023 at 5:34 PM EST``,
            ``Date: 11 de noviembre de 2024, 8:02 GMT-5`` or ``Date: 2024年11月11日 8:02``.

    Returns:
        The instant in UTC. A line without a zone is read as New York time (CBOE's own).

    Raises:
        ValueError: the line holds no complete date (day, month, year) or no time of day.
    """
    import dateparser  # ~0.15 s: only when a quotedata export is read

    text = line.strip().strip('"').replace("\u2212", "-").replace("\u00a0", " ")
    text = re.sub(r"^\s*(date|fecha|datum|data)\s*:\s*", "", text, flags=re.I)
    zone = _zone_of(text)
    text = _clock_normalised(_without_zone(text))
    # Absolute dates only: "mañana" or "hace 2 horas" would read the clock.
    local = dateparser.parse(text, settings={
        "PARSERS": ["absolute-time"], "STRICT_PARSING": True, "DATE_ORDER": _date_order(line),
        "PREFER_LOCALE_DATE_ORDER": False, "RETURN_AS_TIMEZONE_AWARE": False})
    if local is None:
        raise ValueError("no recognisable date")
    return local.replace(tzinfo=zone or NEW_YORK).astimezone(dt.UTC)



def session_for(snapshot: dt.datetime, name: str) -> dt.date:
    """The session of a snapshot, or a SourceDataError when it is outside the calendar."""
    try:
        return session_of(snapshot)
    except ValueError as e:
        raise error(name, f"snapshot time: {e}") from e
