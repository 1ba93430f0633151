"""What the publisher, reconcile and takedown ask of any channel, as one small interface.

Each channel's client implements it (`instagram.InstagramAccount`, `facebook.FacebookPage`,
`youtube.YouTubeChannel`, built by `channels.clients.channel_clients`). `publish` runs the
channel's own remote sequence (containers, native scheduling, resumable uploads) through a
`Steps` recorder the publisher hands it: each remote step is recorded (committed) before it
runs and each id as it comes back, so a publisher killed anywhere resumes from what is
recorded and never sends anything irreversible twice. Every failure is a `ChannelError` kind
(errors.py), transport errors included: callers never see `requests`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ifn_campaign.channels.channel import Channel

__all__ = ["Again", "ChannelAdapter", "Outgoing", "RemoteCopy", "Sent", "Sought", "Steps"]


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


@dataclass(frozen=True)
class Outgoing:
    """What a post says, as the publisher hands it to `publish`: its name in messages
    ("post 12"), the text, the slot, the
    images (the card, then each slide with its alt text), the member's consented handles,
    the Short's title, tags and thumbnail. `now` is the publisher's clock at the start and
    `since` the earliest time a copy made by a lost call can carry (for `find`)."""

    name: str
    caption: str
    slot_at: datetime
    now: datetime
    since: datetime
    card_path: str | None = None
    alt_text: str | None = None
    slides: tuple[tuple[str, str | None], ...] = ()
    user_tags: tuple[str, ...] = ()
    title: str = ""
    tags: tuple[str, ...] = ()
    thumbnail_path: str | None = None


@dataclass(frozen=True)
class Sent:
    """How `publish` ended: `live` (public now) or waiting on the platform for its slot
    (natively scheduled); `link` reads the public link when asked (it may call the platform,
    and a failure there does not undo the post)."""

    live: bool
    link: Callable[[], str | None]


class Again(Exception):
    """Nothing went out and what was recorded is of no more use (an expired container or
    upload session, a container found already published): the publisher gives the post
    back to be tried again at once, without counting a failure kind."""


class Steps(Protocol):
    """The publisher's record of one post's steps, over its claim and its session. An
    adapter calls `step` before each remote call, `called` when it returned and `remember`
    with what came back; on a rerun it reads `recorded` and resumes from there."""

    @property
    def capped(self) -> bool:
        """Over the publisher's attempt cap: only reads may be made (`step` refuses)."""
        ...

    @property
    def kept(self) -> dict[str, Any]:
        """What the adapter keeps for this account over the publisher's run (Instagram: the
        publishing quota, read once per run)."""
        ...

    def step(self, name: str) -> None:
        """Record (commit) that remote step `name` is about to run; raises when the post must
        not go on (the claim was lost, or it is over the attempt cap)."""
        ...

    def called(self, name: str) -> None:
        """The remote call of step `name` returned; nothing of it is stored yet."""
        ...

    def remember(self, name: str | None = None, **values: Any) -> None:
        """Store `values` on the post (ids, the upload session) and commit; with `name`, the
        step is complete."""
        ...

    def recorded(self, key: str) -> Any:
        """What an earlier step stored under `key` (`publish_step` is the last step begun)."""
        ...

    def forget(self, why: str, *keys: str) -> None:
        """Drop stored ids that can never be used (noted in the post's log, with `why`) and
        the step reached: the next attempt starts over."""
        ...

    def media_url(self, path: str | None = None) -> str:
        """The public URL the platform fetches an image from (default: the post's card)."""
        ...

    def video(self) -> Path:
        """The post's video file, made (and recorded) when it is not there yet."""
        ...

    def aside(self, name: str, refused: Exception | None) -> None:
        """Step `name`, which does not fail the post (a thumbnail), is over: `refused` is
        what the platform (or the file) refused, None when it was done."""
        ...


@runtime_checkable
class ChannelAdapter(Protocol):
    """One account on one channel. `can_take_down`: whether the platform's API can delete a
    post (Instagram's cannot: staff delete those in the app)."""

    channel: Channel
    can_take_down: bool

    def publish(self, outgoing: Outgoing, steps: Steps) -> Sent:
        """Put the post on the platform, one recorded step at a time, resuming from what
        `steps` holds; the remote id is remembered as `remote_id` the moment it arrives."""
        ...

    def find(self, sought: Sought) -> RemoteCopy | None:
        """The copy a lost call may have made, or None when the platform shows none."""
        ...

    def read_back(self, remote_id: str) -> RemoteCopy:
        """The copy now; `ChannelNotFound` when it is gone (removed on the platform)."""
        ...

    def take_down(self, remote_id: str) -> None:
        """Delete the copy (scheduled or public); `ChannelNotFound` when it is already gone."""
        ...
