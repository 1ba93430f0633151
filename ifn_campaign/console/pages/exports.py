"""Exports: the calendar and the features ledger as CSV files, and the calendar as a private
iCalendar feed per user, for the spreadsheet and the calendar app staff already use.

CSV files are UTF-8 with a byte order mark, so Excel (which staff open them in) reads member
names as UTF-8 rather than in the Windows code page; LibreOffice and Google Sheets skip the
mark, and Python reads them with `encoding="utf-8-sig"`. A cell that starts with = + - @, a tab
or a carriage return is prefixed with ' so no spreadsheet runs it as a formula (member names and
captions come from the registry and are not to be trusted). Every cell is quoted: Excel in an
Indonesian locale splits CSV on ';', and an unquoted `Toko;=1+1` would become a formula there.

The feed's URL holds a random token: it is the credential (a calendar app cannot sign in), so
only its SHA-256 is stored, it is shown once, making a new one or revoking it ends the old one,
and disabling the user ends it too. It is kept out of error messages and the access log.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.console.i18n import LANGUAGES, translations
from ifn_campaign.console.pages.calendar import (
    ALL,
    CalendarPost,
    calendar_posts,
    parse_account,
    parse_state,
    parse_window,
)
from ifn_campaign.console.users import new_feed_token, revoke_feed_token, user_by_feed_token
from ifn_campaign.console.web import (
    DB,
    Approver,
    ApproverAct,
    Viewer,
    ViewerAct,
    done,
    render,
    state,
    whole_number,
)
from ifn_campaign.insights.figures import latest_reach_rows
from ifn_campaign.members import withdrawal as member_withdrawal
from ifn_campaign.models import Feature, Member, StaffUser
from ifn_campaign.planner.pins import FIRST_DAY, LAST_DAY

__all__ = ["FEED_PAST", "FEED_UPCOMING", "csv_bytes", "csv_cell", "router"]

router = APIRouter()

# the feed: posts of the last weeks (what went out, what failed) and the months ahead
FEED_PAST = timedelta(days=30)
FEED_UPCOMING = timedelta(days=180)
FEED_CAPTION = 200  # characters of the caption in an event's description
EVENT_LENGTH = timedelta(minutes=15)  # a post is a moment; calendar apps want a span
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FEED_PATH = re.compile(r"/feed/[^/\s?]+\.ics")


# --- CSV ---------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet shows as text: never a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file: UTF-8 with BOM, CRLF line ends (RFC 4180), every cell guarded and quoted (the
    CLI's exports write the same bytes)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_file(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """A CSV download (`csv_bytes`)."""
    return Response(
        csv_bytes(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _local(moment: datetime, zone: Any) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/exports/calendar.csv")
def calendar_csv(
    request: Request,
    staff: Viewer,
    session: DB,
    view: str = "week",
    start: str | None = None,
    account: str = ALL,
    post_state: Annotated[str, Query(alias="state")] = "",
) -> Response:
    """The posts of the calendar page with the same filters (window, account, state)."""
    console = state(request)
    zone = console.zone
    window = parse_window(view, start, console.clock().astimezone(zone).date())
    begin, end = window.bounds(zone)
    posts = calendar_posts(
        session,
        begin,
        end,
        parse_account(account),
        parse_state(post_state),
    )
    label = zone.key if zone.key != "Asia/Jakarta" else "WIB"
    return csv_file(
        [
            "post",
            f"slot ({label})",
            "slot (UTC)",
            "campaign",
            "channel",
            "account",
            "member_id",
            "member",
            "state",
            "pinned",
            "reason (id)",
            "reason (en)",
            "caption",
        ],
        (
            (
                p.id,
                _local(p.slot_at, zone),
                _utc(p.slot_at),
                p.campaign,
                p.channel,
                p.account,
                p.member_id,
                p.member_name,
                p.state,
                "yes" if p.pinned else "no",
                p.reason_id,
                p.reason_en,
                p.caption or "",
            )
            for p in posts
        ),
        f"calendar-{window.first:%Y%m%d}-{window.last - timedelta(days=1):%Y%m%d}.csv",
    )


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{name}: a date as YYYY-MM-DD") from None
    if not FIRST_DAY < day < LAST_DAY:
        raise HTTPException(status_code=400, detail=f"{name}: a date out of range")
    return day


def _first(values: Sequence[str] | None) -> str:
    return values[0] if values else ""


@router.get("/exports/ledger.csv")
def ledger_csv(
    request: Request,
    staff: Viewer,
    session: DB,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    campaign: str = "",
    channel: str = "",
) -> Response:
    """The features ledger (who was featured, when, where, by which post, the public link)
    with the fairness page's filters, `?from=YYYY-MM-DD&to=YYYY-MM-DD&campaign=NAME` (days in
    the display zone, both counted), and `channel`; a member counts under their primary
    category and actor type, as there. Each feature's reach and the mark it was read at come
    from its latest reading; both are blank when it has not been read yet."""
    zone = state(request).zone
    first, last = _day(from_.strip(), "from"), _day(to.strip(), "to")
    if first and last and last < first:
        raise HTTPException(status_code=400, detail="to: a day on or after from")
    if channel and channel not in {c.value for c in Channel}:
        raise HTTPException(status_code=400, detail="channel: instagram, facebook or youtube")
    latest = latest_reach_rows()  # each feature's latest reading, joined in the database
    query = (
        select(
            Feature.featured_at,
            Feature.member_id,
            Member.business_name,
            Member.province,
            Member.categories,
            Member.actor_types,
            Feature.campaign,
            Feature.channel,
            Feature.account,
            Feature.post_id,
            Feature.permalink,
            latest.c.reach,
            latest.c.mark,
        )
        .join(Member, Member.id == Feature.member_id)
        .outerjoin(latest, latest.c.post_id == Feature.post_id)
        .order_by(Feature.featured_at, Feature.id)
    )
    if first is not None:
        query = query.where(Feature.featured_at >= datetime.combine(first, time(), zone))
    if last is not None:
        after = datetime.combine(last + timedelta(days=1), time(), zone)
        query = query.where(Feature.featured_at < after)
    if campaign:
        query = query.where(Feature.campaign == campaign)
    if channel:
        query = query.where(Feature.channel == channel)
    label = zone.key if zone.key != "Asia/Jakarta" else "WIB"
    name = "ledger"
    for part in (first and first.isoformat(), last and last.isoformat(), campaign, channel):
        if part:
            name += "-" + re.sub(r"[^A-Za-z0-9-]", "", part)[:64]
    return csv_file(
        [
            f"featured ({label})",
            "featured (UTC)",
            "member_id",
            "member",
            "province",
            "category",
            "actor_type",
            "campaign",
            "channel",
            "account",
            "post",
            "permalink",
            "reach",
            "reach_mark",
        ],
        (
            (
                _local(row.featured_at, zone),
                _utc(row.featured_at),
                row.member_id,
                row.business_name,
                row.province or "",
                _first(row.categories),
                _first(row.actor_types),
                row.campaign,
                str(row.channel),
                row.account,
                row.post_id,
                row.permalink or "",
                # blank: not read yet (never 0)
                "" if row.reach is None else row.reach,
                "" if row.reach is None else row.mark,
            )
            for row in session.execute(query)
        ),
        name + ".csv",
    )


# --- withdrawals on the member page, for the registry's owner ---------------------------------


@router.get("/exports/withdrawals.csv")
def withdrawals_csv(
    request: Request, staff: Approver, session: DB, unreported: str = ""
) -> Response:
    """Members who withdrew consent on their own page (`?unreported=1`: only those not yet
    reported), for the registry's owner: the registry stays the source of truth and learns of
    them from this list. Marking them reported is a separate form post
    (`POST /exports/withdrawals/reported`), never a side effect of a download."""
    if unreported not in ("", "0", "1"):
        raise HTTPException(status_code=400, detail="unreported: 1 or nothing")
    rows = member_withdrawal.withdrawals(session, unreported_only=unreported == "1")
    header, cells = member_withdrawal.export_table(rows, state(request).zone)
    stamp = f"{state(request).clock().astimezone(state(request).zone):%Y%m%d-%H%M}"
    which = "-unreported" if unreported == "1" else ""
    return csv_file(header, cells, f"withdrawals{which}-{stamp}.csv")


@router.post("/exports/withdrawals/reported")
async def withdrawals_reported(request: Request, act: ApproverAct, session: DB) -> Response:
    """Mark the withdrawals the page listed, up to `through` (the newest one it showed), as
    reported to the registry's owner; one made after the page was shown stays unreported."""
    _ = translations(act.staff.language).gettext
    back = "/members"
    through = whole_number(act.text("through"))
    if through is None:
        return done(request, back, ("error", _("Reload the page: it named no withdrawals.")))
    ids = [
        row.id
        for row in member_withdrawal.withdrawals(session, unreported_only=True)
        if row.id <= through
    ]
    marked = member_withdrawal.mark_reported(session, ids, state(request).clock())
    session.commit()
    return done(
        request,
        back,
        ("ok", _("Withdrawals marked as reported to the registry: %(count)s.") % {"count": marked}),
    )


