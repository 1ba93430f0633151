"""What the publisher, reconcile and takedown ask of any channel, as one small interface.

Each channel's client implements it (`instagram.InstagramAccount`, `facebook.FacebookPage`,
`youtube.YouTubeChannel`, built by `channels.clients.channel_clients`); the channel-specific
publishing steps (containers, native scheduling, resumable uploads) stay on those classes
because each step is recorded before it runs. Every failure is a `ChannelError` kind
(errors.py), transport errors included: callers never see `requests`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ifn_campaign.channels.channel import Channel

__all__ = ["ChannelAdapter", "RemoteCopy", "Sought"]


@dataclass(frozen=True)
class RemoteCopy:
    """A post as the platform holds it: its id, whether the public sees it yet (a natively
    scheduled copy does not until its time), its link, and when it went public by the
    platform's clock (None: not public, or the platform does not say)."""

    remote_id: str
    live: bool
    link: str | None = None
    live_at: datetime | None = None


@dataclass(frozen=True)
class Sought:
    """What identifies a copy whose creating call lost its answer: the exact caption, the
    earliest time it can have been made, the slot it was scheduled for (natively scheduling
    channels), and the upload session it was sent through (YouTube: the session alone can
    say whether it became a video, and its total size in bytes)."""

    caption: str
    since: datetime
    scheduled_at: datetime | None = None
    upload_session_url: str | None = None
    upload_size: int | None = None


@runtime_checkable
class ChannelAdapter(Protocol):
    """One account on one channel. `can_take_down`: whether the platform's API can delete a
    post (Instagram's cannot: staff delete those in the app)."""

    channel: Channel
    can_take_down: bool

    def find(self, sought: Sought) -> RemoteCopy | None:
        """The copy a lost call may have made, or None when the platform shows none."""
        ...

    def read_back(self, remote_id: str) -> RemoteCopy:
        """The copy now; `ChannelNotFound` when it is gone (removed on the platform)."""
        ...

    def take_down(self, remote_id: str) -> None:
        """Delete the copy (scheduled or public); `ChannelNotFound` when it is already gone."""
        ...
