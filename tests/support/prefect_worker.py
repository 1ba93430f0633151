"""A real Prefect server and real process workers, each its own subprocess, for the tests of what
only happens on a worker: a flow run in the worker's temporary folder, in a process of its own
with the deployment's job variables, that can be killed with its worker.

The in-process test server (`prefect_server` in tests/orchestration/conftest.py) runs flows in the
test process; here `prefect server start` runs on a free loopback port with its own PREFECT_HOME
and SQLite database in a temporary folder, the services automations need on (triggers and their
actions, the event persister, the task run recorder, the repossessor that ends expired
concurrency leases) and the rest off (scheduler, late runs, foreman, cancellation cleanup, pause
expirations, UI). Workers are `prefect worker start --type process` polling every second.

    with worker_server(tmp_path, pool="test-pool") as prefect:
        prefect.register(cfg)                      # ifn-campaign deploy, against this server
        worker = prefect.start_worker({"IFN_DATABASE__URL": ...})
        run = prefect.run("sync_registry")
        prefect.wait_for(run, StateType.COMPLETED, timeout=120)
        worker.kill()                              # SIGKILL: the worker and its flow processes
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun, StateType

    from ifn_campaign.config import Settings
    from ifn_campaign.orchestration.deployments import Deployment, Registration

__all__ = ["PrefectWorkerServer", "Worker", "prefect_env", "wait_until", "worker_server"]

START_TIMEOUT = 120.0  # seconds; the server starts in 7-20 s on a busy 2-core machine

# Only the services the tests rely on: automations (triggers, actions), events, task runs, and
# the repossessor that revokes expired concurrency leases (a killed run's sync lock).
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "true",
}


T = TypeVar("T")


def wait_until(ok: Callable[[], T], *, timeout: float, what: str, poll: float = 0.5) -> T:
    """`ok()`'s first true value, asked every `poll` seconds; an AssertionError naming `what`
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = ok()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any PREFECT_ or IFN_ variable (no profile, server or
    setting of the test session leaks into a child), with PREFECT_HOME `home` and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "IFN_"))}
    env["PREFECT_HOME"] = str(home)
    env["PREFECT_PROFILES_PATH"] = str(home / "profiles.toml")
    env.update(extra or {})
    return env


def _tail(log: Path, lines: int = 30) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {log})"
    return "\n".join(text.splitlines()[-lines:])


def _descendants(pid: int) -> list[int]:
    """Every living descendant of `pid`, read from /proc (children before grandchildren)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    wave = [pid]
    while wave:
        wave = [child for child, parent in parents.items() if parent in wave]
        found += wave
    return found


def _kill_tree(process: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL `process`, its process group and every descendant (a flow process started in a
    session of its own included); the pids killed.

    The tree is stopped (SIGSTOP) wave by wave until a scan finds no new descendant, and only
    then killed: a process forked between one scan and the kill would otherwise be reparented
    to init when its parent died, out of reach, and a flow run it carried would go on sending
    heartbeats (a killed run that never became Crashed, once, in CI)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGSTOP)
    family: list[int] = []
    while True:
        new = [pid for pid in _descendants(process.pid) if pid not in family]
        if not new:
            break
        for pid in new:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        family += new
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in family:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    return [process.pid, *family]


def _stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM to the process group, SIGKILL to what is left after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _kill_tree(process)
    except ProcessLookupError:
        pass


@dataclass
class Worker:
    """A `prefect worker start --type process` subprocess (its own process group) and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> list[int]:
        """Kill the worker and its flow processes with SIGKILL, as the OOM killer or a lost
        machine would: nothing of theirs reports anything; the pids killed."""
        return _kill_tree(self.process)

    def stop(self) -> None:
        """Stop the worker as an operator would (SIGTERM), killing it if it does not end."""
        _stop(self.process, grace=60.0)

    def tail(self, lines: int = 30) -> str:
        return _tail(self.log, lines)


