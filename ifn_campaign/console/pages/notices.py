"""Member notices for staff who only use the browser: counts per state, the notices that wait
for staff (uncertain: did it arrive?; failed: why, try again), refused addresses and
unsubscribes, then the outbox filtered and paged, with why e-mail waits when it is not set up.

The page reads `notices.staff` (as `ifn-campaign notices list` does) and its two forms are
`notices.delivery.resolve` and `retry`, the functions of `notices resolve` and `notices retry`.
Each checks the notice's state as it changes it: a page read before someone else decided (or an
id that does not exist) gets a message saying so, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ifn_campaign.console.pages.today import translator
from ifn_campaign.console.web import (
    DB,
    MAX_ID,
    Act,
    ApproverAct,
    Viewer,
    done,
    render,
    state,
    whole_number,
)
from ifn_campaign.errors import TransitionError
from ifn_campaign.models import Notice, NoticeKind, NoticeMedium, NoticeState
from ifn_campaign.notices import delivery, staff

__all__ = ["NEEDS_STAFF_SHOWN", "PAGE_SIZE", "router"]

router = APIRouter()

PAGE_SIZE = 50
NEEDS_STAFF_SHOWN = 100  # the rest are in the list below, filtered by state
NoticeId = Annotated[int, Path(ge=0, le=MAX_ID)]
_CHOICES = {
    "state": [s.value for s in NoticeState],
    "kind": [k.value for k in NoticeKind],
    "medium": [m.value for m in NoticeMedium],
}


def _filters(values: dict[str, str], _: Callable[..., str]) -> tuple[staff.NoticeFilter, list[str]]:
    """The list's filter from the query, and what in it was not understood (left out, said)."""
    kept: dict[str, str | None] = {}
    refused: list[str] = []
    labels = {"state": _("State"), "kind": _("Kind"), "medium": _("Medium")}
    for name, allowed in _CHOICES.items():
        value = values.get(name, "").strip()
        if value and value not in allowed:
            refused.append(_("Unknown %(what)s: that filter was left out.", what=labels[name]))
            value = ""
        kept[name] = value or None
    member = values.get("member", "").strip()
    if len(member) > 64 or "\x00" in member:  # no member id is longer (models.Member.id)
        refused.append(_("A member id has at most 64 characters: that filter was left out."))
        member = ""
    return staff.NoticeFilter(member_id=member or None, **kept), refused


@router.get("/notices")
def notices(
    request: Request,
    viewer: Viewer,
    session: DB,
    page: str = "1",
) -> Response:
    console = state(request)
    _ = translator(viewer)
    shown, refused = _filters(dict(request.query_params), _)
    total = staff.recent_count(session, shown)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(whole_number(page) or 1, 1), pages)
    per_state = delivery.counts(session)
    needs = staff.needs_staff(session, limit=NEEDS_STAFF_SHOWN)
    query = {
        key: value
        for key, value in (
            ("state", shown.state),
            ("kind", shown.kind),
            ("medium", shown.medium),
            ("member", shown.member_id),
        )
        if value
    }
    back = urlencode({**query, "page": str(number)} if number > 1 else query)
    cfg = console.settings.notices
    return render(
        request,
        viewer,
        "console/notices.html.j2",
        per_state=per_state,
        total_notices=sum(per_state.values()),
        uncertain=[row for row in needs if row.notice.state == NoticeState.UNCERTAIN],
        failed=[row for row in needs if row.notice.state == NoticeState.FAILED],
        needs_more=sum(per_state.get(s, 0) for s in staff.NEEDS_STAFF) - len(needs),
        contacts=staff.contacts_of_note(session),
        rows=staff.recent(session, shown, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE),
        filters=shown,
        refused_filters=refused,
        choices=_CHOICES,
        total=total,
        page=number,
        pages=pages,
        query=urlencode(query),
        back=back,
        email_off=not cfg.smtp_host,
        notices_off=not cfg.enabled,
        apprise_waits=not cfg.apprise_url_secret
        and NoticeMedium.APPRISE.value in staff.pending_media(session),
        imap_set=bool(cfg.imap_host),
        state_names=state_names(_),
    )


def _back(act: Act, anchor: str) -> str:
    """The list as the form's page showed it (its filter and page), at `anchor`."""
    query = act.text("back")
    return f"/notices?{query}{anchor}" if query and query.isascii() else f"/notices{anchor}"


def state_names(_: Callable[..., str]) -> dict[str, str]:
    """A notice's states as staff read them (the page's chips and its messages)."""
    return {
        NoticeState.PENDING: _("waiting to be sent"),
        NoticeState.SENDING: _("sending"),
        NoticeState.SENT: _("sent"),
        NoticeState.FAILED: _("failed"),
        NoticeState.UNCERTAIN: _("uncertain"),
        NoticeState.DROPPED: _("not sent"),
    }


def _stale(session: Session, notice_id: int, expected: str, _: Callable[..., str]) -> str:
    """Why a decision changed nothing, in the staff member's language."""
    session.rollback()
    notice = session.get(Notice, notice_id)
    if notice is None:
        return _("There is no notice %(id)s: nothing changed.", id=notice_id)
    names = state_names(_)
    return _(
        "Notice %(id)s is %(state)s now, not %(expected)s (someone decided first, or the "
        "page is old): nothing changed. Look at it again below.",
        id=notice_id,
        state=names.get(notice.state, notice.state),
        expected=names.get(expected, expected),
    )


@router.post("/notices/{notice_id}/resolve")
def resolve(request: Request, notice_id: NoticeId, act: ApproverAct, session: DB) -> Response:
    """`notices resolve ID --sent | --not-sent`: an uncertain notice arrived, or goes again
    (with the same Message-ID, so a member's mail program shows it once at most)."""
    console = state(request)
    _ = translator(act.staff)
    outcome = act.text("outcome")
    if outcome not in (
        "sent",
        "not-sent",
    ):  # the page sends one of the two; anything else is forged
        raise HTTPException(status_code=400, detail="outcome: sent or not-sent")
    sent = outcome == "sent"
    try:
        delivery.resolve(session, notice_id, sent=sent, now=console.clock())
    except TransitionError:
        message = _stale(session, notice_id, NoticeState.UNCERTAIN.value, _)
        return done(request, _back(act, "#needs-staff"), ("error", message))
    return done(
        request,
        _back(act, "#needs-staff"),
        (
            "ok",
            _("Notice %(id)s marked sent.", id=notice_id)
            if sent
            else _(
                "Notice %(id)s goes again at the next send, with the same Message-ID.",
                id=notice_id,
            ),
        ),
    )


@router.post("/notices/{notice_id}/retry")
def retry(request: Request, notice_id: NoticeId, act: ApproverAct, session: DB) -> Response:
    """`notices retry ID`: a failed notice goes again at the next send, its tries from zero;
    a refusal of the same address is lifted (staff say it is worth trying)."""
    console = state(request)
    _ = translator(act.staff)
    try:
        notice, lifted = delivery.retry(session, notice_id, now=console.clock())
    except TransitionError:
        message = _stale(session, notice_id, NoticeState.FAILED.value, _)
        return done(request, _back(act, "#needs-staff"), ("error", message))
    messages = [("ok", _("Notice %(id)s goes again at the next send.", id=notice_id))]
    if lifted:
        messages.append(
            (
                "ok",
                _(
                    "The refusal of %(member)s's address is lifted: it is tried again.",
                    member=notice.member_id,
                ),
            )
        )
    return done(request, _back(act, "#needs-staff"), *messages)
