"""A Prefect server for `ifn-campaign serve`: the configured one, or one on this machine.

Schedules need a real Prefect server: its scheduler service makes the runs that `serve` then
executes. The temporary server Prefect starts by itself when no API is configured lives only as
long as one client and never runs a scheduler. So `prefect_api` uses `PREFECT_API_URL` when it
is set (and answers), else a server already listening on 127.0.0.1:<port>, else it starts
`prefect server start` there (its database in Prefect's home, ~/.prefect) and stops it again at
the end of the block.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from ifn_campaign.errors import OrchestrationError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

__all__ = ["configured_api", "prefect_api", "server_answers", "workers_deployments"]

START_TIMEOUT = 120.0  # seconds; the server starts in 7-20 s on a busy 2-core machine


def configured_api() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile, if any."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def server_answers(api_url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers its health check at `api_url` (".../api")."""
    try:
        return requests.get(f"{api_url.rstrip('/')}/health", timeout=timeout).ok
    except requests.RequestException:
        return False


def workers_deployments(client: SyncPrefectClient, names: Iterable[str]) -> dict[str, str]:
    """Which of the deployments `names` ("flow/deployment") the server has on a work pool, with
    their pool: `ifn-campaign deploy` put them there for workers, and `serve` must not take
    them over unawares (its runner runs their runs and pauses their schedules when it stops)."""
    from prefect.exceptions import ObjectNotFound

    found = {}
    for name in names:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            continue
        if deployment.work_pool_name:
            found[name] = deployment.work_pool_name
    return found


def _child_env(environ: Mapping[str, str] | None) -> dict[str, str] | None:
    """The environment of a server we start: `environ` without PREFECT_API_URL (the server is
    the API, it points nowhere), or None to inherit this process's as it is."""
    if environ is None:
        return None
    return {k: v for k, v in environ.items() if k != "PREFECT_API_URL"}


@contextmanager
def prefect_api(
    port: int = 4200,
    *,
    log: Path,
    say: Callable[[str], None] = lambda _: None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """The API URL to serve against, for the duration of the block (see the module docstring);
    Prefect's settings point at it meanwhile, so flows, limits and `serve` all use it. A server
    started here gets `environ` (without PREFECT_API_URL), else this process's environment."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = configured_api()
    if configured:
        if not server_answers(configured):
            raise OrchestrationError(
                f"the configured Prefect server {configured} (PREFECT_API_URL) does not answer: "
                "start it, or unset PREFECT_API_URL to let `serve` run one on this machine"
            )
        say(f"Prefect server {configured} (PREFECT_API_URL)")
        yield configured
        return
    url = f"http://127.0.0.1:{port}/api"
    if server_answers(url):
        say(f"Prefect server already running at {url}")
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting a Prefect server at {url} (log: {log})")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with log.open("ab") as sink, _signals_held() as held:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_child_env(environ),
            start_new_session=True,  # Ctrl+C reaches us; we stop the server in order
        )
        _started.append(process)
    try:
        for signum in held:  # a Ctrl+C or SIGTERM during the start acts now, server known
            signal.raise_signal(signum)
        _wait_until_up(process, url, log)
        say(f"Prefect server up: UI at {url.removesuffix('/api')}")
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        _stop(process)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM while the server process is made: one arriving between the fork
    and our knowing its pid would leave the server running on with nobody to stop it. The
    signals are kept and raised again once the process is known (the child gets the default
    handlers back at exec). Off the main thread, where handlers cannot be set, nothing is held."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    before = {
        signum: signal.signal(signum, lambda number, _frame: held.append(number))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield held
    finally:
        for signum, handler in before.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server_answers(url, timeout=1.0):
            return
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
            raise OrchestrationError(
                f"the Prefect server exited with status {process.returncode} before answering "
                f"at {url} (is the port taken?); last lines of {log}: " + " / ".join(tail)
            )
        time.sleep(0.5)
    _stop(process)
    raise OrchestrationError(
        f"the Prefect server did not answer at {url} within {START_TIMEOUT:g} s and was "
        f"stopped: see its log {log}, then run `ifn-campaign serve` again (or start a server "
        "yourself and set PREFECT_API_URL)"
    )


_started: list[subprocess.Popen[bytes]] = []  # servers this process started, for stop_started


def stop_started() -> None:
    """Stop every server this process started (for a hard stop that skips the `finally`s)."""
    for process in _started:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (its whole process group: uvicorn and the services)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
