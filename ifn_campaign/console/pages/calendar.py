"""The calendar: a week or a month of posts per account (or all accounts) in the display zone,
with holidays, cuti bersama and each campaign's blackout dates marked and the campaigns' free
slots shown; editors move a post to another time (a form, or drag and drop where JavaScript
runs) through the same library function as `ifn-campaign move`.

The page asks the same few queries whatever the number of posts: the database numbers each
day's posts and returns only those shown (a month shows at most `MONTH_CARDS` a day and links to
the week for the rest) with each day's count; then those posts with their member's name; then
which of the campaigns' slots in the window a post holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.console.i18n import Formats, translations
from ifn_campaign.console.pages.media import card_url
from ifn_campaign.console.web import DB, EditorAct, Viewer, done, render, safe_next, state
from ifn_campaign.errors import ConfigError, IFNError, InvalidValueError
from ifn_campaign.models import Post, PostState
from ifn_campaign.planner.campaign import Campaign, load_campaigns
from ifn_campaign.planner.pins import FIRST_DAY, LAST_DAY
from ifn_campaign.planner.slots import Slot, campaign_slots, holiday_names
from ifn_campaign.posts.actions import MOVABLE_STATES, CalendarRow, calendar_rows, move_post

__all__ = [
    "ALL",
    "CalendarPost",
    "Window",
    "calendar_posts",
    "parse_account",
    "parse_state",
    "parse_window",
    "router",
]

router = APIRouter()

VIEWS = ("week", "month")
ALL = "all"
MONTH_CARDS = 8  # posts shown per day in a month; the week shows them all
# national holidays and cuti bersama (the holidays library's "government" category), marked on
# every calendar whatever a campaign does with them
HOLIDAY_CATEGORIES = ("government", "public")
MOVABLE = frozenset(s.value for s in MOVABLE_STATES)
_AT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


# --- what the page asks for --------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The days a page shows: a week from Monday, or a month's weeks (Monday to Sunday)."""

    view: str
    anchor: date  # the week's Monday, or the month's first day
    first: date  # the first day shown
    last: date  # the day after the last day shown

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnights of the first and the after-last day."""
        return (
            datetime.combine(self.first, time(), zone).astimezone(UTC),
            datetime.combine(self.last, time(), zone).astimezone(UTC),
        )

    @property
    def previous(self) -> date:
        if self.view == "week":
            return self.anchor - timedelta(weeks=1)
        return (self.anchor - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        if self.view == "week":
            return self.anchor + timedelta(weeks=1)
        return (self.anchor + timedelta(days=32)).replace(day=1)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days)]

    def in_range(self, day: date) -> bool:
        """A day of the month asked for (a month grid also shows days of its neighbours)."""
        return self.view == "week" or (day.year, day.month) == (self.anchor.year, self.anchor.month)


def parse_window(view: str, start: str | None, today: date) -> Window:
    """The window of `view` holding `start` (YYYY-MM-DD; default today); 400 if not understood."""
    if view not in VIEWS:
        raise HTTPException(status_code=400, detail=f"view: one of {', '.join(VIEWS)}")
    day = today
    if start:
        try:
            day = date.fromisoformat(start)
        except ValueError:
            raise HTTPException(status_code=400, detail="start: a date as YYYY-MM-DD") from None
        if not FIRST_DAY + timedelta(days=40) <= day <= LAST_DAY - timedelta(days=40):
            raise HTTPException(status_code=400, detail="start: a date out of range")
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        return Window(view, monday, monday, monday + timedelta(weeks=1))
    first_of_month = day.replace(day=1)
    after = (first_of_month + timedelta(days=32)).replace(day=1)
    grid_first = first_of_month - timedelta(days=first_of_month.weekday())
    grid_last = after + timedelta(days=(7 - after.weekday()) % 7)
    return Window(view, first_of_month, grid_first, grid_last)


def parse_account(value: str | None) -> tuple[str, str] | None:
    """'<channel>/<account>' as (channel, account); 'all' or nothing is None (every account)."""
    if not value or value == ALL:
        return None
    channel, _, account = value.partition("/")
    if channel not in {c.value for c in Channel} or not account or len(account) > 64:
        raise HTTPException(status_code=400, detail="account: <channel>/<account> or all")
    return channel, account


def parse_state(value: str | None) -> str | None:
    """A post state, 'all' (every state, cancelled too) or nothing (every state but cancelled)."""
    if not value:
        return None
    if value != ALL and value not in {s.value for s in PostState}:
        raise HTTPException(status_code=400, detail="state: a post state or all")
    return value


# --- reads -------------------------------------------------------------------------------------


CalendarPost = CalendarRow  # what the page and its exports show of a post


def state_filter(state: str | None) -> list[str] | None:
    """`parse_state`'s answer as the states to read (None: every state)."""
    if state is None:
        return [s.value for s in PostState if s is not PostState.CANCELLED]
    return None if state == ALL else [state]


