"""Instagram content publishing, one Graph call per function, for a publisher that records an
intent before each call and stores each id as soon as it arrives.

A feed post is three steps (docs/reference/platforms.md): `create_image_container` (or several
carousel items, each waited for with `wait_until_finished`, then `create_carousel_container`:
Instagram refuses a carousel whose items are not FINISHED) -> `wait_until_finished` -> `publish`,
then `permalink`. A container not published within 24 h is EXPIRED (`GraphContainerExpired`, also
from `publish`): nothing went out, make a new one (new items too for a carousel).

What is safe to repeat:
- `container_status`, `wait_until_finished`, `permalink`, `publishing_quota`, `find_published`
  are reads, retried inside the client.
- `create_image_container` / `create_carousel_container` are not repeated by the client. After
  `GraphOutcomeUnknown` a container may exist that we do not know about; making another one is
  harmless (nothing is published, orphans expire after 24 h) but counts toward the 400
  containers per 24 h.
- `publish` is THE side effect. After `GraphOutcomeUnknown`, call `container_status` (PUBLISHED
  means it went out) and `find_published` to get the media id; never call `publish` again for
  that post until both say it did not go out. Instagram has no delete in the API.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ifn_campaign.channels.adapter import RemoteCopy, Sought
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.graph import INSTAGRAM_PUBLISH, GraphClient, node_id
from ifn_campaign.errors import (
    GraphContainerExpired,
    GraphMediaFetchFailed,
    GraphOutcomeUnknown,
    GraphRejected,
    GraphStillProcessing,
)

__all__ = [
    "ContainerStatus",
    "InstagramAccount",
    "PublishedMedia",
    "Quota",
    "UserTag",
    "container_status",
    "create_carousel_container",
    "create_image_container",
    "find_published",
    "permalink",
    "publish",
    "publishing_quota",
    "wait_until_finished",
]

STATUS_CODES = ("IN_PROGRESS", "FINISHED", "ERROR", "EXPIRED", "PUBLISHED")


@dataclass(frozen=True)
class UserTag:
    """A person tagged on an image: their Instagram username at (x, y), both 0..1."""

    username: str
    x: float
    y: float


@dataclass(frozen=True)
class ContainerStatus:
    """A container's `status_code` and Meta's `status` text (with the error subcode on ERROR)."""

    code: str
    detail: str | None = None

    @property
    def error_subcode(self) -> int | None:
        """The subcode Meta put at the end of `detail` for ERROR ("... error code 2207052")."""
        if self.code != "ERROR" or not self.detail:
            return None
        tail = self.detail.rstrip(". ").rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class Quota:
    """The rolling publishing limit: `usage` posts of `total` in `duration` seconds."""

    usage: int
    total: int
    duration: int

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.usage)


@dataclass(frozen=True)
class PublishedMedia:
    """A post found on the account (see `find_published`)."""

    id: str
    caption: str | None
    timestamp: datetime
    permalink: str | None


def create_image_container(
    client: GraphClient,
    ig_user_id: str,
    image_url: str,
    caption: str | None,
    *,
    alt_text: str | None = None,
    user_tags: Sequence[UserTag | Mapping[str, object]] | None = None,
    is_carousel_item: bool = False,
) -> str:
    """Make an image container from a public JPEG URL; returns the container id.

    A carousel item takes no caption (pass None). Raises GraphMediaFetchFailed when Instagram
    cannot fetch `image_url`, GraphRejected for an image or caption Instagram refuses.
    """
    if is_carousel_item and caption:
        raise ValueError("a carousel item has no caption: put it on the carousel")
    if not is_carousel_item and caption is None:
        raise ValueError("a feed image needs a caption (may be empty)")
    if alt_text is not None and len(alt_text) > 1000:
        raise ValueError(f"alt_text is {len(alt_text)} characters; Instagram allows 1,000")
    data: dict[str, str] = {"image_url": image_url}
    if is_carousel_item:
        data["is_carousel_item"] = "true"
    else:
        data["caption"] = caption or ""
    if alt_text is not None:
        data["alt_text"] = alt_text
    if user_tags:
        data["user_tags"] = json.dumps(
            [
                {"username": t.username, "x": t.x, "y": t.y} if isinstance(t, UserTag) else dict(t)
                for t in user_tags
            ]
        )
    answer = client.post(
        f"/{node_id(ig_user_id, 'ig_user_id')}/media",
        data,
        idempotent=False,
        permissions=INSTAGRAM_PUBLISH,
    )
    return _id(answer, "container")


def create_carousel_container(
    client: GraphClient, ig_user_id: str, children: list[str], caption: str
) -> str:
    """Make a carousel container from 2..10 carousel item containers, every one FINISHED
    (else Instagram refuses it, 2207028); returns its id."""
    if not 2 <= len(children) <= 10:
        raise ValueError(f"a carousel has 2 to 10 items, not {len(children)}")
    if len(set(children)) != len(children):
        raise ValueError("a carousel item appears twice")
    ids = [node_id(c, "carousel child id") for c in children]
    answer = client.post(
        f"/{node_id(ig_user_id, 'ig_user_id')}/media",
        {"media_type": "CAROUSEL", "children": ",".join(ids), "caption": caption},
        idempotent=False,
        permissions=INSTAGRAM_PUBLISH,
    )
    return _id(answer, "carousel container")


def container_status(client: GraphClient, container_id: str) -> ContainerStatus:
    """The container's status now: IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED."""
    answer = client.get(
        f"/{node_id(container_id, 'container id')}",
        fields="status_code,status",
        permissions=INSTAGRAM_PUBLISH,
    )
    code = answer.get("status_code")
    if code not in STATUS_CODES:
        raise GraphRejected(f"container {container_id}: unexpected status_code {code!r}")
    detail = answer.get("status")
    return ContainerStatus(str(code), str(detail) if detail is not None else None)


