"""Running a registry sync in-process or as the CLI, and what a sync decided, for the sync tests
(test_sync.py, test_sync_media.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import (
    Member,
    MemberMedia,
    QuarantinedRecord,
)
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.media import MediaFetcher
from ifn_campaign.registry.sync import SyncResult, sync_members
from ifn_sandbox.registry import RegistrySandbox


def _sync(settings: Settings, *, full: bool | None = None, media: bool = True) -> SyncResult:
    engine = store.open_store(settings.database.url)
    fetcher = MediaFetcher(settings.media) if media else None
    try:
        with RegistryClient(settings.registry, sleep=lambda _s: None) as client:
            return sync_members(engine, client, fetcher, full=full)
    finally:
        if fetcher:
            fetcher.close()
        engine.dispose()


def state(engine: Engine) -> dict[str, Any]:
    """Everything a sync decides, without the timestamps of when it decided it."""
    with Session(engine) as s:
        return {
            "members": sorted(
                (m.id, m.content_hash, m.status, m.business_name) for m in s.scalars(select(Member))
            ),
            "media": sorted(
                (m.member_id, m.role, m.position, m.asset_sha256 or "", m.refused_reason or "")
                for m in s.scalars(select(MemberMedia))
            ),
            "quarantine": sorted(
                (q.payload_hash, q.member_id or "", tuple(q.reasons), q.resolved_at is None)
                for q in s.scalars(select(QuarantinedRecord))
            ),
        }


def _cli_env(sb: RegistrySandbox, db_url: str, tmp_path: Path, page_size: int) -> dict[str, str]:
    env = {
        **os.environ,
        "IFN_DATABASE__URL": db_url,
        "IFN_REGISTRY__BASE_URL": sb.url,
        "IFN_REGISTRY__PAGE_SIZE": str(page_size),
        "IFN_MEDIA__DIR": str(tmp_path / "media"),
        "IFN_MEDIA__ALLOW_HOSTS": f'["{sb.url.removeprefix("http://")}"]',
    }
    env.pop("IFN_CONFIG", None)
    return env


CLI = [sys.executable, "-m", "ifn_campaign.cli.app"]