def calendar_posts(
    session: Session,
    start: datetime,
    end: datetime,
    account: tuple[str, str] | None = None,
    state: str | None = None,
    *,
    ids: Sequence[int] | None = None,
) -> list[CalendarPost]:
    """Posts with start <= slot < end (of one channel/account; only `ids` if given), in slot
    order, with their member's name: the library's calendar read, `state` as `parse_state`
    gives it."""
    return calendar_rows(session, start, end, account=account, states=state_filter(state), ids=ids)


def window_posts(
    session: Session,
    window: Window,
    zone: ZoneInfo,
    account: tuple[str, str] | None,
    state: str | None,
) -> tuple[list[CalendarPost], dict[date, int], int]:
    """The posts a page shows (a month: the first `MONTH_CARDS` of each day), how many posts
    each day has beyond those, and how many posts the filters match. Two queries whatever the
    number of posts: the database numbers each day's posts (window functions over the day's
    index, local midnights as its bounds) and returns only the shown ones with their day's
    count; then those posts with their members."""
    begin, end = window.bounds(zone)
    days = window.days()
    bounds = [datetime.combine(d, time(), zone).astimezone(UTC) for d in days[1:]]
    day_index = case(
        *((Post.slot_at < bound, i) for i, bound in enumerate(bounds)), else_=len(bounds)
    )
    order = (Post.slot_at, Post.channel, Post.account, Post.id)
    ranked = select(
        Post.id,
        day_index.label("day"),
        func.row_number().over(partition_by=day_index, order_by=order).label("rank"),
        func.count().over(partition_by=day_index).label("total"),
    ).where(Post.slot_at >= begin, Post.slot_at < end)
    if account is not None:
        ranked = ranked.where(Post.channel == account[0], Post.account == account[1])
    states = state_filter(state)
    if states is not None:
        ranked = ranked.where(Post.state.in_(states))
    inner = ranked.subquery()
    query = select(inner.c.id, inner.c.day, inner.c.total)
    if window.view == "month":
        query = query.where(inner.c.rank <= MONTH_CARDS)
    shown: list[int] = []
    totals: dict[int, int] = {}
    for post_id, day, total in session.execute(query):
        shown.append(post_id)
        totals[day] = total
    per_day = {days[day]: total for day, total in totals.items()}
    hidden = {day: total - MONTH_CARDS for day, total in per_day.items() if total > MONTH_CARDS}
    posts = calendar_posts(session, begin, end, account, ALL, ids=shown) if shown else []
    return posts, hidden if window.view == "month" else {}, sum(per_day.values())


def held_slots(session: Session, slots: Sequence[Slot]) -> set[tuple[str, str, str, datetime]]:
    """Which of these slots a post holds (any post but a cancelled one: a failed post may be
    retried there, and the database allows one a slot): one query over their times."""
    if not slots:
        return set()
    rows = session.execute(
        select(Post.campaign, Post.channel, Post.account, Post.slot_at).where(
            Post.slot_at.in_(sorted({s.at for s in slots})),
            Post.state != PostState.CANCELLED.value,
        )
    )
    return {(c, str(ch), a, at.astimezone(UTC)) for c, ch, a, at in rows}


def stored_accounts(session: Session) -> set[tuple[str, str]]:
    """Every (channel, account) that holds posts: finished campaigns' accounts stay choosable."""
    rows = session.execute(select(Post.channel, Post.account).distinct())
    return {(str(channel), account) for channel, account in rows}