def wait_until_finished(
    client: GraphClient,
    container_id: str,
    *,
    timeout: float = 300,
    first_wait: float = 1,
    max_wait: float = 30,
    sleep: Callable[[float], None] = time.sleep,
) -> ContainerStatus:
    """Poll until the container is FINISHED (or PUBLISHED, which means it already went out:
    do not publish it again). Waits `first_wait` seconds, doubling up to `max_wait`, at most
    `timeout` seconds of waiting in total (the time of the calls themselves is not counted).

    Raises GraphRejected (its `subcode` from the status) on ERROR, GraphMediaFetchFailed when
    that subcode is 2207052, GraphContainerExpired on EXPIRED, GraphStillProcessing when the
    time is up.
    """
    waited, wait = 0.0, first_wait
    while True:
        status = container_status(client, container_id)
        if status.code in ("FINISHED", "PUBLISHED"):
            return status
        if status.code == "ERROR":
            subcode = status.error_subcode
            text = (
                f"Instagram could not process container {container_id} "
                f"({status.detail or 'no detail'}): make a new container"
            )
            if subcode == 2207052:
                raise GraphMediaFetchFailed(text, subcode=subcode, path=f"/{container_id}")
            raise GraphRejected(text, subcode=subcode, path=f"/{container_id}")
        if status.code == "EXPIRED":
            raise GraphContainerExpired(
                f"container {container_id} expired (not published within 24 h); nothing went "
                "out: make a new container",
                path=f"/{container_id}",
            )
        if waited >= timeout:
            raise GraphStillProcessing(
                f"container {container_id} is still {status.code} after {waited:.0f} s: "
                "poll again later",
                path=f"/{container_id}",
            )
        pause = min(wait, max_wait, timeout - waited)
        sleep(pause)
        waited += pause
        wait = min(wait * 2, max_wait)


def publish(client: GraphClient, ig_user_id: str, container_id: str) -> str:
    """Publish a FINISHED container; returns the media id. Never repeated by the client: on
    GraphOutcomeUnknown, reconcile (`container_status`, `find_published`)."""
    answer = client.post(
        f"/{node_id(ig_user_id, 'ig_user_id')}/media_publish",
        {"creation_id": node_id(container_id, "container id")},
        idempotent=False,
        permissions=INSTAGRAM_PUBLISH,
    )
    return _id(answer, "media")


def permalink(client: GraphClient, media_id: str) -> str:
    """The public link of a published media."""
    answer = client.get(f"/{node_id(media_id, 'media id')}", fields="permalink")
    link = answer.get("permalink")
    if not isinstance(link, str) or not link:
        raise GraphRejected(f"media {media_id} has no permalink in Meta's answer")
    return link


