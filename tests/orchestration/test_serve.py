"""`ifn-campaign serve` against a Prefect server that has the deployments on a work pool (what
`ifn-campaign deploy` registers for workers): refused, with nothing changed on the server, unless
told `--take-over`; then it serves them, its runs send heartbeats at `prefect.heartbeat_seconds`,
and when it stops it says the schedules are paused and that `deploy` gives them back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.deployments import DEPLOYMENTS
from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.orchestration.deployments import DEPLOYMENT_NAME, TAGS
from tests.support.broken_prefect import broken_prefect_server

pytestmark = pytest.mark.slow

NAMES = [f"{spec.name}/{DEPLOYMENT_NAME}" for spec in DEPLOYMENTS]


def _wait(what: str, ok: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ok()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _deployments() -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {name: client.read_deployment_by_name(name) for name in NAMES}


@pytest.fixture
def deployed(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The deployments registered by `ifn-campaign deploy` to a work pool of this test, on the
    test server, with settings of this test only (IFN_*); the work pool's name. Removed after."""
    from prefect.client.orchestration import get_client

    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    store.upgrade(store.make_engine(url))
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    monkeypatch.chdir(tmp_path)
    pool = f"workers-{uuid.uuid4().hex[:8]}"
    assert main(["deploy", "--pool", pool]) == 0
    try:
        yield pool
    finally:
        with get_client(sync_client=True) as client:
            for deployment in _deployments().values():
                client.delete_deployment(deployment.id)
            client.delete_work_pool(pool)


