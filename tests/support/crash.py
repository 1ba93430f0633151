"""Running the publisher in a child process (configured only by IFN_* variables, as in
production) and letting its claim lapse, for the crash and claim tests."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from ifn_campaign.models import Post
from tests.support.publishing import World

LEASE = 60
CRASH_ENV = "IFN_TEST_CRASH_AT"
"""Read by the child script alone (production code reads no such variable): the point of the
publisher's steps (`Publisher.reached`) at which the child kills itself with SIGKILL."""
SCRIPT = f"""
import dataclasses, json, os, signal
from ifn_campaign import store
from ifn_campaign.config import load_settings
from ifn_campaign.publishing.publisher import Publisher

CRASH_AT = os.environ.get({CRASH_ENV!r})


def reached(point):
    if point == CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


settings = load_settings()
engine = store.open_store(settings.database.url)
report = Publisher(engine, settings, reached=reached).run()
print(json.dumps(dataclasses.asdict(report), default=str))
"""


def child_env(world: World, crash_at: str | None) -> dict[str, str]:
    """The environment of a publisher process: the sandboxes' secrets (IFN_SECRET_*, put in
    os.environ by PlatformSandboxes) and settings as IFN_* variables, nothing else of ours."""
    s = world.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("IFN_SECRET_")})
    accounts = {
        channel: {name: a.model_dump(exclude_none=True) for name, a in named.items()}
        for channel, named in s.accounts.items()
    }
    env |= {
        "IFN_CONFIG": str(world.folder / "none.toml"),
        "IFN_DATABASE__URL": s.database.url,
        "IFN_MEDIA__DIR": str(s.media.dir),
        "IFN_CARDS__CACHE_DIR": str(s.cards.cache_dir),
        "IFN_INSTAGRAM__GRAPH_URL": s.instagram.graph_url,
        "IFN_FACEBOOK__GRAPH_URL": s.facebook.graph_url,
        "IFN_YOUTUBE__API_URL": s.youtube.api_url,
        "IFN_YOUTUBE__UPLOAD_URL": s.youtube.upload_url,
        "IFN_YOUTUBE__TOKEN_URL": s.youtube.token_url,
        "IFN_PUBLISH__MEDIA_BASE_URL": s.publish.media_base_url,
        "IFN_PUBLISH__LEASE_SECONDS": str(LEASE),
        "IFN_ACCOUNTS": json.dumps(accounts),
    }
    if crash_at:
        env[CRASH_ENV] = crash_at
    return env


# A single-threaded process that has imported what SCRIPT imports, and forks one child per
# publisher run: the child takes the run's environment and folder, points stdout and stderr at
# files and runs SCRIPT, so it is still its own process configured only by IFN_* variables
# (SIGKILL kills it alone), but does not pay the ~1.5 s of CPU a fresh interpreter spends
# importing the publisher, some 90 times in the crash and claim tests.
ZYGOTE = """
import json, os, sys, threading, traceback
import dataclasses, signal
from ifn_campaign import store
from ifn_campaign.config import load_settings
from ifn_campaign.publishing.publisher import Publisher

assert threading.active_count() == 1, "forking is only safe from a single thread"
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(job["cwd"])
            os.environ.clear()
            os.environ.update(job["env"])
            for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            exec(compile(job["script"], "<publisher>", "exec"), {"__name__": "__main__"})
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)
"""
_zygotes: dict[int, subprocess.Popen[str]] = {}


def _zygote() -> subprocess.Popen[str]:
    """This test process's zygote, started on first use (a new one after a timeout)."""
    running = _zygotes.get(os.getpid())
    if running is None or running.poll() is not None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
        running = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert running.stdout is not None and _line(running, 120) == "ready"
        atexit.register(running.kill)
        _zygotes[os.getpid()] = running
    return running


def _line(zygote: subprocess.Popen[str], timeout: float) -> str | None:
    """The zygote's next line, or None after `timeout` seconds. Read a byte at a time from the
    pipe itself: a buffered readline could take the next line along with this one, and a
    select on the pipe would then wait for a line already read (it did, under load: the run's
    answer came with its pid, and a 0.1 s run was taken for one past its timeout)."""
    assert zygote.stdout is not None
    fd = zygote.stdout.fileno()
    deadline = time.monotonic() + timeout
    got = b""
    while not got.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return None
        byte = os.read(fd, 1)
        if not byte:  # the zygote died
            return None
        got += byte
    return got.decode().rstrip("\n")


def run_script(
    script: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -c script` in `cwd` with exactly `env`, as a child forked by the zygote."""
    zygote = _zygote()
    assert zygote.stdin is not None and zygote.stdout is not None
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        job = {"script": script, "env": env, "cwd": str(cwd), "stdout": str(out)}
        zygote.stdin.write(json.dumps(job | {"stderr": str(err)}) + "\n")
        zygote.stdin.flush()
        child = json.loads(_line(zygote, 120) or "{}")["pid"]
        answer_line = _line(zygote, timeout)
        if answer_line is None:  # killed as subprocess.run(timeout=...) kills it, not left on
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            zygote.kill()  # the next run starts a fresh zygote
            zygote.wait()
            raise subprocess.TimeoutExpired(["publisher"], timeout)
        answer = json.loads(answer_line)
        stdout, stderr = out.read_text(), err.read_text()
    return subprocess.CompletedProcess(["publisher"], answer["returncode"], stdout, stderr)


def run_publisher(world: World, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    (world.folder / "none.toml").write_text("")
    return run_script(SCRIPT, child_env(world, crash_at), world.folder)


def lapse_claim(world: World, post_id: int) -> None:
    """The lease passes: the crashed worker's claim is older than lease_seconds."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.claimed_at is not None
        post.claimed_at -= timedelta(seconds=LEASE + 5)
        session.commit()
