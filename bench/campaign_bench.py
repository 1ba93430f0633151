"""Campaign benchmark: the whole campaign (sync, plan, compose, publish, reconcile) for 1,000 and
10,000 members against the sandboxes, each stage called directly and as Prefect flows.

For each member count a generated registry (`ifn-campaign sandbox registry --generated N`, seed
0) is served by a second process, and two arms run in turn, each in a fresh process on a fresh
copy of the same starting state (an empty migrated SQLite file, no media, no cards, new platform
sandboxes), so both do identical work:
- direct: the library's stages as the flows call them (`sync_members`, `plan_stage`,
  `compose_work` + `compose_chunk` over `chunked` posts in a spawn process pool sized like
  `card_task_runner`'s, `take_down` + `Publisher.run()`, `reconcile`), summaries rendered, no
  Prefect imported;
- flow: `flows.campaign.campaign` (each stage's body in the campaign's own flow run, compose's
  chunks as tasks in Prefect's process pool, the sync lock and the accounts' publishing limits
  held on the server, logs and artifacts sent) against a local `prefect server start` on a free
  127.0.0.1 port with its own PREFECT_HOME and SQLite database, started once and stopped at the
  end. Stage times in this arm are measured around each stage call (the bench wraps the names
  `flows.campaign` calls).

Prefect's share = (flow wall - direct wall) / flow wall, per stage and for the whole run (the
campaign flow's wall against the sum of the direct stages). Peak memory is the main process's
VmHWM (Linux peak RSS, reset before each stage through /proc/self/clear_refs) and ru_maxrss of
its terminated children (the compose worker processes). "Others" is CPU used by processes other
than the arm, the registry sandbox and the Prefect server while the arm ran, in cores.

The shipped campaigns (templates/campaigns, or --campaigns) are copied with `auto_approve =
true`, so the composed posts are approved by compose itself and publish has work: Facebook posts
are scheduled natively, Instagram waits for its slot and YouTube for its upload window. The posts
depend on today's date: plan covers 4 weeks from today, compose the next 2. The Shorts of YouTube
posts in the compose window are made (about 7 s each; their time in the direct arm is shown).
Publishing is not paced (`publish.account_posts_per_minute` 0 in both arms: the shipped 20 spaces
each account's posts 3 s apart through a Prefect rate limit, which the direct arm does not hold;
`--posts-per-minute 20` measures that). After the stages each arm also times Prefect with no
work: an empty flow run (sync, and async like the campaign), an empty subflow, no-op tasks in a
2-process pool.

Run: `make bench-campaign`, or `.venv/bin/python bench/campaign_bench.py --members 200` for a
quick check.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine import describe as describe_machine

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("sync_registry", "plan_campaign", "compose", "publish_due", "reconcile")
# the campaign's own summary and the report of the compose window's posts: rendered by both arms,
# sent to Prefect as artifacts by the flow
REPORT = "campaign report"
ARMS = ("direct", "flow")
KIB = 1024
SERVER_ARGS = ("--host", "127.0.0.1", "--port")
WARM_UP = "from prefect import flow\nflow(name='bench-warm-up')(lambda: None)()"
REGISTRY_COMMAND = (sys.executable, "-m", "ifn_campaign.cli.app", "sandbox", "registry")


# --- measuring, in the arm's process --------------------------------------------------------


def _reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux 4.0+); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_kib(field: str, pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _peak_kib() -> int:
    """Peak RSS since the last reset: VmHWM, else ru_maxrss (peak since the process started)."""
    return _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _counts(outcome: Any) -> dict[str, int]:
    """A stage's result as counts: lists become their lengths, everything else not an int goes."""
    if is_dataclass(outcome) and not isinstance(outcome, type):
        outcome = asdict(outcome)
    if not isinstance(outcome, dict):
        return {}
    return {
        key: len(value) if isinstance(value, list) else value
        for key, value in outcome.items()
        if isinstance(value, int | list) and not isinstance(value, bool)
    }


