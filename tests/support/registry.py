"""Settings pointing at a registry sandbox, with retries fast enough for fault tests."""

from __future__ import annotations

from pathlib import Path

from ifn_campaign.config import MediaSettings, RegistrySettings, Settings
from ifn_sandbox.registry import RegistrySandbox


def settings_for(
    sandbox: RegistrySandbox, db_url: str, media_dir: Path, **registry: object
) -> Settings:
    """Settings pointing at a sandbox, with fast retries so fault tests stay quick."""
    host_port = sandbox.url.removeprefix("http://")
    return Settings(
        database={"url": db_url},
        registry=RegistrySettings(
            base_url=sandbox.url,
            backoff_factor=0.01,
            backoff_jitter=0.01,
            read_timeout=5,
            **registry,  # type: ignore[arg-type]
        ),
        media=MediaSettings(dir=media_dir, allow_hosts=[host_port]),
    )
