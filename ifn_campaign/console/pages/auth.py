"""Signing in and out, and each user's own settings (language)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from ifn_campaign.console.i18n import LANGUAGES
from ifn_campaign.console.login_limit import Limit, blocked_until, forget, record_failure
from ifn_campaign.console.users import authenticate
from ifn_campaign.console.web import (
    DB,
    Viewer,
    ViewerAct,
    cookie,
    current_staff,
    done,
    password_work,
    refuse_nul,
    render,
    safe_next,
    state,
)
from ifn_campaign.models import StaffUser

router = APIRouter()


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if current_staff(request) is not None:
        return done(request, safe_next(next))
    return render(request, None, "console/login.html.j2", next=safe_next(next))


@router.post("/login")
async def login(request: Request, session: DB) -> Response:
    console = state(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    name = str(form.get("name") or "").strip().lower()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    token = form.get("csrf")
    if not console.signer.form_token_ok(cookie(request), token if isinstance(token, str) else None):
        raise HTTPException(status_code=403, detail="form token missing or wrong: reload")
    refuse_nul(form)
    address = request.client.host if request.client else "unknown"
    now = console.clock()
    limit = Limit.of(console.settings.console)
    tried = console.signer.digest(name)  # the name may be a password typed in the wrong field
    until = blocked_until(session, limit, tried, address, now)
    if until is not None:
        return render(
            request,
            None,
            "console/login.html.j2",
            status=429,
            next=target,
            name=name,
            blocked_until=until,
        )
    # counted before the password is checked and taken back if it is right: the check runs in
    # a thread, and of attempts sent at once each must see those before it (nothing awaited
    # from the limit's look to here)
    record_failure(session, limit, tried, address, now)
    session.commit()
    user = await password_work(request, authenticate, session, name, password)
    if user is None:
        return render(
            request, None, "console/login.html.j2", status=401, next=target, name=name, wrong=True
        )
    forget(session, tried)  # this attempt's row too
    session.commit()
    request.state.new_cookie = cookie(request).signed_in(user.id or 0, user.session_epoch)
    return done(request, target)


@router.post("/logout")
async def logout(request: Request, act: ViewerAct, session: DB) -> Response:
    """Signing out ends the login on the server too (the user's `session_epoch`), so a copy of
    the cookie (a shared computer, a stolen cookie) is worth nothing afterwards; the user's
    logins in other browsers end with it."""
    user = session.get(StaffUser, act.staff.id)
    if user is not None:
        user.session_epoch += 1
        session.commit()
    request.state.new_cookie = type(cookie(request)).anonymous()
    return done(request, "/login")


@router.get("/me")
def me(request: Request, staff: Viewer, session: DB) -> Response:
    user = session.get(StaffUser, staff.id)
    feed_active = user is not None and user.feed_token_sha256 is not None
    return render(
        request, staff, "console/me.html.j2", languages=LANGUAGES, feed_active=feed_active
    )


@router.post("/me/language")
async def language(request: Request, act: ViewerAct, session: DB) -> Response:
    chosen = act.text("language")
    if chosen not in LANGUAGES:
        raise HTTPException(status_code=400, detail=f"language: one of {', '.join(LANGUAGES)}")
    user = session.get(StaffUser, act.staff.id)
    if user is None:
        raise HTTPException(status_code=404)
    user.language = chosen
    session.commit()
    return done(request, safe_next(act.text("next"), "/me"))
