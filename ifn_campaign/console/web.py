"""What every console page shares: the app's state, the signed-in staff member, role and form
checks, rendering a template and redirecting with a message.

A page module (`ifn_campaign/console/pages/*.py`) holds an `APIRouter` whose routes take

    staff: Viewer                 # a page: the signed-in staff member, at least a viewer
    act: ApproverAct              # a form post: role checked, then the form token
    session: DB                   # a database session for the request

and answer with `render(request, staff, "console/<page>.html.j2", ...)` or `done(url, ...)`.
Expected failures of an action (`IFNError`) go back to the page as a message, the CLI's words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from anyio import CapacityLimiter, to_thread
from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ifn_campaign.config import Settings
from ifn_campaign.console.i18n import LANGUAGES, Formats
from ifn_campaign.console.sessions import Cookie, Signer
from ifn_campaign.console.users import allows
from ifn_campaign.models import StaffRole, StaffUser
from ifn_campaign.posts.lifecycle import staff_actor
from ifn_campaign.wiring import Resources

__all__ = [
    "DB",
    "MAX_ID",
    "Act",
    "Admin",
    "AdminAct",
    "Approver",
    "ApproverAct",
    "ConsoleState",
    "Editor",
    "EditorAct",
    "NotSignedIn",
    "PostId",
    "Staff",
    "Viewer",
    "ViewerAct",
    "action",
    "db",
    "done",
    "password_work",
    "refuse_nul",
    "render",
    "require",
    "state",
    "whole_number",
]

FLASH = "ifn_console_flash"
# The most a message cookie's value may take: browsers drop a cookie whose name and value pass
# 4096 bytes, and the message with it (RFC 6265 6.1), silently.
FLASH_BYTES = 3800
# Passwords checked at once: each check is argon2id over 64 MiB for about half a second of a
# core, so it runs beside the event loop (which keeps answering every other page meanwhile),
# and a burst of sign-ins waits its turn here instead of taking 64 MiB per thread of the pool.
PASSWORD_CHECKS = 2
# The largest id or version a form or path may name: PostgreSQL's integer columns hold no more,
# and a bigger number sent to it fails the query (SQLite's limit, 2**63 - 1, is higher).
MAX_ID = 2**31 - 1


def whole_number(value: object) -> int | None:
    """A form's or query's id, version or page: ASCII digits up to MAX_ID, else None
    (`str.isdigit` also takes '²' and '١', which `int` refuses or reads as another number)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def refuse_nul(form: FormData) -> None:
    """400 for a form field holding a NUL character: no text of ours has one, and PostgreSQL
    refuses it in any query (an error page, not a message, when it got that far)."""
    for name, value in form.multi_items():
        if isinstance(value, str) and "\x00" in value:
            raise HTTPException(status_code=400, detail=f"{name}: a NUL character")


@dataclass
class ConsoleState:
    """One per app: the wiring, the cookie signer, a template environment per language, the
    clock (the wall clock; tests and the demo give their own), and the turns at checking a
    password (PASSWORD_CHECKS)."""

    resources: Resources
    signer: Signer
    templates: dict[str, jinja2.Environment]
    clock: Callable[[], datetime]
    prefect_api: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    password_checks: CapacityLimiter = field(
        default_factory=lambda: CapacityLimiter(PASSWORD_CHECKS)
    )

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.planner.display_timezone)


def state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


T = TypeVar("T")


async def password_work(request: Request, work: Callable[..., T], *args: Any, **kw: Any) -> T:
    """`work(*args, **kw)`, which hashes or checks a password, in a thread and in its turn
    (PASSWORD_CHECKS): the event loop goes on answering everyone else meanwhile. The request's
    database session may go along: nothing else uses it until this returns."""
    limiter = state(request).password_checks
    return await to_thread.run_sync(partial(work, *args, **kw), limiter=limiter)


def db(request: Request) -> Iterator[Session]:
    """A database session for the request, closed after it."""
    with state(request).resources.session() as session:
        yield session


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a request."""

    id: int
    name: str
    role: str
    language: str

    @property
    def actor(self) -> str:
        """How the post event log names them: 'staff:<name>', as the CLI's --by."""
        return staff_actor(self.name)

    def can(self, role: StaffRole | str) -> bool:
        return allows(self.role, StaffRole(role))


class NotSignedIn(Exception):
    """No valid login: pages send the visitor to the login form, form posts are refused."""


def cookie(request: Request) -> Cookie:
    """The request's cookie (the app's middleware makes an anonymous one when there is none)."""
    return request.state.cookie  # type: ignore[no-any-return]


def current_staff(request: Request) -> Staff | None:
    """The user the cookie names, if still enabled and the login is not ended (password changed,
    disabled); looked up once per request."""
    if hasattr(request.state, "staff"):
        return request.state.staff  # type: ignore[no-any-return]
    found: Staff | None = None
    current = cookie(request)
    if current.user_id is not None:
        with state(request).resources.session() as session:
            user = session.get(StaffUser, current.user_id)
            if (
                user is not None
                and user.disabled_at is None
                and user.session_epoch == current.epoch
            ):
                language = user.language if user.language in LANGUAGES else LANGUAGES[0]
                found = Staff(id=user.id or 0, name=user.name, role=user.role, language=language)
    request.state.staff = found
    return found


