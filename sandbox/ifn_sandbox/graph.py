"""A local Graph API (Instagram content publishing and Facebook Page posts) that follows
docs/reference/platforms.md strictly, for the publishers' tests and the demo.

One server answers both platforms, with or without a version prefix (`/v25.0/...`, `/v26.0/...`,
or none; any other version is refused). What it does, like the real service:

- Instagram: `POST /{ig-user-id}/media` fetches `image_url` (or `video_url`) at once and validates
  it (JPEG, at most 8 MB, aspect 4:5..1.91:1, width 320-1440 px; stories skip the shape rules),
  answering 400 with 9004/2207052, 36000/2207004, 36001/2207005 or 36003/2207009; a video that
  cannot be fetched makes a container whose status is ERROR instead, as video is processed later.
  Containers are IN_PROGRESS for `container_ready_after` seconds (carousel items for
  `carousel_item_ready_after`, when set: slow items, as Instagram's often are), then FINISHED,
  EXPIRED 24 h after creation, PUBLISHED once published; at most `container_cap` per account per
  rolling 24 h; `fail_container` turns one to ERROR. A carousel is refused (100/2207028) unless
  every child is FINISHED (an expired child: -2/2207020).
  `POST /{ig-user-id}/media_publish?creation_id=` needs FINISHED (EXPIRED: -2/2207020, "The media
  you are trying to access has expired"; else 9007/2207027) and a free slot of the rolling-24 h
  publishing limit `publish_quota` (else 9/2207042).
  `GET /{ig-user-id}/content_publishing_limit`, `GET /{id}?fields=...` for users, containers and
  media (permalink), `GET /{ig-user-id}/media` lists what was published (newest first,
  `limit` 1-100 default 25, `after` cursor, `since` / `until`).
- Facebook: `POST /{page-id}/photos` (`url` or multipart `source`) -> `{id, post_id}`,
  `POST /{page-id}/feed` -> `{id}` (an identical message within 24 h is 506), both with
  `published=false&scheduled_publish_time=` inside the window (10 min .. `schedule_max_days`);
  `GET /{page-id}/scheduled_posts`, `GET /{page-id}/published_posts` (newest first, paged
  like the media list), `GET /{post-id}?fields=permalink_url,is_published,...`,
  `DELETE /{post-id}`. A scheduled post is published once the sandbox clock passes its time.
- Insights (figures from `ifn_sandbox.metrics`, growing over the sandbox clock):
  `GET /{ig-media-id}/insights?metric=` (IG_METRICS; retired IG_RETIRED_METRICS and unknown
  ones are 100; a carousel item has none, 100; before `metrics.LAG` code 10), `GET
  /{ig-media-id}/children`, `GET /{post-id}/insights?metric=` (FB_METRICS; `post_impressions*`
  are invalid, 100; a post not out yet has an empty data set), and the fields
  `insights.metric(...)` (IG media and posts; an empty data set during the lag),
  `reactions` / `comments` with `.summary(true).limit(0)` and `shares` (absent while 0) on posts.
  `GET /?ids=a,b&fields=...` reads up to MAX_IDS objects at once (more: 100 "Too many IDs"); one
  missing, deleted (`delete_in_app`) or not the token's fails the call with 803 naming them, and
  each id counts as one call in the usage headers and limits. Insights need
  `instagram_manage_insights` (else 10) or `read_insights` (else 200).
- Tokens from `access_token` (query or body) or `Authorization: Bearer`; unknown, expired
  (190/463) or invalidated (190/460, 458, 459, 464, 467, 492) tokens, missing permissions (10, 200)
  and objects the token may not see (100/33) fail like the real API. `GET /debug_token?input_token=`
  describes a token (`data`: is_valid, type PAGE, profile_id, scopes, granular_scopes,
  expires_at 0 = never, and `error` with the 190 subcode when not valid); `/me` is the token's Page.
- Every answer carries `x-app-usage`; every answer about a Page or Instagram account also
  `x-business-use-case-usage`. The counters rise with each call over a rolling hour; at 100% the
  sandbox answers code 4 (app), 32 (Page) or 80002 (Instagram), and calls made while blocked
  keep the block going, as Meta warns.

Errors have Meta's shape: `{"error": {"message", "type": "OAuthException", "code",
"error_subcode"?, "error_user_title"?, "error_user_msg"?, "is_transient", "fbtrace_id"}}`
(keys marked ? only when they apply).

Control endpoints, for a sandbox in another process (`ifn-campaign rehearse`):
`POST`/`DELETE /_sandbox/faults` add and clear faults, `GET /_sandbox/posts` lists what was
received (`{"instagram": [media], "facebook": [Page posts, with "published" now]}`) and
`DELETE /_sandbox/posts/{id}` removes an Instagram media or Page post as a person in the app
would (`delete_in_app`).

```python
with GraphSandbox(clock=lambda: T0) as graph:       # one Page + its Instagram account
    account = graph.accounts[0]                      # .page_id, .ig_user_id, .token
    base = f"{graph.url}/v25.0"
    auth = {"Authorization": f"Bearer {account.token}"}
    created = requests.post(f"{base}/{account.ig_user_id}/media",
                            data={"image_url": url, "caption": "Halo"}, headers=auth)
    graph.advance(5)                                 # the container is FINISHED now
    graph.faults.add(graph.rate_limit_fault(80002, object_id=account.ig_user_id))
    graph.invalidate_token(account.token, subcode=460)
```
"""

from __future__ import annotations

import base64
import copy
import email.parser
import email.policy
import io
import ipaddress
import json
import math
import re
import secrets
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urljoin, urlsplit

import requests

from ifn_sandbox.http import Clock, Fault, Request, Response, Sandbox, json_response
from ifn_sandbox.metrics import LAG, figures

__all__ = [
    "ALL_SCOPES",
    "FB_METRICS",
    "GRAPH_VERSIONS",
    "IG_METRICS",
    "IG_RETIRED_METRICS",
    "MAX_IDS",
    "RATE_LIMIT_CODES",
    "Container",
    "FetchError",
    "GraphAccount",
    "GraphSandbox",
    "GraphToken",
    "InstagramMedia",
    "PagePost",
    "graph_error",
    "loopback_fetch",
]

GRAPH_VERSIONS = ("v25.0", "v26.0")
"""The versions docs/reference/platforms.md was written against; others are refused."""

ALL_SCOPES = frozenset(
    {
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_insights",
        "read_insights",
        "business_management",
    }
)
"""The permissions a sandbox token has unless told otherwise."""

RATE_LIMIT_CODES = (4, 17, 32, 613, 80001, 80002)
"""Graph codes meaning "too many calls": transient, wait and retry later."""

MAX_IDS = 50
"""The most objects one `?ids=` read may name (more: 100 "Too many IDs")."""

IG_METRICS: dict[str, tuple[str, str]] = {
    "reach": ("Reach", "The number of unique accounts that have seen this post at least once."),
    "views": ("Views", "The number of times your post was played or displayed."),
    "likes": ("Likes", "The number of likes on your post."),
    "comments": ("Comments", "The number of comments on your post."),
    "saved": ("Saved", "The number of saves of your post."),
    "shares": ("Shares", "The number of shares of your post."),
    "total_interactions": (
        "Interactions",
        "The number of likes, saves, comments and shares on your post.",
    ),
}
"""Instagram media insights served (title, description), as of Graph v22.0 and later."""

IG_RETIRED_METRICS = (
    "impressions",
    "plays",
    "clips_replays_count",
    "ig_reels_aggregated_all_plays_count",
)
"""Retired with v22.0 (and for every version on 2025-04-21): asking for them is an error."""

FB_METRICS: dict[str, tuple[str, str]] = {
    "post_total_media_view_unique": (
        "Lifetime Post Total Media Viewers",
        "The number of people who saw your post's media at least once.",
    ),
    "post_total_media_view": (
        "Lifetime Post Total Media Views",
        "The number of times your post's media was seen.",
    ),
    "post_clicks": ("Lifetime Post Clicks", "The number of clicks anywhere in your post."),
}
"""Facebook Page post insights served; the retired post_impressions* are invalid metrics."""

_INSTAGRAM_SCOPES = ("instagram_basic", "instagram_content_publish")
_PAGE_SCOPES = ("pages_manage_posts", "pages_read_engagement")
_DAY = timedelta(hours=24)
_HOUR = timedelta(hours=1)
_MAX_IMAGE = 8 * 1024 * 1024
_FETCH_LIMIT = 64 * 1024 * 1024
_VERSION = re.compile(r"v\d+\.\d+")
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w])@[\w.]+")
_TOKEN_MESSAGES = {
    458: "Error validating access token: The user has not authorized application 100000000000.",
    459: "Error validating access token: You cannot access the app till you log in to "
    "www.facebook.com and follow the instructions given.",
    460: "Error validating access token: The session has been invalidated because the user "
    "changed their password or Facebook has changed the session for security reasons.",
    464: "Error validating access token: Sessions for the user are not allowed because the user "
    "is not a confirmed user.",
    467: "Error validating access token: The session is invalid because the user logged out.",
    492: "Error validating access token: The session is invalid because the user lost their "
    "role on the Page.",
}
_RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
    "try again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
