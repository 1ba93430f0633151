"""Fairness: the features ledger for a chosen period by province, category and actor type
against each group's share of the members, as tables and as SVG charts drawn here; and who was
never featured and who has waited longest (as of now, whatever the period).

Every number comes from `ifn_campaign.posts.ledger` (`shares_by_all`, `never_featured`,
`fairness_gap`), the functions `ifn-campaign ledger by | never-featured | gap` print; the reach
of each group's features (total, median, not read yet, share of reach against share of members)
from `shares_by_all(..., with_reach=True)`, which reads it through `insights.figures`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select

from ifn_campaign.console.charts import Bar, share_chart
from ifn_campaign.console.i18n import Formats, translations
from ifn_campaign.console.web import DB, Viewer, render, state
from ifn_campaign.errors import IFNError
from ifn_campaign.models import Feature
from ifn_campaign.planner.campaign import campaign_paths
from ifn_campaign.planner.pins import FIRST_DAY, LAST_DAY
from ifn_campaign.posts import ledger

__all__ = ["DIMENSIONS", "router"]

router = APIRouter()

DIMENSIONS = ledger.DIMENSIONS
LISTED = 50  # never-featured members shown (the count says how many in all)
LONGEST = 20  # longest waits shown


@dataclass(frozen=True)
class Breakdown:
    """One dimension: its groups and their chart."""

    dimension: str
    shares: list[ledger.Share]
    chart: Markup | None


def _day(typed: str, name: str) -> date | None:
    if not typed:
        return None
    try:
        day = date.fromisoformat(typed)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{name}: write a date as YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(
            status_code=400, detail=f"{name}: give a date between {FIRST_DAY} and {LAST_DAY}"
        )
    return day


def _campaign_names(request: Request, session: Any) -> list[str]:
    """The campaigns on file and every campaign the ledger holds features of."""
    cfg = state(request).settings
    try:
        names = set(campaign_paths(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir))
    except IFNError:  # no campaigns folder: the ledger's names still are
        names = set()
    names.update(n for n in session.scalars(select(Feature.campaign).distinct()) if n)
    return sorted(names)


def _chart(
    shares: list[ledger.Share], dimension: str, language: str, fmt: Formats
) -> Markup | None:
    if not shares:
        return None
    _ = translations(language).gettext
    titles = {
        "province": _("Features by province against members"),
        "category": _("Features by category against members"),
        "actor_type": _("Features by actor type against members"),
    }
    bars = [
        Bar(
            label=s.label,
            feature_share=s.feature_share,
            member_share=s.member_share,
            feature_text=_("%(share)s of features (%(n)s)")
            % {"share": fmt.percent(s.feature_share), "n": fmt.number(s.features)},
            member_text=_("%(share)s of members (%(n)s)")
            % {"share": fmt.percent(s.member_share), "n": fmt.number(s.members)},
        )
        for s in shares
    ]
    return share_chart(
        bars,
        chart_id=f"chart-{dimension}",
        title=titles[dimension],
        feature_name=_("Share of features"),
        member_name=_("Share of members"),
        describe=lambda b: f"{b.label}: {b.feature_text}, {b.member_text}.",
    )


@router.get("/fairness")
def fairness(
    request: Request,
    staff: Viewer,
    session: DB,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    campaign: str = "",
) -> Response:
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD&campaign=NAME`: days in the display zone, both counted;
    no `from`: since the first feature; no `to`: up to now."""
    console = state(request)
    now = console.clock()
    zone = console.zone
    first = _day(from_.strip(), "from")
    last = _day(to.strip(), "to")
    # days picked the wrong way round in the form: the page shows the period they span, and says
    # so, rather than an error page that loses the rest of the form
    swapped = bool(first and last and last < first)
    if swapped:
        first, last = last, first
    names = _campaign_names(request, session)
    if campaign and campaign not in names:
        raise HTTPException(status_code=400, detail=f"campaign: one of {', '.join(names)}")
    since = datetime.combine(first, time(), zone) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    fmt = Formats(staff.language, zone)
    breakdowns = []
    every = ledger.shares_by_all(session, now, since, until, campaign or None, with_reach=True)
    for dimension in DIMENSIONS:
        shares = every[dimension]
        breakdowns.append(
            Breakdown(dimension, shares, _chart(shares, dimension, staff.language, fmt))
        )
    never = ledger.never_featured(session, campaign or None, now=now)
    longest = ledger.fairness_gap(session, now, campaign or None, LONGEST)
    return render(
        request,
        staff,
        "console/fairness.html.j2",
        breakdowns=breakdowns,
        features=sum(s.features for s in breakdowns[0].shares),
        reached=sum(s.reach.total for s in breakdowns[0].shares if s.reach),
        unread=sum(s.reach.unread for s in breakdowns[0].shares if s.reach),
        first=first,
        last=last,
        campaign=campaign,
        campaigns=names,
        never=never[:LISTED],
        never_count=len(never),
        longest=longest,
        swapped=swapped,
        # the same period and campaign for the ledger's CSV (pages/exports.py)
        export_query="?" + urlencode(chosen) if (chosen := _query(first, last, campaign)) else "",
    )


def _query(first: date | None, last: date | None, campaign: str) -> dict[str, str]:
    given = {"from": first and first.isoformat(), "to": last and last.isoformat()}
    return {k: v for k, v in {**given, "campaign": campaign}.items() if v}
