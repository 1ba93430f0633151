"""Members: search and filter the registry's members (province, category, actor type, consent,
eligibility and why, never featured), one member's page (profile as IFN holds it, media with
refusal reasons, consent, the whole history, pins and exclusions), and the editor's pin, unpin,
exclude and include, which call the planner's `pins` as the CLI does.

The list filters in SQL (10,000 members stay cheap): eligibility through
`eligibility.refusal_clause`, the planner's rule as SQL; the page's 50 rows then show each
reason through the planner's own `load_candidates` and `Candidate.refusal`.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.console.i18n import translations
from ifn_campaign.console.web import DB, EditorAct, Staff, Viewer, done, render, state
from ifn_campaign.errors import IFNError, InvalidValueError
from ifn_campaign.insights.figures import main_figures
from ifn_campaign.insights.lateness import age_label
from ifn_campaign.members import feedback, links
from ifn_campaign.models import (
    Exclusion,
    Feature,
    MediaAsset,
    Member,
    MemberLink,
    MemberMedia,
    MemberWithdrawal,
    Pin,
    QuarantinedRecord,
    StaffRole,
)
from ifn_campaign.planner import pins
from ifn_campaign.planner.campaign import Campaign, load_campaigns
from ifn_campaign.planner.eligibility import REFUSALS, Candidate, load_candidates, refusal_clause
from ifn_campaign.posts.ledger import member_history
from ifn_campaign.registry.consent import (
    ConsentState,
    allowed_fields,
    consent_at,
    in_force_clause,
    not_yet_clause,
)
from ifn_campaign.registry.media import store_path
from ifn_campaign.registry.record import stored_list, stored_map, vocabulary
from ifn_campaign.store import json_list_has, like_pattern

__all__ = ["PAGE_SIZE", "Filters", "router"]

router = APIRouter()

PAGE_SIZE = 50
CHANNELS = tuple(c.value for c in Channel)
# a channel's name: consent in force for it; or the consent's state
CONSENT_FILTERS = (*CHANNELS, "withdrawn", "not_granted", "not_yet")
# personal data a member shares only field by field (consent_fields_allowed), as captions
# (ifn_campaign/captions/context.py) gate it
PERSONAL = ("owner_name", "phone", "whatsapp", "email", "owner_photo")


@dataclass(frozen=True)
class Filters:
    """The list's query string: what to search and filter by, and the page."""

    q: str = ""
    province: str = ""
    category: str = ""
    actor_type: str = ""
    consent: str = ""
    channel: str = ""
    eligible: str = ""  # "yes", "no" or "" (either)
    why: str = ""  # one of REFUSALS: not eligible for that reason (the first that applies)
    excluded: str = ""  # "yes", "no" or ""
    never: str = ""  # "1": never featured
    page: int = 1

    def check(self) -> None:
        """A value no form offers is refused (400), never silently ignored."""
        closed = {
            "consent": CONSENT_FILTERS,
            "channel": CHANNELS,
            "eligible": ("yes", "no"),
            "why": REFUSALS,
            "excluded": ("yes", "no"),
            "never": ("1",),
        }
        for name, allowed in closed.items():
            value = getattr(self, name)
            if value and value not in allowed:
                raise HTTPException(status_code=400, detail=f"{name}: one of {', '.join(allowed)}")
        if self.page < 1:
            raise HTTPException(status_code=400, detail="page: 1 or more")

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "page")

    def clauses(self, now: datetime) -> list[ColumnElement[bool]]:
        """The filters as SQL conditions on `Member`."""
        where: list[ColumnElement[bool]] = []
        if self.q.strip():
            pattern = f"%{like_pattern(self.q.strip().lower())}%"
            where.append(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (Member.business_name, Member.id, Member.city)
                    )
                )
            )
        if self.province:
            where.append(Member.province == self.province)
        if self.category:
            where.append(json_list_has(Member.categories, self.category))
        if self.actor_type:
            where.append(json_list_has(Member.actor_types, self.actor_type))
        if self.consent in CHANNELS:
            where.append(
                and_(in_force_clause(now), json_list_has(Member.consent_channels, self.consent))
            )
        elif self.consent == "withdrawn":
            where.append(Member.consent_withdrawn_at.is_not(None))  # type: ignore[union-attr]
        elif self.consent == "not_granted":
            where.append(
                and_(
                    Member.consent_withdrawn_at.is_(None),  # type: ignore[union-attr]
                    Member.consent_granted_at.is_(None),  # type: ignore[union-attr]
                )
            )
        elif self.consent == "not_yet":
            where.append(not_yet_clause(now))
        channel = self.channel or None
        if self.why:
            where.append(refusal_clause(self.why, channel, now))
        elif self.eligible == "yes":
            where.append(refusal_clause(None, channel, now))
        elif self.eligible == "no":
            where.append(~refusal_clause(None, channel, now))
        if self.excluded:
            held = exists(
                select(Exclusion.id).where(Exclusion.member_id == Member.id, _exclusion_on(now))
            )
            where.append(held if self.excluded == "yes" else ~held)
        if self.never:
            where.append(~exists(select(Feature.id).where(Feature.member_id == Member.id)))
        return where

    def url(self, **changes: Any) -> str:
        """This list's address with `changes` (another page: page=N), empty values left out."""
        chosen = replace(self, **changes)
        query = {
            f.name: getattr(chosen, f.name)
            for f in fields(chosen)
            if getattr(chosen, f.name) and not (f.name == "page" and chosen.page == 1)
        }
        return "/members" + (f"?{urlencode(query)}" if query else "")


