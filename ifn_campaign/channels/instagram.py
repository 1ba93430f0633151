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

from ifn_campaign.channels.adapter import Again, Outgoing, RemoteCopy, Sent, Sought, Steps
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.graph import INSTAGRAM_PUBLISH, GraphClient, node_id
from ifn_campaign.errors import (
    GraphContainerExpired,
    GraphMediaFetchFailed,
    GraphOutcomeUnknown,
    GraphPublishLimit,
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


def _tags(outgoing: Outgoing) -> list[UserTag] | None:
    """The member's consented handles, tagged below the middle of the card (by the name)."""
    return [UserTag(handle, 0.5, 0.75) for handle in outgoing.user_tags] or None


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
    user id. Publishing is the three steps above, each recorded by the publisher's `Steps`
    (`container_wait`: how long one run waits for a container to be FINISHED); Instagram's
    API has no delete, so `take_down` refuses and staff delete the post in the app."""

    channel = Channel.INSTAGRAM
    can_take_down = False

    def __init__(
        self, client: GraphClient, ig_user_id: str, *, container_wait: float = 300
    ) -> None:
        self.client = client
        self.ig_user_id = ig_user_id
        self.container_wait = container_wait

    def publish(self, outgoing: Outgoing, steps: Steps) -> Sent:
        """Container (a carousel's items first, each FINISHED) -> FINISHED -> media_publish ->
        permalink. Found at `publish` without a media id, the container's status says whether
        media_publish went out, and `find` gives its id: it is never sent twice."""
        client = self.client
        container = steps.recorded("remote_container_id")
        if (
            steps.recorded("remote_id") is None
            and steps.recorded("publish_step") == "publish"
            and container
        ):
            # media_publish may have gone out before the crash or the lost answer: ask first
            status = container_status(client, container)
            if status.code == "PUBLISHED":
                found = self.find(Sought(outgoing.caption, outgoing.since))
                steps.remember(remote_id=found.remote_id if found else None)
                return Sent(live=True, link=lambda: found.link if found else None)
            if status.code in ("EXPIRED", "ERROR"):
                why = "expired (24 h)" if status.code == "EXPIRED" else f"failed ({status.detail})"
                self._drop(steps, f"container {container} {why}")
        if steps.recorded("remote_id") is None:
            # the limit first: no container is made for a post that cannot go out now
            self._spend_quota(steps)
            self._drop_expired(steps)
            if steps.recorded("remote_container_id") is None:
                if outgoing.slides:
                    children = self._carousel_items(outgoing, steps)
                    self._items_finished(steps, children)
                    steps.step("container")
                    made = create_carousel_container(
                        client, self.ig_user_id, children, outgoing.caption
                    )
                else:
                    url = steps.media_url()
                    steps.step("container")
                    made = create_image_container(
                        client,
                        self.ig_user_id,
                        url,
                        outgoing.caption,
                        alt_text=outgoing.alt_text,
                        user_tags=_tags(outgoing),
                    )
                steps.called("container")
                steps.remember("container", remote_container_id=made)
            container = steps.recorded("remote_container_id") or ""
            steps.step("wait")
            status = self._finished(steps, container)
            steps.called("wait")
            if status.code == "PUBLISHED":
                steps.step("publish")
                raise Again("container already published: reconciling")
            steps.remember("wait")  # nothing to store: the container id already is
            steps.step("publish")
            try:
                media_id = publish(client, self.ig_user_id, container)
            except GraphContainerExpired as exc:  # refused: nothing went out
                self._drop(steps, str(exc))
                raise Again("container expired: a new one is made") from None
            steps.called("publish")
            steps.remember("publish", remote_id=media_id)
        media = steps.recorded("remote_id")
        return Sent(live=True, link=lambda: permalink(client, media) if media else None)

    def _carousel_items(self, outgoing: Outgoing, steps: Steps) -> list[str]:
        """One carousel item container per image (the card, then each slide), each id stored
        as it arrives; a repeat after a crash makes only the missing ones (an orphan item is
        harmless: nothing is published, it expires in 24 h)."""
        images = [(outgoing.card_path or "", outgoing.alt_text), *outgoing.slides][:10]
        made = list(steps.recorded("slide_container_ids") or [])
        for index, (path, alt) in enumerate(images[len(made) :], start=len(made)):
            url = steps.media_url() if index == 0 else steps.media_url(path)
            steps.step("items")
            item = create_image_container(
                self.client,
                self.ig_user_id,
                url,
                None,
                alt_text=alt,
                user_tags=_tags(outgoing) if index == 0 else None,
                is_carousel_item=True,
            )
            steps.called("items")
            made.append(item)
            # a new list: JSON columns track assignment
            steps.remember("items", slide_container_ids=list(made))
        return made

    def _finished(
        self, steps: Steps, container: str, timeout: float | None = None
    ) -> ContainerStatus:
        """Wait (bounded, backing off) for FINISHED; an expired container is dropped so the
        next attempt makes a new one, and one still IN_PROGRESS leaves the post to a later run
        with its ids kept (GraphStillProcessing)."""
        wait = self.container_wait if timeout is None else timeout
        try:
            return wait_until_finished(self.client, container, timeout=wait)
        except GraphContainerExpired as exc:
            self._drop(steps, str(exc))
            raise Again("container expired: a new one is made") from None

    def _items_finished(self, steps: Steps, items: list[str]) -> None:
        """Instagram refuses a carousel whose items are not all FINISHED: wait for each, all
        within one `container_wait` (an ERROR item fails the post)."""
        deadline = time.monotonic() + self.container_wait
        steps.step("items_wait")
        for item in items:
            self._finished(steps, item, max(0.0, deadline - time.monotonic()))

    def _drop_expired(self, steps: Steps) -> None:
        """Containers live 24 h: a post held back longer (the publishing limit, a long retry)
        gets new ones. The oldest stored container tells (items are made before their
        carousel; an expired item makes the carousel useless too)."""
        oldest = (steps.recorded("slide_container_ids") or [steps.recorded("remote_container_id")])[
            0
        ]
        if oldest is None:
            return
        if container_status(self.client, oldest).code == "EXPIRED":
            self._drop(steps, f"container {oldest} expired (24 h)")

    @staticmethod
    def _drop(steps: Steps, why: str) -> None:
        """Forget containers that can never be published; their ids stay in the post's log."""
        steps.forget(
            f"{why}; a new container is made", "remote_container_id", "slide_container_ids"
        )

    def _spend_quota(self, steps: Steps) -> None:
        """Instagram's rolling publishing limit, read once per account per publisher run and
        counted down here (one call, not one per post); a publish refused anyway (2207042)
        still moves the post to the next free hour."""
        if "quota" not in steps.kept:
            quota = publishing_quota(self.client, self.ig_user_id)
            steps.kept["quota"] = (quota.remaining, quota)
        remaining, quota = steps.kept["quota"]
        if remaining <= 0:
            raise GraphPublishLimit(
                f"Instagram publishing limit reached ({quota.total} posts in "
                f"{quota.duration // 3600} h)"
            )
        steps.kept["quota"] = (remaining - 1, quota)

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