# --- the iCalendar feed ------------------------------------------------------------------------


def _me(
    request: Request, staff: Any, *, feed_active: bool, feed_url: str | None = None
) -> Response:
    return render(
        request,
        staff,
        "console/me.html.j2",
        languages=LANGUAGES,
        feed_active=feed_active,
        feed_url=feed_url,
    )


def _user(session: Session, staff_id: int) -> StaffUser:
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise HTTPException(status_code=404)
    return user


@router.post("/me/feed")
async def make_feed(request: Request, act: ViewerAct, session: DB) -> Response:
    """A new private feed address for the signed-in user, shown on this answer only (the old
    one stops working)."""
    token = new_feed_token(_user(session, act.staff.id))
    session.commit()
    url = str(request.base_url).rstrip("/") + f"/feed/{token}.ics"
    return _me(request, act.staff, feed_active=True, feed_url=url)


@router.post("/me/feed/revoke")
async def revoke_feed(request: Request, act: ViewerAct, session: DB) -> Response:
    revoke_feed_token(_user(session, act.staff.id))
    session.commit()
    return _me(request, act.staff, feed_active=False)


def feed_posts(session: Session, now: datetime) -> list[CalendarPost]:
    """The feed's posts: every account, from FEED_PAST ago to FEED_UPCOMING ahead, cancelled
    ones left out (a calendar app drops their events at its next refresh)."""
    return calendar_posts(session, now - FEED_PAST, now + FEED_UPCOMING)


