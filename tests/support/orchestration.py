"""Campaign files and worker-pool stand-ins for the orchestration tests; the pool's callables
live here so worker processes (and a script's child) can import them by name."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ifn_campaign.orchestration.stages import (
    ComposeSummary,
)

WIB = ZoneInfo("Asia/Jakarta")


def write_campaign(
    folder: Path,
    name: str,
    at: datetime,
    channels: tuple[str, ...] = ("instagram", "youtube"),
    *,
    auto_approve: bool = False,
) -> None:
    """A campaign file with one weekly slot per channel, on `at`'s weekday and time (WIB)."""
    local = at.astimezone(WIB)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    text = [
        f'name = "{name}"',
        'title = "Pekan Uji"',
        f"start = {(local - timedelta(days=30)).date().isoformat()}",
        'holidays = "ignore"',
        'hashtags = ["PekanUji"]',
        f"auto_approve = {str(auto_approve).lower()}",
    ]
    for channel in channels:
        text += ["", "[[channels]]", f'channel = "{channel}"', 'account = "bpipi"']
        text += ["[[channels.slots]]", f'days = ["{day}"]', f'time = "{local:%H:%M}"']
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text("\n".join(text) + "\n", encoding="utf-8")


def _chunk_result(post_ids: list[int]) -> ComposeSummary:
    """A stand-in for compose_chunk in a real worker process: what the worker does is the test."""
    import os
    import signal

    from ifn_campaign.errors import TemplateError

    if post_ids == [66]:
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-chunk (OOM killer, a crash)
    if post_ids == [77]:
        raise TemplateError("unknown layer type 'blob'", file="sorotan.toml", layer="x", key="type")
    return ComposeSummary(composed=list(post_ids))


def _slow(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
