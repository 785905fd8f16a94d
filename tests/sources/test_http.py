"""The HTTP client against a real local server on 127.0.0.1 (no mocks of our own code)."""

import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from core.errors import SourceDataError, SourceUnavailable
from sources import cboe
from sources.http import (
    FRED_HOSTS,
    HttpClient,
    ensure_data,
    local_path,
    redact,
    retry_after_seconds,
)
from tests.conftest import NOW

VIX_CSV = b"DATE,OPEN,HIGH,LOW,CLOSE\n03/13/2020,71.31,77.57,55.17,57.83\n" \
          b"03/16/2020,57.83,83.56,57.83,82.69\n"
HTML = b"<!DOCTYPE html>\n<html><head><title>Access Denied</title></head></html>\n"


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def httpserver(server: HTTPServer) -> Iterator[HTTPServer]:
    server.clear()
    yield server
    server.clear()


class Sleeps(list[float]):
    """Records the waits the client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(sleeps: Sleeps | None = None, **kw) -> HttpClient:
    options = dict(connect_timeout=1.0, read_timeout=1.0, retries=3, backoff_base=0.1,
                   backoff_max=1.0, min_interval={}, clock=lambda: NOW,
                   sleep=sleeps if sleeps is not None else Sleeps())
    options.update(kw)
    return HttpClient(**options)


def test_200_returns_payload_status_time_and_sends_user_agent(httpserver: HTTPServer):
    httpserver.expect_request("/VIX_History.csv").respond_with_data(
        VIX_CSV, content_type="text/csv")
    got = client().fetch(httpserver.url_for("/VIX_History.csv"), source="cboe")
    assert (got.payload, got.status, got.fetched_at, got.not_modified) == (
        VIX_CSV, 200, NOW, False)
    assert got.headers["content-type"].startswith("text/csv")
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"].startswith("alvh/")
    assert got.meta() == {"url": got.url, "fetched_at": NOW.isoformat(), "status": 200}


def test_conditional_get_sends_validators_and_304_is_not_modified(httpserver: HTTPServer):
    etag, modified = '"v1"', "Mon, 16 Mar 2020 21:00:00 GMT"
    httpserver.expect_ordered_request("/f.csv").respond_with_data(
        VIX_CSV, headers={"ETag": etag, "Last-Modified": modified})
    httpserver.expect_ordered_request(
        "/f.csv", headers={"If-None-Match": etag, "If-Modified-Since": modified}
    ).respond_with_data(b"", status=304)
    http = client()
    first = http.fetch(httpserver.url_for("/f.csv"), source="cboe")
    second = http.fetch(httpserver.url_for("/f.csv"), source="cboe")
    assert first.payload == VIX_CSV and not first.not_modified
    assert second.not_modified and second.status == 304 and second.payload == b""
    httpserver.check_assertions()


def test_conditional_false_sends_no_validators(httpserver: HTTPServer):
    httpserver.expect_request("/f.csv").respond_with_data(VIX_CSV, headers={"ETag": '"v1"'})
    http = client()
    http.fetch(httpserver.url_for("/f.csv"), source="cboe")
    http.fetch(httpserver.url_for("/f.csv"), source="cboe", conditional=False)
    assert "If-None-Match" not in httpserver.log[1][0].headers


def test_429_then_success_honours_retry_after(httpserver: HTTPServer):
    httpserver.expect_ordered_request("/f.csv").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "2"})
    httpserver.expect_ordered_request("/f.csv").respond_with_data(VIX_CSV)
    sleeps = Sleeps()
    got = client(sleeps).fetch(httpserver.url_for("/f.csv"), source="fred")
    assert got.payload == VIX_CSV
    assert sleeps == [2.0]


def test_retry_after_is_capped(httpserver: HTTPServer):
    httpserver.expect_ordered_request("/f.csv").respond_with_data(
        "", status=503, headers={"Retry-After": "3600"})
    httpserver.expect_ordered_request("/f.csv").respond_with_data(VIX_CSV)
    sleeps = Sleeps()
    client(sleeps, retry_after_max=5.0).fetch(httpserver.url_for("/f.csv"), source="fred")
    assert sleeps == [5.0]


def test_500_then_success_backs_off_with_jitter(httpserver: HTTPServer):
    httpserver.expect_ordered_request("/f.csv").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/f.csv").respond_with_data("oops", status=502)
    httpserver.expect_ordered_request("/f.csv").respond_with_data(VIX_CSV)
    sleeps = Sleeps()
    got = client(sleeps).fetch(httpserver.url_for("/f.csv"), source="cboe")
    assert got.payload == VIX_CSV and len(httpserver.log) == 3
    assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2


def test_404_is_not_retried_and_names_the_url(httpserver: HTTPServer):
    httpserver.expect_request("/VX_2018-02-14.csv").respond_with_data("nope", status=404)
    sleeps = Sleeps()
    url = httpserver.url_for("/VX_2018-02-14.csv")
    with pytest.raises(SourceDataError, match="HTTP 404") as err:
        client(sleeps).fetch(url, source="cfe")
    assert url in str(err.value) and "'cfe'" in str(err.value)
    assert len(httpserver.log) == 1 and sleeps == []


def test_5xx_forever_ends_in_source_unavailable(httpserver: HTTPServer):
    httpserver.expect_request("/f.csv").respond_with_data("down", status=503)
    sleeps = Sleeps()
    with pytest.raises(SourceUnavailable) as err:
        client(sleeps, retries=2).fetch(httpserver.url_for("/f.csv"), source="cboe")
    message = str(err.value)
    assert "'cboe'" in message and "/f.csv" in message and "HTTP 503" in message
    assert len(httpserver.log) == 3 and len(sleeps) == 2


def test_server_that_never_answers_times_out():
    # A listening socket that is never accepted: the connection opens, no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/VIX_History.csv"
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="ReadTimeout") as err:
            client(read_timeout=0.3, retries=1).fetch(url, source="cboe")
        elapsed = time.monotonic() - started
    assert url in str(err.value)
    assert elapsed < 2.0


def test_connection_refused_is_retried_then_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{port}/obs?series_id=DFF&api_key=s3cr3tkey"
    with pytest.raises(SourceUnavailable, match="ConnectionError") as err:
        client(sleeps, retries=2).fetch(url, source="fred")
    assert len(sleeps) == 2
    assert "s3cr3tkey" not in str(err.value)


def test_a_host_that_refused_every_attempt_is_not_tried_again():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    http = client(sleeps, retries=2)
    with pytest.raises(SourceUnavailable, match=f"host 127.0.0.1:{port} refused connections"):
        http.fetch(f"http://127.0.0.1:{port}/VIX_History.csv", source="cboe")
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="not tried"):
        http.fetch(f"http://127.0.0.1:{port}/SPX_History.csv", source="cboe")
    assert len(sleeps) == 2 and time.monotonic() - started < 0.5


def test_a_refused_host_that_answered_once_keeps_being_tried(server):
    server.expect_request("/ok.csv").respond_with_data(VIX_CSV)
    http = client(Sleeps(), retries=1)
    assert http.fetch(server.url_for("/ok.csv"), source="cboe").status == 200
    assert http.refused == {}


def serve_raw(answers: list[bytes]) -> tuple[str, threading.Thread]:
    """A one-off server on 127.0.0.1 writing each raw answer to one connection, then closing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def run() -> None:
        with listener:
            for answer in answers:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/VIX_History.csv", thread


