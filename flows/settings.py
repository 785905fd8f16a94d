"""Runtime settings: the only place alvh reads its environment."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.lake import Lake


class Settings(BaseSettings):
    """Settings read from ``ALVH_*`` variables; CLI options override them."""

    model_config = SettingsConfigDict(env_prefix="ALVH_")

    home: str = "./lake"
    sources: str | None = None

    def lake(self) -> Lake:
        """The lake at ``home``."""
        return Lake(self.home)
