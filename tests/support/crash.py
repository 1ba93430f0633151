"""Running the publisher in a child process (configured only by IFN_* variables, as in
production) and letting its claim lapse, for the crash and claim tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

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


def run_publisher(world: World, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    (world.folder / "none.toml").write_text("")
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=child_env(world, crash_at),
        cwd=world.folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lapse_claim(world: World, post_id: int) -> None:
    """The lease passes: the crashed worker's claim is older than lease_seconds."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.claimed_at is not None
        post.claimed_at -= timedelta(seconds=LEASE + 5)
        session.commit()