def campaigns_on_file(settings: Settings) -> tuple[list[Campaign], str | None]:
    """The campaigns as the planner reads them, or none and the error that stopped it."""
    try:
        found = load_campaigns(settings.planner.campaigns_dir, templates_dir=settings.templates.dir)
    except ConfigError as exc:
        return [], str(exc)
    return list(found.values()), None


# --- the grid ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One thing in a day: a post, or a free slot a post could move to."""

    at: datetime
    post: CalendarPost | None = None
    slot: Slot | None = None


@dataclass
class Day:
    day: date
    in_range: bool
    today: bool
    holiday: tuple[str, str] | None
    blackouts: list[str]
    entries: list[Entry] = field(default_factory=list)
    hidden: int = 0  # posts of a month's day not shown (see the week)


def _account_of(campaign: Campaign, account: tuple[str, str] | None) -> bool:
    return account is None or any(
        (p.channel.value, p.account) == account for p in campaign.channels
    )


def campaign_window_slots(
    campaigns: Sequence[Campaign],
    start: datetime,
    end: datetime,
    account: tuple[str, str] | None,
    now: datetime,
) -> list[Slot]:
    """The campaigns' slots in [start, end) after `now` (on the account asked for)."""
    found = []
    for campaign in campaigns:
        for slot in campaign_slots(campaign, max(start, now), end).slots:
            if account is not None and (slot.channel.value, slot.account) != account:
                continue
            if slot.at > now:
                found.append(slot)
    return found


def free_slots(session: Session, slots: Sequence[Slot]) -> list[Slot]:
    """The slots no post holds: where a post may be moved (the budget is checked when it is)."""
    taken = held_slots(session, slots)
    return [s for s in slots if (s.campaign, s.channel.value, s.account, s.at) not in taken]


def build_days(
    window: Window,
    zone: ZoneInfo,
    today: date,
    posts: Sequence[CalendarPost],
    free: Sequence[Slot],
    campaigns: Sequence[Campaign],
    account: tuple[str, str] | None,
    hidden: dict[date, int] | None = None,
) -> list[Day]:
    """The window's days with their holidays, blackouts, posts and free slots, in time order
    (a month's day with posts not shown lists no free slots: its week does)."""
    shown = [c for c in campaigns if _account_of(c, account)]
    more = hidden or {}
    days = {
        d: Day(
            day=d,
            in_range=window.in_range(d),
            today=d == today,
            holiday=holiday_names(d, HOLIDAY_CATEGORIES),
            blackouts=[c.title for c in shown if c.is_blackout(d)],
            hidden=more.get(d, 0),
        )
        for d in window.days()
    }
    for post in posts:
        cell = days.get(post.slot_at.astimezone(zone).date())
        if cell is not None:
            cell.entries.append(Entry(post.slot_at, post=post))
    for slot in free:
        cell = days.get(slot.at.astimezone(zone).date())
        if cell is not None and cell.hidden == 0:
            cell.entries.append(Entry(slot.at, slot=slot))
    for cell in days.values():
        cell.entries.sort(key=lambda e: (e.at, e.slot is not None))
    return list(days.values())


def _weeks(days: list[Day]) -> list[list[Day]]:
    return [days[i : i + 7] for i in range(0, len(days), 7)]


def page_query(view: str, start: date, account: str, state: str) -> str:
    """The query string of a calendar page (or an export of it)."""
    values = {"view": view, "start": start.isoformat(), "account": account}
    if state:
        values["state"] = state
    return urlencode(values)


# --- routes ------------------------------------------------------------------------------------