class Meter:
    """Wall, CPU (this process and its terminated children) and peak RSS of one stage."""

    def __init__(self, stages: list[dict[str, Any]], name: str) -> None:
        self.stages, self.name = stages, name

    def __enter__(self) -> Meter:
        _reset_peak()
        self.cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        seconds = time.perf_counter() - self.started
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - self.cpu
        self.stages.append(
            {
                "stage": self.name,
                "seconds": seconds,
                "cpu": cpu,
                "peak_kib": _peak_kib(),
                "start": self.started,
                "end": self.started + seconds,
            }
        )


def _compose_chunk_timed(post_ids: list[int], now: datetime) -> tuple[Any, float]:
    """compose_chunk in a worker process (reading the settings itself, like the flow's task),
    with the seconds spent making Shorts."""
    from ifn_campaign.cards import shorts
    from ifn_campaign.config import load_settings
    from ifn_campaign.orchestration.stages import compose_chunk
    from ifn_campaign.wiring import Resources

    real = shorts.post_video
    spent = [0.0]

    def post_video(post: Any, folder: Path, **kwargs: Any) -> Path:
        started = time.perf_counter()
        try:
            return real(post, folder, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    shorts.post_video = post_video  # type: ignore[assignment]
    try:
        with Resources(load_settings()) as res:
            return compose_chunk(res, post_ids, now=now), spent[0]
    finally:
        shorts.post_video = real  # type: ignore[assignment]


def _noop() -> None:
    """Nothing, in a worker process: the floor of a process pool."""


def _mean_seconds(fn: Callable[[], Any], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def direct_floors() -> dict[str, float]:
    """What the direct compose pays to fan out, with no work: a 2-process spawn pool, 2 calls."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    def pool() -> None:
        with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as executor:
            for future in [executor.submit(_noop) for _ in range(2)]:
                future.result()

    return {"pool": _mean_seconds(pool, 3)}


def flow_floors() -> dict[str, float]:
    """What Prefect costs with no work, on the same server after the campaign: an empty flow
    run, an empty subflow, and a flow submitting 2 no-op tasks to a 2-process pool (compose's
    ProcessPoolTaskRunner)."""
    from prefect import flow, task
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.task_runners import ProcessPoolTaskRunner

    @flow(name="bench-empty")
    def empty() -> None:
        return None

    @flow(name="bench-empty-async")
    async def empty_async() -> None:
        return None

    @flow(name="bench-subflows")
    def subflows(count: int) -> None:
        for _ in range(count):
            empty()

    @task(name="bench-noop")
    def noop() -> None:
        return None

    @flow(name="bench-pool")
    def pool() -> None:
        with ProcessPoolTaskRunner(max_workers=2) as runner:
            for future in [runner.submit(noop, {}) for _ in range(2)]:
                future.result()

    top = _mean_seconds(empty, 3)
    subflow = (_mean_seconds(lambda: subflows(5), 2) - _mean_seconds(lambda: subflows(0), 2)) / 5
    # the engine joins its heartbeat thread at the end of every flow run, and that thread
    # sleeps in 1 s steps; without heartbeats (no crash detection) the run ends at once
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        quiet = _mean_seconds(empty, 3)
    return {
        "flow": top,
        "subflow": subflow,
        "pool": _mean_seconds(pool, 3) - top,
        "flow_no_heartbeat": quiet,
        "async_flow": _mean_seconds(lambda: asyncio.run(empty_async()), 3),
    }


def run_direct(plan_weeks: int, compose_weeks: int) -> dict[str, Any]:
    """The stages without Prefect, in the order and with the arguments the flows use."""
    from concurrent.futures import ProcessPoolExecutor
    from datetime import timedelta
    from multiprocessing import get_context
    from zoneinfo import ZoneInfo

    from ifn_campaign import store
    from ifn_campaign.config import load_settings
    from ifn_campaign.models import utcnow
    from ifn_campaign.orchestration.stages import (
        ComposeSummary,
        chunked,
        compose_work,
        plan_stage,
        publish_markdown,
        reconcile_markdown,
    )
    from ifn_campaign.publishing.publisher import Publisher, reconcile, take_down
    from ifn_campaign.registry.media import MediaFetcher
    from ifn_campaign.registry.sync import sync_members
    from ifn_campaign.wiring import Resources

    stages: list[dict[str, Any]] = []
    outcomes: dict[str, dict[str, int]] = {}
    video_seconds = 0.0
    started = time.perf_counter()

    with Meter(stages, "sync_registry"):
        cfg = load_settings()
        engine = store.open_store(cfg.database.url)
        fetcher = MediaFetcher(cfg.media) if cfg.sync.fetch_media else None
        try:
            with Resources(cfg).registry_client() as client:
                result = sync_members(
                    engine, client, fetcher, full=True, media_workers=cfg.media.workers
                )
        finally:
            if fetcher is not None:
                fetcher.close()
        result.markdown()
        outcomes["sync_registry"] = result.counts()

    with Meter(stages, "plan_campaign"):
        cfg = load_settings()
        plan = plan_stage(Resources(cfg), weeks=plan_weeks)
        plan.markdown(ZoneInfo(cfg.planner.display_timezone))
        outcomes["plan_campaign"] = plan.counts()

    with Meter(stages, "compose"):
        cfg = load_settings()
        now = utcnow()
        chunks = chunked(
            compose_work(Resources(cfg), now=now, until=now + timedelta(weeks=compose_weeks)),
            cfg.prefect.chunk_size,
        )
        # as card_task_runner: one process per core (or prefect.card_workers), at most one per
        # chunk; a single chunk runs in this process
        workers = min(cfg.prefect.card_workers or os.cpu_count() or 1, max(len(chunks), 1))
        if workers <= 1:
            parts = [_compose_chunk_timed(ids, now) for ids in chunks]
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(_compose_chunk_timed, ids, now) for ids in chunks]
                parts = [future.result() for future in futures]
        summary = ComposeSummary.merge(part for part, _ in parts)
        video_seconds = sum(seconds for _, seconds in parts)
        summary.markdown()
        outcomes["compose"] = summary.counts()

    with Meter(stages, "publish_due"):
        cfg = load_settings()
        engine = store.open_store(cfg.database.url)
        publisher = Publisher(engine, cfg, worker="bench:direct")
        removed = take_down(publisher)
        report = publisher.run()
        publish_markdown(report, removed)
        outcomes["publish_due"] = _counts(report)

    with Meter(stages, "reconcile"):
        cfg = load_settings()
        engine = store.open_store(cfg.database.url)
        checked = reconcile(Publisher(engine, cfg, worker="bench:direct"))
        reconcile_markdown(checked)
        outcomes["reconcile"] = _counts(checked)

    with Meter(stages, REPORT):  # what flows.campaign renders for its artifacts
        from sqlalchemy.orm import Session

        from ifn_campaign.orchestration.stages import campaign_markdown
        from ifn_campaign.reports.page import card_links, collect, posts_table, summary_markdown

        cfg = load_settings()
        campaign_markdown(dict(outcomes))
        engine = store.open_store(cfg.database.url)
        now = utcnow()
        with Session(engine) as session:
            window = collect(
                session,
                since=now - timedelta(days=1),
                until=now + timedelta(weeks=compose_weeks),
                as_of=now,
            )
        engine.dispose()
        zone = cfg.planner.display_timezone
        summary_markdown(window, display_timezone=zone)
        posts_table(window, display_timezone=zone)
        card_links(window, display_timezone=zone)

    return {
        "stages": stages,
        "outcomes": outcomes,
        "total": time.perf_counter() - started,
        "video_seconds": video_seconds,
        "chunks": len(chunks),
        "workers": workers,
        "floors": direct_floors(),
    }


def run_flow(plan_weeks: int, compose_weeks: int) -> dict[str, Any]:
    """`flows.campaign.campaign` against the Prefect server at PREFECT_API_URL, each subflow
    call timed from outside (the names the campaign flow calls are wrapped for that)."""
    import flows.campaign as campaign_module

    stages: list[dict[str, Any]] = []

    def timed(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        body = getattr(real, "fn", real)  # the campaign runs each stage's body in its own run

        def call(*args: Any, **kwargs: Any) -> Any:
            with Meter(stages, name):
                return body(*args, **kwargs)

        return call

    for attribute, name in (
        ("sync_registry", "sync_registry"),
        ("plan_campaign", "plan_campaign"),
        ("compose", "compose"),
        ("publish_due", "publish_due"),
        ("reconcile_posts", "reconcile"),
        ("_window_artifacts", REPORT),  # with the campaign-summary artifact just before it
    ):
        setattr(campaign_module, attribute, timed(name, getattr(campaign_module, attribute)))

    _reset_peak()
    real_logger = campaign_module.get_run_logger
    body_started: list[float] = []

    def get_run_logger() -> Any:  # the campaign's body asks for its logger first
        body_started.append(time.perf_counter())
        return real_logger()

    campaign_module.get_run_logger = get_run_logger  # type: ignore[assignment]
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    error = None
    try:
        outcome = asyncio.run(
            campaign_module.campaign(full=True, plan_weeks=plan_weeks, compose_weeks=compose_weeks)
        )
    except Exception as exc:  # a stage failed: the others ran; report what we have
        error, outcome = f"{type(exc).__name__}: {exc}", {}
    ended = time.perf_counter()
    total = ended - started
    total_cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu
    return {
        # the campaign flow's own time: before its first stage, after its last
        "before": min((s["start"] for s in stages), default=ended) - started,
        "run_started": (body_started or [ended])[0] - started,
        "after": ended - max((s["end"] for s in stages), default=started),
        "stages": stages,
        "outcomes": {name: _counts(value) for name, value in outcome.items()},
        "total": total,
        "total_cpu": total_cpu,
        "error": error,
        "floors": flow_floors(),
    }


def child(arm: str, out: Path, plan_weeks: int, compose_weeks: int) -> None:
    """One arm in this (fresh) process; the settings come from the IFN_* environment."""
    started = time.perf_counter()
    # what a flow run process has loaded before its flow starts (prefect and every flow), or the
    # stages' modules alone
    preload = ["flows.campaign"] if arm == "flow" else []
    for module in [
        *preload,
        "ifn_campaign.orchestration.stages",
        "ifn_campaign.publishing.publisher",
        "ifn_campaign.registry.sync",
    ]:
        importlib.import_module(module)
    from ifn_campaign.config import load_settings
    from ifn_sandbox.platforms import PlatformSandboxes

    imported = time.perf_counter() - started
    rss_start = _status_kib("VmRSS")
    cards = Path(os.environ["IFN_CARDS__CACHE_DIR"])
    with PlatformSandboxes(cards, container_ready_after=0.0) as platforms:
        os.environ.update(platforms.environ(platforms.settings(load_settings())))
        result = (run_direct if arm == "direct" else run_flow)(plan_weeks, compose_weeks)
        result["platforms"] = {
            "instagram": len(platforms.graph.media()),
            "facebook": len(platforms.graph.posts()),
            "youtube": len(platforms.youtube.videos()),
        }
    result.update(
        arm=arm,
        import_seconds=imported,
        rss_start_kib=rss_start,
        workers_peak_kib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        prefect_loaded="prefect" in sys.modules,
    )
    out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


# --- driving, in the parent process ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group(pgid: int) -> tuple[float, int]:
    """CPU seconds (with reaped children) and RSS KiB of every process in group `pgid`."""
    hz = os.sysconf("SC_CLK_TCK")
    cpu, rss = 0.0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) != pgid:
            continue
        cpu += sum(int(v) for v in fields[11:15]) / hz  # utime stime cutime cstime
        rss += _status_kib("VmRSS", entry.name)
    return cpu, rss


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (steal included)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks[:3]) + sum(ticks[5:8])) / os.sysconf("SC_CLK_TCK")


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    import requests

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None:
            tail = " / ".join(log.read_text(errors="replace").splitlines()[-5:])
            raise SystemExit(f"{what} exited with status {process.returncode}: {tail}")
        time.sleep(0.3)
    raise SystemExit(f"{what} did not answer at {url} within 180 s (log: {log})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process group this bench started (its leader is `process`)."""
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


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("IFN_", "PREFECT_"))}


