"""`console` serves the staff console; `users` manages who may sign in to it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import select

from ifn_campaign.cli.base import (
    OPERATIONS,
    SETUP,
    App,
    _state,
    app,
    err,
    one_of,
    out,
    resources,
    settings,
)
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.console import users as staff_users
from ifn_campaign.errors import FileAccessError, InvalidValueError
from ifn_campaign.models import StaffRole, StaffUser, utcnow

users_app = App(help="Who may sign in to the staff console, with which role.", no_args_is_help=True)
app.add_typer(users_app, name="users", rich_help_panel=SETUP)

ROLES = [role.value for role in StaffRole]
DEMO_DIR = Path("var/demo")


@app.command("console", rich_help_panel=OPERATIONS)
def console(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Listen here (default: console.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(metavar="PORT", min=1, max=65535, help="Port (default: console.port)."),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="On the demo's data (var/demo, after `make demo`).")
    ] = False,
) -> None:
    """The staff console in the browser.

    Review, calendar, members, fairness, failures and activity for campaign staff; sign in with
    a user from `ifn-campaign users add`. It listens on this machine only by default: put a TLS
    reverse proxy in front of it to reach it from elsewhere."""
    import uvicorn
    from prefect.settings import PREFECT_API_URL

    from ifn_campaign.console.app import create_app

    if demo:
        demo_settings = DEMO_DIR / "ifn-campaign.toml"
        if not demo_settings.is_file():
            raise FileAccessError(
                f"no demo data at {DEMO_DIR}: run `ifn-campaign demo` (or `make demo`) first"
            )
        _state.config, _state.settings = demo_settings.resolve(), None
    cfg = settings()
    host = host or cfg.console.host
    port = port or cfg.console.port
    application = create_app(resources(), prefect_api=PREFECT_API_URL.value() or None)
    shown_host = f"[{host}]" if ":" in host else host
    out.print(f"console on http://{shown_host}:{port}/ (Ctrl+C to stop)", soft_wrap=True)
    if not cfg.console.trusted_proxies and host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            "[yellow]warning:[/] listening beyond this machine without TLS: put the console "
            "behind a TLS reverse proxy (docs/console/behind-proxy.md)"
        )
    uvicorn.run(
        application,
        host=host,
        port=port,
        proxy_headers=False,  # the app believes forwarded headers from console.trusted_proxies only
        server_header=False,
        log_level="warning",
    )


def _password(name: str, file: Path | None) -> str:
    """From --password-file, else asked twice at a terminal, else one line of stdin."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FileAccessError(f"cannot read {file}: {exc}") from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    if sys.stdin.isatty():
        return str(typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line:
        raise InvalidValueError("no password given: type it, or give --password-file FILE")
    return line.rstrip("\r\n")


_PasswordFile = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="Read the password from this file (first line)."),
]
_Name = Annotated[str, typer.Argument(metavar="NAME", help="User name (lower case).")]


@users_app.command("add")
def users_add(
    name: _Name,
    role: Annotated[
        str,
        typer.Option(
            metavar="ROLE",
            help="viewer, editor, approver or admin: viewer reads; editor edits captions, "
            "moves, pins, excludes; approver also "
            "approves, rejects, cancels, re-authorises; admin manages users.",
            callback=one_of("role", ROLES),
        ),
    ],
    password_file: _PasswordFile = None,
    language: Annotated[
        str,
        typer.Option(
            metavar="id|en",
            help="The console's language.",
            callback=one_of("language", ("id", "en")),
        ),
    ] = "id",
) -> None:
    """Add a console user.

    The password is asked twice (or read from --password-file, or one line of stdin); only its
    argon2id hash is kept."""
    with resources().session() as session:
        staff_users.check_new_user(session, name, role)
        password = _password(name, password_file)
        staff_users.add_user(session, name, role, password, now=utcnow(), language=language)
        session.commit()
    out.print(f"user {escape(name)} added as {role}")


@users_app.command("passwd")
def users_passwd(name: _Name, password_file: _PasswordFile = None) -> None:
    """Set a user's password; their open logins and calendar feed end."""
    with resources().session() as session:
        staff_users.find_user(session, name)
        staff_users.set_password(session, name, _password(name, password_file), now=utcnow())
        session.commit()
    out.print(f"password of {escape(name)} changed; their open logins and calendar feed have ended")


@users_app.command("role")
def users_role(
    name: _Name,
    role: Annotated[
        str,
        typer.Option(
            metavar="ROLE",
            help="The new role: viewer, editor, approver or admin.",
            callback=one_of("role", ROLES),
        ),
    ],
) -> None:
    """Change a user's role, from their next page on; the last admin stays one."""
    with resources().session() as session:
        staff_users.set_role(session, name, role)
        session.commit()
    out.print(f"{escape(name)} is now {role}")


@users_app.command("disable")
def users_disable(name: _Name) -> None:
    """Stop a user from signing in; their open logins and calendar feed end."""
    with resources().session() as session:
        staff_users.disable_user(session, name, now=utcnow())
        session.commit()
    out.print(f"user {escape(name)} disabled; the activity log keeps their name")


@users_app.command("list")
def users_list() -> None:
    """Every console user, their role and whether they may sign in."""
    with resources().session() as session:
        rows = list(session.scalars(select(StaffUser).order_by(StaffUser.name)))
    if not rows:
        out.print("no console users: `ifn-campaign users add NAME --role admin`")
        return
    print_table(
        [Col("name", keep=True), Col("role", keep=True), Col("language", keep=True), Col("state")],
        [
            (
                escape(u.name),
                u.role,
                u.language,
                "disabled" if u.disabled_at else "active",
            )
            for u in rows
        ],
        title=f"{len(rows)} console user(s)",
    )
