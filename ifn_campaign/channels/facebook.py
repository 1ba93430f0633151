"""Facebook Page posts, one Graph call per function, for a publisher that records an intent
before each call and stores each id as soon as it arrives.

Facebook schedules natively: `post_photo(..., scheduled_at=...)` (or `post_feed`) creates an
unpublished post that Facebook publishes at that time; `cancel` deletes it before then and
`read_back` tells whether it went out and its permalink.

What is safe to repeat: `scheduled_posts`, `read_back`, `find_scheduled`, `find_published_post`
are reads (retried inside the client) and `cancel` may be repeated (a repeat after a lost
answer meets GraphNotFound). `post_photo` and `post_feed` are not repeated by the client: after
`GraphOutcomeUnknown`, reconcile with `find_scheduled` (scheduled posts, until their time
comes) or `find_published_post` (published ones) before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ifn_campaign.channels.adapter import Outgoing, RemoteCopy, Sent, Sought, Steps
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.graph import PAGE_PUBLISH, GraphClient, node_id
from ifn_campaign.errors import (
    GraphOutcomeUnknown,
    GraphRejected,
    InvalidValueError,
    LedgerError,
    ScheduleWindowError,
    UploadTooLarge,
)

__all__ = [
    "SCHEDULE_MARGIN",
    "SCHEDULE_MAX_DAYS",
    "SCHEDULE_MIN",
    "FacebookPage",
    "PagePost",
    "PostState",
    "ScheduledPost",
    "cancel",
    "check_schedule",
    "find_published_post",
    "find_scheduled",
    "post_feed",
    "post_photo",
    "read_back",
    "scheduled_posts",
]

SCHEDULE_MIN = timedelta(minutes=10)
SCHEDULE_MARGIN = timedelta(minutes=15)
"""What a publisher schedules natively: a slot at least this far ahead (Facebook wants 10
minutes from when the request arrives, and the request takes time)."""
SCHEDULE_MAX_DAYS = 30
"""docs/reference/platforms.md: CONFIGURABLE (one reference says 75), strict default 30."""
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
MAX_UPLOAD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class PagePost:
    """What `post_photo` made: the photo and the Page post that shows it."""

    photo_id: str
    post_id: str


@dataclass(frozen=True)
class PostState:
    """A Page post as Facebook reports it now."""

    permalink_url: str | None
    is_published: bool
    scheduled_publish_time: datetime | None
    created_time: datetime | None = None

    @property
    def went_live_at(self) -> datetime | None:
        """When the post went public: its scheduled time, else when it was made. The ledger
        takes this, not the moment reconcile noticed it."""
        if not self.is_published:
            return None
        return self.scheduled_publish_time or self.created_time


@dataclass(frozen=True)
class ScheduledPost:
    """A post waiting for its time (`scheduled_posts`)."""

    id: str
    message: str | None
    scheduled_publish_time: datetime | None


def check_schedule(
    scheduled_at: datetime, now: datetime, *, max_days: int = SCHEDULE_MAX_DAYS
) -> int:
    """Unix seconds for `scheduled_at`, if it is 10 minutes to `max_days` days after `now`.

    Facebook measures from when the request arrives, so leave a margin above 10 minutes.
    Raises ScheduleWindowError.
    """
    if scheduled_at.tzinfo is None or now.tzinfo is None:
        raise ScheduleWindowError("scheduled_at and now must be aware datetimes (UTC)")
    low, high = now + SCHEDULE_MIN, now + timedelta(days=max_days)
    if not low <= scheduled_at <= high:
        ahead = scheduled_at - now
        raise ScheduleWindowError(
            f"Facebook can schedule a post 10 minutes to {max_days} days ahead; "
            f"{scheduled_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC is {_describe(ahead)} from now "
            f"({now.astimezone(UTC):%Y-%m-%d %H:%M} UTC): pick a time inside the window or "
            "publish it without scheduling"
        )
    return int(scheduled_at.timestamp())


def post_photo(
    client: GraphClient,
    page_id: str,
    *,
    image_url: str | None = None,
    image_path: Path | str | None = None,
    caption: str,
    scheduled_at: datetime | None = None,
    now: datetime,
    schedule_max_days: int = SCHEDULE_MAX_DAYS,
) -> PagePost:
    """A photo post from a public URL (`image_url`) or a local file uploaded as multipart
    `source` (`image_path`, JPEG or PNG); scheduled when `scheduled_at` is given."""
    if (image_url is None) == (image_path is None):
        raise ValueError("give exactly one of image_url and image_path")
    data: dict[str, str] = {"caption": caption}
    if scheduled_at is not None:
        when = check_schedule(scheduled_at, now, max_days=schedule_max_days)
        data.update({"published": "false", "scheduled_publish_time": str(when)})
    files = None
    if image_path is not None:
        path = Path(image_path)
        kind = _IMAGE_TYPES.get(path.suffix.lower())
        if kind is None:
            raise InvalidValueError(f"{path.name}: upload a .jpg, .jpeg or .png file")
        content = path.read_bytes()
        if len(content) > MAX_UPLOAD_BYTES:
            raise UploadTooLarge(f"{path.name}: {len(content)} bytes; upload at most 4 MB")
        files = {"source": (path.name, content, kind)}
    else:
        data["url"] = str(image_url)
    answer = client.post(
        f"/{node_id(page_id, 'page_id')}/photos",
        data,
        files,
        idempotent=False,
        permissions=PAGE_PUBLISH,
    )
    photo_id, post_id = answer.get("id"), answer.get("post_id")
    if not isinstance(photo_id, str) or not isinstance(post_id, str):
        raise GraphOutcomeUnknown(
            "Facebook answered a photo post without its ids, so whether it was made is "
            "unknown: reconcile with find_scheduled / find_published_post"
        )
    return PagePost(photo_id=photo_id, post_id=post_id)


def post_feed(
    client: GraphClient,
    page_id: str,
    message: str,
    link: str | None = None,
    *,
    scheduled_at: datetime | None = None,
    now: datetime | None = None,
    schedule_max_days: int = SCHEDULE_MAX_DAYS,
) -> str:
    """A text (and link) post; returns the post id. Facebook refuses the same text twice
    within 24 h (506, GraphRejected)."""
    data: dict[str, str] = {"message": message}
    if link is not None:
        data["link"] = link
    if scheduled_at is not None:
        if now is None:
            raise ValueError("scheduling needs now")
        when = check_schedule(scheduled_at, now, max_days=schedule_max_days)
        data.update({"published": "false", "scheduled_publish_time": str(when)})
    answer = client.post(
        f"/{node_id(page_id, 'page_id')}/feed", data, idempotent=False, permissions=PAGE_PUBLISH
    )
    post_id = answer.get("id")
    if not isinstance(post_id, str):
        raise GraphOutcomeUnknown(
            "Facebook answered a post without its id, so whether it was made is unknown: "
            "reconcile with find_scheduled / find_published_post"
        )
    return post_id


def scheduled_posts(client: GraphClient, page_id: str) -> list[ScheduledPost]:
    """The Page's posts still waiting for their time."""
    return [
        ScheduledPost(
            id=str(item["id"]),
            message=item.get("message") if isinstance(item.get("message"), str) else None,
            scheduled_publish_time=_unix(item.get("scheduled_publish_time")),
        )
        for item in client.pages(
            f"/{node_id(page_id, 'page_id')}/scheduled_posts",
            fields="id,message,scheduled_publish_time",
            permissions=PAGE_PUBLISH,
        )
        if isinstance(item.get("id"), str)
    ]


