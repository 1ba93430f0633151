"""Every error ifn-campaign raises on purpose, one branch per boundary.

```
IFNError                      root: the CLI prints its message on one line and exits non-zero
├── ConfigError               the settings file or an IFN_... variable is wrong
├── StoreError                the database cannot be used
│   └── NotMigratedError      the schema is missing or behind: run `ifn-campaign db upgrade`
├── RegistryError             the member registry (HTTP or CSV) failed as a whole
│   ├── RegistryUnreachable   no answer after every retry
│   └── RegistryResponseError an answer we cannot use (status, body)
├── SourceFileError           a CSV export cannot be read at all
├── MediaRefused              one media URL was not fetched; `reason` is a stable code
├── RenderError               a card could not be made
│   ├── TemplateError         a card template is invalid (file, layer, key)
│   ├── ImageUnusable         a source image cannot be used; `reason` is a stable code
│   └── CaptionTemplateError  a caption template is invalid (file, line)
├── LedgerError               an unknown member or post, or a post in the wrong state
├── OrchestrationError        Prefect: no server to reach or start, a deployment or work pool
│                             not registered, or another sync holds the registry source
└── ChannelError              Instagram, Facebook or YouTube refused or failed a call; one kind
    │                         each (below), transport errors wrapped inside the clients;
    │                         `action` says what staff do. Leaves: GraphError and YouTubeError
    │                         subclasses (Meta's and Google's fields), listed further down
    ├── ChannelTransient      passes by itself: try again later
    │   └── ChannelBlocked    a rate limit or spent quota: stop calling until `blocked_until`
    ├── ChannelOutcomeUnknown a creating call may have taken effect: reconcile before repeating
    ├── ChannelNotFound       the copy (or upload session) is gone, or this account cannot see it
    ├── ChannelReauthNeeded   the token is dead: staff re-authorise the account
    └── ChannelRefused        refused for good, with the reason: fix it, then approve again
        └── ChannelPublishLimit the account's rolling publishing limit: the next free hour
```

Errors say what to do next and carry their context; none of them ever includes a secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class IFNError(Exception):
    """Root of every expected failure.

    Picklable with its attributes whatever the subclass's constructor takes: compose's worker
    processes send these back to the flow (plain pickle would call `cls(message)` and fail on
    keyword-only arguments such as TemplateError's `file`)."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[IFNError], args: tuple[object, ...], state: dict[str, object]) -> IFNError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(IFNError):
    """Settings cannot be loaded or are invalid."""


class StoreError(IFNError):
    """The database is unreachable or unusable."""


class NotMigratedError(StoreError):
    """The schema is missing or older than this code."""


class RegistryError(IFNError):
    """The registry failed as a whole (not one bad record, which is quarantined instead)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class RegistryUnreachable(RegistryError):
    """No usable answer after every retry."""


class RegistryResponseError(RegistryError):
    """The registry answered, but not with something we can use."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


class SourceFileError(IFNError):
    """A member export file cannot be read at all."""


class MediaRefused(IFNError):
    """A media URL was not fetched. `reason` is a short stable code stored on the member."""

    def __init__(self, reason: str, detail: str, *, url: str) -> None:
        super().__init__(f"{reason}: {detail} ({url})")
        self.reason = reason
        self.detail = detail
        self.url = url


class RenderError(IFNError):
    """A card could not be made."""


class TemplateError(RenderError):
    """A card template is invalid; the message names the file, the layer and the key."""

    def __init__(
        self, message: str, *, file: str, layer: str | None = None, key: str | None = None
    ) -> None:
        where = file + (f", layer {layer!r}" if layer else "") + (f", key {key!r}" if key else "")
        super().__init__(f"{where}: {message}")
        self.file = file
        self.layer = layer
        self.key = key


class ImageUnusable(RenderError):
    """A source image cannot be used on a card; `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class CaptionTemplateError(RenderError):
    """A caption template cannot be used; the message names the file and line."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        super().__init__(f"{file}{f', line {line}' if line else ''}: {message}")
        self.file = file
        self.line = line


class LedgerError(IFNError):
    """A ledger or takedown request cannot be done: unknown member or post, or wrong state."""


class OrchestrationError(IFNError):
    """Prefect cannot do what a flow or `serve`/`deploy` needs: say which server and what next."""


# --- Channels (Instagram, Facebook, YouTube): ifn_campaign.channels ------------------------------
#
# Every channel error is one of these kinds; the publisher maps kinds to outcomes in one table
# (publishing/publisher.py, `_OUTCOMES`). The Graph and YouTube leaves below are also their kind.


class ChannelError(IFNError):
    """A channel refused or failed a call. `action`: what staff do about it (the publisher stores
    it on a failed post). Never carries a token, a secret or an upload session id."""

    action: str = "fix what the message says, then approve again"


class ChannelTransient(ChannelError):
    """It passes by itself (a 5xx, a lost connection, a rate limit): try again later. Calls that
    may be repeated were already retried inside the client."""


class ChannelBlocked(ChannelTransient):
    """The platform says stop calling until a time (a rate limit, a spent daily quota), for the
    account or, `scope` "app", for every account of the app or project: kept as a platform
    block for every run and worker. `block_code` is the platform's code for the record."""

    scope: str = "account"

    def blocked_until(self, now: datetime) -> datetime:
        """When calls may start again (an hour when the platform did not say)."""
        return now + timedelta(hours=1)

    @property
    def block_code(self) -> int | None:
        return None


class ChannelOutcomeUnknown(ChannelError):
    """A call that creates something may or may not have taken effect: ask the platform
    (`ChannelAdapter.find`) before repeating it. `reconcilable` False: the platform offers no
    way to ask, and staff must look."""

    reconcilable: bool = True


class ChannelNotFound(ChannelError):
    """The copy (or upload session) does not exist any more, or this account cannot see it."""


class ChannelReauthNeeded(ChannelError):
    """The account's token is dead: staff re-authorise the account and store the new secret."""


class ChannelRefused(ChannelError):
    """Refused for good, with the platform's reason: the same call would fail the same way."""


class ChannelPublishLimit(ChannelRefused):
    """The account's rolling publishing limit is used up: the post moves to a later hour."""


# --- Graph API (Instagram and Facebook Pages): ifn_campaign.channels -------------------------
#
# Each leaf is also its ChannelError kind: GraphTransient a ChannelTransient, GraphRateLimited a
# ChannelBlocked, GraphOutcomeUnknown a ChannelOutcomeUnknown, GraphTokenInvalid a
# ChannelReauthNeeded, GraphPublishLimit a ChannelPublishLimit, GraphNotFound a ChannelNotFound,
# the others (and ScheduleWindowError) ChannelRefused.
#
# GraphError                    the Graph API failed; code, subcode, fbtrace_id, http_status, ...
# ├── GraphTransient            codes 1, 2, HTTP 5xx, network: try again later (idempotent calls
# │   │                         were already retried inside the client)
# │   ├── GraphRateLimited      4, 17, 32, 613, 80001, 80002: stop calling until `retry_after`
# │   └── GraphStillProcessing  a container is still IN_PROGRESS when the wait ended
# ├── GraphOutcomeUnknown       a create call may or may not have happened: reconcile, never
# │                             repeat blindly (`find_published`, `find_scheduled`, ...)
# ├── GraphTokenInvalid         190: staff must re-authorise the account
# ├── GraphPermissionMissing    10, 200-299: the token lacks `permissions`
# ├── GraphPublishLimit         9 (2207042): the rolling 24 h publishing limit is used up
# ├── GraphMediaFetchFailed     9004 / 2207052: Meta could not fetch `url`
# ├── GraphContainerExpired     an Instagram container was not published within 24 h
# └── GraphRejected             anything else Meta refused (policy, duplicate, spam, image, ...)
#     └── GraphNotFound         100/33: the object is gone or this token cannot see it
# ScheduleWindowError           a Facebook schedule time outside 10 min .. schedule_max_days


class GraphError(ChannelError):
    """The Graph API refused or failed a call.

    `str(error)` is for staff: what happened and what to do. The attributes are Meta's error
    body (`message` is Meta's own text); each may be None when nothing was answered (network).
    Neither ever contains the access token."""

    def __init__(
        self,
        text: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        message: str | None = None,
        type: str | None = None,  # Meta's field name
        is_transient: bool | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(text)
        self.code = code
        self.subcode = subcode
        self.message = message
        self.type = type
        self.is_transient = is_transient
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.user_title = user_title
        self.user_msg = user_msg
        self.method = method
        self.path = path


class GraphTransient(GraphError, ChannelTransient):
    """A temporary failure (codes 1, 2, HTTP 5xx, a lost connection): try again later.
    `retry_after`: seconds Meta asked us to wait, when it said so."""

    def __init__(self, text: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(text, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class GraphRateLimited(GraphTransient, ChannelBlocked):
    """A rate limit (4, 17, 32, 613, 80001, 80002). Meta says: stop calling, more calls make the
    block last longer. `retry_after` is in seconds (never None). `scope`: "app" when the whole
    app is limited (codes 4 and 17, `x-app-usage` at the stop), else "account"."""

    scope: str = "account"

    def blocked_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.retry_after or 300)

    @property
    def block_code(self) -> int | None:
        return self.code


class GraphStillProcessing(GraphTransient):
    """An Instagram container was still IN_PROGRESS when the wait ended: poll again later."""


class GraphOutcomeUnknown(GraphError, ChannelOutcomeUnknown):
    """A call that creates something may or may not have taken effect (timeout, dropped
    connection, a server error after the request arrived). Reconcile with the platform before
    anything else; repeating the call could post twice. `cause` is the transient answer, if any."""

    def __init__(self, text: str, *, cause: GraphError | None = None, **kwargs: object) -> None:
        super().__init__(text, **kwargs)  # type: ignore[arg-type]
        self.cause = cause


class GraphTokenInvalid(GraphError, ChannelReauthNeeded):
    """190: the token is expired or invalidated; staff must re-authorise the account."""


class GraphPermissionMissing(GraphError, ChannelRefused):
    """10 or 200-299: the token lacks `permissions` (a tuple of Meta permission names)."""

    def __init__(self, text: str, *, permissions: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(text, **kwargs)  # type: ignore[arg-type]
        self.permissions = permissions


class GraphPublishLimit(GraphError, ChannelPublishLimit):
    """Code 9 (2207042): the account's rolling 24 h publishing (or container) limit is used up."""


class GraphMediaFetchFailed(GraphError, ChannelRefused):
    """9004 / 2207052: Meta could not fetch the media at `url`."""

    action = (
        "check that publish.media_base_url serves the card folder to the internet, "
        "then approve the post again"
    )

    def __init__(self, text: str, *, url: str | None = None, **kwargs: object) -> None:
        super().__init__(text, **kwargs)  # type: ignore[arg-type]
        self.url = url


class GraphContainerExpired(GraphError, ChannelRefused):
    """An Instagram container was not published within 24 h: make a new one (nothing went out)."""


class GraphRejected(GraphError, ChannelRefused):
    """Meta refused the call for good (policy, duplicate, spam, restricted account, image rules,
    bad parameters): retrying the same call will fail the same way."""


class GraphNotFound(GraphRejected, ChannelNotFound):
    """100/33: the object does not exist (any more) or this token may not see it."""


class ScheduleWindowError(ChannelRefused):
    """A Facebook post was to be scheduled outside 10 minutes .. schedule_max_days from now."""


# --- YouTube Data API v3: ifn_campaign.channels.youtube --------------------------------------
#
# Each leaf is also its ChannelError kind: YouTubeTransient a ChannelTransient,
# YouTubeQuotaExceeded a ChannelBlocked (scope "app"), YouTubeReauthNeeded a ChannelReauthNeeded,
# YouTubeVideoNotFound and UploadSessionGone ChannelNotFound, YouTubeOutcomeUnknown a
# ChannelOutcomeUnknown staff settle, the others ChannelRefused.
#
# YouTubeError                  YouTube or Google's token endpoint failed; status, reason, domain
# ├── YouTubeRefused            refused, or an answer we cannot use (the message says which)
# ├── YouTubeTransient          5xx, rate limits, no answer, still failing after every retry:
# │   │                         try again later (an upload: the same session, see upload())
# │   ├── YouTubeRateLimited    403 rateLimitExceeded / userRateLimitExceeded, 429, 5xx
# │   └── YouTubeUnreachable    a timeout or lost connection on every attempt
# ├── YouTubeReauthNeeded       invalid_grant: staff must re-authorise the channel
# ├── YouTubeQuotaExceeded      403 quotaExceeded: nothing more today; `resets_at` (UTC)
# ├── YouTubeUploadLimit        400 uploadLimitExceeded: the channel's own upload cap
# ├── YouTubeInvalidMetadata    title, description, tags, category, privacy or publishAt refused
# ├── YouTubeThumbnailRefused   not a JPEG/PNG, too large, or refused by YouTube
# ├── YouTubeVideoNotFound      the video does not exist (any more) or this channel cannot see it
# ├── UploadSessionGone         404/410 on an upload session: no video was made, start over
# └── YouTubeOutcomeUnknown     the last chunk went out, then the session vanished: ask staff


class YouTubeError(ChannelError):
    """YouTube (or Google's OAuth endpoint) refused or failed a call. `status`, `reason` and
    `domain` come from Google's error body and are None when no answer arrived. Messages never
    contain a token, a client secret or an upload session id."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        domain: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.domain = domain


class YouTubeRefused(YouTubeError, ChannelRefused):
    """YouTube or Google's token endpoint refused the call, or answered something unusable (no
    session URL, no video id, an unreadable Range): the message says which."""


class YouTubeTransient(YouTubeError, ChannelTransient):
    """Still failing after every retry, for reasons that pass: try again later. `attempts` is
    how many calls were made; `retry_after` the seconds Google asked for, when it said so."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int = 1,
        retry_after: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.attempts = attempts
        self.retry_after = retry_after


class YouTubeRateLimited(YouTubeTransient):
    """403 rateLimitExceeded / userRateLimitExceeded, 429 or HTTP 5xx after every retry."""


class YouTubeUnreachable(YouTubeTransient):
    """No answer (timeout, refused or dropped connection) after every retry."""


class YouTubeReauthNeeded(YouTubeError, ChannelReauthNeeded):
    """The refresh token is dead (`invalid_grant`): revoked, unused for 6 months, or older than
    7 days while the OAuth app is in testing mode. Staff must re-authorise the channel."""


class YouTubeQuotaExceeded(YouTubeError, ChannelBlocked):
    """403 quotaExceeded: the project's daily units or upload bucket are spent. Never retried;
    nothing works again before `resets_at` (aware UTC: the next midnight in Los Angeles)."""

    scope = "app"  # the OAuth client's project: every channel of it

    def __init__(self, message: str, *, resets_at: object, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.resets_at = resets_at

    def blocked_until(self, now: datetime) -> datetime:
        resets = self.resets_at if isinstance(self.resets_at, datetime) else None
        return resets or now + timedelta(hours=1)

    @property
    def block_code(self) -> int | None:
        return 403


class YouTubeUploadLimit(YouTubeError, ChannelRefused):
    """400 uploadLimitExceeded: the channel may not upload more videos for now."""

    action = (
        "the channel may not upload more videos for now: approve the post again "
        "tomorrow (or move it to a later slot)"
    )


class YouTubeInvalidMetadata(YouTubeError, ChannelRefused):
    """The video's metadata breaks a YouTube rule (found before calling, or by YouTube).
    `violations` lists (field, plain-language reason) pairs; `reason` is YouTube's code
    (invalidTitle, invalidDescription, invalidTags, invalidCategoryId, invalidPublishAt, ...)."""

    def __init__(
        self, message: str, *, violations: list[tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.violations = list(violations or [])


class YouTubeThumbnailRefused(YouTubeError, ChannelRefused):
    """A custom thumbnail was not set: not a JPEG or PNG, over 2 MB, or refused by YouTube."""


class YouTubeVideoNotFound(YouTubeError, ChannelNotFound):
    """The video does not exist (any more), or this channel may not see it."""

    def __init__(self, message: str, *, video_id: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.video_id = video_id


class UploadSessionGone(YouTubeError, ChannelNotFound):
    """404/410 for a resumable upload session: it expired or never existed, and no video was
    made from it. Start over with a new session (`start_upload`)."""


class YouTubeOutcomeUnknown(YouTubeError, ChannelOutcomeUnknown):
    """The final chunk of an upload was sent, then the session answered 404/410 instead of the
    video: the video may exist. Do not upload again; staff must check the channel."""

    reconcilable = False  # the session is gone: nothing left to ask
    action = "look on the YouTube channel whether the video exists before approving again"


# --- Videos: ifn_campaign.cards.shorts
# --------------------------------------------------------------
#
# RenderError
# └── VideoError                a Short could not be made: a frame unusable, the output unwritable


class VideoError(RenderError):
    """A video (a YouTube Short) could not be made: a frame file is missing or not an image, the
    output cannot be written, or the encoder failed. `path` is the bad frame file or the output;
    `frame` the index of the bad frame, when one is to blame. No partial file is left behind."""

    def __init__(self, message: str, *, path: object = None, frame: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.frame = frame
