"""Runtime settings: the only place alvh reads its environment (the clock is core.clock).

A plain dataclass on purpose: pydantic-settings would cost every command ~17 MiB and ~40 ms
of imports for four variables, and the lake and sources config load only when asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sources.config import SourcesConfig
    from storage.lake import Lake


def env(name: str, default: str | None = None) -> str | None:
    """The variable ``name`` (matched case-insensitively, as the shell user may spell it)."""
    if name in os.environ:
        return os.environ[name]
    found = (v for k, v in os.environ.items() if k.upper() == name)
    return next(found, default)


@dataclass(frozen=True)
class Settings:
    """Settings read from ``ALVH_*`` variables (and FRED_API_KEY); CLI options override them."""

    home: str = field(default_factory=lambda: env("ALVH_HOME") or "./lake")
    sources: str | None = field(default_factory=lambda: env("ALVH_SOURCES"))
    policy: str | None = field(default_factory=lambda: env("ALVH_POLICY"))
    fred_api_key: str | None = field(default_factory=lambda: env("FRED_API_KEY"))

    def with_options(self, **options: str | None) -> Settings:
        """These settings with the CLI's options over them (None or empty: not given)."""
        return replace(self, **{k: v for k, v in options.items() if v})

    def local_home(self) -> str | None:
        """``home`` as a local folder, or None for a remote lake (an fsspec URL).

        For readers of the catalog, which need no more than the folder (and so not the
        lake's storage libraries).
        """
        home = self.home
        for prefix in ("file://", "local://", "file:"):  # as fsspec reads them
            if home.startswith(prefix):
                home = home.removeprefix(prefix)
                break
        else:
            if "://" in home:
                return None
        return os.path.expanduser(home)  # as the lake does: "~/lake" from an env file

    def lake(self) -> Lake:
        """The lake at ``home``."""
        from storage.lake import Lake

        return Lake(self.home)

    def sources_config(self) -> SourcesConfig:
        """The packaged sources config with the user's file (if any) merged over it."""
        from sources import config as sources_config

        return sources_config.load(self.sources)
