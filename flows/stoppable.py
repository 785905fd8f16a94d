"""Run a flow so that SIGTERM stops the CLI within seconds.

Prefect's SIGTERM bridge raises in the main thread, where a flow waiting on Dask futures
(or on a task runner that waits for its tasks on exit) can sit for minutes: a backfill
against an unresponsive source ignored SIGTERM twice. Running the flow in a worker thread
keeps the main thread free for our handler, which kills the child processes (Dask workers,
Prefect's ephemeral server) and exits 143. Every lake write is one Delta commit, so stopping
at any point leaves every table at its old or its new version.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_stoppable(what: str, call: Callable[[], T], say: Callable[[str], Any]) -> T:
    """``call()`` in a worker thread; SIGTERM or SIGINT stops it and the process at once."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as e:  # noqa: BLE001  (handed back to the main thread)
            outcome["error"] = e

    def stop(signum: int, frame: Any) -> None:
        say(f"{what}: {signal.Signals(signum).name} received: stopping workers and exiting")
        stop_children()
        os._exit(128 + signum)

    thread = threading.Thread(target=target, name=f"alvh-{what}", daemon=True)
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.2)  # short waits: the handler runs between them
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def stop_children() -> None:
    """Kill this process's descendants, frozen first so none can start another.

    A fresh walk of the tree repeats until it finds no one new, then everything is killed at
    once. Terminating instead lets them run their shutdown hooks, and Prefect's, marking a
    task crashed, starts a server of its own: orphaned when its worker dies, out of our tree,
    it held the CLI's stdout and stderr open. Killing is safe: every lake write is one
    atomic commit, so a stopped run leaves each table at its old or its new version.
    """
    import psutil

    frozen: dict[int, psutil.Process] = {}
    while True:
        new = [c for c in psutil.Process().children(recursive=True) if c.pid not in frozen]
        if not new:
            break
        for child in new:
            frozen[child.pid] = child
            _quietly(child.suspend)
    for child in frozen.values():
        _quietly(child.kill)
    psutil.wait_procs(list(frozen.values()), timeout=5)


def _quietly(act: Callable[[], Any]) -> None:
    """``act()``, ignoring a process that is already gone."""
    import psutil

    try:
        act()
    except psutil.Error:
        pass