def test_serve_refuses_a_server_whose_deployments_are_on_a_work_pool(
    deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.settings import PREFECT_API_URL

    capsys.readouterr()
    assert main(["serve"]) == 1
    shown = capsys.readouterr()
    url = PREFECT_API_URL.value()
    assert " ".join(shown.err.split()) == (
        f"Prefect server {url} (PREFECT_API_URL) "
        f"error: Prefect server {url} has the deployments on a work pool for workers "
        f"({', '.join(NAMES)} on work pool {deployed}): serving them here would run the "
        "workers' runs on this machine and, on Ctrl+C, pause their schedules; unset "
        "PREFECT_API_URL to serve on a Prefect server of this machine's own, or pass "
        "--take-over to take them over on purpose"
    )
    assert "Serving" not in shown.out
    after = _deployments()  # nothing taken: still the workers', none paused
    assert {d.work_pool_name for d in after.values()} == {deployed}
    assert not any(d.paused for d in after.values())
    assert all(s.active for d in after.values() for s in d.schedules)


def test_serve_refuses_them_also_on_a_server_it_finds_on_its_port(
    deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No PREFECT_API_URL, but the workers' server answers on this machine at serve's port:
    refused the same way (there is no PREFECT_API_URL to unset)."""
    from urllib.parse import urlparse

    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = str(PREFECT_API_URL.value())
    capsys.readouterr()
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["serve", "--port", str(urlparse(url).port)]) == 1
    assert " ".join(capsys.readouterr().err.split()) == (
        f"Prefect server already running at {url} "
        f"error: Prefect server {url} has the deployments on a work pool for workers "
        f"({', '.join(NAMES)} on work pool {deployed}): serving them here would run the "
        "workers' runs on this machine and, on Ctrl+C, pause their schedules; leave them to "
        "the workers, or pass --take-over to take them over on purpose"
    )
    assert {d.work_pool_name for d in _deployments().values()} == {deployed}


def _heartbeats(run_id: Any) -> int:
    """How many heartbeat events the server holds for the flow run that the lost-run
    automation takes as ours (related to the tag it matches, ifn-campaign)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    with get_client(sync_client=True) as client:
        page = client.read_events(
            EventFilter(
                event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
            ),
            limit=50,  # the server's most; the client's default (100) is refused
        )
    ours = {f"prefect.tag.{tag}" for tag in TAGS}
    return sum(
        any(r.role == "tag" and r.id in ours for r in event.related) for event in page.events
    )


def test_serve_takes_over_when_told_and_says_how_to_give_back(
    deployed: str, tmp_path: Path
) -> None:
    """With --take-over serve runs the workers' deployments here. A sync run kept waiting 40 s
    for the sync lock (held here) sends a heartbeat at its start and one 30 s later: the
    `prefect.heartbeat_seconds` of serve's runs (Prefect's own default is one every 180 s).
    Stopped with Ctrl+C, serve says the schedules are paused and that `deploy` gives them
    back; `deploy` then does."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from ifn_campaign.config import Settings
    from ifn_campaign.orchestration.deployments import sync_lock
    from ifn_campaign.registry.client import source_name

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        IFN_PREFECT__HEARTBEAT_SECONDS="30",
    )
    output = tmp_path / "serve.out"
    serve = subprocess.Popen(
        [sys.executable, "-m", "ifn_campaign.cli.app", "serve", "--take-over"],
        env=env,
        cwd=tmp_path,
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait("serve to start", lambda: "Serving" in output.read_text(), timeout=120)
        with (
            sync_lock(source_name(Settings().registry), 120),
            get_client(sync_client=True) as client,
        ):
            deployment = client.read_deployment_by_name(f"sync_registry/{DEPLOYMENT_NAME}")
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"wait_seconds": 40}
            )

            def ended() -> Any:
                state = client.read_flow_run(run.id).state
                return state if state is not None and state.is_final() else None

            state = _wait("the served sync run to give up waiting", ended, timeout=150)
        assert state.is_failed(), output.read_text()[-3000:]  # another sync held the lock
        assert _wait("its heartbeats", lambda: _heartbeats(run.id) >= 2, timeout=30)
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=90)  # stopped by the runner, or by serve's own 30 s grace
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    shown = " ".join(output.read_text().split())
    assert serve.returncode in (0, 130), shown[-3000:]
    assert (
        f"taking over {', '.join(NAMES)} on work pool {deployed} (--take-over; stop the pool's "
        "workers, or they go on taking some of the runs)"
    ) in shown
    assert (
        "stopped; the schedules taken over from the workers are paused: `ifn-campaign deploy` "
        "gives them back to the workers"
    ) in shown
    taken = _deployments()  # all paused (Prefect's runner alone paused one of seven)
    assert {name: d.paused for name, d in taken.items()} == dict.fromkeys(NAMES, True)
    # still on the pool with deploy's job variables: a worker that takes one of their runs
    # meanwhile gives it the heartbeat and the data folder, as before the take-over
    assert {d.work_pool_name for d in taken.values()} == {deployed}
    envs = {name: (d.job_variables or {}).get("env", {}) for name, d in taken.items()}
    assert {name: env.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY") for name, env in envs.items()} == (
        dict.fromkeys(NAMES, "30")
    )
    assert all(env.get("IFN_DATA_DIR") == str(tmp_path) for env in envs.values()), envs
    assert main(["deploy", "--pool", deployed]) == 0
    back = _deployments()
    assert {d.work_pool_name for d in back.values()} == {deployed}
    assert not any(d.paused for d in back.values())


def test_serve_against_a_failing_server_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A configured server that answers /health but fails (HTTP 500) when asked for the
    deployments: one error naming the server and its answer, with the next step, not an
    'unexpected' error and a traceback."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    with (
        broken_prefect_server(500, b"Internal Server Error") as url,
        temporary_settings(updates={PREFECT_API_URL: url}),
    ):
        capsys.readouterr()
        code = main(["serve"])
    shown = " ".join(capsys.readouterr().err.split())
    assert code == 1, shown
    assert "unexpected" not in shown and "traceback" not in shown, shown
    assert shown.startswith(
        f"Prefect server {url} (PREFECT_API_URL) error: Prefect server {url} failed when asked "
        "for the deployments (HTTP 500"
    ), shown
    assert shown.endswith("see the Prefect server's log, then run `ifn-campaign serve` again"), (
        shown
    )


def test_sigterm_stops_serve_and_the_server_it_started(tmp_path: Path) -> None:
    """SIGTERM (systemd's stop, `docker stop`, `kill`) stops serve as Ctrl+C does: the Prefect
    server it started is stopped too, not left listening with nobody to stop it, and the
    schedules are paused."""
    from ifn_campaign.orchestration.prefect_server import server_answers
    from tests.support.prefect_worker import _free_port

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "IFN_"))}
    database = f"sqlite:///{tmp_path / 'ifn.db'}"
    store.upgrade(store.make_engine(database))
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), IFN_DATABASE__URL=database)
    output = tmp_path / "serve.out"
    serve = subprocess.Popen(
        [sys.executable, "-m", "ifn_campaign.cli.app", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait("serve to start", lambda: "Serving" in output.read_text(), timeout=180)
        assert server_answers(url)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=90)
        stopped = _wait("its server to stop", lambda: not server_answers(url), timeout=30)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        for pid in _listeners(port):  # a server left behind: not after the test
            os.kill(pid, signal.SIGKILL)
    shown = " ".join(output.read_text().split())
    assert stopped and "the schedules are paused" in shown, shown[-2000:]
    assert "could not be paused" not in shown, shown[-2000:]


def _listeners(port: int) -> list[int]:
    """The processes running `prefect server start ... --port <port>`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"server" in command and str(port).encode() in command:
                found.append(int(entry.name))
    return found


def test_stopping_before_the_deployments_exist_pauses_the_rest(
    prefect_server: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stopped while the runner still makes the deployments: one not made yet has nothing to
    pause and does not keep the others scheduled, nor make serve say both that the schedules
    could not be paused and that they are."""
    from prefect.settings import PREFECT_API_URL

    from ifn_campaign.cli.serve import _pause

    capsys.readouterr()
    assert _pause(str(PREFECT_API_URL.value()), [f"not-made-{uuid.uuid4().hex[:8]}/x"]) is True
    assert capsys.readouterr().err == ""