def cancel(client: GraphClient, post_id: str) -> None:
    """Delete a (scheduled) post. GraphNotFound: it is already gone (perhaps by an earlier
    attempt whose answer was lost, or by a person) or this token cannot see it."""
    answer = client.delete(f"/{node_id(post_id, 'post id')}", permissions=PAGE_PUBLISH)
    if answer.get("success") is not True:
        raise GraphRejected(f"Facebook did not confirm deleting {post_id}")


def read_back(client: GraphClient, post_id: str) -> PostState:
    """Whether the post is published, its permalink and its scheduled time."""
    answer = client.get(
        f"/{node_id(post_id, 'post id')}",
        fields="permalink_url,is_published,scheduled_publish_time,created_time",
        permissions=PAGE_PUBLISH,
    )
    link = answer.get("permalink_url")
    return PostState(
        permalink_url=link if isinstance(link, str) else None,
        is_published=answer.get("is_published") is True,
        scheduled_publish_time=_unix(answer.get("scheduled_publish_time")),
        created_time=_graph_time(answer.get("created_time")),
    )


def find_scheduled(
    client: GraphClient, page_id: str, *, caption: str, scheduled_at: datetime
) -> str | None:
    """The post id of the scheduled post with exactly this text (the caption of a photo post)
    and time, or None: how to learn whether a scheduling call whose answer was lost went
    through. Only finds posts still waiting: once the time has passed use
    `find_published_post`. Photo ids are not listed; `read_back` and `cancel` take the post id.
    """
    target = int(scheduled_at.timestamp())
    for post in scheduled_posts(client, page_id):
        when = post.scheduled_publish_time
        if post.message == caption and when is not None and int(when.timestamp()) == target:
            return post.id
    return None