def require(role: StaffRole) -> Callable[[Request], Staff]:
    """A dependency: the signed-in staff member, who must hold at least `role` (403 if not)."""

    def dependency(request: Request) -> Staff:
        staff = current_staff(request)
        if staff is None:
            raise NotSignedIn()
        if not staff.can(role):
            raise HTTPException(status_code=403, detail=f"role {role.value} needed")
        return staff

    dependency.role = role  # type: ignore[attr-defined]  # read by the route sweep tests
    return dependency


@dataclass(frozen=True)
class Act:
    """A form post that passed the role and form-token checks."""

    staff: Staff
    form: FormData

    def text(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else default

    def ints(self, name: str) -> list[int]:
        """Every value of a repeated field as post ids (a non-number, or one past MAX_ID, is
        refused)."""
        values: list[int] = []
        for value in self.form.getlist(name):
            number = whole_number(value)
            if number is None:
                raise HTTPException(status_code=400, detail=f"{name}: not a number")
            values.append(number)
        return values


def action(role: StaffRole) -> Callable[..., Any]:
    """A dependency for form posts: the role, then the form token of the session."""

    # a default, not an annotation: annotations are strings here (PEP 563), and FastAPI could
    # not resolve `role` from one
    signed_in = Depends(require(role))

    async def dependency(request: Request, staff: Staff = signed_in) -> Act:
        form = await request.form(max_files=0, max_fields=2000, max_part_size=256 * 1024)
        token = form.get("csrf")
        if not state(request).signer.form_token_ok(
            cookie(request), token if isinstance(token, str) else None
        ):
            raise HTTPException(status_code=403, detail="form token missing or wrong: reload")
        refuse_nul(form)
        return Act(staff=staff, form=form)

    dependency.role = role  # type: ignore[attr-defined]  # read by the route sweep tests
    dependency.form_token = True  # type: ignore[attr-defined]
    return dependency


def safe_next(target: str | None, fallback: str = "/") -> str:
    """A path on this console to go back to; anything else (another host, a scheme, '//x')
    is the fallback."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    return target


def render(
    request: Request,
    staff: Staff | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the staff member's language (the login page: the browser's choice, else
    Indonesian), with the form token and the messages left by the last action."""
    app = state(request)
    language = staff.language if staff else request.state.language
    env = app.templates[language]
    current = cookie(request)
    page = env.get_template(template).render(
        request=request,
        staff=staff,
        language=language,
        csrf=app.signer.form_token(current),
        flash=app.signer.load_flash(request.cookies.get(FLASH)),
        fmt=Formats(language, app.zone),
        now=app.clock(),
        path=request.url.path,
        settings=app.settings,
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    if request.cookies.get(FLASH):
        response.delete_cookie(FLASH, path="/")
    return response


def done(
    request: Request, url: str, *messages: tuple[str, str], status: int = 303
) -> RedirectResponse:
    """After an action: back to a page (always on this console), with messages shown once
    (kind 'ok' or 'error', text)."""
    response = RedirectResponse(safe_next(url), status_code=status)
    if messages:
        response.set_cookie(
            FLASH,
            _flash_value(state(request).signer, messages),
            max_age=60,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def _middle_cut(text: str, limit: int) -> str:
    """`text` in at most about `limit` characters: its start and its end (where a message says
    what to do about the value it quotes) with '…' between."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}…{text[-half:]}"


def _flash_value(signer: Signer, messages: tuple[tuple[str, str], ...]) -> str:
    """The signed messages in FLASH_BYTES: a message quoting a long value staff typed is cut in
    its middle until it fits (letters beyond ASCII take up to 8 bytes each once signed)."""
    limit = 2000
    while True:
        value = signer.dump_flash([(kind, _middle_cut(text, limit)) for kind, text in messages])
        if len(value) <= FLASH_BYTES or limit < 50:
            return value
        limit //= 2


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(safe_next(target), safe="")


# What a route takes (FastAPI dependencies as annotations):
#     def page(request: Request, staff: Viewer, session: DB) -> Response
#     async def approve(request: Request, act: ApproverAct, session: DB) -> Response
DB = Annotated[Session, Depends(db)]
Viewer = Annotated[Staff, Depends(require(StaffRole.VIEWER))]
Editor = Annotated[Staff, Depends(require(StaffRole.EDITOR))]
Approver = Annotated[Staff, Depends(require(StaffRole.APPROVER))]
Admin = Annotated[Staff, Depends(require(StaffRole.ADMIN))]
ViewerAct = Annotated[Act, Depends(action(StaffRole.VIEWER))]
EditorAct = Annotated[Act, Depends(action(StaffRole.EDITOR))]
ApproverAct = Annotated[Act, Depends(action(StaffRole.APPROVER))]
AdminAct = Annotated[Act, Depends(action(StaffRole.ADMIN))]
# A post's id in a route's path: one past MAX_ID is a 400, not a failed query.
PostId = Annotated[int, Path(ge=0, le=MAX_ID)]
