"""One HTTP client for every provider: timeouts, polite retries, conditional GET, local files.

Retries follow the house rule: connection errors, timeouts, 429 and 5xx are retried with
exponential backoff and jitter; any other 4xx is final. Local paths and ``file://`` URLs are
read from disk through the same call, so a user can point any source at a folder.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit
from urllib.request import url2pathname

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.clock import utc_now
from core.errors import SourceDataError, SourceUnavailable

# FRED asks API users to stay around 2 requests a second; fredgraph shares the budget.
FRED_HOSTS = {"fred.stlouisfed.org": 0.5, "api.stlouisfed.org": 0.5}
_SECRET = re.compile(r"(?i)(api_key=)[^&#]*")
# Transport failures worth another try; ChunkedEncodingError covers a body cut mid-transfer.
_TRANSIENT = (requests.ConnectionError, requests.Timeout,
              requests.exceptions.ChunkedEncodingError)
REFUSED = "refused connections"  # in the message of a host that refused every attempt
_VALIDATOR_HEADERS = {"etag": "ETag", "last_modified": "Last-Modified"}
_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body)", re.IGNORECASE)


def user_agent() -> str:
    """``alvh/<version>``, so providers can tell who is calling."""
    try:
        version = metadata.version("alvh")
    except metadata.PackageNotFoundError:  # running from a bare checkout
        version = "0+unknown"
    return f"alvh/{version}"


def redact(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` (or any text) with ``api_key`` values and every known secret hidden.

    A secret is hidden by value, as given and URL-encoded, so a template that passes it under
    another parameter name or in the path does not leak it into messages, logs or metadata.
    """
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            url = url.replace(form, "***")
    return _SECRET.sub(r"\1***", url)


@dataclass(frozen=True)
class Fetched:
    """What a fetch returned: the body and where, when and how it was obtained."""

    payload: bytes
    url: str
    status: int
    fetched_at: dt.datetime
    headers: Mapping[str, str] = field(default_factory=dict)
    not_modified: bool = False

    def meta(self) -> dict[str, object]:
        """The metadata ``Lake.save_raw`` keeps beside the payload, validators included."""
        validators = {k: self.headers.get(h) for k, h in _VALIDATOR_HEADERS.items()}
        return {"url": self.url, "fetched_at": self.fetched_at.isoformat(),
                "status": self.status} | {k: v for k, v in validators.items() if v}