def _exclusion_on(now: datetime) -> ColumnElement[bool]:
    """An exclusion in force at `now`: not lifted, and not ended."""
    return and_(
        Exclusion.lifted_at.is_(None),  # type: ignore[union-attr]
        or_(Exclusion.until.is_(None), Exclusion.until > now),  # type: ignore[union-attr,operator]
    )


@dataclass(frozen=True)
class Eligibility:
    """A member on one channel: may be featured (`refusal` None), or why not, in the staff
    member's language (the planner's words)."""

    channel: str
    refusal: str | None


@dataclass(frozen=True)
class Row:
    """One member of the list."""

    member: Any  # the row's columns, read by name
    consent: ConsentState
    eligibility: tuple[Eligibility, ...]
    exclusions: tuple[Exclusion, ...]
    features: int
    last_featured_at: datetime | None


def _eligibility(candidate: Candidate | None, language: str) -> tuple[Eligibility, ...]:
    if candidate is None:
        return ()
    index = 0 if language == "id" else 1
    return tuple(
        Eligibility(channel, None if (why := candidate.refusal(channel)) is None else why[index])
        for channel in CHANNELS
    )


def _labels(kind: str, language: str) -> dict[str, str]:
    """Vocabulary values and their names in `language` ('categories', 'actor_types')."""
    return {value: names.get(language, value) for value, names in vocabulary()[kind].items()}


def _provinces(session: Session) -> list[str]:
    found = session.scalars(
        select(Member.province).where(Member.province.is_not(None)).distinct()  # type: ignore[union-attr]
    )
    return sorted(p for p in found if p)


