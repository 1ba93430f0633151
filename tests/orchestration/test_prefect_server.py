"""The Prefect server `serve` starts: a server that never answers is stopped and named with its
log and the next step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ifn_campaign.errors import OrchestrationError
from ifn_campaign.orchestration import prefect_server


def test_a_server_that_never_answers_is_stopped_and_its_log_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefect_server, "START_TIMEOUT", 1.0)
    log = tmp_path / "prefect-server.log"
    log.write_text("starting\n", encoding="utf-8")
    process = subprocess.Popen(  # a group of its own, as serve starts the server
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        with pytest.raises(OrchestrationError) as raised:
            prefect_server._wait_until_up(process, "http://127.0.0.1:9/api", log)
        assert process.wait(timeout=30) is not None  # stopped, not left behind
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    message = str(raised.value)
    assert "http://127.0.0.1:9/api" in message and str(log) in message
    assert "ifn-campaign serve" in message


_INTERRUPTED_START = """
import os, signal, subprocess, sys
from pathlib import Path
from ifn_campaign.orchestration import prefect_server

real_popen = subprocess.Popen

class Popen(real_popen):  # Ctrl+C arrives right after the fork, before serve knows the pid
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        print(self.pid, flush=True)
        os.kill(os.getpid(), signal.SIGINT)

subprocess.Popen = Popen
try:
    with prefect_server.prefect_api(int(sys.argv[1]), log=Path(sys.argv[2])):
        pass
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_while_the_server_starts_stops_that_server(tmp_path: Path) -> None:
    """A Ctrl+C that lands while the server process is being made (before `serve` has its pid)
    still stops it: it used to run on, orphaned, holding the port."""
    import os
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_START, str(port), str(tmp_path / "server.log")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 130, run.stderr
    server = int(run.stdout.split()[0])
    try:
        assert not Path(f"/proc/{server}").exists() or _zombie(server), "server left running"
    finally:
        if Path(f"/proc/{server}").exists():
            os.killpg(server, 9)


def _zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
