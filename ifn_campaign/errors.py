"""Every error ifn-campaign raises on purpose, one branch per boundary.

```
IFNError                        root: the CLI prints its message on one line and exits non-zero
├── ConfigError                 the settings or a data file staff keep cannot be used (catch this)
│   ├── SettingsError           the settings file, an IFN_... variable or a template/brand file
│   └── CampaignFileError       a campaign file that cannot be used: the file and each problem
├── NotInstalledError           a command needs an optional part that is not installed
├── UsageError                  a command or a call was given something it cannot use
│   ├── UnknownValueError       a value outside its closed set: `unknown X 'v'; valid: a, b`
│   ├── InvalidValueError       a value in the wrong form or out of range; the form wanted
│   └── OptionsError            options missing, or that do not go together: which to give
├── FileAccessError             a file named to a command cannot be read or written
├── StoreError                  the database cannot be used
│   ├── DatabaseURLError        database.url does not parse, or its driver is not installed
│   ├── DatabaseUnavailable     the database cannot be opened, or failed under a stage
│   ├── MigrationFailed         `db upgrade` stopped on a database error
│   └── NotMigratedError        the schema is missing or behind: run `ifn-campaign db upgrade`
├── RegistryError               the member registry (HTTP or CSV) failed as a whole
│   ├── RegistryUnreachable     no answer after every retry
│   └── RegistryResponseError   an answer we cannot use (status, body)
├── SourceFileError             a CSV export cannot be read at all
├── MediaRefused                one media URL was not fetched; `reason` is a stable code
├── RenderError                 a card or a Short could not be made
│   ├── TemplateError           a card template, Shorts style or HTML page is invalid: the file
│   ├── TemplateNotFound        no card template or format by that name; the known ones listed
│   ├── NoTemplateFits          the member lacks what the template needs; no fallback applies
│   ├── FontError               a font file, font family or fonts.toml cannot be used
│   ├── BrandError              the brand palette is invalid, or a colour is not in it
│   ├── TextLayoutError         text asked for an alignment or an image it cannot draw on
│   ├── ImageUnusable           a source image cannot be used; `reason` is a stable code
│   ├── CaptionTemplateError    a caption template is invalid (file, line)
│   ├── VideoError              a Short: a frame unusable, the output unwritable
│   └── NoCardMade              every card asked for failed (each failure printed above)
├── ProblemsFound               a check listed its problems above (`captions lint`)
├── CaptionRefused              a caption breaks a platform's rules; each one listed
├── PlanError                   a plan or a move cannot be made as asked (range, taken, room)
├── LedgerError                 an unknown member, post or account, or one in the wrong state
├── TransitionError             a move the post's state does not allow
├── ConflictError               someone else changed the post since it was read: reload
├── AccessDenied                the console user's role (or the four-eyes rule) forbids it
├── AnswerRefused               a member's answer on their page cannot be taken; `reason` a code
├── OrchestrationError          Prefect: no server to reach or start, a deployment or work pool
│                               not registered, or another sync holds the registry source
├── GateUnavailable             no slot in an account's Prefect limits within the wait
├── MediaHostError              a card outside the served folder has no public URL
├── MailServerDown              the notices' mail server could not be used in a run: e-mails wait
└── ChannelError                Instagram, Facebook or YouTube refused or failed a call; one kind
    │                           each, transport errors wrapped inside the clients; `action` says
    │                           what staff do. Each Graph and YouTube class is "also" its kind
    ├── ChannelTransient        passes by itself: try again later
    │   └── ChannelBlocked      a rate limit or spent quota: stop calling until `blocked_until`
    ├── ChannelOutcomeUnknown   a creating call may have taken effect: reconcile before repeating
    ├── ChannelNotFound         the copy (or upload session) is gone, or this account cannot see it
    ├── ChannelReauthNeeded     the token is dead: staff re-authorise the account
    ├── ChannelRefused          refused for good, with the reason: fix it, then approve again
    │   ├── ChannelPublishLimit the account's rolling publishing limit: the next free hour
    │   ├── ScheduleWindowError a Facebook schedule time outside 10 min .. schedule_max_days
    │   └── UploadTooLarge      a file over the platform's upload size (a Facebook photo: 4 MB)
    ├── GraphError              the Graph API failed; code, subcode, fbtrace_id, http_status, ...
    │   ├── GraphTransient      also ChannelTransient: codes 1, 2, HTTP 5xx, network: try later
    │   │   │                   (idempotent calls were already retried inside the client)
    │   │   ├── GraphRateLimited also ChannelBlocked: 4, 17, 32, 613, 80001, 80002: stop
    │   │   │                   calling until `retry_after`
    │   │   └── GraphStillProcessing a container is still IN_PROGRESS when the wait ended
    │   ├── GraphOutcomeUnknown also ChannelOutcomeUnknown: a create call may or may not have
    │   │                       happened: reconcile (`find_published`, ...), never repeat blindly
    │   ├── GraphTokenInvalid   also ChannelReauthNeeded: 190, staff must re-authorise
    │   ├── GraphPermissionMissing also ChannelRefused: 10, 200-299, the token lacks `permissions`
    │   ├── GraphPublishLimit   also ChannelPublishLimit: 9 (2207042), the rolling 24 h limit
    │   ├── GraphMediaFetchFailed also ChannelRefused: 9004 / 2207052, Meta could not fetch `url`
    │   ├── GraphContainerExpired also ChannelRefused: an Instagram container not published in 24 h
    │   └── GraphRejected       also ChannelRefused: anything else Meta refused (policy, spam, ...)
    │       └── GraphNotFound   also ChannelNotFound: 100/33, the object is gone or hidden from us
    └── YouTubeError            YouTube or Google's token endpoint failed; status, reason, domain
        ├── YouTubeRefused      also ChannelRefused: refused, or an answer we cannot use
        ├── YouTubeTransient    also ChannelTransient: 5xx, rate limits, no answer, after every
        │   │                   retry: try again later (an upload: the same session)
        │   ├── YouTubeRateLimited 403 rateLimitExceeded / userRateLimitExceeded, 429, 5xx
        │   └── YouTubeUnreachable a timeout or lost connection on every attempt
        ├── YouTubeReauthNeeded also ChannelReauthNeeded: invalid_grant, staff re-authorise
        ├── YouTubeQuotaExceeded also ChannelBlocked: 403 quotaExceeded, until `resets_at` (UTC)
        ├── YouTubeUploadLimit  also ChannelRefused: 400 uploadLimitExceeded, the channel's cap
        ├── YouTubeInvalidMetadata also ChannelRefused: title, description, tags, ... refused
        ├── YouTubeThumbnailRefused also ChannelRefused: not a JPEG/PNG, too large, or refused
        ├── YouTubeVideoNotFound also ChannelNotFound: the video is gone or hidden from us
        ├── UploadSessionGone   also ChannelNotFound: 404/410 on an upload session, start over
        └── YouTubeOutcomeUnknown also ChannelOutcomeUnknown: the last chunk went out, then the
                                session vanished: staff look on the channel
```

Errors say what to do next and carry their context; none of them ever includes a secret.
Only leaves are raised: a class with classes under it is there to be caught (the one exception:
GraphTransient and GraphRejected, raised as their kind's catch-all by the Graph channels).
tests/test_errors.py checks this tree against the classes, and every raise in the package.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path


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


class SettingsError(ConfigError):
    """The settings file or an IFN_... variable is wrong, or a file they point at cannot be
    used: which one, and what to write instead."""


class CampaignFileError(ConfigError):
    """A campaign file that cannot be used: the file and each problem, worded for staff (the
    message is the file, then the problems joined by '; ')."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = tuple(problems)