_CONTAINER_STATUS_TEXT = {
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
    "PUBLISHED": "Published: Media has been published.",
}
_FIELDS = {
    "IGUser": ("id", "username", "name"),
    "ShadowIGMediaBuilder": ("id", "status_code", "status"),
    "IGMedia": (
        "id",
        "permalink",
        "caption",
        "media_type",
        "media_product_type",
        "shortcode",
        "timestamp",
        "username",
    ),
    "Page": ("id", "name"),
    "Post": (
        "id",
        "created_time",
        "message",
        "permalink_url",
        "is_published",
        "scheduled_publish_time",
    ),
    "Photo": ("id", "created_time", "name", "link", "page_story_id"),
}


# --- fetching media -----------------------------------------------------------------------


class FetchError(Exception):
    """The media URL could not be fetched (the sandbox answers 2207052 / 324)."""


def loopback_fetch(url: str) -> bytes:
    """GET `url` like Meta's fetcher, but only from loopback (tests never leave the machine).

    Follows up to 5 redirects, each checked; 5 s timeouts; at most 64 MiB. Raises FetchError.
    """
    for _ in range(6):
        split = urlsplit(url)
        host = split.hostname or ""
        if split.scheme not in ("http", "https") or not _is_loopback(host):
            raise FetchError(f"{url}: only http(s) URLs on loopback can be fetched here")
        try:
            with requests.get(url, timeout=5, stream=True, allow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise FetchError(f"{url}: HTTP {response.status_code}")
                data = bytearray()
                for chunk in response.iter_content(1 << 16):
                    data += chunk
                    if len(data) > _FETCH_LIMIT:
                        raise FetchError(f"{url}: more than {_FETCH_LIMIT} bytes")
                return bytes(data)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {type(exc).__name__}") from None
    raise FetchError(f"{url}: too many redirects")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- errors -------------------------------------------------------------------------------


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
    transient: bool | None = None,
) -> dict[str, Any]:
    """A Graph error body; `transient` defaults to True for codes 1, 2 and the rate limits."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    if transient is None:
        transient = code in (1, 2, *RATE_LIMIT_CODES)
    error["is_transient"] = transient
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return {"error": error}


class _GraphError(Exception):
    def __init__(self, status: int, code: int, message: str, **kwargs: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = graph_error(code, message, **kwargs)

    def response(self) -> Response:
        return json_response(self.status, self.body)


class _Blocked(_GraphError):
    """A rate-limit answer carrying its usage headers."""

    def __init__(self, code: int, headers: list[tuple[str, str]]) -> None:
        super().__init__(400, code, _RATE_LIMIT_MESSAGES[code])
        self.headers = headers

    def response(self) -> Response:
        return json_response(self.status, self.body, self.headers)


def _bad_param(message: str, subcode: int | None = None, **kwargs: Any) -> _GraphError:
    return _GraphError(400, 100, f"(#100) {message}", subcode=subcode, **kwargs)


def _expired(container_id: str) -> _GraphError:
    """Instagram's answer for a container (or a carousel's child) older than 24 h."""
    return _GraphError(
        400,
        -2,
        f"The media you are trying to access has expired (container {container_id}). Please "
        "try to upload again.",
        subcode=2207020,
        user_title="Media expired",
        user_msg="The media you are trying to access has expired. Please try to upload again.",
        transient=False,
    )


def _unsupported(method: str, object_id: str) -> _GraphError:
    return _GraphError(
        400,
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
    )


# --- configuration and state ----------------------------------------------------------------


@dataclass(frozen=True)
class GraphAccount:
    """A Facebook Page, the Instagram professional account linked to it, and the Page token."""

    page_id: str = "100000000000001"
    page_name: str = "BPIPI Indonesia Footwear Network"
    ig_user_id: str = "17841400000000001"
    ig_username: str = "ifn.bpipi"
    token: str = "sandbox-page-token"


@dataclass
class GraphToken:
    """An access token: which Pages / Instagram accounts it acts for, until when, with what.

    `expires_at` None: never expires (a Page token from a long-lived user token).
    `invalid_subcode`: set by `GraphSandbox.invalidate_token`.
    """

    value: str
    ids: frozenset[str]
    expires_at: datetime | None = None
    scopes: frozenset[str] = ALL_SCOPES
    invalid_subcode: int | None = None


@dataclass
class Container:
    """An Instagram media container as the sandbox holds it."""

    id: str
    ig_user_id: str
    media_type: str  # IMAGE, CAROUSEL, REELS, STORIES
    created_at: datetime
    ready_at: datetime
    params: dict[str, str]
    is_carousel_item: bool = False
    children: tuple[str, ...] = ()
    error_subcode: int | None = None
    media_id: str | None = None


@dataclass
class InstagramMedia:
    """A published Instagram post (feed image, carousel, reel or story)."""

    id: str
    ig_user_id: str
    container_id: str
    media_type: str  # IMAGE, CAROUSEL_ALBUM, VIDEO
    media_product_type: str  # FEED, REELS, STORY
    caption: str | None
    shortcode: str
    permalink: str
    timestamp: datetime
    children: tuple[str, ...] = ()
    """A carousel album's items (media of their own, with no insights)."""
    parent_id: str | None = None
    """The carousel album this item belongs to."""
    deleted: bool = False
    """Removed by a person in the app (Instagram has no delete API): gone for every read."""


@dataclass
class PagePost:
    """A Facebook Page post (a photo post when `photo_id` is set)."""

    id: str
    page_id: str
    created_at: datetime
    message: str | None = None
    link: str | None = None
    photo_id: str | None = None
    image_size: int = 0
    published: bool = True
    scheduled_publish_time: datetime | None = None
    deleted: bool = False

    def is_published(self, now: datetime) -> bool:
        """Published at creation, or scheduled and its time has come."""
        if self.published:
            return True
        return self.scheduled_publish_time is not None and now >= self.scheduled_publish_time

    @property
    def permalink_url(self) -> str:
        """The public link, as Facebook shapes it."""
        return f"https://www.facebook.com/{self.page_id}/posts/{self.id.partition('_')[2]}"


@dataclass
class _Node:
    kind: str  # one of _FIELDS
    owner: str  # the Page or Instagram account id it belongs to
    obj: Any


# --- the sandbox ------------------------------------------------------------------------------