@router.get("/members")
def members(
    request: Request,
    staff: Viewer,
    session: DB,
    q: str = "",
    province: str = "",
    category: str = "",
    actor_type: str = "",
    consent: str = "",
    channel: str = "",
    eligible: str = "",
    why: str = "",
    excluded: str = "",
    never: str = "",
    page: int = 1,
) -> Response:
    chosen = Filters(
        q, province, category, actor_type, consent, channel, eligible, why, excluded, never, page
    )
    chosen.check()
    now = state(request).clock()
    where = chosen.clauses(now)
    total = session.scalar(select(func.count()).select_from(Member)) or 0
    matching = (
        session.scalar(select(func.count()).select_from(Member).where(*where)) if where else total
    ) or 0
    pages = max(math.ceil(matching / PAGE_SIZE), 1)
    current = min(chosen.page, pages)
    found = session.execute(
        select(
            Member.id,
            Member.business_name,
            Member.city,
            Member.province,
            Member.categories,
            Member.actor_types,
            Member.status,
            Member.consent_channels,
            Member.consent_granted_at,
            Member.consent_withdrawn_at,
        )
        .where(*where)
        .order_by(Member.id)
        .offset((current - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    ids = [m.id for m in found]
    candidates = {c.id: c for c in load_candidates(session, ids, now)} if ids else {}
    held: dict[str, list[Exclusion]] = {}
    featured: dict[str, tuple[int, datetime | None]] = {}
    if ids:
        for row in session.scalars(
            select(Exclusion)
            .where(Exclusion.member_id.in_(ids), _exclusion_on(now))  # type: ignore[attr-defined]
            .order_by(Exclusion.created_at)
        ):
            held.setdefault(row.member_id, []).append(row)
        for member_id, count, last in session.execute(
            select(Feature.member_id, func.count(), func.max(Feature.featured_at))
            .where(Feature.member_id.in_(ids))  # type: ignore[attr-defined]
            .group_by(Feature.member_id)
        ):
            featured[member_id] = (count, last)
    rows = [
        Row(
            member=m,
            consent=consent_at(m, now),
            eligibility=_eligibility(candidates.get(m.id), staff.language),
            exclusions=tuple(held.get(m.id, ())),
            features=featured.get(m.id, (0, None))[0],
            last_featured_at=featured.get(m.id, (0, None))[1],
        )
        for m in found
    ]
    return render(
        request,
        staff,
        "console/members.html.j2",
        filters=chosen,
        rows=rows,
        total=total,
        matching=matching,
        page=current,
        page_count=pages,
        first=(current - 1) * PAGE_SIZE + 1 if rows else 0,
        last=(current - 1) * PAGE_SIZE + len(rows),
        provinces=_provinces(session),
        categories=_labels("categories", staff.language),
        actor_types=_labels("actor_types", staff.language),
        channels=CHANNELS,
        refusals=REFUSALS,
        unreported=_unreported(session) if staff.can(StaffRole.APPROVER) else None,
    )


def _unreported(session: Session) -> tuple[int, int]:
    """Withdrawals on the member page not yet reported to the registry: how many, and the
    newest one's id (what the "mark as reported" form marks up to)."""
    count, newest = session.execute(
        select(func.count(), func.max(MemberWithdrawal.id)).where(
            MemberWithdrawal.reported_at.is_(None)  # type: ignore[union-attr]
        )
    ).one()
    return int(count or 0), int(newest or 0)


# -- one member ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileField:
    """A profile field as IFN holds it; `personal` ones are public only if the member allowed
    them (`allowed`)."""

    name: str
    value: Any
    personal: bool = False
    allowed: bool = False


def _profile(member: Member, language: str) -> list[ProfileField]:
    """The profile's fields; actor types, categories and materials by their names in the staff
    member's language (as on the members list), not the registry's codes."""
    allowed = allowed_fields(member)
    contact = stored_map(member.contact)  # a hand-edited row may hold anything (stored_map)

    def named(kind: str, values: Any) -> str:
        names = _labels(kind, language)
        return ", ".join(names.get(str(v), str(v)) for v in stored_list(values))

    def personal(name: str, value: Any) -> ProfileField:
        return ProfileField(name, value, personal=True, allowed=name in allowed)

    socials = _labels("socials", language)  # "instagram" -> "Instagram", "marketplaces" -> ...

    return [
        ProfileField("business_name", member.business_name),
        ProfileField("status", member.status),
        ProfileField("actor_types", named("actor_types", member.actor_types)),
        ProfileField("categories", named("categories", member.categories)),
        ProfileField("materials", named("materials", member.materials)),
        ProfileField("sentra", member.sentra),
        ProfileField("city", member.city),
        ProfileField("province", member.province),
        ProfileField("description_id", member.description_id),
        ProfileField("description_en", member.description_en),
        ProfileField("year_founded", member.year_founded),
        ProfileField("employees", member.employees),
        ProfileField("capacity_pairs_per_month", member.capacity_pairs_per_month),
        ProfileField("export_markets", ", ".join(map(str, stored_list(member.export_markets)))),
        ProfileField(
            "certifications",
            "; ".join(
                " ".join(str(v) for v in (c.get("scheme"), c.get("number")) if v)
                for c in stored_list(member.certifications)
                if isinstance(c, dict)
            ),
        ),
        ProfileField("website", contact.get("website")),
        ProfileField(
            "socials",
            "; ".join(
                f"{socials.get(key, key)}: "
                f"{', '.join(map(str, value)) if isinstance(value, list) else value}"
                for key, value in sorted(stored_map(member.socials).items())
                if value
            ),
        ),
        personal("owner_name", member.owner_name),
        personal("phone", contact.get("phone")),
        personal("whatsapp", contact.get("whatsapp")),
        personal("email", contact.get("email")),
    ]


def _campaigns(request: Request) -> tuple[dict[str, Campaign], str | None]:
    """The campaigns on file, or why they cannot be read (said beside the pin form)."""
    cfg = state(request).settings
    try:
        return load_campaigns(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir), None
    except IFNError as exc:
        return {}, str(exc)


def _member_or_404(session: Session, member_id: str) -> Member:
    found = session.get(Member, member_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no member {member_id!r} stored")
    return found


@router.get("/members/{member_id}")
def member(request: Request, staff: Viewer, session: DB, member_id: str) -> Response:
    m = _member_or_404(session, member_id)
    now = state(request).clock()
    candidate = next(iter(load_candidates(session, [m.id], now)), None)
    media = session.execute(
        select(MemberMedia, MediaAsset)
        .outerjoin(MediaAsset, MediaAsset.sha256 == MemberMedia.asset_sha256)
        .where(MemberMedia.member_id == m.id)
        .order_by(MemberMedia.role, MemberMedia.position)
    ).all()
    exclusions = session.scalars(
        select(Exclusion)
        .where(Exclusion.member_id == m.id)
        .order_by(Exclusion.created_at.desc(), Exclusion.id.desc())  # type: ignore[attr-defined,union-attr]
    ).all()
    in_force = {
        row.id
        for row in exclusions
        if row.lifted_at is None and (row.until is None or row.until > now)
    }
    pinned = session.scalars(
        select(Pin).where(Pin.member_id == m.id).order_by(Pin.slot_at, Pin.id)
    ).all()
    quarantined = session.scalars(
        select(QuarantinedRecord).where(
            QuarantinedRecord.member_id == m.id,
            QuarantinedRecord.resolved_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    campaigns, campaigns_error = _campaigns(request)
    live_links = session.scalar(
        select(func.count())
        .select_from(MemberLink)
        .where(
            MemberLink.member_id == m.id,
            MemberLink.revoked_at.is_(None),  # type: ignore[union-attr]
            MemberLink.expires_at > now,  # type: ignore[operator]
        )
    )
    return render(
        request,
        staff,
        "console/member.html.j2",
        member=m,
        answers=feedback.member_answers(session, m.id),
        notices=feedback.member_notices(session, m.id),
        contacts=feedback.member_contacts(session, m.id),
        page_withdrawals=session.scalars(
            select(MemberWithdrawal)
            .where(MemberWithdrawal.member_id == m.id)
            .order_by(MemberWithdrawal.at.desc())  # type: ignore[attr-defined]
        ).all(),
        live_links=live_links or 0,
        profile=_profile(m, staff.language),
        consent=consent_at(m, now),
        eligibility=_eligibility(candidate, staff.language),
        media=media,
        history=member_history(session, m.id),
        main_figures=main_figures,  # each feature's channel's figures besides reach
        insights=state(request).settings.insights,  # which readings were late (`late_by`)
        age_label=age_label,
        exclusions=exclusions,
        in_force=in_force,
        pins=pinned,
        quarantined=quarantined,
        campaigns=sorted(campaigns),
        campaigns_error=campaigns_error,
        channels=CHANNELS,
        english=staff.language == "en",
        zone=state(request).zone,
    )


# -- a member's stored photo or logo ------------------------------------------------------------

SHA256 = re.compile(r"[0-9a-f]{64}")
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


@router.get("/member-media/{sha256}")
def member_media(request: Request, staff: Viewer, session: DB, sha256: str) -> Response:
    """A stored logo or photo, found only by its content hash: the file is where the media
    store puts that hash (`store_path` under `media.dir`), never a path from the URL or the
    database, and never outside that folder (a symbolic link out of it is 404 too)."""
    if not SHA256.fullmatch(sha256):
        raise HTTPException(status_code=404)
    asset = session.get(MediaAsset, sha256)
    if asset is None or asset.mime_type not in SUFFIXES:
        raise HTTPException(status_code=404)
    folder = Path(os.path.realpath(state(request).settings.media.dir))
    path = Path(os.path.realpath(store_path(folder, sha256, SUFFIXES[asset.mime_type])))
    if not path.is_relative_to(folder) or not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(
        path,
        media_type=asset.mime_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


# -- actions (editors) --------------------------------------------------------------------------


def _gettext(staff: Staff) -> Any:
    return translations(staff.language).gettext


def _campaign(request: Request, name: str) -> Campaign:
    campaigns, error = _campaigns(request)
    if error is not None:
        raise InvalidValueError(error)
    if name not in campaigns:
        raise InvalidValueError(f"no campaign {name!r} on file")
    return campaigns[name]


def _channel(name: str) -> Channel:
    if name not in CHANNELS:
        raise InvalidValueError(f"channel {name!r}: one of {', '.join(CHANNELS)}")
    return Channel(name)


def _local(typed: str) -> datetime:
    """A slot's local time as the form sends it ('YYYY-MM-DDTHH:MM' or with a space)."""
    try:
        return datetime.strptime(typed.strip().replace("T", " "), "%Y-%m-%d %H:%M")
    except ValueError:
        raise InvalidValueError(
            f"{typed!r}: write the slot as 'YYYY-MM-DD HH:MM' (the campaign's time)"
        ) from None


def _day(typed: str, request: Request) -> datetime:
    """'Until' a date: its first moment in the display zone, as `ifn-campaign exclude --until`."""
    try:
        day = date.fromisoformat(typed.strip())
    except ValueError:
        raise InvalidValueError(f"{typed!r}: write a date as YYYY-MM-DD") from None
    if not pins.FIRST_DAY <= day <= pins.LAST_DAY:
        raise InvalidValueError(
            f"{typed!r}: give a date between {pins.FIRST_DAY} and {pins.LAST_DAY}"
        )
    return datetime.combine(day, time(), state(request).zone)


def _back(member_id: str) -> str:
    return f"/members/{quote(member_id, safe='')}"


@router.post("/members/{member_id}/pin")
async def pin(request: Request, act: EditorAct, session: DB, member_id: str) -> Response:
    _ = _gettext(act.staff)
    back = _back(member_id)
    try:
        campaign = _campaign(request, act.text("campaign"))
        channel = _channel(act.text("channel"))
        account = act.text("account").strip() or "bpipi"
        local = _local(act.text("at"))
        pins.pin(
            session,
            campaign,
            channel,
            account,
            local,
            member_id,
            note=act.text("note").strip() or None,
            now=state(request).clock(),
        )
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, back, ("error", str(exc)))
    return done(
        request,
        back,
        (
            "ok",
            _("Pinned to %(campaign)s %(channel)s/%(account)s at %(at)s; the next plan applies it.")
            % {
                "campaign": campaign.name,
                "channel": channel.value,
                "account": account,
                "at": f"{local:%Y-%m-%d %H:%M}",
            },
        ),
    )


@router.post("/members/{member_id}/unpin")
async def unpin(request: Request, act: EditorAct, session: DB, member_id: str) -> Response:
    _ = _gettext(act.staff)
    back = _back(member_id)
    try:
        chosen = act.ints("pin")
        found = session.get(Pin, chosen[0]) if chosen else None
        if found is None or found.member_id != member_id:
            raise InvalidValueError(_("That pin is gone: reload the page."))
        campaign = _campaign(request, found.campaign)
        pins.unpin(session, campaign, Channel(found.channel), found.account, found.slot_at)
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, back, ("error", str(exc)))
    return done(
        request, back, ("ok", _("Pin removed; the planned post stays until the next plan."))
    )


@router.post("/members/{member_id}/exclude")
async def exclude(request: Request, act: EditorAct, session: DB, member_id: str) -> Response:
    _ = _gettext(act.staff)
    back = _back(member_id)
    try:
        reason = act.text("reason").strip()
        if not reason:
            raise InvalidValueError(_("Give a reason (staff read it in the planner's posts)."))
        name = act.text("campaign").strip() or None
        if name is not None:
            _campaign(request, name)
        typed = act.text("until").strip()
        until = _day(typed, request) if typed else None
        pins.exclude(
            session,
            member_id,
            reason=reason,
            campaign=name,
            until=until,
            now=state(request).clock(),
        )
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, back, ("error", str(exc)))
    return done(request, back, ("ok", _("Excluded; the next plan replaces their planned posts.")))


@router.post("/members/{member_id}/include")
async def include(request: Request, act: EditorAct, session: DB, member_id: str) -> Response:
    _ = _gettext(act.staff)
    back = _back(member_id)
    try:
        lifted = pins.include(
            session,
            member_id,
            campaign=act.text("campaign").strip() or None,
            now=state(request).clock(),
        )
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, back, ("error", str(exc)))
    return done(request, back, ("ok", _("%(n)s exclusion(s) lifted.") % {"n": lifted}))


@router.post("/members/{member_id}/revoke-links")
async def revoke_links(request: Request, act: EditorAct, session: DB, member_id: str) -> Response:
    """End every live link to the member's page (one forwarded to the wrong person): their
    next notice brings a new one, and those not yet sent are made again with one."""
    _ = _gettext(act.staff)
    _member_or_404(session, member_id)
    revoked = links.revoke_links(
        session, member_id, actor=act.staff.actor, now=state(request).clock()
    )
    session.commit()
    message = _(
        "Links to the member's page revoked: %(n)s. Notices not yet sent, to be made again "
        "with a new link: %(m)s."
    )
    return done(
        request, _back(member_id), ("ok", message % {"n": revoked.links, "m": revoked.notices})
    )