class NotInstalledError(IFNError):
    """A command needs an optional part that is not installed (the sandboxes, a font package):
    the message says what to install."""


class UsageError(IFNError):
    """A command or a function was given something it cannot use; nothing was changed."""


class UnknownValueError(UsageError):
    """An option or argument given a value outside its closed set (a typo such as `--lang fr`
    or `--status activ` would otherwise print Indonesian, or an empty table, without a word)."""


class InvalidValueError(UsageError):
    """A value in the wrong form or out of range (a date, a time, a month, JSON, a time window,
    a datetime without a time zone): the message names it and shows the form wanted."""


class OptionsError(UsageError):
    """Options missing, or given together where only one may be: the message says which to
    give (ids or `--all`, `--text` or `--file`, `--by NAME`)."""


class FileAccessError(IFNError):
    """A file named to a command (a caption file, a report folder) cannot be read or written:
    the message names the path and the system's reason."""


class StoreError(IFNError):
    """The database is unreachable or unusable."""


class DatabaseURLError(StoreError):
    """`database.url` is not a SQLAlchemy URL, or no driver for it is installed."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened (no SQLite file there: `db upgrade` creates it; a server
    that does not answer or refuses us), or failed under a stage: check `database.url` and the
    server, then run it again. The message never shows the password."""