def find_published_post(
    client: GraphClient, page_id: str, *, caption: str, since: datetime, max_pages: int = 4
) -> str | None:
    """The newest published post with exactly this text, made at or after `since`
    (`published_posts`, newest first, at most `max_pages` of 25), or None. Same limits as
    `instagram.find_published`: the text must be unique, `since` needs a margin for clock
    skew, and None right after a lost answer is not proof."""
    if since.tzinfo is None:
        raise ValueError("since must be an aware datetime (UTC)")
    for item in client.pages(
        f"/{node_id(page_id, 'page_id')}/published_posts",
        max_pages=max_pages,
        fields="id,message,created_time",
        since=int(since.timestamp()),
        permissions=PAGE_PUBLISH,
    ):
        if item.get("message") == caption and isinstance(item.get("id"), str):
            return str(item["id"])
    return None


def _check_upload(outgoing: Outgoing) -> None:
    """The card must be there and within Facebook's 4 MB, or nothing is sent."""
    card = Path(outgoing.card_path or "")
    if not outgoing.card_path or not card.is_file():
        raise LedgerError(
            f"{outgoing.name}: its card {card} is missing: run `ifn-campaign compose`"
        )
    if card.stat().st_size > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(
            f"{outgoing.name}: its card {card.name} is over Facebook's 4 MB upload"
        )


def _graph_time(raw: object) -> datetime | None:
    """Graph's "2026-11-25T03:00:02+0000"."""
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        return None


def _unix(raw: object) -> datetime | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _describe(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds >= 86400:
        return f"{sign}{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{sign}{seconds / 3600:.1f} hours"
    return f"{sign}{seconds // 60} minutes"


class FacebookPage:
    """One Facebook Page as a `ChannelAdapter`: the Graph client (a Page token) and the Page id.
    Publishing is `post_photo` (natively scheduled when the slot is far enough ahead), the
    card fetched from its public URL or, with `upload_file`, sent as the file itself."""

    channel = Channel.FACEBOOK
    can_take_down = True

    def __init__(
        self,
        client: GraphClient,
        page_id: str,
        *,
        upload_file: bool = False,
        schedule_max_days: int = SCHEDULE_MAX_DAYS,
    ) -> None:
        self.client = client
        self.page_id = page_id
        self.upload_file = upload_file
        self.schedule_max_days = schedule_max_days

    def publish(self, outgoing: Outgoing, steps: Steps) -> Sent:
        """One photo post, scheduled natively when the slot is `SCHEDULE_MARGIN` or more
        ahead. Found at `fb_post` without a post id, the Page is asked first (scheduled and
        published lists): the photo is never posted twice."""
        now = outgoing.now
        native = outgoing.slot_at >= now + SCHEDULE_MARGIN
        if steps.recorded("remote_id") is None and steps.recorded("publish_step") == "fb_post":
            # look in both lists: the lost call may have scheduled it even if, by now, the slot
            # is too close to schedule natively (it still waits on Facebook for its time)
            found = self.find(
                Sought(outgoing.caption, outgoing.since, scheduled_at=outgoing.slot_at)
            )
            native = native or (found is not None and not found.live and outgoing.slot_at > now)
            steps.remember(remote_id=found.remote_id if found else None)
        if steps.recorded("remote_id") is None:
            # a file upload needs no public media host; Instagram always fetches by URL
            url = None if self.upload_file else steps.media_url()
            if self.upload_file:
                _check_upload(outgoing)
            steps.step("fb_post")
            made = post_photo(
                self.client,
                self.page_id,
                image_url=url,
                image_path=outgoing.card_path if self.upload_file else None,
                caption=outgoing.caption,
                scheduled_at=outgoing.slot_at if native else None,
                now=now,
                schedule_max_days=self.schedule_max_days,
            )
            steps.called("fb_post")
            steps.remember("fb_post", remote_id=made.post_id, remote_photo_id=made.photo_id)
        remote = steps.recorded("remote_id")
        return Sent(live=not native, link=lambda: read_back(self.client, remote).permalink_url)

    def __repr__(self) -> str:
        return f"FacebookPage({self.page_id!r})"

    def find(self, sought: Sought) -> RemoteCopy | None:
        """The sought post among those waiting for their time (when it was scheduled), else
        among the published ones since `sought.since`; both are looked at, as a lost call may
        have scheduled it even when the slot is too close to schedule now."""
        if sought.scheduled_at is not None:
            waiting = find_scheduled(
                self.client, self.page_id, caption=sought.caption, scheduled_at=sought.scheduled_at
            )
            if waiting is not None:
                return RemoteCopy(waiting, live=False)
        published = find_published_post(
            self.client, self.page_id, caption=sought.caption, since=sought.since
        )
        return None if published is None else RemoteCopy(published, live=True)

    def read_back(self, remote_id: str) -> RemoteCopy:
        """Whether the post is public yet, its link and when it went public."""
        state = read_back(self.client, remote_id)
        return RemoteCopy(
            remote_id,
            live=state.is_published,
            link=state.permalink_url,
            live_at=state.went_live_at,
        )

    def take_down(self, remote_id: str) -> None:
        cancel(self.client, remote_id)
