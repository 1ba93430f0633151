"""Users (admins only): who may sign in and with which role; add a user, change a role, set a
new password, disable. The same functions as `ifn-campaign users ...`
(ifn_campaign/console/users.py), so the rules are the same: nobody disables themselves, and
the last admin stays one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from ifn_campaign.console import users
from ifn_campaign.console.i18n import LANGUAGES, translations
from ifn_campaign.console.web import DB, Admin, AdminAct, done, password_work, render, state
from ifn_campaign.errors import IFNError, InvalidValueError
from ifn_campaign.models import StaffUser

router = APIRouter()

PAGE = "/users"


@router.get("/users")
def users_page(request: Request, staff: Admin, session: DB) -> Response:
    rows = list(session.scalars(select(StaffUser).order_by(StaffUser.name)))
    return render(
        request,
        staff,
        "console/users.html.j2",
        users=rows,
        roles=[role.value for role in users.ROLES],
        languages=LANGUAGES,
        min_password=users.MIN_PASSWORD,
    )


@router.post("/users/add")
async def add(request: Request, act: AdminAct, session: DB) -> Response:
    name = act.text("name").strip().lower()
    role = act.text("role")
    language = act.text("language", LANGUAGES[0])
    try:
        if language not in LANGUAGES:
            raise InvalidValueError(f"language: one of {', '.join(LANGUAGES)}")
        await password_work(
            request,
            users.add_user,
            session,
            name,
            role,
            act.text("password"),
            now=state(request).clock(),
            language=language,
        )
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, PAGE, ("error", str(exc)))
    _ = translations(act.staff.language).gettext
    return done(
        request, PAGE, ("ok", _("User %(name)s added as %(role)s.") % {"name": name, "role": role})
    )


@router.post("/users/{name}/role")
async def change_role(request: Request, name: str, act: AdminAct, session: DB) -> Response:
    role = act.text("role")
    try:
        users.set_role(session, name, role)
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, PAGE, ("error", str(exc)))
    _ = translations(act.staff.language).gettext
    return done(
        request, PAGE, ("ok", _("%(name)s is now %(role)s.") % {"name": name, "role": role})
    )


@router.post("/users/{name}/password")
async def reset_password(request: Request, name: str, act: AdminAct, session: DB) -> Response:
    try:
        await password_work(
            request,
            users.set_password,
            session,
            name,
            act.text("password"),
            now=state(request).clock(),
        )
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, PAGE, ("error", str(exc)))
    _ = translations(act.staff.language).gettext
    said = _("Password of %(name)s changed; their open logins and calendar feed have ended.") % {
        "name": name
    }
    return done(request, PAGE, ("ok", said))


@router.post("/users/{name}/disable")
async def disable(request: Request, name: str, act: AdminAct, session: DB) -> Response:
    try:
        users.disable_user(session, name, now=state(request).clock(), by=act.staff.name)
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, PAGE, ("error", str(exc)))
    _ = translations(act.staff.language).gettext
    said = _("User %(name)s disabled; the activity log keeps their name.") % {"name": name}
    return done(request, PAGE, ("ok", said))