class MigrationFailed(StoreError):
    """`db upgrade` stopped on a database error; the message has it. Fix it and run it again
    (each migration runs in a transaction where the database allows)."""


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
    """A card (or a Short) could not be made."""


class TemplateNotFound(RenderError):
    """No card template by that name, or the template has no such format: the message lists
    the known ones."""


class NoTemplateFits(RenderError):
    """The member lacks what the template requires (a photo, a logo) and no fallback template
    applies: add the media, or choose another template."""


class FontError(RenderError):
    """A font file cannot be read, a family is not defined, or fonts.toml is invalid: the
    message names the file and the key."""


class BrandError(RenderError):
    """The brand palette cannot be read or is invalid, or a colour is neither #RRGGBB nor a
    name in it."""


class TextLayoutError(RenderError):
    """Text was asked for an alignment it does not know, or to be drawn on an image mode it
    cannot draw on (templates are checked before this; a direct caller is wrong)."""


class NoCardMade(RenderError):
    """Every card asked for failed; each member's reason was printed above."""


class TemplateError(RenderError):
    """A card template, the Shorts style or a report or preview page is invalid; the message names
    the file (a user's own by its full path), the layer and the key, or the line."""

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


class ProblemsFound(IFNError):
    """A check (`captions lint`) found problems and listed them above: fix them, run it again."""


class CaptionRefused(IFNError):
    """A caption breaks a platform's rules (length, hashtags, title): each one is listed."""


class PlanError(IFNError):
    """The plan cannot be made as asked (its range ends before it starts, a campaign failed to
    plan), or a post cannot move to the slot asked for (no such slot, taken, or no room left in
    the account's limits there). A campaign name or a date refused as written is a UsageError's
    leaf (UnknownValueError, InvalidValueError)."""


class LedgerError(IFNError):
    """A ledger or takedown request cannot be done: an unknown member, post or account, or one
    in the wrong state (no card yet, no exclusion to lift, not waiting for re-authorisation)."""


class TransitionError(IFNError):
    """A move the post's state does not allow (e.g. approving a published post)."""


class ConflictError(IFNError):
    """Someone else changed the post since the form was read (its `version` moved on): the
    change is refused and nothing is lost; reload and decide again."""


class AccessDenied(IFNError):
    """The console user's role does not allow the action, or the four-eyes rule forbids it."""


class AnswerRefused(IFNError):
    """A member's answer on their page cannot be taken (not their post, no longer upcoming, an
    empty or too long comment, too many answers): `reason` is a short stable code the page
    turns into the member's language; the message is for staff and logs."""

    def __init__(self, message: str, *, reason: str = "refused") -> None:
        super().__init__(message)
        self.reason = reason


class OrchestrationError(IFNError):
    """Prefect cannot do what a flow or `serve`/`deploy` needs: say which server and what next."""


class GateUnavailable(IFNError):
    """No slot in an account's limits within the wait (or the limits are missing): the post
    waits for a later run; nothing was sent."""


class MediaHostError(IFNError):
    """A card that is not under the published folder cannot be given a public URL."""


class MailServerDown(IFNError):
    """The SMTP server could not be reached or refused our settings in a notices run: nothing
    was lost (the e-mails wait, untried), but the run fails so staff see it; says why and which
    setting to check."""


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


class UploadTooLarge(ChannelRefused):
    """A file is over what the platform takes in one upload (a Facebook photo: 4 MB), found
    before anything was sent: make the file smaller."""


# --- Graph API (Instagram and Facebook Pages): ifn_campaign.channels -------------------------
#
# Each leaf is also its ChannelError kind: GraphTransient a ChannelTransient, GraphRateLimited a
# ChannelBlocked, GraphOutcomeUnknown a ChannelOutcomeUnknown, GraphTokenInvalid a
# ChannelReauthNeeded, GraphPublishLimit a ChannelPublishLimit, GraphNotFound a ChannelNotFound,
# the others (and ScheduleWindowError) ChannelRefused.


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
    session URL, an unreadable Range): the message says which. A finished upload whose answer
    cannot be read is not one: its session is asked again (the video exists)."""


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


# --- Videos: ifn_campaign.cards.shorts ------------------------------------------------------


class VideoError(RenderError):
    """A video (a YouTube Short) could not be made: a frame file is missing or not an image, the
    output cannot be written, or the encoder failed. `path` is the bad frame file or the output;
    `frame` the index of the bad frame, when one is to blame. No partial file is left behind."""

    def __init__(self, message: str, *, path: object = None, frame: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.frame = frame
