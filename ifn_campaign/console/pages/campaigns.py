"""Campaigns: each campaign file as the planner reads it (a broken one with its problems, never
an error page), its next slots, what each account's own reach says about its slots (slot
advice), and a dry run of its plan that writes nothing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from ifn_campaign.console.web import Viewer, render, state
from ifn_campaign.errors import IFNError
from ifn_campaign.insights.slot_advice import (
    REPLACE_MARGIN,
    Advice,
    History,
    account_history,
    advise,
    weekly_slots,
)
from ifn_campaign.orchestration.stages import plan_stage
from ifn_campaign.planner.campaign import (
    Campaign,
    CampaignFile,
    campaign_paths,
    load_campaign,
    read_campaign_files,
)
from ifn_campaign.planner.slots import next_slots

router = APIRouter()

NEXT_SLOTS = 10
MAX_FILE_SHOWN = 64 * 1024  # characters of a campaign file shown as written
# a Monday and the six days after it: weekday numbers (0 = Monday) as dates, so the template
# names them in the staff member's language
WEEK = tuple(date(2024, 1, 1) + timedelta(days=i) for i in range(7))


def _text(file: CampaignFile) -> str | None:
    """The file as written, for staff to find a problem's key; None when it cannot be read."""
    try:
        with file.path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_FILE_SHOWN)
    except OSError:
        return None


@router.get("/campaigns")
def campaigns(request: Request, staff: Viewer) -> Response:
    console = state(request)
    cfg = console.settings
    now = console.clock()
    try:
        files = read_campaign_files(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
        folder_error = None
    except IFNError as exc:  # the campaigns folder itself is missing
        files, folder_error = [], str(exc)
    shown = [
        (
            file,
            next_slots(file.campaign, now, NEXT_SLOTS) if file.campaign else None,
            _text(file),
        )
        for file in files
    ]
    advice = _advice([f.campaign for f in files if f.campaign], request, now)
    return render(
        request,
        staff,
        "console/campaigns.html.j2",
        files=shown,
        folder=cfg.planner.campaigns_dir,
        folder_error=folder_error,
        week=WEEK,
        next_count=NEXT_SLOTS,
        advice=advice,
        advice_weeks=cfg.insights.advice_weeks,
        advice_min_posts=cfg.insights.advice_min_posts,
        replace_margin=REPLACE_MARGIN,
    )


def _advice(
    campaigns: list[Campaign], request: Request, now: datetime
) -> dict[tuple[str, str, str], Advice]:
    """Slot advice per campaign, channel and account (`ifn-campaign slots advise`): each
    account's history read once however many campaigns post there."""
    console = state(request)
    insights = console.settings.insights
    history: dict[tuple[str, str], History] = {}
    found = {}
    with console.resources.session() as session:
        for campaign in campaigns:
            for plan in campaign.channels:
                key = (plan.channel.value, plan.account)
                if key not in history:
                    history[key] = account_history(session, *key, now, insights)
                h = history[key]
                found[(campaign.name, *key)] = advise(
                    h.posts,
                    weekly_slots(plan),
                    campaign.zone,
                    insights.advice_min_posts,
                    mark=h.mark,
                    left_out=h.left_out,
                    late=h.late,
                )
    return found


@router.get("/campaigns/{name}/dry-run")
def dry_run(
    request: Request,
    staff: Viewer,
    name: str,
    weeks: Annotated[int, Query(ge=1, le=12)] = 4,
) -> Response:
    """The plan `ifn-campaign plan --dry-run --campaign NAME` prints: made in a transaction that
    is rolled back, so nothing is saved."""
    console = state(request)
    cfg = console.settings
    try:
        known = campaign_paths(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    except IFNError:
        known = {}
    if name not in known:
        raise HTTPException(status_code=404, detail=f"no campaign {name!r}")
    result = error = None
    now = console.clock()
    try:
        # a campaign that starts later is tried from its first day, as it will be planned
        opening = datetime.combine(load_campaign(known[name]).start, time(), console.zone)
        start = opening if opening > now else None
        summary = plan_stage(
            console.resources,
            weeks=weeks,
            start=start,
            campaigns=[name],
            dry_run=True,
            now=now,
        )
    except IFNError as exc:  # a broken file, the database: said on the page
        error = str(exc)
    else:
        if summary.results:
            result = summary.results[0]
        error = "; ".join(why for _, why in summary.failed) or None
    return render(
        request,
        staff,
        "console/campaign_dry_run.html.j2",
        name=name,
        weeks=weeks,
        result=result,
        last_day=result.end - timedelta(seconds=1) if result else None,  # the end is excluded
        error=error,
        english=staff.language == "en",
    )