@contextmanager
def prefect_server(home: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`prefect server start` on a free port, with its own home and SQLite database."""
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = _clean_env() | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = home / "server.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*(sys.executable, "-m", "prefect", "server", "start"), *SERVER_ARGS, str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_for(f"{url}/health", process, "the Prefect server", log)
        # a server's first flow run costs it about 0.5 s more than the next (cold code paths);
        # a long-running server pays that once, so one empty flow run from another process
        # warms it before any arm is measured (each arm's own client still starts cold)
        subprocess.run(
            [sys.executable, "-c", WARM_UP],
            env=env | {"PREFECT_API_URL": url},
            cwd=home,
            check=True,
            capture_output=True,
        )
        yield url, process
    finally:
        _stop(process)


@contextmanager
def registry(n: int, folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A generated registry of `n` members in its own process (seed 0)."""
    port = _free_port()
    log = folder / f"registry-{n}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*REGISTRY_COMMAND, "--port", str(port), "--generated", str(n)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_clean_env(),
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/v1/members?limit=1", process, "the registry sandbox", log)
        yield url, process
    finally:
        _stop(process)


def _campaigns(source: Path, target: Path) -> list[str]:
    """The campaign files, with auto_approve turned on (compose approves, publish has work)."""
    target.mkdir(parents=True)
    names = []
    for path in sorted(source.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        text, found = re.subn(r"(?m)^auto_approve\s*=.*$", "auto_approve = true", text)
        if not found:
            text = "auto_approve = true\n" + text
        (target / path.name).write_text(text, encoding="utf-8")
        names.append(path.stem)
    return names


def _template_db(path: Path) -> None:
    from ifn_campaign import store

    engine = store.make_engine(f"sqlite:///{path}")
    store.upgrade(engine)
    engine.dispose()


def run_arm(
    arm: str,
    n: int,
    work: Path,
    env: dict[str, str],
    watched: list[subprocess.Popen[bytes]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One arm in a fresh process on a fresh copy of the starting state."""
    folder = work / f"{n}-{arm}"
    folder.mkdir()
    with sqlite3.connect(work / "template.db") as src, sqlite3.connect(folder / "ifn.db") as dst:
        src.backup(dst)
    env = env | {
        "IFN_DATABASE__URL": f"sqlite:///{folder / 'ifn.db'}",
        "IFN_MEDIA__DIR": str(folder / "media"),
        "IFN_CARDS__CACHE_DIR": str(folder / "cards"),
    }
    out, log = folder / "result.json", folder / "arm.log"
    command = [sys.executable, str(Path(__file__).resolve()), "--arm", arm, "--out", str(out)]
    command += ["--plan-weeks", str(args.plan_weeks), "--compose-weeks", str(args.compose_weeks)]
    print(f"{n} members, {arm}: running (log: {log})", file=sys.stderr, flush=True)
    ours_before = [_group(p.pid)[0] for p in watched]
    children_before = _cpu(resource.RUSAGE_CHILDREN)
    busy_before = _machine_busy()
    started = time.perf_counter()
    with log.open("wb") as sink:
        done = subprocess.run(
            command, env=env, cwd=folder, stdout=sink, stderr=subprocess.STDOUT, check=False
        )
    wall = time.perf_counter() - started
    busy = _machine_busy() - busy_before
    children = _cpu(resource.RUSAGE_CHILDREN) - children_before
    watched_cpu = [
        _group(p.pid)[0] - before for p, before in zip(watched, ours_before, strict=True)
    ]
    if done.returncode != 0 or not out.is_file():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{n} members, {arm}: exit status {done.returncode}\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result.update(
        members=n,
        process_wall=wall,
        arm_cpu=children,
        registry_cpu=watched_cpu[0],
        server_cpu=watched_cpu[1],
        server_rss_kib=_group(watched[1].pid)[1],
        others_cores=max(busy - children - sum(watched_cpu), 0.0) / wall,
    )
    print(
        f"{n} members, {arm}: {result['total']:.1f} s in the stages, {wall:.1f} s the process",
        file=sys.stderr,
        flush=True,
    )
    return result


# --- report ---------------------------------------------------------------------------------


def _posts(stage: str, outcomes: dict[str, dict[str, int]]) -> int | None:
    """The posts a stage worked on (None for the sync: members, not posts)."""
    get = outcomes.get
    if stage == "plan_campaign":
        return (get(stage) or {}).get("planned", 0) + (get(stage) or {}).get("pinned", 0)
    if stage == "compose":
        return (get(stage) or {}).get("composed", 0)
    if stage == "publish_due":
        done = get(stage) or {}
        return sum(done.get(k, 0) for k in ("published", "scheduled", "retry_later", "failed"))
    if stage == "reconcile":  # it checks what publishing scheduled natively
        return (get("publish_due") or {}).get("scheduled", 0)
    return None


def _share(direct: float, flow: float) -> str:
    return f"{(flow - direct) / flow * 100:.1f}%" if flow > 0 else "-"


def _per(seconds: float, count: int | None) -> str:
    return f"{seconds * 1000 / count:.2f}" if count else "-"


def report(results: dict[int, dict[str, dict[str, Any]]], args: argparse.Namespace) -> None:
    rows = []
    head = (
        "| members | stage | posts | direct s | flow s | Prefect s | Prefect share "
        "| direct ms/member | flow ms/member | direct ms/post | flow ms/post |"
    )
    rows += [head, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, arms in results.items():
        direct, flow = arms["direct"], arms["flow"]
        d_stage = {s["stage"]: s for s in direct["stages"]}
        f_stage = {s["stage"]: s for s in flow["stages"]}
        for stage in STAGES:
            d = d_stage.get(stage, {}).get("seconds")
            f = f_stage.get(stage, {}).get("seconds")
            posts = _posts(stage, direct["outcomes"])
            if d is None or f is None:
                rows.append(f"| {n} | {stage} | - | {d or '-'} | {f or '-'} | | | | | | |")
                continue
            rows.append(
                f"| {n} | {stage} | {posts if posts is not None else '-'} | {d:.2f} | {f:.2f} "
                f"| {f - d:.2f} | {_share(d, f)} | {_per(d, n)} | {_per(f, n)} "
                f"| {_per(d, posts)} | {_per(f, posts)} |"
            )
        d, f = d_stage[REPORT]["seconds"], f_stage[REPORT]["seconds"]
        rows.append(
            f"| {n} | {REPORT} (window artifacts) | - | {d:.2f} | {f:.2f} | {f - d:.2f} "
            f"| {_share(d, f)} | | | | |"
        )
        own = flow["total"] - sum(s["seconds"] for s in flow["stages"])
        rows.append(
            f"| {n} | campaign flow itself ({flow['run_started']:.2f} s until its body ran, "
            f"{flow['before']:.2f} s before the first stage, "
            f"{flow['after']:.2f} s after the last) | | 0.00 | {own:.2f} | {own:.2f} | | | | | |"
        )
        d_total = direct["total"]
        rows.append(
            f"| {n} | **whole campaign** | | **{d_total:.2f}** | **{flow['total']:.2f}** "
            f"| **{flow['total'] - d_total:.2f}** | **{_share(d_total, flow['total'])}** "
            f"| {_per(d_total, n)} | {_per(flow['total'], n)} | | |"
        )
    print("\n".join(rows))
    print()

    rows = [
        "| members | stage | direct peak RSS MiB | flow peak RSS MiB | direct CPU s | flow CPU s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n, arms in results.items():
        direct, flow = arms["direct"], arms["flow"]
        rows.append(
            f"| {n} | start (after imports) | {direct['rss_start_kib'] / KIB:.0f} "
            f"| {flow['rss_start_kib'] / KIB:.0f} | | |"
        )
        d_stage = {s["stage"]: s for s in direct["stages"]}
        f_stage = {s["stage"]: s for s in flow["stages"]}
        for stage in STAGES:
            d, f = d_stage.get(stage), f_stage.get(stage)
            if not d or not f:
                continue
            rows.append(
                f"| {n} | {stage} | {d['peak_kib'] / KIB:.0f} | {f['peak_kib'] / KIB:.0f} "
                f"| {d['cpu']:.1f} | {f['cpu']:.1f} |"
            )
        rows.append(
            f"| {n} | compose worker processes (largest) | {direct['workers_peak_kib'] / KIB:.0f} "
            f"| {flow['workers_peak_kib'] / KIB:.0f} | | |"
        )
        rows.append(
            f"| {n} | Prefect server (RSS after the arm, CPU during it) "
            f"| {direct['server_rss_kib'] / KIB:.0f} | {flow['server_rss_kib'] / KIB:.0f} "
            f"| {direct['server_cpu']:.1f} | {flow['server_cpu']:.1f} |"
        )
        rows.append(
            f"| {n} | registry sandbox process (CPU) | | | {direct['registry_cpu']:.1f} "
            f"| {flow['registry_cpu']:.1f} |"
        )
    print("\n".join(rows))
    print()

    rows = [
        "| members | arm | import s | stages s | process s | others, cores | planned | composed "
        "| approved | Shorts | published | scheduled | on IG / FB / YT |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, arms in results.items():
        for arm in ARMS:
            r = arms[arm]
            o = r["outcomes"]
            plan, compose, publish = (
                o.get(k, {}) for k in ("plan_campaign", "compose", "publish_due")
            )
            p = r["platforms"]
            rows.append(
                f"| {n} | {arm} | {r['import_seconds']:.1f} | {r['total']:.1f} "
                f"| {r['process_wall']:.1f} | {r['others_cores']:.2f} | {plan.get('planned', '-')} "
                f"| {compose.get('composed', '-')} | {compose.get('approved', '-')} "
                f"| {compose.get('videos', '-')} | {publish.get('published', '-')} "
                f"| {publish.get('scheduled', '-')} "
                f"| {p['instagram']} / {p['facebook']} / {p['youtube']} |"
            )
    print("\n".join(rows))
    print()

    rows = [
        "| members | Prefect with no work (mean) | flow s | direct s |",
        "|---:|---|---:|---:|",
    ]
    for n, arms in results.items():
        d, f = arms["direct"]["floors"], arms["flow"]["floors"]
        rows.append(f"| {n} | an empty flow run (top level) | {f['flow']:.2f} | 0.00 |")
        rows.append(
            f"| {n} | an empty flow run, heartbeats off (not how the flows run) "
            f"| {f['flow_no_heartbeat']:.2f} | 0.00 |"
        )
        rows.append(
            f"| {n} | an empty async flow run (as the campaign) | {f['async_flow']:.2f} | 0.00 |"
        )
        rows.append(f"| {n} | an empty subflow | {f['subflow']:.2f} | 0.00 |")
        rows.append(
            f"| {n} | 2 no-op tasks in a 2-process pool (beyond the flow run) "
            f"| {f['pool']:.2f} | {d['pool']:.2f} |"
        )
    print("\n".join(rows))
    print()

    for n, arms in results.items():
        direct, flow = arms["direct"], arms["flow"]
        notes = [
            f"- {n} members: Shorts made in the direct compose: {direct['video_seconds']:.1f} s "
            f"of {direct['chunks']} chunks on {direct['workers']} worker process(es)",
        ]
        sync = next(s for s in direct["stages"] if s["stage"] == "sync_registry")
        media = direct["outcomes"]["sync_registry"]
        notes.append(
            f"  sync: {media.get('new', 0)} new, {media.get('media_fetched', 0)} media fetched, "
            f"{media.get('media_reused', 0)} reused, {media.get('media_refused', 0)} refused "
            f"({sync['seconds']:.1f} s direct)"
        )
        if flow.get("error"):
            notes.append(f"  flow arm ended failed: {flow['error']}")
        if direct["prefect_loaded"]:
            notes.append("  note: the direct arm imported prefect")
        for stage in STAGES:
            a, b = direct["outcomes"].get(stage, {}), flow["outcomes"].get(stage, {})
            keep = ("new", "planned", "composed", "approved", "videos", "published", "scheduled")
            diff = {k: (a.get(k), b.get(k)) for k in keep if a.get(k) != b.get(k)}
            if diff:
                notes.append(f"  work differed in {stage} (direct, flow): {diff}")
        print("\n".join(notes))
    print()
    print(
        "Prefect share = (flow s - direct s) / flow s; ms/post: the posts each stage worked on "
        "(plan: planned, compose: composed, publish: published + scheduled + retried + failed, "
        "reconcile: the natively scheduled posts it checks). Peak RSS: the arm's main process "
        "(VmHWM, reset before each stage); worker processes: ru_maxrss of the terminated "
        "children. CPU: the main process and its terminated children. Process s: the arm's "
        "whole process (imports, sandboxes and, after the stages, the no-work measurements). "
        "Others: CPU of every "
        "other process on the machine while the arm ran (not the arm, the registry sandbox or "
        "the Prefect server), in cores out of "
        f"{os.cpu_count()}."
    )
    print(
        "goal: Prefect's share under 10%; time per member that does not grow with the number "
        "of members"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--members", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--plan-weeks", type=int, default=4)
    parser.add_argument("--compose-weeks", type=int, default=2)
    parser.add_argument(
        "--campaigns", type=Path, default=ROOT / "templates" / "campaigns", help="campaign files"
    )
    parser.add_argument(
        "--posts-per-minute",
        type=int,
        default=0,
        help="publish.account_posts_per_minute for both arms (default 0: no pacing; the "
        "shipped 20 spaces each account's posts 3 s apart in the flow arm only)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # internal: one arm
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        child(args.arm, args.out, args.plan_weeks, args.compose_weeks)
        return

    from importlib.metadata import version

    from ifn_campaign.models import utcnow

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="ifn-campaign-bench-"))
    try:
        names = _campaigns(args.campaigns, work / "campaigns")
        _template_db(work / "template.db")
        results: dict[int, dict[str, dict[str, Any]]] = {}
        with prefect_server(work / "prefect") as (api_url, server):
            print(f"Prefect server up at {api_url}", file=sys.stderr, flush=True)
            for n in args.members:
                with registry(n, work) as (registry_url, sandbox):
                    env = _clean_env() | {
                        "PREFECT_HOME": str(work / "prefect-client"),
                        "IFN_REGISTRY__BASE_URL": registry_url,
                        "IFN_MEDIA__ALLOW_HOSTS": json.dumps(
                            [registry_url.removeprefix("http://")]
                        ),
                        "IFN_PLANNER__CAMPAIGNS_DIR": str(work / "campaigns"),
                        "IFN_PUBLISH__ACCOUNT_POSTS_PER_MINUTE": str(args.posts_per_minute),
                    }
                    watched = [sandbox, server]
                    results[n] = {
                        "direct": run_arm("direct", n, work, env, watched, args),
                        "flow": run_arm(
                            "flow", n, work, env | {"PREFECT_API_URL": api_url}, watched, args
                        ),
                    }
        seconds = time.perf_counter() - started
        print(f"# campaign benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print(f"# {describe_machine()},")
        print(
            f"# Python {platform.python_version()}, Prefect {version('prefect')} (local server "
            "on SQLite), ifn-campaign SQLite file (WAL), registry sandbox in a second process, "
            "platform sandboxes in the arm's process, compose workers started with spawn"
        )
        print(
            f"# campaigns {', '.join(names)} (auto_approve on), plan {args.plan_weeks} weeks and "
            f"compose {args.compose_weeks} weeks from {utcnow():%Y-%m-%d}; "
            f"publish.account_posts_per_minute {args.posts_per_minute}; "
            f"the whole bench took {seconds:.0f} s"
        )
        print()
        report(results, args)
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