def publishing_quota(client: GraphClient, ig_user_id: str) -> Quota:
    """How much of the rolling publishing limit is used (`content_publishing_limit`)."""
    answer = client.get(
        f"/{node_id(ig_user_id, 'ig_user_id')}/content_publishing_limit",
        fields="quota_usage,config",
        permissions=INSTAGRAM_PUBLISH,
    )
    data = answer.get("data")
    entry = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    try:
        return Quota(
            usage=int(entry["quota_usage"]),
            total=int(config["quota_total"]),
            duration=int(config["quota_duration"]),
        )
    except (KeyError, TypeError, ValueError):
        raise GraphRejected(
            f"content_publishing_limit for {ig_user_id}: unexpected answer shape"
        ) from None


def find_published(
    client: GraphClient,
    ig_user_id: str,
    *,
    caption: str,
    since: datetime,
    max_pages: int = 4,
) -> PublishedMedia | None:
    """The newest post of the account whose caption is exactly `caption`, published at or
    after `since`, or None: how to learn whether a `publish` whose answer was lost went out.

    Limits, which a publisher must respect:
    - The match is on the caption text only. Captions must be unique per account (ours name the
      member and campaign); if Instagram changes the text (it may normalise whitespace or line
      breaks), nothing matches and a person must look before anything is published again.
    - `since` is compared with Instagram's clock: pass the time the intent was recorded minus
      a few minutes of skew.
    - Only the newest `max_pages` pages (25 posts each) are read, newest first; a post made in
      the app in between is read too and simply does not match.
    - A new post can take a moment to appear in the listing: None right after a timeout is
      not proof; check `container_status` (PUBLISHED) as well, and again a little later.
    """
    if since.tzinfo is None:
        raise ValueError("since must be an aware datetime (UTC)")
    for item in client.pages(
        f"/{node_id(ig_user_id, 'ig_user_id')}/media",
        max_pages=max_pages,
        fields="id,caption,timestamp,permalink",
    ):
        stamp = _timestamp(item.get("timestamp"))
        if stamp is None:
            continue
        if stamp < since:
            return None  # newest first: everything after this is older
        if item.get("caption") == caption and isinstance(item.get("id"), str):
            link = item.get("permalink")
            return PublishedMedia(
                id=item["id"],
                caption=item.get("caption"),
                timestamp=stamp,
                permalink=link if isinstance(link, str) else None,
            )
    return None


def _id(answer: dict[str, object], what: str) -> str:
    value = answer.get("id")
    if not isinstance(value, str) or not value:
        raise GraphOutcomeUnknown(
            f"Meta answered without a {what} id, so whether it was made is unknown: reconcile"
        )
    return value


def _timestamp(raw: object) -> datetime | None:
    """Instagram's "2026-11-25T03:00:02+0000"."""
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class InstagramAccount:
    """One Instagram professional account as a `ChannelAdapter`: the Graph client and the IG
    user id. Publishing is the three steps above (the publisher records each); Instagram's API
    has no delete, so `take_down` refuses and staff delete the post in the app."""

    channel = Channel.INSTAGRAM
    can_take_down = False

    def __init__(self, client: GraphClient, ig_user_id: str) -> None:
        self.client = client
        self.ig_user_id = ig_user_id

    def __repr__(self) -> str:
        return f"InstagramAccount({self.ig_user_id!r})"

    def find(self, sought: Sought) -> RemoteCopy | None:
        """The published media with exactly the sought caption since `sought.since`."""
        found = find_published(
            self.client, self.ig_user_id, caption=sought.caption, since=sought.since
        )
        if found is None:
            return None
        return RemoteCopy(found.id, live=True, link=found.permalink, live_at=found.timestamp)

    def read_back(self, remote_id: str) -> RemoteCopy:
        """A media id exists only once published: live, with its permalink."""
        return RemoteCopy(remote_id, live=True, link=permalink(self.client, remote_id))

    def take_down(self, remote_id: str) -> None:
        raise GraphRejected(
            f"Instagram's API cannot delete media {remote_id}: delete the post in the Instagram "
            "app (`ifn-campaign takedowns` lists it)"
        )
