"""The sources config: URL templates per provider and what is known about each series.

Defaults live in ``sources/defaults.toml``; a user file is merged over them key by key.
This module never reads the environment: the caller passes the user file (from
``--sources`` or ``ALVH_SOURCES``) and any API key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from core.errors import PipelineError
from core.paths import safe_segment


class SourcesConfigError(PipelineError, ValueError):
    """The sources config file is malformed (unknown key, bad value, bad template)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bounds(_Strict):
    """Plausible range of a series' values, checked by the validations."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self


class SeriesRule(_Strict):
    """When a FRED series' observation becomes known, and its plausible range."""

    publication: Literal["business_days", "calendar_days", "release_day"]
    lag_days: int
    release_kind: str | None = None
    min: float
    max: float

    @model_validator(mode="after")
    def _consistent(self) -> SeriesRule:
        if self.lag_days < 0:
            raise ValueError("lag_days must be >= 0")
        if self.publication == "release_day" and not self.release_kind:
            raise ValueError("publication 'release_day' needs release_kind (e.g. 'cpi')")
        if self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self

    @property
    def bounds(self) -> Bounds:
        """The plausible range as a Bounds."""
        return Bounds(min=self.min, max=self.max)


class HttpConfig(_Strict):
    """Timeouts, retries and per-host pacing for sources.http.HttpClient."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    min_interval: dict[str, float] = {}

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``HttpClient(**...)``."""
        return self.model_dump()