@router.get("/calendar")
def calendar(
    request: Request,
    staff: Viewer,
    session: DB,
    view: str = "week",
    start: str | None = None,
    account: str = ALL,
    post_state: Annotated[str, Query(alias="state")] = "",
) -> Response:
    console = state(request)
    zone = console.zone
    now = console.clock()
    today = now.astimezone(zone).date()
    chosen_state = post_state
    window = parse_window(view, start, today)
    chosen = parse_account(account)
    states = parse_state(chosen_state)
    begin, end = window.bounds(zone)
    posts, hidden, matching = window_posts(session, window, zone, chosen, states)
    campaigns, campaign_error = campaigns_on_file(console.settings)
    free = free_slots(session, campaign_window_slots(campaigns, begin, end, chosen, now))
    days = build_days(window, zone, today, posts, free, campaigns, chosen, hidden)
    accounts = stored_accounts(session) | {
        (p.channel.value, p.account) for c in campaigns for p in c.channels
    }
    account_value = ALL if chosen is None else f"{chosen[0]}/{chosen[1]}"
    here = page_query(window.view, window.anchor, account_value, chosen_state)
    context: dict[str, Any] = {
        "window": window,
        "last_day": window.last - timedelta(days=1),
        "weeks": _weeks(days),
        "days": days,
        "post_count": matching,
        "free_count": len(free),
        "accounts": sorted(f"{c}/{a}" for c, a in accounts),
        "account": account_value,
        "state_value": chosen_state,
        "states": [s.value for s in PostState],
        "campaign_error": campaign_error,
        "here": f"/calendar?{here}",
        "query": here,
        "previous_query": page_query(window.view, window.previous, account_value, chosen_state),
        "next_query": page_query(window.view, window.next, account_value, chosen_state),
        "today_query": page_query(window.view, today, account_value, chosen_state),
        "can_move": staff.can("editor"),
        "movable": MOVABLE,
        "card_url": card_url,
        "local_value": lambda at: f"{at.astimezone(zone):%Y-%m-%dT%H:%M}",
        "page_query": page_query,
        "min_value": f"{now.astimezone(zone):%Y-%m-%dT%H:%M}",
    }
    return render(request, staff, "console/calendar.html.j2", **context)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_local_time(value: str, zone: ZoneInfo) -> datetime:
    """A time staff gave in the display zone ('YYYY-MM-DDTHH:MM' from the form's field, or
    'YYYY-MM-DD HH:MM' as the CLI takes it) as an aware datetime, in the dates the CLI allows.
    A browser may send the field's seconds (':00', even ':00.000'): slots are whole minutes,
    so those are taken and any other seconds refused."""
    typed = value.strip()
    whole, dot, fraction = typed.partition(".")
    seconds = whole[16:] if len(whole) == 19 and whole[16] == ":" else ""
    # ASCII digits: `isdigit` also takes '²', which `int` refuses
    if seconds and _digits(whole[17:]) and (not dot or _digits(fraction)):
        if int(whole[17:]) or (dot and int(fraction)):
            raise InvalidValueError(f"{value!r}: slots are whole minutes, give no seconds")
        typed = whole[:16]
    for pattern in _AT_FORMATS:
        try:
            local = datetime.strptime(typed, pattern)
        except ValueError:
            continue
        if not FIRST_DAY <= local.date() <= LAST_DAY:
            raise InvalidValueError(f"{value!r}: give a date between {FIRST_DAY} and {LAST_DAY}")
        return local.replace(tzinfo=zone)
    raise InvalidValueError(f"{value!r}: write the time as 'YYYY-MM-DD HH:MM'")


@router.post("/calendar/move")
async def move(request: Request, act: EditorAct, session: DB) -> Response:
    """Move one post to a new time: `post`, its `version` as the page read it, `at` (WIB)."""
    console = state(request)
    back = safe_next(act.text("next"), "/calendar")
    ids, versions = act.ints("post"), act.ints("version")
    if len(ids) != 1 or len(versions) > 1:
        raise HTTPException(status_code=400, detail="post: one post to move")
    _ = translations(act.staff.language).gettext
    try:
        new_at = parse_local_time(act.text("at"), console.zone)
        post = move_post(
            session,
            ids[0],
            new_at,
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            version=versions[0] if versions else None,
        )
        session.commit()
    except IFNError as exc:
        return done(request, back, ("error", str(exc)))
    when = Formats(act.staff.language, console.zone).when(post.slot_at)  # as the page shows it
    return done(
        request, back, ("ok", _("Post %(post)s moved to %(at)s.") % {"post": post.id, "at": when})
    )