def test_body_cut_short_mid_transfer_is_retried():
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(VIX_CSV)}\r\n\r\n".encode()
    # First answer announces the whole file but the connection drops after 30 bytes.
    url, thread = serve_raw([head + VIX_CSV[:30], head + VIX_CSV])
    sleeps = Sleeps()
    got = client(sleeps).fetch(url, source="cboe")
    thread.join(2)
    assert got.payload == VIX_CSV and len(sleeps) == 1


def test_html_error_page_with_status_200_is_rejected(httpserver: HTTPServer):
    httpserver.expect_request("/VIX_History.csv").respond_with_data(
        HTML, content_type="text/html")
    got = client().fetch(httpserver.url_for("/VIX_History.csv"), source="cboe")
    with pytest.raises(SourceDataError, match="HTML page") as err:
        ensure_data(got.payload, source="cboe", name="VIX_History.csv")
    assert "'cboe'" in str(err.value) and "VIX_History.csv" in str(err.value)
    with pytest.raises(SourceDataError, match="HTML page"):
        cboe.parse(got.payload, "VIX_History.csv")


def test_empty_body_is_rejected(httpserver: HTTPServer):
    httpserver.expect_request("/VIX_History.csv").respond_with_data(b"")
    got = client().fetch(httpserver.url_for("/VIX_History.csv"), source="cboe")
    for payload in (got.payload, b"  \r\n"):
        with pytest.raises(SourceDataError, match="'VIX_History.csv': empty body"):
            ensure_data(payload, source="cboe", name="VIX_History.csv")