@dataclass
class PrefectWorkerServer:
    """A Prefect server subprocess on 127.0.0.1:`port` and the workers started against it."""

    folder: Path
    port: int
    pool: str
    process: subprocess.Popen[bytes]
    log: Path
    workers: list[Worker] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a process that uses this server (a worker, a CLI run)."""
        return prefect_env(self.folder / "home", {"PREFECT_API_URL": self.api_url, **(extra or {})})

    @contextmanager
    def pointed(self) -> Iterator[None]:
        """Prefect's clients in this process use this server inside the block."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            yield

    @contextmanager
    def client(self) -> Iterator[SyncPrefectClient]:
        """A synchronous Prefect client of this server."""
        from prefect.client.orchestration import get_client

        with self.pointed(), get_client(sync_client=True) as client:
            yield client

    def register(
        self, cfg: Settings, deployments: Sequence[Deployment] | None = None
    ) -> Registration:
        """`ifn-campaign deploy` against this server: `deployments` (by default every one of
        flows/deployments.py) registered to the `cfg.prefect.work_pool` pool."""
        from flows.deployments import DEPLOYMENTS
        from ifn_campaign.orchestration.deployments import register, runner_deployments

        with self.pointed():
            return register(runner_deployments(deployments or DEPLOYMENTS, cfg), cfg)

    def start_worker(self, env: Mapping[str, str] | None = None, name: str = "") -> Worker:
        """A process worker polling this server's pool every second; `env` (IFN_... settings)
        is its environment and so its flow processes' (with the deployments' job variables)."""
        name = name or f"worker-{len(self.workers) + 1}"
        log = self.folder / f"{name}.log"
        command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", self.pool]
        command += ["--type", "process", "--name", name, "--install-policy", "never"]
        extra = {"PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5"}
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        with log.open("ab") as sink:
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=self.env({**extra, **(env or {})}),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, with its flow processes
            )
        worker = Worker(process, log)
        self.workers.append(worker)
        return worker

    def run(self, flow_name: str, parameters: dict[str, Any] | None = None) -> UUID:
        """A new run of `flow_name`'s deployment (as `prefect deployment run`); its id."""
        from ifn_campaign.orchestration.deployments import DEPLOYMENT_NAME

        with self.client() as client:
            deployment = client.read_deployment_by_name(f"{flow_name}/{DEPLOYMENT_NAME}")
            run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
        return run.id

    def read(self, run_id: UUID) -> FlowRun:
        with self.client() as client:
            return client.read_flow_run(run_id)

    def wait_for(
        self, run_id: UUID, *states: StateType, timeout: float, poll: float = 1.0
    ) -> FlowRun:
        """The run once its state is one of `states`; an AssertionError naming its state and
        the workers' last log lines when it reaches another final state or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.read(run_id)
            state = run.state
            if state is not None and state.type in states:
                return run
            final = state is not None and state.is_final()
            if final or time.monotonic() > deadline:
                logs = "\n".join(f"--- {w.log.name}\n{w.tail()}" for w in self.workers)
                wanted = "/".join(s.value for s in states)
                raise AssertionError(
                    f"flow run {run.name} is {state.type.value if state else None} "
                    f"({state.message if state else ''!r}), not {wanted}"
                    + ("" if final else f" after {timeout:g} s")
                    + f"\n{logs}"
                )
            time.sleep(poll)

    def stop(self) -> None:
        """Stop every worker, then the server."""
        for worker in self.workers:
            worker.stop()
        _stop(self.process)


@contextmanager
def worker_server(
    folder: Path, pool: str = "ifn-test", extra: Mapping[str, str] | None = None
) -> Iterator[PrefectWorkerServer]:
    """A Prefect server for the block, in `folder` (its home, database and logs); workers and
    the server are stopped at the end. `extra` adds server settings."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    database = "sqlite+aiosqlite:///" + str(folder / "prefect.db")
    log = folder / "server.log"
    env = prefect_env(
        folder / "home",
        {**SERVER_SETTINGS, "PREFECT_SERVER_DATABASE_CONNECTION_URL": database, **(extra or {})},
    )
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PrefectWorkerServer(folder, port, pool, process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: PrefectWorkerServer) -> None:
    from ifn_campaign.orchestration.prefect_server import server_answers

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server_answers(server.api_url, timeout=1.0):
            return
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the Prefect server exited with {server.process.returncode} before answering:\n"
                + _tail(server.log)
            )
        time.sleep(0.5)
    raise RuntimeError(
        f"the Prefect server did not answer within {START_TIMEOUT:g} s:\n" + _tail(server.log)
    )