@dataclass(frozen=True)
class Validators:
    """The cache validators a server gave for a URL (sent back on the next GET)."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def from_meta(cls, meta: Mapping[str, object]) -> Validators | None:
        """The validators a raw ``.meta.json`` recorded, or None when it has none."""
        etag, modified = meta.get("etag"), meta.get("last_modified")
        if not etag and not modified:
            return None
        return cls(str(etag) if etag else None, str(modified) if modified else None)

    def headers(self) -> dict[str, str]:
        """Conditional-request headers for these validators."""
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


def local_path(location: str) -> Path | None:
    """The filesystem path ``location`` names (a ``file://`` URL or a plain path), else None."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(url2pathname(unquote(parts.path)))
    if parts.scheme in ("http", "https"):
        return None
    if parts.scheme and len(parts.scheme) > 1:
        raise SourceDataError(f"unsupported URL scheme {parts.scheme!r} in {redact(location)}")
    return Path(location).expanduser()


def ensure_data(payload: bytes, *, source: str, name: str) -> bytes:
    """Return ``payload`` unless it is obviously not data: empty, blank or an HTML page.

    Providers answer some failures with status 200 and an HTML error or login page; this
    catches them before a parser reports a confusing header error.

    Args:
        payload: The body as received.
        source: Provider name for the message (``cboe``, ``fred``...).
        name: File name for the message.

    Returns:
        The payload, unchanged.

    Raises:
        SourceDataError: The body is empty, only whitespace, or an HTML document.
    """
    if not payload.strip():
        raise SourceDataError(f"source {source!r}, file {name!r}: empty body")
    if _HTML.match(payload.lstrip(b"\xef\xbb\xbf")):
        head = payload.strip()[:80].decode("utf-8", "replace")
        raise SourceDataError(
            f"source {source!r}, file {name!r}: got an HTML page instead of data ({head!r})")
    return payload


def decode_text(payload: bytes, *, source: str, name: str) -> str:
    """``payload`` as text, after ``ensure_data``; a SourceDataError when it is not UTF-8."""
    ensure_data(payload, source=source, name=name)
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SourceDataError(f"source {source!r}, file {name!r}: not UTF-8 text ({e})") from e


class RateLimiter:
    """Keeps at least ``interval`` seconds between the starts of requests to one host."""

    def __init__(
        self,
        intervals: Mapping[str, float],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """Limit the hosts in ``intervals`` (host name -> minimum seconds between requests)."""
        self.intervals = {k.lower(): v for k, v in intervals.items()}
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._monotonic, self._sleep = monotonic, sleep

    def wait(self, host: str) -> None:
        """Block until a request to ``host`` may start, and book the next slot."""
        interval = self.intervals.get(host.lower(), 0.0)
        if interval <= 0:
            return
        with self._lock:
            now = self._monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + interval
        if start > now:
            self._sleep(start - now)


class HttpClient:
    """A ``requests.Session`` with timeouts, retries, conditional GET and per-host pacing."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        total_timeout: float = 120.0,
        retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 120.0,
        min_interval: Mapping[str, float] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        validators: MutableMapping[str, Validators] | None = None,
        session: requests.Session | None = None,
    ):
        """Configure the client; every argument is keyword-only so tests can run fast.

        ``min_interval`` maps host names to the minimum seconds between requests (FRED's
        hosts default to 0.5 s). ``validators`` may be pre-filled (for example from the
        raw archive) so that conditional GETs survive a restart. ``total_timeout`` bounds a
        whole request (connect, headers and body): a server trickling bytes cannot hold it.
        Validators are kept by redacted URL, the form the raw archive records.
        """
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.secrets: set[str] = set()
        self.retries = retries
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.retry_after_max = retry_after_max
        self.clock, self.sleep = clock, sleep
        self.rng = rng or random.Random()
        self.validators: MutableMapping[str, Validators] = (
            {} if validators is None else validators)
        self.limiter = RateLimiter(FRED_HOSTS if min_interval is None else min_interval,
                                   sleep=sleep)
        self.session = session or requests.Session()
        for prefix in ("http://", "https://"):  # the watchdog must reach the socket in use
            self.session.mount(prefix, _DeadlineAdapter())
        self.session.headers["User-Agent"] = user_agent()
        # Hosts that refused every attempt: later URLs there fail at once, so a source whose
        # server is down costs one URL's retries, not one per symbol or series.
        self.refused: dict[str, str] = {}

    def hide(self, secret: str | None) -> None:
        """Redact ``secret``'s value from every URL, message and metadata from now on."""
        if secret:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with api keys and this client's secrets hidden."""
        return redact(text, self.secrets)

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -----------------------------------------------------------------------
    def fetch(self, location: str, *, source: str, conditional: bool = True) -> Fetched:
        """Fetch ``location``: an http(s) URL, a ``file://`` URL or a local path.

        Args:
            location: Where the bytes are.
            source: Provider name, used in error messages.
            conditional: Send the ETag / Last-Modified remembered for this URL; a 304
                answer then returns ``not_modified=True`` and an empty payload.

        Returns:
            The body with its URL (api keys redacted), status, fetch time and headers.

        Raises:
            SourceUnavailable: Connection errors, timeouts, 429 or 5xx outlasted the retries.
            SourceDataError: Any other 4xx (not retried), a missing local file or an
                unsupported URL scheme.
        """
        path = local_path(location)
        if path is not None:
            return self._read_file(path, source=source)
        return self._get_with_retries(location, source=source, conditional=conditional)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): exponential, capped, jittered."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** attempt)
        # "Equal jitter": never less than half the ceiling, so retries stay spread but polite.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    # -- internals --------------------------------------------------------------------
    def _read_file(self, path: Path, *, source: str) -> Fetched:
        try:
            payload = path.read_bytes()
        except OSError as e:
            raise SourceDataError(
                f"source {source!r}, file {str(path)!r}: cannot read: {e.strerror or e}") from e
        return Fetched(payload, path.resolve().as_uri(), 200, self.clock())

    def _get_with_retries(self, url: str, *, source: str, conditional: bool) -> Fetched:
        shown = self.redact(url)
        host = urlsplit(url).netloc
        if host in self.refused:
            raise SourceUnavailable(f"source {source!r}, url {shown}: not tried, host {host} "
                                    f"{REFUSED} ({self.refused[host]})")
        last_error, delay = "no attempt made", 0.0
        refused = True
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(delay)
            try:
                response = self._get(url, conditional=conditional)
            except _TRANSIENT as e:
                # requests repeats the URL (query and key included) in its messages.
                last_error, delay = self.redact(f"{type(e).__name__}: {e}"), self.backoff(attempt)
                refused = refused and isinstance(e, requests.ConnectionError) and not isinstance(
                    e, requests.Timeout)
                continue
            except requests.RequestException as e:  # bad URL, redirect loop: retrying won't help
                raise SourceDataError(
                    f"source {source!r}, url {shown}: {self.redact(f'{type(e).__name__}: {e}')}"
                ) from e
            refused = False
            done = self._outcome(response, url, shown, source=source)
            if done is not None:
                return done
            last_error = f"HTTP {response.status_code} {response.reason}"
            delay = self._retry_delay(response, attempt)
        if refused:
            self.refused[host] = f"{self.retries + 1} attempts"
            raise SourceUnavailable(f"source {source!r}, url {shown}: host {host} {REFUSED} "
                                    f"({self.retries + 1} attempts); last error: "
                                    f"{last_error}")
        raise SourceUnavailable(
            f"source {source!r}, url {shown}: unavailable after {self.retries + 1} attempts; "
            f"last error: {last_error}")

    def _get(self, url: str, *, conditional: bool) -> requests.Response:
        """The response with its body read, within ``total_timeout`` from the first byte sent.

        Per-read timeouts alone let a server trickling a byte a second hold a fetch forever:
        a watchdog shuts the socket down at the deadline, and the read fails as a Timeout.
        """
        self.limiter.wait(urlsplit(url).hostname or "")
        remembered = self.validators.get(self.redact(url)) if conditional else None
        headers = remembered.headers() if remembered else {}
        expired = threading.Event()
        watchdog = threading.Timer(self.total_timeout, _abort, (expired, threading.get_ident()))
        watchdog.daemon = True
        watchdog.start()
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeout, stream=True)
            response.content  # noqa: B018  (reads the body under the watchdog)
        except Exception as e:  # a socket shut under a read fails in several ways
            if expired.is_set():
                raise requests.Timeout(f"no complete answer within {self.total_timeout:g} s "
                                       "(total timeout)") from e
            raise
        finally:
            watchdog.cancel()
            _IN_USE.pop(threading.get_ident(), None)
        if expired.is_set():
            raise requests.Timeout(f"no complete answer within {self.total_timeout:g} s "
                                   "(total timeout)")
        return response

    def _outcome(
        self, response: requests.Response, url: str, shown: str, *, source: str
    ) -> Fetched | None:
        """A finished fetch, None when the status is worth retrying, or raise when final."""
        status = response.status_code
        if status == 304:
            return Fetched(b"", shown, 304, self.clock(), _headers(response), True)
        if 200 <= status < 300:
            self._remember(url, response)
            return Fetched(response.content, shown, status, self.clock(), _headers(response))
        if status == 429 or status >= 500:
            return None
        raise SourceDataError(
            f"source {source!r}, url {shown}: HTTP {status} {response.reason} (not retried)")

    def _remember(self, url: str, response: requests.Response) -> None:
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if etag or modified:
            self.validators[self.redact(url)] = Validators(etag, modified)

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        """Retry-After when the server gives one (capped), else the jittered backoff."""
        after = retry_after_seconds(response.headers.get("Retry-After"), now=self.clock())
        if after is None:
            return self.backoff(attempt)
        return min(after, self.retry_after_max)


def _abort(expired: threading.Event, thread: int) -> None:
    """Mark the deadline passed and shut the socket ``thread`` is using, unblocking any read.

    It may be waiting for the status line, the headers or the body: all come from one socket.
    """
    expired.set()
    conn = _IN_USE.get(thread)
    sock = getattr(conn, "sock", None)
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# The connection each thread is sending a request on (urllib3 keeps it out of reach while
# the request is in flight), so that the total-timeout watchdog can shut its socket.
_IN_USE: dict[int, HTTPConnection] = {}


class _TrackedHTTP(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        _IN_USE[threading.get_ident()] = self
        super().request(*args, **kwargs)


class _TrackedHTTPS(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        _IN_USE[threading.get_ident()] = self
        super().request(*args, **kwargs)


class _TrackedPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTP


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPS


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections say which thread is using them."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedPool,
                                                   "https": _TrackedHTTPSPool}


def _headers(response: requests.Response) -> Mapping[str, str]:
    """A case-insensitive copy of the response headers."""
    return CaseInsensitiveDict(response.headers)


def retry_after_seconds(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())