def feed_calendar(posts: Sequence[CalendarPost], now: datetime, host: str) -> bytes:
    """The posts as an iCalendar file: one event per post, its UID stable across refreshes and
    its SEQUENCE the post's version, times in UTC."""
    cal = Calendar()
    cal.add("prodid", "-//BPIPI//ifn-campaign console//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "IFN campaign")
    stamp = now.astimezone(UTC)
    for post in posts:
        event = Event()
        event.add("uid", f"post-{post.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", post.slot_at.astimezone(UTC))
        event.add("dtend", post.slot_at.astimezone(UTC) + EVENT_LENGTH)
        event.add("sequence", post.version)
        event.add("summary", f"{post.channel}/{post.account}: {post.member_name}")
        caption = (post.caption or "").strip()
        if len(caption) > FEED_CAPTION:
            caption = caption[:FEED_CAPTION].rstrip() + "…"
        lines = [f"State: {post.state}", f"Campaign: {post.campaign}", f"Post: {post.id}"]
        event.add("description", "\n".join(lines + ([caption] if caption else [])))
        event.add("categories", [post.channel])
        cal.add_component(event)
    return cal.to_ical()


@router.get("/feed/{token}.ics")
def feed(request: Request, token: str, session: DB) -> Response:
    """The schedule for a calendar app: no login, the token in the address is the credential.
    Unknown, revoked or a disabled user's token: 404 (the same answer, saying nothing)."""
    if user_by_feed_token(session, token) is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    console = state(request)
    now = console.clock()
    body = feed_calendar(feed_posts(session, now), now, "ifn-campaign")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="ifn-campaign.ics"',
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


# --- keeping the token out of the access log ---------------------------------------------------


class HideFeedToken(logging.Filter):
    """Writes /feed/<token>.ics as /feed/***.ics in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, str) and "/feed/" in a for a in record.args
        ):
            record.args = tuple(
                _FEED_PATH.sub("/feed/***.ics", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str) and "/feed/" in record.msg:
            record.msg = _FEED_PATH.sub("/feed/***.ics", record.msg)
        return True


def hide_feed_tokens(logger: logging.Logger | None = None) -> None:
    """Install the filter on uvicorn's access logger (once)."""
    target = logger or logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideFeedToken) for f in target.filters):
        target.addFilter(HideFeedToken())


hide_feed_tokens()
