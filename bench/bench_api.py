"""`alvh serve` under load: p50/p99 latency and requests/s with 16 concurrent clients.

Prints, for `/v1/features/latest` and `/v1/features?as_of=D` (D spread over the history),
the HTTP figures (the console script serving a simulated year, clients on keep-alive
sessions) beside the same query run in-process through the duckdb package by 16 threads,
each on its own cursor of one read-only connection.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

CLIENTS = 16
PER_CLIENT = 60
ALVH = shutil.which("alvh") or os.path.join(os.path.dirname(sys.executable), "alvh")


def load(call: Callable[[int, int], None]) -> tuple[float, float, float]:
    """Run CLIENTS threads of PER_CLIENT calls; returns p50 ms, p99 ms, calls/s."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        mine = []
        for i in range(PER_CLIENT):
            t0 = time.perf_counter()
            call(c, i)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100)
    return q[49] * 1000, q[98] * 1000, len(latencies) / wall


def serve(home: str) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([ALVH, "--home", home, "serve", "--port", str(port)],
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return proc, base
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("alvh serve did not start")


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' demo lake
    from storage.catalog import connect_readonly
    from tests.flows.demo_lake import DAY, START, build_demo_lake

    with tempfile.TemporaryDirectory() as tmp:
        lake = build_demo_lake(Path(tmp))
        days = [START + dt.timedelta(days=d) for d in range(0, (DAY - START).days, 7)]
        proc, base = serve(lake.root)
        sessions = [requests.Session() for _ in range(CLIENTS)]
        con = connect_readonly(lake)  # as users open it: read-only, paths rebased on home
        cursors = [con.cursor() for _ in range(CLIENTS)]
        try:
            for s in sessions:  # warm: connections open, catalog cached
                s.get(f"{base}/v1/features/latest").raise_for_status()

            def http(path: Callable[[int, int], str]) -> Callable[[int, int], None]:
                return lambda c, i: sessions[c].get(base + path(c, i)).raise_for_status()

            def duck(day: Callable[[int, int], dt.date]) -> Callable[[int, int], None]:
                return lambda c, i: cursors[c].execute(
                    "SELECT * FROM features_asof(?)", [day(c, i)]).fetchall()

            cases = [
                ("/v1/features/latest", http(lambda c, i: "/v1/features/latest"),
                 duck(lambda c, i: dt.date.max)),
                ("/v1/features?as_of=D", http(
                    lambda c, i: f"/v1/features?as_of={days[(c * 7 + i) % len(days)]}"),
                 duck(lambda c, i: days[(c * 7 + i) % len(days)])),
            ]
            print(f"{CLIENTS} concurrent clients x {PER_CLIENT} requests, lake {START}..{DAY}")
            for name, over_http, in_process in cases:
                for how, call in (("HTTP (alvh serve)", over_http),
                                  ("duckdb in-process", in_process)):
                    p50, p99, rate = load(call)
                    print(f"{name:24} {how:18} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
                          f"{rate:8.0f} req/s")
        finally:
            proc.terminate()
            proc.wait()
            con.close()


if __name__ == "__main__":
    main()
