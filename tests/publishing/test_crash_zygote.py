"""The forked publisher runs of the crash and claim tests (tests/support/crash.py): each run is a
process of its own, and one that outlasts its timeout is killed, not left running."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.crash import run_script


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie nobody reaped counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_a_run_is_its_own_process_with_exactly_its_environment(tmp_path: Path) -> None:
    script = "import os, sys; print(os.getpid(), os.getppid(), os.getcwd(), sorted(os.environ))"
    run = run_script(script, {"IFN_ONLY": "1"}, tmp_path)
    pid, parent, cwd, names = run.stdout.split(" ", 3)
    assert run.returncode == 0 and int(pid) != os.getpid() and int(parent) != os.getpid()
    assert cwd == str(tmp_path) and names.strip() == "['IFN_ONLY']"
    again = run_script(script, {"IFN_ONLY": "1"}, tmp_path)
    assert again.stdout.split(" ")[0] != pid  # a new process for every run
    killed = run_script("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", {}, tmp_path)
    assert killed.returncode == -9


def test_a_run_past_its_timeout_is_killed(tmp_path: Path) -> None:
    """As subprocess.run(timeout=...) did: the hung publisher does not go on (sending posts,
    holding claims) behind the tests that follow."""
    pid_file = tmp_path / "pid"
    script = (
        "import os, time, pathlib\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "time.sleep(600)\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        run_script(script, {}, tmp_path, timeout=3)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"the timed-out run {pid} is still running"
    assert run_script("print('next')", {}, tmp_path).stdout == "next\n"  # a fresh zygote
