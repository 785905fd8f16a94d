"""Guards that keep names and partition values inside the lake."""

from __future__ import annotations

import datetime as dt
import re

from core.errors import UnsafePathError

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._^+-]*$")


def safe_segment(value: object, what: str = "name") -> str:
    r"""Return ``value`` as one path segment, or raise UnsafePathError.

    Dates are written ISO. Anything that could climb out of its folder or confuse hive
    partitioning (``..``, ``/``, ``\\``, NUL, ``=``, absolute paths, leading dots) is refused.
    """
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if not _SAFE.fullmatch(text) or ".." in text:
        raise UnsafePathError(f"unsafe {what} {text!r}: only letters, digits and ._^+- allowed")
    return text
