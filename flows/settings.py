"""Runtime settings: the only place alvh reads its environment (the clock is core.clock)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sources import config as sources_config
from sources.config import SourcesConfig
from storage.lake import Lake


class Settings(BaseSettings):
    """Settings read from ``ALVH_*`` variables (and FRED_API_KEY); CLI options override them."""

    model_config = SettingsConfigDict(env_prefix="ALVH_", populate_by_name=True)

    home: str = "./lake"
    sources: str | None = None
    policy: str | None = None
    fred_api_key: str | None = Field(default=None, validation_alias="FRED_API_KEY")

    def lake(self) -> Lake:
        """The lake at ``home``."""
        return Lake(self.home)

    def sources_config(self) -> SourcesConfig:
        """The packaged sources config with the user's file (if any) merged over it."""
        return sources_config.load(self.sources)