def test_truncated_file_served_whole_fails_in_the_parser(httpserver: HTTPServer):
    httpserver.expect_request("/VIX_History.csv").respond_with_data(VIX_CSV[:-20])
    got = client().fetch(httpserver.url_for("/VIX_History.csv"), source="cboe")
    with pytest.raises(SourceDataError, match="truncated: last line 3"):
        cboe.parse(got.payload, "VIX_History.csv")


def test_per_host_minimum_interval_spaces_requests(httpserver: HTTPServer):
    arrivals: list[float] = []

    def stamp(_: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response("observation_date,DFF\n2020-03-16,0.25\n")

    httpserver.expect_request("/fredgraph.csv").respond_with_handler(stamp)
    http = HttpClient(min_interval={"127.0.0.1": 0.3}, retries=0)
    for _ in range(4):
        http.fetch(httpserver.url_for("/fredgraph.csv"), source="fred")
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # The client books start slots 0.3 s apart; on a loaded machine single arrivals jitter
    # around their slot, but the last cannot arrive before its slot.
    assert len(gaps) == 3 and min(gaps) >= 0.15, gaps
    assert arrivals[-1] - arrivals[0] >= 3 * 0.3 - 0.05, gaps


def test_fred_hosts_are_paced_at_two_per_second_by_default():
    assert FRED_HOSTS == {"fred.stlouisfed.org": 0.5, "api.stlouisfed.org": 0.5}
    assert HttpClient().limiter.intervals["fred.stlouisfed.org"] == 0.5


def test_local_paths_and_file_urls_read_from_disk(tmp_path):
    path = tmp_path / "VIX_History.csv"
    path.write_bytes(VIX_CSV)
    http = client()
    for location in (str(path), path.as_uri()):
        got = http.fetch(location, source="cboe")
        assert (got.payload, got.status, got.fetched_at) == (VIX_CSV, 200, NOW)
    with pytest.raises(SourceDataError, match="cannot read"):
        http.fetch(str(tmp_path / "missing.csv"), source="cboe")
    assert local_path("https://x.test/a.csv") is None
    with pytest.raises(SourceDataError, match="unsupported URL scheme"):
        http.fetch("ftp://x.test/a.csv", source="cboe")


def test_redirect_loop_is_final(httpserver: HTTPServer):
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"})
    with pytest.raises(SourceDataError, match="TooManyRedirects"):
        client().fetch(httpserver.url_for("/loop"), source="cboe")


def test_api_key_never_appears_in_urls_or_errors(httpserver: HTTPServer):
    httpserver.expect_request("/obs").respond_with_data("bad key", status=400)
    url = httpserver.url_for("/obs") + "?series_id=DFF&api_key=s3cr3tkey&file_type=json"
    with pytest.raises(SourceDataError) as err:
        client().fetch(url, source="fred")
    assert "s3cr3tkey" not in str(err.value) and "api_key=***" in str(err.value)
    assert redact("https://x/o?api_key=abc&b=1") == "https://x/o?api_key=***&b=1"


def test_retry_after_accepts_seconds_and_http_dates():
    now = dt.datetime(2020, 3, 16, 21, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("Mon, 16 Mar 2020 21:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Mon, 16 Mar 2020 20:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


@given(attempt=st.integers(0, 30), base=st.floats(0.01, 5), cap=st.floats(0.01, 60))
def test_backoff_is_exponential_capped_and_jittered(attempt, base, cap):
    ceiling = min(cap, base * 2.0 ** attempt)
    delay = client(backoff_base=base, backoff_max=cap).backoff(attempt)
    assert ceiling / 2 <= delay <= ceiling


def test_requests_session_is_reused():
    http = client()
    assert isinstance(http.session, requests.Session)
    assert http.session.headers["User-Agent"].startswith("alvh/")


def trickled_fetch_is_cut_at_the_total_timeout(sent_at_once: bytes, trickled: bytes) -> None:
    """A server sends ``sent_at_once``, then ``trickled`` a byte every 50 ms (never a read
    timeout): the fetch must fail on its total timeout within seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def trickle() -> None:
        with listener:
            while not stop.is_set():
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(sent_at_once)
                    for i in range(len(trickled)):
                        if stop.is_set():
                            return
                        try:
                            conn.sendall(trickled[i:i + 1])
                        except OSError:
                            break
                        time.sleep(0.05)

    threading.Thread(target=trickle, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/VIX_History.csv"
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable, match="total timeout"):
            client(read_timeout=1.0, total_timeout=0.5, retries=1).fetch(url, source="cboe")
    finally:
        stop.set()
    assert time.monotonic() - started < 3.0


def test_server_trickling_bytes_hits_the_total_timeout():
    body = VIX_CSV * 100
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    trickled_fetch_is_cut_at_the_total_timeout(head, body)


def test_server_trickling_its_headers_hits_the_total_timeout():
    """The deadline covers the wait for the status line and headers too, not only the body."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n" + b"X-Slow: " + b"z" * 400
    trickled_fetch_is_cut_at_the_total_timeout(b"", head)


def test_total_timeout_leaves_quick_answers_alone(httpserver: HTTPServer):
    httpserver.expect_request("/f.csv").respond_with_data(VIX_CSV)
    got = client(total_timeout=5.0).fetch(httpserver.url_for("/f.csv"), source="cboe")
    assert got.payload == VIX_CSV


@pytest.mark.parametrize("where", ["/obs?token={k}", "/obs?series_id=DFF&apikey={k}",
                                   "/key/{k}/obs"])
def test_secret_is_redacted_whatever_the_parameter_is_called(httpserver: HTTPServer, where):
    secret = "s3cr3t+key/9"
    quoted = requests.utils.quote(secret, safe="")
    httpserver.expect_request(re.compile("^/(obs|key/.*)$")).respond_with_data(
        "bad key", status=400)
    url = httpserver.url_for("").rstrip("/") + where.format(k=quoted)
    http = client()
    http.hide(secret)
    with pytest.raises(SourceDataError) as err:
        http.fetch(url, source="fred")
    assert secret not in str(err.value) and quoted not in str(err.value)
    assert "***" in str(err.value)


def test_secret_is_redacted_from_the_fetched_url_and_meta(httpserver: HTTPServer):
    httpserver.expect_request("/obs").respond_with_data(VIX_CSV, headers={"ETag": '"v1"'})
    http = client()
    http.hide("hunter2")
    got = http.fetch(httpserver.url_for("/obs") + "?token=hunter2", source="fred")
    assert "hunter2" not in got.url and "hunter2" not in str(got.meta())
    assert got.meta()["etag"] == '"v1"'
