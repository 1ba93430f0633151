"""Activity: the post event log (who changed which post, when, from what to what), newest first,
filtered by actor, post, state, date and kind of actor, a hundred a page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ifn_campaign.console.web import DB, Viewer, render, state, whole_number
from ifn_campaign.models import PostState
from ifn_campaign.posts.activity import ACTOR_KINDS, ActivityFilter, activity

router = APIRouter()

FIELDS = ("actor", "post", "state", "kind", "from", "to")
MAX_PAGE = 100_000
DAYS = (date(2000, 1, 1), date(2999, 12, 31))  # dates staff may filter by


def _day(value: str) -> date | None:
    """A date as the date field sends it (YYYY-MM-DD), or None."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@router.get("/activity")
def activity_page(request: Request, staff: Viewer, session: DB) -> Response:
    console = state(request)
    zone = console.zone
    asked = {name: request.query_params.get(name, "").strip()[:200] for name in FIELDS}
    problems: list[tuple[str, str]] = []  # (field, the value refused): said on the page

    post_id = None
    if asked["post"]:
        post_id = whole_number(asked["post"])
        if post_id is None:
            problems.append(("post", asked["post"]))
    states = [s.value for s in PostState]
    if asked["state"] and asked["state"] not in states:
        problems.append(("state", asked["state"]))
    kinds = [*ACTOR_KINDS, "other"]
    if asked["kind"] and asked["kind"] not in kinds:
        problems.append(("kind", asked["kind"]))
    bounds: dict[str, datetime | None] = {"from": None, "to": None}
    for name in ("from", "to"):
        if asked[name]:
            day = _day(asked[name])
            if day is None or not DAYS[0] <= day <= DAYS[1]:
                problems.append((name, asked[name]))
            else:  # a day in the display zone; `to` includes its whole day
                bounds[name] = datetime.combine(
                    day + timedelta(days=1 if name == "to" else 0), time(), zone
                )
    where = ActivityFilter(
        actor=asked["actor"] or None,
        post_id=post_id,
        state=asked["state"] if asked["state"] in states else None,
        kind=asked["kind"] if asked["kind"] in kinds else None,
        since=bounds["from"],
        until=bounds["to"],
    )
    page_text = request.query_params.get("page", "1")
    page = min(whole_number(page_text) or 1, MAX_PAGE)
    found = activity(session, where, page=max(page, 1))
    kept = {name: value for name, value in asked.items() if value}

    def link(to_page: int) -> str:
        return "/activity?" + urlencode({**kept, "page": to_page})

    return render(
        request,
        staff,
        "console/activity.html.j2",
        found=found,
        asked=asked,
        problems=problems,
        states=states,
        kinds=kinds,
        filtered=bool(kept),
        previous_url=link(found.page - 1) if found.has_previous else None,
        next_url=link(found.page + 1) if found.has_next else None,
    )
