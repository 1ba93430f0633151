"""`ifn-campaign rehearse` as an operator runs it: a process serving the stand-ins, and in
another shell the production commands with the settings and credentials it wrote."""

from __future__ import annotations

import imaplib
import shlex
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from ifn_campaign.config import load_settings
from ifn_campaign.publishing.publisher import Publisher
from ifn_campaign.secrets import env_name
from tests.support.demo import demo_env
from tests.support.publishing import World, approved_posts, load

EXE = Path(sys.executable).parent / "ifn-campaign"


def _env_file(path: Path) -> dict[str, str]:
    """The variables `. rehearse.env` exports."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = shlex.split(value)[0]
    return values


def _campaign_far_from_now(folder: Path, zone: ZoneInfo) -> Path:
    """A campaigns folder of one campaign posting every day on the three accounts at the time of
    day twelve hours from now, today and tomorrow only: every slot is at least eleven hours away,
    so the only post due in the test is the one it moves (the shipped campaigns' slots, 19:00 WIB
    on Tuesdays and so on, could fall right after a test's `move`), and a Short is inside
    `youtube.upload_ahead_hours` whatever the time."""
    now = datetime.now(zone)
    at = now + timedelta(hours=12)
    days = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
    channels = "".join(
        f"""
[[channels]]
channel = "{channel}"
account = "bpipi"
[[channels.slots]]
days = {days}
time = "{at:%H:%M}"
"""
        for channel in ("instagram", "facebook", "youtube")
    )
    folder.mkdir()
    (folder / "rehearsal.toml").write_text(
        f"""name = "rehearsal"
title = "Rehearsal"
start = {now:%Y-%m-%d}
end = {now + timedelta(days=1):%Y-%m-%d}
timezone = "{zone.key}"
holidays = "ignore"
{channels}""",
        encoding="utf-8",
    )
    return folder


def _port_free(port: int) -> bool:
    """Nothing listens on `port` and a server may take it (with SO_REUSEADDR, as every server
    sets it: the closed connections' TIME_WAIT is no one's)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("127.0.0.1", port))
            server.listen()
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_rehearse_serves_what_the_production_commands_need(tmp_path: Path) -> None:
    folder = tmp_path / "rehearsal"
    # a shell of the operator's: no IFN_ setting, no Prefect server (doctor only warns)
    env = {k: v for k, v in demo_env().items() if not k.startswith("PREFECT_API")}
    ports = ["--registry-port", "0", "--graph-port", "0", "--youtube-port", "0"]
    ports += ["--smtp-port", "0", "--imap-port", "0"]
    proc = subprocess.Popen(
        [str(EXE), "rehearse", "--dir", str(folder), *ports, "--media-port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outputs: list[str] = []
    try:
        env_file = folder / "rehearse.env"
        deadline = time.monotonic() + 120
        while not env_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert env_file.exists(), proc.communicate(timeout=10)
        assert env_file.stat().st_mode & 0o777 == 0o600
        exported = _env_file(env_file)
        config = folder / "ifn-campaign.toml"
        assert exported["IFN_CONFIG"] == str(config)
        secrets = {v for k, v in exported.items() if k != "IFN_CONFIG"}
        # the registry's token, the Graph token, YouTube's two, the mail sandbox's password
        assert len(secrets) == 5
        assert not any(secret in config.read_text() for secret in secrets)
        cfg = load_settings(config)
        assert cfg.data_dir == folder and cfg.registry.token is None  # the token is the env's
        used = [
            int(url.rsplit(":", 1)[1].split("/")[0])
            for url in (cfg.registry.base_url, cfg.instagram.graph_url, cfg.youtube.api_url)
        ] + [int(cfg.publish.media_base_url.rsplit(":", 1)[1])]
        assert 0 not in used and len(set(used)) == 4
        notices = cfg.notices  # the mail sandbox, asking the login a real provider would
        assert notices.smtp_host == notices.imap_host == "127.0.0.1"
        assert 0 not in (notices.smtp_port, notices.imap_port)
        assert notices.smtp_security == "none" and notices.smtp_password_secret
        password = exported[env_name(notices.smtp_password_secret)]
        with smtplib.SMTP(notices.smtp_host, notices.smtp_port, timeout=10) as smtp:
            smtp.login(notices.smtp_user or "", password)
        imap = imaplib.IMAP4(notices.imap_host, notices.imap_port, timeout=10)
        imap.login(notices.smtp_user or "", password)
        assert imap.select(notices.imap_sent_folder)[0] == "OK"
        imap.logout()

        elsewhere = tmp_path / "shell"  # the operator's other terminal, after `. rehearse.env`
        elsewhere.mkdir()
        zone = ZoneInfo(cfg.planner.display_timezone)
        campaigns = _campaign_far_from_now(tmp_path / "campaigns", zone)
        exported["IFN_PLANNER__CAMPAIGNS_DIR"] = str(campaigns)

        def run(*args: str) -> str:
            done = subprocess.run(
                [str(EXE), *args],
                cwd=elsewhere,
                env={**env, **exported, "COLUMNS": "200"},
                capture_output=True,
                text=True,
                timeout=600,
            )
            outputs.extend([done.stdout, done.stderr])
            assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
            return " ".join((done.stdout + done.stderr).split())

        run("db", "upgrade")
        doctor = run("doctor")
        for account in ("instagram/bpipi", "facebook/bpipi", "youtube/bpipi"):
            assert f"ok {account}" in doctor, doctor
        assert "0 failed" in doctor
        assert "(full)" in run("sync")
        run("plan", "--weeks", "1")
        run("compose", "--weeks", "1")
        run("approve", "--all", "--by", "rehearsal")
        database = sqlite3.connect(folder / "ifn-campaign.db")
        with database:
            post_id = database.execute(
                "SELECT id FROM post WHERE channel = 'instagram' AND state = 'approved' "
                "ORDER BY slot_at LIMIT 1"
            ).fetchone()[0]
        # an Instagram post goes out at its slot: moved to the next minute, the publish run
        # started inside publish.lead_seconds of it takes it and waits for the slot (the other
        # posts, hours ahead, are scheduled on the platforms by the same run)
        now = datetime.now(zone)
        slot = (now + timedelta(minutes=1 if now.second < 45 else 2)).replace(
            second=0, microsecond=0
        )
        run("move", str(post_id), "--at", f"{slot:%Y-%m-%d %H:%M}", "--by", "rehearsal")
        early = min(30.0, cfg.publish.lead_seconds / 2)
        time.sleep(max(0.0, (slot - datetime.now(zone)).total_seconds() - early))
        first = run("publish")
        assert "1 published" in first and "0 to retry, 0 failed" in first, first
        with database:
            scheduled = database.execute(
                "SELECT count(*) FROM post WHERE channel = 'facebook' AND state = 'scheduled'"
            ).fetchone()[0]
        assert scheduled >= 1
        with database:
            state, remote_id = database.execute(
                "SELECT state, remote_id FROM post WHERE id = ?", (post_id,)
            ).fetchone()
            uploaded = [
                remote
                for (remote,) in database.execute(
                    "SELECT remote_id FROM post WHERE channel = 'youtube' AND remote_id IS NOT NULL"
                )
            ]
        database.close()
        assert state == "published"
        # what the platforms received, as the operator looks at it
        graph = cfg.instagram.graph_url.rsplit("/", 1)[0]  # less the /v25.0
        received = requests.get(f"{graph}/_sandbox/posts", timeout=10).json()
        (media,) = received["instagram"]
        assert media["id"] == remote_id and datetime.fromisoformat(media["timestamp"]) >= slot
        assert len(received["facebook"]) == scheduled
        assert all(p["photo"] and not p["published"] for p in received["facebook"])
        youtube = cfg.youtube.token_url.rsplit("/", 1)[0]  # less the /token
        videos = requests.get(f"{youtube}/_sandbox/posts", timeout=10).json()["youtube"]
        assert uploaded and sorted(v["id"] for v in videos) == sorted(uploaded)
        # a registry fault as the printed line injects it: the next sync retries through it
        registry = cfg.registry.base_url
        fault = {"path": "/api/v1/members", "kind": "status", "status": 503, "times": 1}
        assert requests.post(f"{registry}/_sandbox/faults", json=fault, timeout=10).ok
        assert "registry: HTTP 503; retry 1/" in run("sync")
        assert requests.delete(f"{registry}/_sandbox/faults", timeout=10).json() == {"faults": 0}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "stopped" in stdout and f". {folder / 'rehearse.env'}" in stdout
    assert "/_sandbox/faults" in stdout and "/_sandbox/posts" in stdout
    for text in [stdout, stderr, *outputs]:
        for secret in secrets:
            assert secret not in text
    assert all(_port_free(port) for port in used)


def test_the_platform_sandboxes_list_what_they_received(world: World) -> None:
    """`GET /_sandbox/posts`, what a rehearsal shows the operator: each platform's copy of what
    the publisher sent, as the database records it (an Instagram post out now, a Facebook post
    and a Short scheduled natively)."""
    now = datetime.now(UTC)
    slots = {
        "instagram": now - timedelta(minutes=1),
        "facebook": now + timedelta(days=2),
        "youtube": now + timedelta(hours=2),
    }
    ids = approved_posts(world, slots)
    graph, youtube = world.platforms.graph.url, world.platforms.youtube.url
    empty = requests.get(f"{graph}/_sandbox/posts", timeout=10).json()
    assert empty == {"instagram": [], "facebook": []}
    assert requests.get(f"{youtube}/_sandbox/posts", timeout=10).json() == {"youtube": []}
    Publisher(world.engine, world.settings).run()
    posts = {channel: load(world, post_id)[0] for channel, post_id in ids.items()}
    received = requests.get(f"{graph}/_sandbox/posts", timeout=10).json()
    (media,) = received["instagram"]
    assert media["id"] == posts["instagram"].remote_id
    assert media["caption"] == posts["instagram"].caption
    (page_post,) = received["facebook"]
    assert page_post["id"] == posts["facebook"].remote_id
    assert page_post["photo"] and not page_post["published"]
    scheduled_at = datetime.fromisoformat(page_post["scheduled_publish_time"])
    assert abs(scheduled_at - slots["facebook"]) < timedelta(seconds=1)
    (video,) = requests.get(f"{youtube}/_sandbox/posts", timeout=10).json()["youtube"]
    assert video["id"] == posts["youtube"].remote_id
    assert video["privacy_status"] == "private" and video["publish_at"] is not None
    assert video["title"] == posts["youtube"].title


@pytest.mark.slow
def test_a_taken_port_is_one_line_and_no_file(tmp_path: Path) -> None:
    """An earlier rehearsal (or anything) on a port: one line naming it and the way out, and no
    settings written that would point at someone else's server."""
    folder = tmp_path / "rehearsal"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = ["--registry-port", "0", "--graph-port", str(port), "--youtube-port", "0"]
        ports += ["--smtp-port", "0", "--imap-port", "0"]
        done = subprocess.run(
            [str(EXE), "rehearse", "--dir", str(folder), *ports, "--media-port", "0"],
            cwd=tmp_path,
            env=demo_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    error = " ".join(done.stderr.split())
    assert error.startswith(f"error: the Graph or YouTube sandbox cannot listen on port {port}")
    assert "--graph-port 0" in error and "Traceback" not in done.stderr
    assert not (folder / "ifn-campaign.toml").exists() and not (folder / "rehearse.env").exists()