def _template_fields(template: str) -> set[str]:
    """The ``{placeholder}`` names in ``template``."""
    try:
        return {f for _, f, _, _ in Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise ValueError(f"malformed template {template!r}: {e}") from e


def _check_template(template: str | None, allowed: set[str]) -> str | None:
    """``template`` if its scheme and placeholders are acceptable, else ValueError."""
    if template is None:
        return None
    scheme = urlsplit(template).scheme
    if len(scheme) > 1 and scheme not in ("http", "https", "file"):
        raise ValueError(f"unsupported scheme {scheme!r}: use http(s)://, file:// or a path")
    unknown = _template_fields(template) - allowed
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return template


FRED_API_FIELDS = ("series_id", "api_key", "realtime_start", "realtime_end",
                   "observation_start", "observation_end")


def _template(*allowed: str) -> AfterValidator:
    """A validator accepting templates with only the ``allowed`` placeholders."""
    return AfterValidator(lambda v: _check_template(v, set(allowed)))


# A symbol or series id: one safe path segment (no slashes, no dots at the start).
Name = Annotated[str, AfterValidator(lambda v: safe_segment(v, "name"))]


class CboeConfig(_Strict):
    """CBOE index histories."""

    url: Annotated[str, _template("symbol")]
    symbols: list[Name]
    bounds: dict[str, Bounds] = {}


class CfeConfig(_Strict):
    """CFE VX futures, one file per contract."""

    url: Annotated[str, _template("expiry")]


class ChainsConfig(_Strict):
    """SPX option chains: the live snapshot and user-supplied history."""

    snapshot_url: Annotated[str | None, _template()] = None
    history_url: Annotated[str | None, _template("date")] = None


class BreadthConfig(_Strict):
    """NYSE breadth: user-supplied file or folder."""

    url: Annotated[str | None, _template()] = None


class CalendarConfig(_Strict):
    """Event calendar files (FOMC, CPI, PPI, or one combined file)."""

    fomc: Annotated[str | None, _template()] = None
    cpi: Annotated[str | None, _template()] = None
    ppi: Annotated[str | None, _template()] = None
    events: Annotated[str | None, _template()] = None


class FredConfig(_Strict):
    """FRED: fredgraph CSV, the observations API with vintages, and per-series rules."""

    url: Annotated[str, _template(*FRED_API_FIELDS)]
    api_url: Annotated[str, _template(*FRED_API_FIELDS)]
    series: list[Name]
    rules: dict[str, SeriesRule]

    @model_validator(mode="after")
    def _every_series_has_a_rule(self) -> FredConfig:
        missing = [s for s in self.series if s not in self.rules]
        if missing:
            raise ValueError(f"series without a [fred.rules] entry: {missing}")
        return self

    def rule(self, series_id: str) -> SeriesRule:
        """The publication rule of ``series_id``, or SourcesConfigError naming it."""
        try:
            return self.rules[series_id]
        except KeyError:
            raise SourcesConfigError(
                f"no publication rule for FRED series {series_id!r}: add "
                f"[fred.rules] {series_id} = {{ publication = ..., lag_days = ... }}"
            ) from None


class QuarantineConfig(_Strict):
    """How many rows failing row-level checks a partition may lose before it is refused."""

    max_row_share: float = Field(default=0.01, ge=0.0, le=1.0)


class SourcesConfig(_Strict):
    """The whole sources config."""

    http: HttpConfig = HttpConfig()
    cboe: CboeConfig
    cfe: CfeConfig
    chains: ChainsConfig = ChainsConfig()
    breadth: BreadthConfig = BreadthConfig()
    calendar: CalendarConfig = CalendarConfig()
    fred: FredConfig
    quarantine: QuarantineConfig = QuarantineConfig()


# -- loading ----------------------------------------------------------------------------
def defaults_data() -> dict[str, Any]:
    """The packaged defaults as a plain dict."""
    text = resources.files("sources").joinpath("defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged over ``base``: tables merge key by key, other values replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _error_text(e: ValidationError, origin: str) -> str:
    """One line per problem, naming the dotted key (``cboe.symbolz: unknown key``)."""
    lines = []
    for err in e.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{key}: {msg}")
    return f"sources config {origin}: " + "; ".join(lines)


def _resolved_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative path templates in a user file made relative to that file's folder."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = _resolved_paths(value, folder)
        elif isinstance(value, str) and _is_relative_path(key, value):
            out[key] = str(folder / value)
        else:
            out[key] = value
    return out


def _is_relative_path(key: str, value: str) -> bool:
    """Whether a template value is a relative filesystem path."""
    if not (key == "url" or key.endswith("_url") or key in ("fomc", "cpi", "ppi", "events")):
        return False
    if urlsplit(value).scheme or not value:
        return False
    return not Path(value).expanduser().is_absolute()


def load(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None
         ) -> SourcesConfig:
    """Load the defaults, merge the user file at ``path`` and ``overrides`` over them.

    Args:
        path: A user TOML file, or None for the defaults only.
        overrides: Extra settings as a dict, merged last (tests, CLI flags).

    Returns:
        The validated config.

    Raises:
        SourcesConfigError: The file is missing or not TOML, a key is unknown, a value is
            invalid, or a template has an unknown placeholder or scheme.
    """
    data = defaults_data()
    origin = "defaults"
    if path is not None:
        origin = str(path)
        user = _read_toml(Path(path))
        data = merged(data, _resolved_paths(user, Path(path).expanduser().resolve().parent))
    if overrides:
        data = merged(data, overrides)
    try:
        return SourcesConfig.model_validate(data)
    except ValidationError as e:
        raise SourcesConfigError(_error_text(e, origin)) from e


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``, or SourcesConfigError."""
    try:
        return tomllib.loads(path.expanduser().read_text("utf-8"))
    except OSError as e:
        raise SourcesConfigError(f"sources config {path}: cannot read: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise SourcesConfigError(f"sources config {path}: not valid TOML: {e}") from e


# -- templates --------------------------------------------------------------------------
def render(template: str, **params: object) -> str:
    """Fill ``template``'s placeholders with ``params``, each checked to be a plain name.

    Values go through ``core.paths.safe_segment`` (dates are written ISO), so a symbol
    like ``../etc`` can never turn a template into another path. In URL templates the
    values are percent-encoded. Params the template does not use are ignored.

    Args:
        template: An http(s) URL, ``file://`` URL or path with ``{name}`` placeholders.
        **params: Values for the placeholders.

    Returns:
        The filled-in location.

    Raises:
        UnsafePathError: A value contains path characters.
        SourcesConfigError: The template needs a value that was not given.
    """
    needed = _template_fields(template)
    missing = sorted(needed - params.keys())
    if missing:
        raise SourcesConfigError(f"template {template!r} needs {missing}")
    is_url = bool(urlsplit(template).scheme) and len(urlsplit(template).scheme) > 1
    values = {}
    for key in needed:
        text = safe_segment(params[key], key)
        values[key] = quote(text, safe="-._~") if is_url else text
    return template.format(**values)


def iso(day: dt.date | None, default: str) -> str:
    """``day`` as YYYY-MM-DD, or ``default`` when None."""
    return default if day is None else day.isoformat()
