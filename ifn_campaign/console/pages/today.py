"""Today: what goes out today and this week per account, what needs staff (failed, missed,
accounts to re-authorise, posts to review, platform blocks, member notices waiting too long),
and our scheduled flows' last runs read from the Prefect server, each with "run now".

The page reads the same library queries as `ifn-campaign status` (`posts.actions`), so the two
always agree. The Prefect server is asked with a short deadline and its answer kept for a few
seconds: a server that is down costs one line on the page, never an error page.
"""

from __future__ import annotations

import logging
import time as clock
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ifn_campaign.console.i18n import translations
from ifn_campaign.console.web import (
    DB,
    ApproverAct,
    ConsoleState,
    Staff,
    Viewer,
    done,
    render,
    state,
)
from ifn_campaign.errors import IFNError
from ifn_campaign.notices.staff import needs_staff_count, overdue
from ifn_campaign.orchestration.deployment_runs import (
    DeploymentsView,
    display_url,
    read_deployments,
    run_now,
)
from ifn_campaign.posts import actions
from ifn_campaign.publishing.blocks import active_blocks, describe

__all__ = ["FAILURES_SHOWN", "RUNS_FRESH_SECONDS", "day_bounds", "deployments_view", "router"]

router = APIRouter()
_log = logging.getLogger(__name__)

FAILURES_SHOWN = 10  # the first few here; every one of them on /failures
RUNS_FRESH_SECONDS = 15.0  # the Prefect server's answer is reused this long
_RUNS_KEY = "today.deployments"


def translator(staff: Staff) -> Callable[..., str]:
    """`_("text %(n)s", n=1)` in the staff member's language, for messages made in Python."""
    gettext = translations(staff.language).gettext

    def translate(text: str, **values: Any) -> str:
        found = gettext(text)
        return found % values if values else found

    return translate


def day_bounds(now: datetime, console: ConsoleState) -> tuple[datetime, datetime, datetime]:
    """Midnight starting today in the display zone, the next midnight, and the midnight seven
    days on: today's window and this week's (today and the six days after)."""
    zone = console.zone
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(), tzinfo=zone)
    return (
        start,
        datetime.combine(day + timedelta(days=1), time(), tzinfo=zone),
        datetime.combine(day + timedelta(days=7), time(), tzinfo=zone),
    )


def deployments_view(console: ConsoleState) -> DeploymentsView:
    """Our deployments as the configured Prefect server has them, asked at most every
    RUNS_FRESH_SECONDS (a failing server included: one slow answer, not one per page)."""
    kept = console.extra.get(_RUNS_KEY)
    if kept is not None and clock.monotonic() - kept[0] < RUNS_FRESH_SECONDS:
        return kept[1]  # type: ignore[no-any-return]
    view = read_deployments(console.prefect_api)
    console.extra[_RUNS_KEY] = (clock.monotonic(), view)
    return view


@router.get("/")
def today(request: Request, staff: Viewer, session: DB) -> Response:
    console = state(request)
    now = console.clock()
    start, end, week_end = day_bounds(now, console)
    posts = actions.posts_between(session, start, end)
    by_account: dict[tuple[str, str], Counter[str]] = {}
    for row in posts:
        by_account.setdefault((row.post.channel, row.post.account), Counter())[row.post.state] += 1
    waiting = actions.needs_staff_counts(session)
    view = deployments_view(console)
    return render(
        request,
        staff,
        "console/today.html.j2",
        day=start,
        week_end=week_end - timedelta(days=1),
        posts=posts,
        today_counts=dict(sorted(by_account.items())),
        week=actions.queue_counts(session, now, until=week_end),
        queue_states=[s.value for s in actions.QUEUE_STATES],
        needs_staff=actions.needs_staff(session, limit=FAILURES_SHOWN),
        needs_staff_counts=waiting,
        needs_staff_total=sum(waiting.values()),
        reauth=actions.accounts_awaiting_reauth(session),
        review_count=sum(actions.awaiting_review_counts(session).values()),
        notices_waiting=needs_staff_count(session),
        notices_overdue=overdue(session, console.settings, now),
        overdue_minutes=console.settings.notices.overdue_minutes,
        blocks=[(block, describe(block)) for block in active_blocks(session, now)],
        runs=view,
        prefect_at=display_url(view.api) if view.api else None,
    )


@router.post("/flows/{flow}/run")
def start_run(request: Request, flow: str, act: ApproverAct) -> Response:
    """Run now: a new flow run of one of our deployments, taken by a worker (or `serve`)."""
    console = state(request)
    _ = translator(act.staff)
    try:
        run = run_now(console.prefect_api, flow)
    except IFNError as exc:
        return done(request, "/#flows", ("error", str(exc)))
    finally:
        console.extra.pop(_RUNS_KEY, None)  # the next page asks the server again
    _log.info("%s started %s: flow run %s", act.staff.actor, flow, run.name)
    return done(
        request,
        "/#flows",
        ("ok", _("%(flow)s started: flow run %(run)s", flow=flow, run=run.name)),
    )