class GraphSandbox(Sandbox):
    """Instagram content publishing and Facebook Page posts on loopback, per
    docs/reference/platforms.md.

    Every numeric rule marked CONFIGURABLE in docs/reference/platforms.md is a keyword with the
    strict value as default. Inspect state with `containers()`, `media()`, `posts()`, `usage()`;
    change it with `add_token`, `invalidate_token`, `expire_token`, `advance`; inject failures with
    `faults.add(...)`, `error_fault(...)` and `rate_limit_fault(...)`.
    """

    name = "graph-sandbox"
    app_id = "100000000000"  # the app named in the 458 message
    app_name = "IFN Campaign (sandbox)"
    app_user_id = "100000000000099"  # the Page admin who granted the sandbox's tokens

    def __init__(
        self,
        accounts: Iterable[GraphAccount] | None = None,
        *,
        clock: Clock | None = None,
        fetch: Callable[[str], bytes] = loopback_fetch,
        versions: Iterable[str] = GRAPH_VERSIONS,
        container_ready_after: float = 1.0,
        carousel_item_ready_after: float | None = None,
        container_cap: int = 400,
        publish_quota: int = 50,
        max_hashtags: int = 5,
        schedule_max_days: int = 30,
        app_calls_per_hour: int = 1000,
        business_calls_per_hour: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
        public_host: str | None = None,
    ) -> None:
        super().__init__(host=host, port=port, public_host=public_host, clock=clock)
        self.accounts: list[GraphAccount] = list(accounts or [GraphAccount()])
        self.fetch = fetch
        self.versions = tuple(versions)
        self.container_ready_after = container_ready_after
        self.carousel_item_ready_after = carousel_item_ready_after
        self.container_cap = container_cap
        self.publish_quota = publish_quota
        self.max_hashtags = max_hashtags
        self.schedule_max_days = schedule_max_days
        self.app_calls_per_hour = app_calls_per_hour
        self.business_calls_per_hour = business_calls_per_hour
        self._tokens: dict[str, GraphToken] = {}
        self._ig_users: dict[str, GraphAccount] = {}
        self._pages: dict[str, GraphAccount] = {}
        self._containers: dict[str, Container] = {}
        self._media: dict[str, InstagramMedia] = {}
        self._items: dict[str, InstagramMedia] = {}  # carousel items, by their media id
        self._posts: dict[str, PagePost] = {}
        self._photos: dict[str, str] = {}  # photo id -> post id
        self._app_calls: deque[datetime] = deque()
        self._business_calls: dict[str, deque[datetime]] = {}
        # a block in force: object id (None: the whole app) -> [until, code, minutes]
        self._blocks: dict[str | None, list[Any]] = {}
        self._next_id = 0
        for account in self.accounts:
            self._ig_users[account.ig_user_id] = account
            self._pages[account.page_id] = account
            self.add_token(account.token, [account.page_id, account.ig_user_id])

    def start(self) -> GraphSandbox:
        """Bind and serve in a daemon thread."""
        return super().start()  # type: ignore[no-any-return]

    def __enter__(self) -> GraphSandbox:
        return self.start()

    # tokens

    def add_token(
        self,
        value: str,
        ids: Iterable[str],
        *,
        expires_at: datetime | None = None,
        expires_in: float | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
    ) -> GraphToken:
        """Accept `value` for the Pages / Instagram accounts `ids` (until `expires_at`, or
        `expires_in` seconds from the sandbox clock) with these permissions."""
        if expires_in is not None:
            expires_at = self.now() + timedelta(seconds=expires_in)
        token = GraphToken(value, frozenset(ids), expires_at, frozenset(scopes))
        with self._lock:
            self._tokens[value] = token
        return token

    def invalidate_token(self, value: str, subcode: int = 460) -> None:
        """Kill a token: 460 password changed, 458, 459, 464, 467 logged out, 492 role lost."""
        if subcode not in _TOKEN_MESSAGES:
            raise ValueError(
                f"subcode must be one of {sorted(_TOKEN_MESSAGES)} (463: expire_token)"
            )
        with self._lock:
            self._tokens[value].invalid_subcode = subcode

    def expire_token(self, value: str) -> None:
        """Make a token expire now (190/463 from then on)."""
        with self._lock:
            self._tokens[value].expires_at = self.now()

    # inspection

    def fail_container(self, container_id: str, subcode: int = 2207001) -> None:
        """Make a container's processing fail: its status is ERROR with `subcode` from now on."""
        with self._lock:
            self._containers[container_id].error_subcode = subcode

    def containers(self, ig_user_id: str | None = None) -> list[tuple[Container, str]]:
        """Every container (a copy) with its status_code now, oldest first."""
        now = self.now()
        with self._lock:
            return [
                (copy.deepcopy(c), self._container_status(c, now)[0])
                for c in self._containers.values()
                if ig_user_id in (None, c.ig_user_id)
            ]

    def media(
        self, ig_user_id: str | None = None, *, deleted: bool = False
    ) -> list[InstagramMedia]:
        """Every published Instagram media (copies), oldest first; deleted ones only if asked.
        Carousel items are not listed (see `carousel_items`)."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._media.values()
                if ig_user_id in (None, m.ig_user_id) and (deleted or not m.deleted)
            ]

    def carousel_items(self, album_id: str) -> list[InstagramMedia]:
        """The items of a published carousel album (copies), in order."""
        with self._lock:
            return [copy.deepcopy(self._items[i]) for i in self._media[album_id].children]

    def delete_in_app(self, object_id: str) -> None:
        """A person removed this Instagram media (with its carousel items) or Page post in the
        app: from now on it does not exist for the API (100/33 alone, 803 among `ids`).
        Instagram's API cannot delete, so tests and the demo simulate it here."""
        with self._lock:
            if object_id in self._media:
                media = self._media[object_id]
                media.deleted = True
                for item_id in media.children:
                    self._items[item_id].deleted = True
            elif object_id in self._posts:
                self._posts[object_id].deleted = True
            elif object_id in self._photos:
                self._posts[self._photos[object_id]].deleted = True
            else:
                raise KeyError(f"no published Instagram media or Page post {object_id}")

    def posts(self, page_id: str | None = None, *, deleted: bool = False) -> list[PagePost]:
        """Page posts (copies), oldest first; deleted ones only if asked."""
        with self._lock:
            return [
                copy.deepcopy(p)
                for p in self._posts.values()
                if page_id in (None, p.page_id) and (deleted or not p.deleted)
            ]

    def usage(self, object_id: str | None = None) -> int:
        """Percent used of the app's (or this Page's / account's) hourly call budget."""
        now = self.now()
        with self._lock:
            if object_id is None:
                return self._percent(self._app_calls, self.app_calls_per_hour, now)
            calls = self._business_calls.get(object_id, deque())
            return self._percent(calls, self.business_calls_per_hour, now)

    def block(self, object_id: str | None = None, *, minutes: int = 30, code: int = 0) -> None:
        """Meta's block: every call about `object_id` (None: any call of the app) answers the
        rate limit (code 4 for the app, 80002 for an Instagram account, 32 for a Page, or
        `code`) with `estimated_time_to_regain_access`, for `minutes`; each call made during the
        block starts the wait again, as Meta warns (more calls extend the block)."""
        if not code:
            code = 4 if object_id is None else 80002 if object_id in self._ig_users else 32
        if code not in RATE_LIMIT_CODES:
            raise ValueError(f"rate limit codes are {RATE_LIMIT_CODES}, not {code}")
        with self._lock:
            self._blocks[object_id] = [self.now() + timedelta(minutes=minutes), code, minutes]

    def blocked_until(self, object_id: str | None = None) -> datetime | None:
        """When the block on `object_id` (None: the app) ends, if one is in force."""
        with self._lock:
            found = self._blocks.get(object_id)
            return found[0] if found is not None and found[0] > self.now() else None

    def _check_blocks(self, owner: str | None, now: datetime) -> None:
        """Refuse a call about `owner` (None: any call) while the app or it is blocked."""
        for key in dict.fromkeys((None, owner)):
            found = self._blocks.get(key)
            if found is None or now >= found[0]:
                continue
            found[0] = max(found[0], now + timedelta(minutes=found[2]))  # called: extended
            eta = max(1, math.ceil((found[0] - now).total_seconds() / 60))
            full = {"call_count": 100, "total_cputime": 100, "total_time": 100}
            if key is None:
                raise _Blocked(found[1], [("x-app-usage", _compact(full))])
            kind = "instagram" if key in self._ig_users else "pages"
            usage = {key: [{"type": kind, **full, "estimated_time_to_regain_access": eta}]}
            raise _Blocked(found[1], [("x-business-use-case-usage", _compact(usage))])

    # faults

    def error_fault(
        self,
        code: int,
        *,
        path: str = "/",
        status: int = 400,
        message: str | None = None,
        subcode: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> Fault:
        """A fault answering a Graph error body with this code (add it to `faults`)."""
        body = graph_error(
            code,
            message or _RATE_LIMIT_MESSAGES.get(code, f"(#{code}) Injected error"),
            subcode=subcode,
            user_title=user_title,
            user_msg=user_msg,
            transient=transient,
        )
        return Fault(
            path, "status", status=status, body=body, headers=headers, times=times, after=after
        )

    def rate_limit_fault(
        self,
        code: int,
        *,
        path: str = "/",
        object_id: str | None = None,
        minutes: int = 5,
        status: int = 400,
        times: int | None = 1,
        after: int = 0,
    ) -> Fault:
        """A rate-limit answer (4, 17, 32, 613, 80001, 80002) whose usage headers say 100% and,
        for the Page / Instagram codes, `estimated_time_to_regain_access: minutes` for
        `object_id` (required for those codes)."""
        if code not in RATE_LIMIT_CODES:
            raise ValueError(f"rate limit codes are {RATE_LIMIT_CODES}, not {code}")
        full = {"call_count": 100, "total_cputime": 100, "total_time": 100}
        headers = {"x-app-usage": _compact(full)}
        if code not in (4, 17):
            if object_id is None:
                raise ValueError(f"code {code} is a Page/Instagram limit: give object_id")
            kind = "instagram" if code == 80002 else "pages"
            usage = {"type": kind, **full, "estimated_time_to_regain_access": minutes}
            headers["x-business-use-case-usage"] = _compact({object_id: [usage]})
        return self.error_fault(
            code, path=path, status=status, headers=headers, times=times, after=after
        )

    # hooks

    def _status_error(self, status: int, message: str, request: Request | None) -> Response:
        if status >= 500:
            code, text = (
                (1, "An unknown error occurred")
                if status == 500
                else (
                    2,
                    "Service temporarily unavailable",
                )
            )
            return json_response(status, graph_error(code, text, transient=True))
        if status == 429:
            return json_response(status, graph_error(4, _RATE_LIMIT_MESSAGES[4]))
        return json_response(status, graph_error(100, f"(#100) {message}"))

    def _finish(self, request: Request, response: Response) -> Response:
        now = self.now()
        count, owners = self._calls_of(request)
        names = {name.lower() for name, _ in response.headers}
        with self._lock:
            self._app_calls.extend([now] * count)
            app = self._percent(self._app_calls, self.app_calls_per_hour, now)
            if "x-app-usage" not in names:
                usage = {"call_count": app, "total_cputime": app, "total_time": app}
                response.headers.append(("x-app-usage", _compact(usage)))
            buc: dict[str, Any] = {}
            for owner in owners:
                self._business_calls.setdefault(owner, deque()).append(now)
            for owner in dict.fromkeys(owners):
                buc.update(self._buc(owner, now))
            if buc and "x-business-use-case-usage" not in names:
                response.headers.append(("x-business-use-case-usage", _compact(buc)))
        return response

    def _calls_of(self, request: Request) -> tuple[int, list[str]]:
        """How many calls a request counts as, and the Pages / accounts each was about: one per
        id of an `ids` read (as Meta counts them), else one."""
        parts = [unquote(p) for p in request.path.split("/") if p]
        if parts and _VERSION.fullmatch(parts[0]):
            parts = parts[1:]
        if parts:
            owner = self._owner_of_path(request.path)
            return 1, [owner] if owner is not None else []
        ids = _ids(parse_qs(request.query).get("ids", [""])[0])
        if not 0 < len(ids) <= MAX_IDS:
            return 1, []
        now = self.now()
        with self._lock:
            nodes = [self._node(i, now) for i in ids]
        return len(ids), [n.owner for n in nodes if n is not None]

    def _buc(self, owner: str, now: datetime) -> dict[str, Any]:
        calls = self._business_calls.get(owner, deque())
        pct = self._percent(calls, self.business_calls_per_hour, now)
        eta = self._minutes_to_regain(calls, self.business_calls_per_hour, now)
        kind = "instagram" if owner in self._ig_users else "pages"
        return {
            owner: [
                {
                    "type": kind,
                    "call_count": pct,
                    "total_cputime": pct,
                    "total_time": pct,
                    "estimated_time_to_regain_access": eta,
                }
            ]
        }

    @staticmethod
    def _percent(calls: deque[datetime], capacity: int, now: datetime) -> int:
        while calls and calls[0] <= now - _HOUR:
            calls.popleft()
        return len(calls) * 100 // max(capacity, 1)

    @staticmethod
    def _minutes_to_regain(calls: deque[datetime], capacity: int, now: datetime) -> int:
        if len(calls) < capacity:
            return 0
        leaves = calls[len(calls) - capacity] + _HOUR  # then fewer than `capacity` remain
        return max(1, math.ceil((leaves - now).total_seconds() / 60))

    # routing

    def _control(self, method: str, path: str, body: bytes) -> Response:
        """`GET /_sandbox/posts`: what the platform received (Instagram media, Page posts with
        whether they are out yet), for someone rehearsing in another process than the sandbox;
        the fault controls as every sandbox has them."""
        if path == "/_sandbox/posts" and method == "GET":
            now = self.now()
            return json_response(
                200,
                {
                    "instagram": [
                        {
                            "id": m.id,
                            "ig_user_id": m.ig_user_id,
                            "media_type": m.media_type,
                            "media_product_type": m.media_product_type,
                            "caption": m.caption,
                            "permalink": m.permalink,
                            "timestamp": m.timestamp.isoformat(),
                        }
                        for m in self.media()
                    ],
                    "facebook": [
                        {
                            "id": p.id,
                            "page_id": p.page_id,
                            "message": p.message,
                            "photo": p.photo_id is not None,
                            "created_at": p.created_at.isoformat(),
                            "scheduled_publish_time": (
                                p.scheduled_publish_time.isoformat()
                                if p.scheduled_publish_time is not None
                                else None
                            ),
                            "published": p.is_published(now),
                            "permalink_url": p.permalink_url,
                        }
                        for p in self.posts()
                    ],
                },
            )
        if path.startswith("/_sandbox/posts/") and method == "DELETE":
            object_id = unquote(path.removeprefix("/_sandbox/posts/"))
            try:
                self.delete_in_app(object_id)
            except KeyError as exc:
                return self._status_error(404, str(exc.args[0]), None)
            return json_response(200, {"deleted": object_id})
        return super()._control(method, path, body)

    def _route(self, request: Request) -> Response:
        try:
            return self._answer(request)
        except _GraphError as exc:
            return exc.response()

    def _answer(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.path.split("/") if p]
        if parts and _VERSION.fullmatch(parts[0]):
            if parts[0] not in self.versions:
                raise _GraphError(
                    400,
                    2635,
                    f"(#2635) You are calling a deprecated or unknown version of the Graph API "
                    f"({parts[0]}). This sandbox serves {', '.join(self.versions)}.",
                )
            parts = parts[1:]
        params = _params(request)
        token = self._token(request, params)
        if not parts and "ids" in params and request.method == "GET":
            return self._read_many(token, params, self.now())
        if not parts:
            raise _bad_param("Unknown path components: /")
        if parts == ["debug_token"] and request.method == "GET":
            return self._debug_token(params)
        if parts[0] == "me":
            parts[0] = self._me(token)
        if len(parts) > 2:
            raise _GraphError(
                400, 2500, f"Unknown path components: /{'/'.join(parts[1:])}", transient=False
            )
        now = self.now()
        with self._lock:
            node = self._node(parts[0], now)
            if node is None or node.owner not in token.ids:
                raise _unsupported(request.method, parts[0])
            self._check_blocks(node.owner, now)
            self._throttle(node.owner, now)
        edge = parts[1] if len(parts) == 2 else None
        if edge is None:
            if request.method == "GET":
                return self._read(node, params, token, now)
            if request.method == "DELETE" and node.kind in ("Post", "Photo"):
                self._need(token, _PAGE_SCOPES, 200)
                return self._delete(node)
            raise _unsupported(request.method, parts[0])
        handlers = _EDGES.get((node.kind, edge))
        if handlers is None:
            raise _bad_param(
                f"Tried accessing nonexisting field ({edge}) on node type ({node.kind})"
            )
        function = handlers.get(request.method)
        if function is None:
            raise _unsupported(request.method, parts[0])
        if edge == "insights":
            self._need_insights(token, node)
        else:
            self._need(token, _INSTAGRAM_SCOPES if node.kind == "IGUser" else _PAGE_SCOPES, 0)
        return function(self, node, params, request, now)

    def _token(self, request: Request, params: dict[str, str]) -> GraphToken:
        value = params.get("access_token")
        if value is None:
            scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() in ("bearer", "oauth") and credentials.strip():
                value = credentials.strip()
        if not value:
            raise _GraphError(400, 104, "An access token is required to request this resource.")
        now = self.now()
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                raise _GraphError(
                    400, 190, "Invalid OAuth access token - Cannot parse access token"
                )
            token = copy.copy(token)
        if token.invalid_subcode is not None:
            raise _GraphError(
                400, 190, _TOKEN_MESSAGES[token.invalid_subcode], subcode=token.invalid_subcode
            )
        if token.expires_at is not None and now >= token.expires_at:
            raise _GraphError(
                400,
                190,
                f"Error validating access token: Session has expired on "
                f"{_fb_time(token.expires_at)}. The current time is {_fb_time(now)}.",
                subcode=463,
            )
        return token

    def _me(self, token: GraphToken) -> str:
        """`/me` is whom the token speaks for: a Page token's Page."""
        pages = sorted(i for i in token.ids if i in self._pages)
        if not pages:
            raise _bad_param("/me needs a Page token in this sandbox (it has no user tokens)")
        return pages[0]

    def _debug_token(self, params: dict[str, str]) -> Response:
        """`GET /debug_token?input_token=`: what Meta knows of a token. The caller's own token
        (`access_token`) must be valid; an invalid *input* token is still a 200, with
        `is_valid: false` and the reason in `data.error`, as Meta answers."""
        value = _required(params, "input_token")
        now = self.now()
        with self._lock:
            found = self._tokens.get(value)
            token = copy.copy(found) if found is not None else None
        if token is None:
            return json_response(
                200,
                {
                    "data": {
                        "error": {
                            "code": 190,
                            "message": "Invalid OAuth access token - Cannot parse access token",
                        },
                        "is_valid": False,
                        "scopes": [],
                    }
                },
            )
        pages = sorted(i for i in token.ids if i in self._pages)
        ig_users = sorted(i for i in token.ids if i in self._ig_users)
        data: dict[str, Any] = {
            "app_id": self.app_id,
            "type": "PAGE" if pages else "USER",
            "application": self.app_name,
            "data_access_expires_at": int((now + timedelta(days=90)).timestamp()),
            "expires_at": int(token.expires_at.timestamp()) if token.expires_at else 0,
            "is_valid": True,
            "scopes": sorted(token.scopes),
            "granular_scopes": [
                {"scope": s, "target_ids": ig_users if s.startswith("instagram_") else pages}
                for s in sorted(token.scopes)
                if s.startswith(("pages_", "instagram_"))
            ],
            "user_id": self.app_user_id,
        }
        if pages:
            data["profile_id"] = pages[0]
        if token.invalid_subcode is not None:
            data["is_valid"] = False
            data["error"] = {
                "code": 190,
                "message": _TOKEN_MESSAGES[token.invalid_subcode],
                "subcode": token.invalid_subcode,
            }
        elif token.expires_at is not None and now >= token.expires_at:
            data["is_valid"] = False
            data["error"] = {
                "code": 190,
                "message": f"Error validating access token: Session has expired on "
                f"{_fb_time(token.expires_at)}. The current time is {_fb_time(now)}.",
                "subcode": 463,
            }
        return json_response(200, {"data": data})

    def _need(self, token: GraphToken, scopes: tuple[str, ...], code: int) -> None:
        missing = [s for s in scopes if s not in token.scopes]
        if not missing:
            return
        if scopes == _INSTAGRAM_SCOPES:
            raise _GraphError(403, 10, "(#10) Application does not have permission for this action")
        raise _GraphError(
            403,
            200,
            f"(#200) If posting to a page, requires both pages_read_engagement and "
            f"pages_manage_posts as an admin with sufficient administrative permission "
            f"(missing: {', '.join(missing)})",
        )

    def _throttle(self, owner: str | None, now: datetime) -> None:
        """At 100% the real API stops answering; the block lasts while calls keep coming."""
        if self._percent(self._app_calls, self.app_calls_per_hour, now) >= 100:
            raise _GraphError(400, 4, _RATE_LIMIT_MESSAGES[4])
        if owner is None:
            return
        calls = self._business_calls.get(owner, deque())
        if self._percent(calls, self.business_calls_per_hour, now) >= 100:
            code = 80002 if owner in self._ig_users else 32
            raise _GraphError(400, code, _RATE_LIMIT_MESSAGES[code])

    def _node(self, object_id: str, now: datetime) -> _Node | None:
        if object_id in self._ig_users:
            return _Node("IGUser", object_id, self._ig_users[object_id])
        if object_id in self._pages:
            return _Node("Page", object_id, self._pages[object_id])
        if object_id in self._containers:
            container = self._containers[object_id]
            return _Node("ShadowIGMediaBuilder", container.ig_user_id, container)
        media = self._media.get(object_id) or self._items.get(object_id)
        if media is not None:
            return None if media.deleted else _Node("IGMedia", media.ig_user_id, media)
        post_id = self._photos.get(object_id)
        kind = "Photo" if post_id else "Post"
        post = self._posts.get(post_id or object_id)
        if post is not None and not post.deleted:
            return _Node(kind, post.page_id, post)
        return None

    def _owner_of_path(self, path: str) -> str | None:
        parts = [unquote(p) for p in path.split("/") if p]
        if parts and _VERSION.fullmatch(parts[0]):
            parts = parts[1:]
        if not parts:
            return None
        with self._lock:
            if parts[0] in self._ig_users or parts[0] in self._pages:
                return parts[0]
            node = self._node(parts[0], self.now())
            return node.owner if node is not None else None

    def _new_id(self, base: int) -> str:
        with self._lock:
            self._next_id += 1
            return str(base + self._next_id)

    # reading nodes

    def _read(
        self, node: _Node, params: dict[str, str], token: GraphToken, now: datetime
    ) -> Response:
        specs = _field_specs(params["fields"]) if "fields" in params else None
        with self._lock:
            return json_response(200, self._body(node, specs, token, now))

    def _body(
        self, node: _Node, specs: list[_FieldSpec] | None, token: GraphToken, now: datetime
    ) -> dict[str, Any]:
        """One node as `GET /{id}?fields=` answers it: plain fields, and the expanded ones
        (`insights.metric(...)`, `reactions.summary(true)`, ...) where the node has them.
        Call under the lock."""
        if specs is None:
            specs = [_FieldSpec(f) for f in _DEFAULT_FIELDS.get(node.kind, ("id",))]
        expanded = _EXPANDED.get(node.kind, frozenset())
        for spec in specs:
            plain = spec.name in _FIELDS[node.kind] and not spec.modifiers
            if not plain and spec.name not in expanded:
                raise _bad_param(
                    f"Tried accessing nonexisting field ({spec.name}) on node type ({node.kind})"
                )
        values = self._values(node, now)
        body: dict[str, Any] = {"id": values["id"]}
        for spec in specs:
            if spec.name in expanded:
                value = self._expand(node, spec, token, now)
                if value is not None:
                    body[spec.name] = value
            elif values.get(spec.name) is not None:
                body[spec.name] = values[spec.name]
        return body

    def _read_many(self, token: GraphToken, params: dict[str, str], now: datetime) -> Response:
        """`GET /?ids=a,b&fields=...`: each object as its own read answers it, keyed by id; at
        most MAX_IDS ids, and one that does not exist (or this token cannot see) fails the
        whole call with 803, as Meta does."""
        ids = _ids(params["ids"])
        if not ids:
            raise _bad_param("The parameter ids is required")
        if len(ids) > MAX_IDS:
            raise _bad_param(f"Too many IDs. Maximum: {MAX_IDS}.")
        specs = _field_specs(params["fields"]) if "fields" in params else None
        with self._lock:
            nodes = {i: self._node(i, now) for i in ids}
            found = {i: n for i, n in nodes.items() if n is not None and n.owner in token.ids}
            for owner in [None, *dict.fromkeys(n.owner for n in found.values())]:
                self._check_blocks(owner, now)  # limits first, as Meta answers while blocked
                self._throttle(owner, now)
            missing = [i for i in ids if i not in found]
            if missing:
                raise _GraphError(
                    404,
                    803,
                    "(#803) Some of the aliases you requested do not exist: " + ",".join(missing),
                )
            body = {i: self._body(n, specs, token, now) for i, n in found.items()}
        return json_response(200, body)

    # insights

    def _need_insights(self, token: GraphToken, node: _Node) -> None:
        if node.kind == "IGMedia" and "instagram_manage_insights" not in token.scopes:
            raise _GraphError(403, 10, "(#10) Application does not have permission for this action")
        if node.kind != "IGMedia" and "read_insights" not in token.scopes:
            raise _GraphError(
                403,
                200,
                "(#200) Requires read_insights permission to access this Page's insights",
            )

    def _expand(self, node: _Node, spec: _FieldSpec, token: GraphToken, now: datetime) -> Any:
        """An expanded field's value (None: absent, as `shares` is when nobody shared)."""
        if spec.name == "insights":
            self._need_insights(token, node)
            names = _metric_names(spec.modifiers.get("metric"))
            _check_period(spec.modifiers.get("period"))
            for modifier in spec.modifiers:
                if modifier not in ("metric", "period"):
                    raise _bad_param(f"Unknown modifier {modifier} on field insights")
            if node.kind == "IGMedia":
                return self._ig_insights(node.obj, names, now, direct=False)
            return self._post_insights(node.obj, names, now)
        if spec.name == "children":
            return {"data": [{"id": i} for i in node.obj.children]}
        post: PagePost = node.obj
        counts = self._post_counts(post, now)
        if spec.name == "shares":
            if spec.modifiers:
                raise _bad_param("Field shares takes no modifiers")
            return {"count": counts["shares"]} if counts["shares"] else None
        for modifier, arg in spec.modifiers.items():
            if modifier == "limit" and not arg.strip().isdigit():
                raise _bad_param(f"Param limit must be a number, not {arg!r}")
            if modifier == "summary" and arg.strip().lower() not in _SUMMARY_VALUES:
                raise _bad_param(f"Param summary must be true, false or total_count, not {arg!r}")
            if modifier not in ("limit", "summary"):
                raise _bad_param(f"Unknown modifier {modifier} on field {spec.name}")
        edge: dict[str, Any] = {"data": []}
        summary = spec.modifiers.get("summary", "false").strip().lower()
        if summary in ("true", "1", "total_count"):
            if spec.name == "reactions":
                edge["summary"] = {"total_count": counts["reactions"], "viewer_reaction": "NONE"}
            else:
                edge["summary"] = {
                    "order": "ranked",
                    "total_count": counts["comments"],
                    "can_comment": True,
                }
        return edge

    def _ig_insights(
        self, media: InstagramMedia, names: list[str], now: datetime, *, direct: bool
    ) -> dict[str, Any]:
        """Media insights: an error for retired or unknown metrics and carousel items; before
        the first LAG the direct call answers code 10 and an expansion an empty data set."""
        for index, name in enumerate(names):
            if name in IG_RETIRED_METRICS:
                raise _bad_param(
                    f"Starting from version v22.0 and above, the {name} metric is no longer "
                    "supported for media created after July 1, 2024. Please use the views "
                    "metric instead."
                )
            if name not in IG_METRICS:
                raise _bad_param(
                    f"metric[{index}] must be one of the following values: " + ", ".join(IG_METRICS)
                )
        if media.parent_id is not None:
            raise _bad_param(
                "Media Insights are not available for carousel album children: read the "
                f"carousel album {media.parent_id}."
            )
        if now - media.timestamp < LAG:
            if not direct:
                return {"data": []}
            raise _GraphError(
                400, 10, "(#10) Not enough viewers for the media to show insights", transient=False
            )
        values = figures("instagram", media.id, media.timestamp, now)
        return {"data": [_insight(media.id, n, values[n], IG_METRICS[n]) for n in names]}

    def _post_insights(self, post: PagePost, names: list[str], now: datetime) -> dict[str, Any]:
        """Page post insights: retired and unknown metrics are one error; a post not out yet
        has an empty data set."""
        for name in names:
            if name not in FB_METRICS:
                raise _bad_param("The value must be a valid insights metric")
        went_live = self._went_live(post, now)
        if went_live is None:
            return {"data": []}
        values = figures("facebook", post.id, went_live, now)
        return {"data": [_insight(post.id, n, values[n], FB_METRICS[n]) for n in names]}

    def _post_counts(self, post: PagePost, now: datetime) -> dict[str, int]:
        went_live = self._went_live(post, now)
        if went_live is None:
            return {"reactions": 0, "comments": 0, "shares": 0}
        return figures("facebook", post.id, went_live, now)

    @staticmethod
    def _went_live(post: PagePost, now: datetime) -> datetime | None:
        if not post.is_published(now):
            return None
        return post.created_at if post.published else post.scheduled_publish_time

    def _insights_edge(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        """`GET /{ig-media-id}/insights?metric=...` and `GET /{page-post-id}/insights?...`."""
        names = _metric_names(params.get("metric"))
        _check_period(params.get("period"))
        with self._lock:
            if node.kind == "IGMedia":
                return json_response(200, self._ig_insights(node.obj, names, now, direct=True))
            return json_response(200, self._post_insights(node.obj, names, now))

    def _media_children(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        """`GET /{ig-media-id}/children`: a carousel album's items."""
        return json_response(200, {"data": [{"id": i} for i in node.obj.children]})

    def _values(self, node: _Node, now: datetime) -> dict[str, Any]:
        obj = node.obj
        if node.kind == "IGUser":
            return {"id": obj.ig_user_id, "username": obj.ig_username, "name": obj.page_name}
        if node.kind == "Page":
            return {"id": obj.page_id, "name": obj.page_name}
        if node.kind == "ShadowIGMediaBuilder":
            code, text = self._container_status(obj, now)
            return {"id": obj.id, "status_code": code, "status": text}
        if node.kind == "IGMedia":
            return {
                "id": obj.id,
                "permalink": obj.permalink,
                "caption": obj.caption,
                "media_type": obj.media_type,
                "media_product_type": obj.media_product_type,
                "shortcode": obj.shortcode,
                "timestamp": _ig_time(obj.timestamp),
                "username": self._ig_users[obj.ig_user_id].ig_username,
            }
        post: PagePost = obj
        created = post.scheduled_publish_time if not post.published else post.created_at
        if node.kind == "Photo":
            return {
                "id": post.photo_id,
                "created_time": _ig_time(created or post.created_at),
                "name": post.message,
                "link": f"https://www.facebook.com/photo.php?fbid={post.photo_id}",
                "page_story_id": post.id,
            }
        return {
            "id": post.id,
            "created_time": _ig_time(created or post.created_at),
            "message": post.message,
            "permalink_url": post.permalink_url,
            "is_published": post.is_published(now),
            "scheduled_publish_time": (
                int(post.scheduled_publish_time.timestamp())
                if post.scheduled_publish_time is not None
                else None
            ),
        }

    def _container_status(self, container: Container, now: datetime) -> tuple[str, str]:
        if container.media_id is not None:
            return "PUBLISHED", _CONTAINER_STATUS_TEXT["PUBLISHED"]
        if container.error_subcode is not None:
            return "ERROR", _error_status(container.error_subcode)
        if now >= container.created_at + _DAY:
            return "EXPIRED", _CONTAINER_STATUS_TEXT["EXPIRED"]
        if now < container.ready_at:
            return "IN_PROGRESS", _CONTAINER_STATUS_TEXT["IN_PROGRESS"]
        for child_id in container.children:
            code, text = self._container_status(self._containers[child_id], now)
            if code in ("ERROR", "IN_PROGRESS"):
                return code, text
            if code == "EXPIRED":
                return "ERROR", _error_status(2207028)
        return "FINISHED", _CONTAINER_STATUS_TEXT["FINISHED"]

    def _delete(self, node: _Node) -> Response:
        with self._lock:
            node.obj.deleted = True
        return json_response(200, {"success": True})

    # Instagram

    def _create_container(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        media_type = params.get("media_type", "IMAGE")
        if media_type not in ("IMAGE", "CAROUSEL", "REELS", "STORIES"):
            raise _bad_param(
                "The media type entered is not one of the expected media types.", 2207023
            )
        carousel_item = _bool(params, "is_carousel_item", False)
        caption = params.get("caption")
        if carousel_item and (media_type != "IMAGE" or caption is not None):
            raise _bad_param("A carousel item is an image container without a caption.")
        if caption is not None:
            self._check_caption(caption)
        alt_text = params.get("alt_text")
        if alt_text is not None and (media_type != "IMAGE" or len(alt_text) > 1000):
            raise _bad_param("alt_text is for images only and at most 1000 characters.")
        if "user_tags" in params:
            _check_user_tags(params["user_tags"])
        if "location_id" in params and not params["location_id"].isdigit():
            raise _bad_param("Param location_id must be a valid location ID.")
        children: tuple[str, ...] = ()
        error_subcode = None
        if media_type == "CAROUSEL":
            children = self._check_children(node.owner, params.get("children"), now)
            if "image_url" in params or "video_url" in params:
                raise _bad_param("A carousel container takes children, not a media URL.")
        elif media_type == "REELS" or (media_type == "STORIES" and "video_url" in params):
            url = _required(params, "video_url")
            error_subcode = self._fetch_video(url)
        else:
            self._fetch_image(_required(params, "image_url"), feed=media_type == "IMAGE")
        container_id = self._new_id(17_900_000_000_000_000)
        with self._lock:
            recent = [
                c
                for c in self._containers.values()
                if c.ig_user_id == node.owner and c.created_at > now - _DAY
            ]
            if len(recent) >= self.container_cap:
                raise _GraphError(
                    400,
                    9,
                    f"(#9) The account created the maximum of {self.container_cap} media "
                    "containers in 24 hours.",
                    transient=False,
                )
            self._containers[container_id] = Container(
                id=container_id,
                ig_user_id=node.owner,
                media_type=media_type,
                created_at=now,
                ready_at=now + timedelta(seconds=self._ready_after(carousel_item)),
                params=dict(params),
                is_carousel_item=carousel_item,
                children=children,
                error_subcode=error_subcode,
            )
        return json_response(200, {"id": container_id})

    def _ready_after(self, carousel_item: bool) -> float:
        if carousel_item and self.carousel_item_ready_after is not None:
            return self.carousel_item_ready_after
        return self.container_ready_after

    def _check_caption(self, caption: str) -> None:
        problem = None
        if len(caption) > 2200:
            problem = f"is {len(caption)} characters long; the limit is 2,200"
        elif len(_HASHTAG.findall(caption)) > self.max_hashtags:
            problem = f"has more than {self.max_hashtags} hashtags"
        elif len(_MENTION.findall(caption)) > 20:
            problem = "has more than 20 @-mentions"
        if problem:
            raise _bad_param(
                f"The caption {problem}.",
                2207010,
                user_title="Caption too long",
                user_msg=f"The caption {problem}.",
                transient=False,
            )

    def _check_children(self, ig_user_id: str, raw: str | None, now: datetime) -> tuple[str, ...]:
        if not raw:
            raise _bad_param("The parameter children is required.")
        try:
            value = json.loads(raw) if raw.lstrip().startswith("[") else raw.split(",")
        except ValueError:
            value = None
        if not isinstance(value, list) or not 2 <= len(value) <= 10:
            raise _bad_param("A carousel needs 2 to 10 children.", 2207028)
        ids = tuple(str(v).strip() for v in value)
        with self._lock:
            for child_id in ids:
                child = self._containers.get(child_id)
                if child is None or child.ig_user_id != ig_user_id or not child.is_carousel_item:
                    raise _bad_param(
                        f"Param children: {child_id} is not a carousel item container of this "
                        "account.",
                        2207028,
                    )
        if len(set(ids)) != len(ids):
            raise _bad_param("Param children has duplicates.", 2207028)
        with self._lock:
            for child_id in ids:
                code, _text = self._container_status(self._containers[child_id], now)
                if code == "EXPIRED":
                    raise _expired(child_id)
                if code != "FINISHED":
                    raise _bad_param(
                        f"Param children: the carousel item {child_id} is {code}, not FINISHED: "
                        "create the carousel once every item is ready.",
                        2207028,
                        user_title="Carousel item not ready",
                        user_msg="Every carousel item must be FINISHED before the carousel is "
                        "created.",
                        transient=False,
                    )
        return ids

    def _fetch_image(self, url: str, *, feed: bool) -> None:
        try:
            data = self.fetch(url)
        except FetchError:
            raise _GraphError(
                400,
                9004,
                "Only photo or video can be accepted as media type.",
                subcode=2207052,
                user_title="Media download has failed",
                user_msg=f"The media could not be fetched from this uri: {url}",
                transient=False,
            ) from None
        if len(data) > _MAX_IMAGE:
            raise _GraphError(
                400,
                36000,
                f"Image is too large ({len(data)} bytes): at most 8 MB.",
                subcode=2207004,
                user_title="Image is too large",
                user_msg="The image is too large to download. It should be less than 8 MiB.",
                transient=False,
            )
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as image:
                fmt, mode, (width, height) = image.format, image.mode, image.size
        except (UnidentifiedImageError, OSError, ValueError):
            fmt, mode, width, height = None, "", 0, 0
        if fmt != "JPEG" or mode not in ("RGB", "L"):
            raise _GraphError(
                400,
                36001,
                f"Image format not supported ({fmt or 'not an image'}, {mode or '-'}).",
                subcode=2207005,
                user_title="Unsupported format",
                user_msg="The image format is not supported. Supported formats are: JPEG (sRGB)",
                transient=False,
            )
        if not feed:
            return
        if not (width * 100 >= height * 80 and width * 100 <= height * 191):
            raise _GraphError(
                400,
                36003,
                f"Image aspect ratio {width}:{height} not supported.",
                subcode=2207009,
                user_title="Aspect ratio not supported",
                user_msg=f"The submitted image with aspect ratio ('{width}/{height}') cannot be "
                "published. Please submit an image with a valid aspect ratio (4:5 to 1.91:1).",
                transient=False,
            )
        if not 320 <= width <= 1440:
            raise _GraphError(
                400,
                36001,
                f"Image width {width} px not supported: 320 to 1440 px.",
                subcode=2207005,
                user_title="Unsupported format",
                user_msg="The image must be 320 to 1440 pixels wide.",
                transient=False,
            )

    def _fetch_video(self, url: str) -> int | None:
        """Video is fetched and processed after the call: failures show in the status."""
        try:
            data = self.fetch(url)
        except FetchError:
            return 2207052
        return None if data[4:8] == b"ftyp" else 2207026

    def _publish(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        creation_id = _required(params, "creation_id")
        with self._lock:
            container = self._containers.get(creation_id)
            if container is None or container.ig_user_id != node.owner:
                raise _unsupported("post", creation_id)
            if container.is_carousel_item:
                raise _bad_param("A carousel item is published through its carousel.", 2207028)
            code = self._container_status(container, now)[0]
            if code == "EXPIRED" or (code == "ERROR" and self._child_expired(container, now)):
                raise _expired(creation_id)
            if code != "FINISHED":
                raise _GraphError(
                    400,
                    9007,
                    "Media ID is not available",
                    subcode=2207027,
                    user_title="Media not ready for publishing",
                    user_msg="The media is not ready for publishing, please wait for a moment",
                    transient=False,
                )
            if self._quota_usage(node.owner, now) >= self.publish_quota:
                raise _GraphError(
                    400,
                    9,
                    "(#9) Application request limit reached",
                    subcode=2207042,
                    user_title="Publishing limit reached",
                    user_msg=f"The account has reached its limit of {self.publish_quota} "
                    "API-published posts in 24 hours.",
                    transient=False,
                )
            self._next_id += 1
            media_id = str(17_800_000_000_000_000 + self._next_id)
            account = self._ig_users[node.owner]
            shortcode = _shortcode(int(media_id))
            kind, product = {
                "IMAGE": ("IMAGE", "FEED"),
                "CAROUSEL": ("CAROUSEL_ALBUM", "FEED"),
                "REELS": ("VIDEO", "REELS"),
                "STORIES": ("IMAGE", "STORY"),
            }[container.media_type]
            if container.media_type == "STORIES" and "video_url" in container.params:
                kind = "VIDEO"
            if product == "STORY":
                permalink = f"https://www.instagram.com/stories/{account.ig_username}/{media_id}/"
            elif product == "REELS":
                permalink = f"https://www.instagram.com/reel/{shortcode}/"
            else:
                permalink = f"https://www.instagram.com/p/{shortcode}/"
            self._media[media_id] = InstagramMedia(
                id=media_id,
                ig_user_id=node.owner,
                container_id=container.id,
                media_type=kind,
                media_product_type=product,
                caption=container.params.get("caption"),
                shortcode=shortcode,
                permalink=permalink,
                timestamp=now,
            )
            container.media_id = media_id
            items = []
            for child_id in container.children:
                self._containers[child_id].media_id = media_id
                self._next_id += 1
                item_id = str(17_800_000_000_000_000 + self._next_id)
                self._items[item_id] = InstagramMedia(
                    id=item_id,
                    ig_user_id=node.owner,
                    container_id=child_id,
                    media_type="IMAGE",
                    media_product_type="FEED",
                    caption=None,
                    shortcode=_shortcode(int(item_id)),
                    permalink=permalink,
                    timestamp=now,
                    parent_id=media_id,
                )
                items.append(item_id)
            self._media[media_id].children = tuple(items)
        return json_response(200, {"id": media_id})

    def _child_expired(self, container: Container, now: datetime) -> bool:
        return any(
            self._container_status(self._containers[c], now)[0] == "EXPIRED"
            for c in container.children
        )

    def _quota_usage(self, ig_user_id: str, now: datetime) -> int:
        return sum(
            1
            for m in self._media.values()
            if m.ig_user_id == ig_user_id and m.timestamp > now - _DAY
        )

    def _publishing_limit(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        fields = params.get("fields", "quota_usage").split(",")
        entry: dict[str, Any] = {}
        with self._lock:
            usage = self._quota_usage(node.owner, now)
        for name in (f.strip() for f in fields if f.strip()):
            if name == "quota_usage":
                entry["quota_usage"] = usage
            elif name == "config":
                entry["config"] = {"quota_total": self.publish_quota, "quota_duration": 86400}
            else:
                raise _bad_param(
                    f"Tried accessing nonexisting field ({name}) on node type "
                    "(ContentPublishingLimitResponse)"
                )
        return json_response(200, {"data": [entry]})

    def _list_media(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        fields = _fields(params, "IGMedia", default=("id",))
        with self._lock:
            items = [
                m
                for m in reversed(self._media.values())
                if m.ig_user_id == node.owner and not m.deleted
            ]
            items = [m for m in items if _in_time_range(m.timestamp, params)]
            ids = [m.id for m in items]
            page, paging = _page(ids, params, request)
            data = []
            for media in (self._media[i] for i in page):
                values = self._values(_Node("IGMedia", node.owner, media), now)
                data.append({f: values[f] for f in fields if values.get(f) is not None})
        return json_response(200, {"data": data, **paging})

    def _published_posts(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        """`GET /{page-id}/published_posts`: the Page's published posts, newest first."""
        fields = _fields(params, "Post", default=("id", "created_time", "message"))
        with self._lock:
            posts = sorted(
                (
                    p
                    for p in self._posts.values()
                    if p.page_id == node.owner and not p.deleted and p.is_published(now)
                ),
                key=lambda p: (p.scheduled_publish_time or p.created_at, p.id),
                reverse=True,
            )
            posts = [
                p for p in posts if _in_time_range(p.scheduled_publish_time or p.created_at, params)
            ]
            page, paging = _page([p.id for p in posts], params, request)
            data = []
            for post_id in page:
                values = self._values(_Node("Post", node.owner, self._posts[post_id]), now)
                data.append({f: values[f] for f in fields if values.get(f) is not None})
        return json_response(200, {"data": data, **paging})

    # Facebook

    def _create_photo(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        source = _files(request).get("source")
        url = params.get("url")
        if source is not None and url is not None:
            raise _bad_param("Give url or source, not both.")
        if source is None and url is None:
            raise _GraphError(400, 324, "(#324) Requires upload file", transient=False)
        published, scheduled = self._schedule(params, now)
        if url is not None:
            try:
                data = self.fetch(url)
            except FetchError:
                data = b""
        else:
            data = source or b""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise _GraphError(
                400, 324, "(#324) Missing or invalid image file", transient=False
            ) from None
        with self._lock:
            self._next_id += 1
            photo_id = str(120_000_000_000_000_000 + self._next_id)
            post_id = f"{node.owner}_{200_000_000_000_000_000 + self._next_id}"
            self._posts[post_id] = PagePost(
                id=post_id,
                page_id=node.owner,
                created_at=now,
                message=params.get("caption"),
                photo_id=photo_id,
                image_size=len(data),
                published=published,
                scheduled_publish_time=scheduled,
            )
            self._photos[photo_id] = post_id
        return json_response(200, {"id": photo_id, "post_id": post_id})

    def _create_feed_post(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        message, link = params.get("message"), params.get("link")
        if not message and not link:
            raise _bad_param("A post needs a message or a link.")
        published, scheduled = self._schedule(params, now)
        with self._lock:
            for post in self._posts.values():
                if (
                    post.page_id == node.owner
                    and not post.deleted
                    and post.photo_id is None
                    and (post.message, post.link) == (message, link)
                    and post.created_at > now - _DAY
                ):
                    raise _GraphError(400, 506, "(#506) Duplicate status message", transient=False)
            self._next_id += 1
            post_id = f"{node.owner}_{200_000_000_000_000_000 + self._next_id}"
            self._posts[post_id] = PagePost(
                id=post_id,
                page_id=node.owner,
                created_at=now,
                message=message,
                link=link,
                published=published,
                scheduled_publish_time=scheduled,
            )
        return json_response(200, {"id": post_id})

    def _schedule(self, params: dict[str, str], now: datetime) -> tuple[bool, datetime | None]:
        published = _bool(params, "published", True)
        raw = params.get("scheduled_publish_time")
        if raw is None:
            return published, None
        if published:
            raise _bad_param(
                "Scheduled posts must be created with published=false.",
                user_title="Cannot schedule a published post",
                user_msg="Set published to false to schedule a post.",
                transient=False,
            )
        when = _parse_time(raw)
        low, high = now + timedelta(minutes=10), now + timedelta(days=self.schedule_max_days)
        if when is None or not low <= when <= high:
            raise _bad_param(
                "The specified scheduled publish time is invalid.",
                user_title="Invalid scheduled publish time",
                user_msg="The scheduled publish time must be between 10 minutes and "
                f"{self.schedule_max_days} days from the time of the request.",
                transient=False,
            )
        return False, when

    def _scheduled_posts(
        self, node: _Node, params: dict[str, str], request: Request, now: datetime
    ) -> Response:
        fields = _fields(params, "Post", default=("id", "created_time", "message"))
        data = []
        with self._lock:
            for post in self._posts.values():
                if (
                    post.page_id == node.owner
                    and not post.deleted
                    and post.scheduled_publish_time is not None
                    and not post.is_published(now)
                ):
                    values = self._values(_Node("Post", node.owner, post), now)
                    data.append({f: values[f] for f in fields if values.get(f) is not None})
        return json_response(200, {"data": data})


_Edge = Callable[[GraphSandbox, _Node, dict[str, str], Request, datetime], Response]
_EDGES: dict[tuple[str, str], dict[str, _Edge]] = {
    ("IGUser", "media"): {
        "POST": GraphSandbox._create_container,
        "GET": GraphSandbox._list_media,
    },
    ("IGUser", "media_publish"): {"POST": GraphSandbox._publish},
    ("IGUser", "content_publishing_limit"): {"GET": GraphSandbox._publishing_limit},
    ("IGMedia", "insights"): {"GET": GraphSandbox._insights_edge},
    ("IGMedia", "children"): {"GET": GraphSandbox._media_children},
    ("Post", "insights"): {"GET": GraphSandbox._insights_edge},
    ("Page", "photos"): {"POST": GraphSandbox._create_photo},
    ("Page", "feed"): {"POST": GraphSandbox._create_feed_post},
    ("Page", "scheduled_posts"): {"GET": GraphSandbox._scheduled_posts},
    ("Page", "published_posts"): {"GET": GraphSandbox._published_posts},
}
_EXPANDED = {
    "IGMedia": frozenset({"insights", "children"}),
    "Post": frozenset({"insights", "reactions", "comments", "shares"}),
}
"""Fields computed on request, with modifiers (`insights.metric(...)`, `.summary(true)`)."""
_SUMMARY_VALUES = ("true", "false", "1", "0", "total_count")
_DEFAULT_FIELDS = {
    "Page": ("id", "name"),
    "Post": ("id", "created_time", "message"),
    "Photo": ("id", "created_time", "name"),
}


# --- small parsers ------------------------------------------------------------------------


def _params(request: Request) -> dict[str, str]:
    """Query and body parameters (form, multipart fields or JSON), the body's winning."""
    params = {k: v[0] for k, v in parse_qs(request.query, keep_blank_values=True).items()}
    body = request.body
    if not body:
        return params
    content_type = request.headers.get("Content-Type") or ""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "replace")
        params.update({k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()})
    elif kind == "application/json":
        try:
            payload = json.loads(body)
        except ValueError:
            raise _bad_param("The request body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise _bad_param("The JSON body must be an object.")
        for key, value in payload.items():
            if isinstance(value, bool):
                params[key] = "true" if value else "false"
            elif isinstance(value, str):
                params[key] = value
            else:
                params[key] = json.dumps(value)
    elif kind == "multipart/form-data":
        for name, payload, is_file in _multipart(request):
            if not is_file:
                params[name] = payload.decode("utf-8", "replace")
    return params


def _files(request: Request) -> dict[str, bytes]:
    """The file parts of a multipart body, by field name."""
    return {name: payload for name, payload, is_file in _multipart(request) if is_file}


def _multipart(request: Request) -> list[tuple[str, bytes, bool]]:
    content_type = request.headers.get("Content-Type") or ""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data" or not request.body:
        return []
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + request.body
    )
    parts = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            parts.append((str(name), payload, part.get_filename() is not None))
    return parts


@dataclass(frozen=True)
class _FieldSpec:
    """One entry of `fields=`: a name and its modifiers (`insights.metric(a,b)`)."""

    name: str
    modifiers: dict[str, str] = field(default_factory=dict)


_FIELD_ITEM = re.compile(r"([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*\([^()]*\))*)")
_MODIFIER = re.compile(r"\.([A-Za-z_]\w*)\(([^()]*)\)")


def _field_specs(raw: str) -> list[_FieldSpec]:
    """Graph's field expansion syntax, as far as this sandbox serves it: names separated by
    commas, each with `.modifier(argument)` parts whose arguments may hold commas."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(raw):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
        elif char == "," and depth == 0:
            items.append(raw[start:index])
            start = index + 1
    if depth != 0:
        raise _bad_param(f"Syntax error: unbalanced parentheses in fields ({raw})")
    items.append(raw[start:])
    specs = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        match = _FIELD_ITEM.fullmatch(item)
        if match is None:
            raise _bad_param(f"Syntax error in fields at ({item})")
        modifiers = dict(_MODIFIER.findall(match[2]))
        specs.append(_FieldSpec(match[1], modifiers))
    return specs


def _ids(raw: str) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in raw.split(",") if i.strip()))


def _metric_names(raw: str | None) -> list[str]:
    names = [n.strip() for n in (raw or "").split(",") if n.strip()]
    if not names:
        raise _bad_param("The parameter metric is required")
    return names


def _check_period(raw: str | None) -> None:
    if raw is not None and raw.strip() != "lifetime":
        raise _bad_param("period must be one of the following values: lifetime")


def _insight(object_id: str, name: str, value: int, text: tuple[str, str]) -> dict[str, Any]:
    title, description = text
    return {
        "name": name,
        "period": "lifetime",
        "values": [{"value": value}],
        "title": title,
        "description": description,
        "id": f"{object_id}/insights/{name}/lifetime",
    }


def _fields(params: dict[str, str], kind: str, *, default: tuple[str, ...]) -> list[str]:
    if "fields" not in params:
        return list(default)
    names = [f.strip() for f in params["fields"].split(",") if f.strip()]
    for name in names:
        if name not in _FIELDS[kind]:
            raise _bad_param(f"Tried accessing nonexisting field ({name}) on node type ({kind})")
    return ["id", *[n for n in names if n != "id"]]


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _bad_param(f"The parameter {name} is required")
    return value


def _bool(params: dict[str, str], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise _bad_param(f"Param {name} must be a boolean")


def _check_user_tags(raw: str) -> None:
    try:
        tags = json.loads(raw)
    except ValueError:
        tags = None
    ok = isinstance(tags, list) and all(
        isinstance(t, dict)
        and isinstance(t.get("username"), str)
        and all(
            isinstance(t.get(axis), int | float)
            and not isinstance(t.get(axis), bool)
            and 0 <= t[axis] <= 1
            for axis in ("x", "y")
        )
        for t in tags
    )
    if not ok:
        raise _bad_param("Param user_tags must be a JSON list of {username, x, y}, x and y 0..1")


def _parse_time(raw: str) -> datetime | None:
    text = raw.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _in_time_range(moment: datetime, params: dict[str, str]) -> bool:
    """Graph's time-based paging: `since` / `until` as Unix seconds or ISO 8601."""
    for name, keep in (("since", lambda t: moment >= t), ("until", lambda t: moment <= t)):
        raw = params.get(name)
        if raw is None:
            continue
        bound = _parse_time(raw)
        if bound is None:
            raise _bad_param(f"Param {name} must be a Unix time or an ISO 8601 date")
        if not keep(bound):
            return False
    return True


def _page(
    ids: list[str], params: dict[str, str], request: Request
) -> tuple[list[str], dict[str, Any]]:
    """Cursor paging like Graph's: `limit` (default 25, at most 100) and an opaque `after`
    cursor. `paging` appears only when there is a next page; its `next` URL carries every
    parameter of the request, the access token included, as Meta's does."""
    raw_limit = params.get("limit", "25")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise _bad_param("Param limit must be a number from 1 to 100")
    limit = int(raw_limit)
    start = 0
    after = params.get("after")
    if after is not None:
        try:
            last = base64.urlsafe_b64decode(after.encode("ascii")).decode("ascii")
            start = ids.index(last) + 1
        except (ValueError, UnicodeError):
            raise _bad_param("Param after is not a valid cursor") from None
    page = ids[start : start + limit]
    if start + limit >= len(ids) or not page:
        return page, {}
    cursor = base64.urlsafe_b64encode(page[-1].encode("ascii")).decode("ascii")
    first = base64.urlsafe_b64encode(page[0].encode("ascii")).decode("ascii")
    query = {k: v[0] for k, v in parse_qs(request.query, keep_blank_values=True).items()}
    query.update({k: v for k, v in params.items() if k in ("fields", "since", "until")})
    query.update({"limit": str(limit), "after": cursor})
    return page, {
        "paging": {
            "cursors": {"before": first, "after": cursor},
            "next": f"https://graph.facebook.com{request.path}?{urlencode(query)}",
        }
    }


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _fb_time(moment: datetime) -> str:
    """Meta's wording in 463 messages, e.g. "Tuesday, 12-Nov-24 10:00:00 PST" (here in UTC)."""
    return moment.astimezone(UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def _ig_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _error_status(subcode: int) -> str:
    return f"Error: Media upload has failed with error code {subcode}"


_SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _shortcode(media_id: int) -> str:
    """Instagram's shortcode is the media id in URL-safe base64 digits."""
    digits = []
    while media_id:
        media_id, rest = divmod(media_id, 64)
        digits.append(_SHORTCODE_ALPHABET[rest])
    return "".join(reversed(digits)) or "A"
