"""The users page (admins only): add a user, change a role, set a new password, disable; the
same rules as `ifn-campaign users`: nobody disables themselves, the last admin stays one, a new
password or a disabled user ends their open logins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from ifn_campaign.cli.app import main
from ifn_campaign.console import users
from ifn_campaign.errors import AccessDenied
from ifn_campaign.models import StaffUser, utcnow
from tests.support.console import PASSWORD, USERS, ConsoleWorld, form_token, sign_in

NEW_PASSWORD = "sandal-jepit-tasikmalaya"


def user(world: ConsoleWorld, name: str) -> StaffUser:
    with world.session() as session:
        found = session.scalars(select(StaffUser).where(StaffUser.name == name)).one()
        session.expunge(found)
        return found


def flash(world: ConsoleWorld, role: str = "admin") -> str:
    """The users page after an action: its messages."""
    page = world.client(role).get("/users").text
    return (
        page.split('<ul class="flash"', 1)[1].split("</ul>", 1)[0]
        if 'class="flash"' in page
        else ""
    )


def test_the_page_lists_every_user_for_admins_only(console: ConsoleWorld) -> None:
    page = console.client("admin").get("/users")
    assert page.status_code == 200
    for name in USERS.values():
        assert f"<bdi>{name}</bdi>" in page.text
    assert page.text.count('name="csrf"') >= 1 + 3 * len(USERS)  # add; role, password, disable
    for role in ("viewer", "editor", "approver"):
        assert console.client(role).get("/users").status_code == 403
    anonymous = console.anonymous().get("/users")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fusers"
    # no other role is even shown the way there
    assert 'href="/users"' not in console.client("approver").get("/me").text
    assert 'href="/users"' in console.client("admin").get("/me").text


def test_add_a_user_who_can_then_sign_in(console: ConsoleWorld) -> None:
    answer = console.post(
        "admin",
        "/users/add",
        {"name": "dewi", "role": "editor", "password": NEW_PASSWORD, "language": "en"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/users"
    assert "Pengguna dewi ditambahkan sebagai editor." in flash(
        console
    )  # (a message is shown once)
    added = user(console, "dewi")
    assert (added.role, added.language, added.disabled_at) == ("editor", "en", None)
    assert added.password_hash.startswith("$argon2id$")
    client = console.anonymous()
    assert sign_in(client, "dewi", NEW_PASSWORD).status_code == 303
    assert "Your settings" in client.get("/me").text


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"name": "Dewi Lestari", "role": "editor"}, "user name"),
        ({"name": "dewi", "role": "boss"}, "unknown role &#39;boss&#39;; valid: viewer"),
        ({"name": "dewi", "role": "editor", "password": "pendek"}, "too short"),
        ({"name": USERS["viewer"], "role": "editor"}, "exists already"),
        ({"name": "dewi", "role": "editor", "language": "fr"}, "language: one of id, en"),
    ],
)
def test_a_refused_user_is_said_and_not_added(
    console: ConsoleWorld, form: dict[str, str], said: str
) -> None:
    before = len(console_users(console))
    answer = console.post("admin", "/users/add", {"password": NEW_PASSWORD, **form})
    assert answer.status_code == 303
    assert said in flash(console)
    assert len(console_users(console)) == before


def console_users(world: ConsoleWorld) -> list[str]:
    with world.session() as session:
        return list(session.scalars(select(StaffUser.name)))


def test_change_a_role(console: ConsoleWorld) -> None:
    viewer = console.client("viewer")
    assert viewer.get("/users").status_code == 403
    answer = console.post("admin", f"/users/{USERS['viewer']}/role", {"role": "admin"})
    assert answer.status_code == 303
    assert user(console, USERS["viewer"]).role == "admin"
    assert viewer.get("/users").status_code == 200  # the new role from the next page on
    console.post("admin", f"/users/{USERS['viewer']}/role", {"role": "viewer"})
    assert viewer.get("/users").status_code == 403
    console.post("admin", f"/users/{USERS['viewer']}/role", {"role": "owner"})
    assert "unknown role" in flash(console)
    console.post("admin", "/users/nobody/role", {"role": "editor"})
    assert "no console user &#39;nobody&#39;" in flash(console)


def test_the_last_admin_stays_one(console: ConsoleWorld) -> None:
    admin = USERS["admin"]
    console.post("admin", f"/users/{admin}/role", {"role": "approver"})
    assert f"{admin} is the last admin: make another user admin" in flash(console)
    assert user(console, admin).role == "admin"
    console.post("admin", f"/users/{admin}/disable")
    assert "you cannot disable yourself" in flash(console)
    assert user(console, admin).disabled_at is None
    # with a second admin, the first may step down
    console.post("admin", f"/users/{USERS['approver']}/role", {"role": "admin"})
    console.post("admin", f"/users/{admin}/role", {"role": "approver"})
    assert user(console, admin).role == "approver"
    # and the CLI's way (no one asking) keeps the last admin too
    with console.session() as session:
        with pytest.raises(AccessDenied, match="is the last admin"):
            users.disable_user(session, USERS["approver"], now=utcnow())
        with pytest.raises(AccessDenied, match="is the last admin"):
            users.set_role(session, USERS["approver"], "viewer")


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(console: ConsoleWorld) -> None:
    editor = console.client("editor")
    assert editor.get("/me").status_code == 200
    answer = console.post("admin", f"/users/{USERS['editor']}/disable")
    assert answer.status_code == 303
    assert "dinonaktifkan" in flash(console)  # disabled (the admin reads Indonesian)
    assert user(console, USERS["editor"]).disabled_at is not None
    assert editor.get("/me").status_code == 303  # the open login has ended
    assert sign_in(console.anonymous(), USERS["editor"]).status_code == 401
    page = console.client("admin").get("/users").text
    assert f"/users/{USERS['editor']}/disable" not in page  # nothing more to do for them
    assert f"/users/{USERS['admin']}/disable" not in page  # nor for oneself


def test_a_new_password_ends_their_logins(console: ConsoleWorld) -> None:
    approver = console.client("approver")
    assert approver.get("/me").status_code == 200
    answer = console.post(
        "admin", f"/users/{USERS['approver']}/password", {"password": NEW_PASSWORD}
    )
    assert answer.status_code == 303
    assert "sesi masuk dan umpan kalendernya telah diakhiri" in flash(console)
    assert approver.get("/me").status_code == 303
    assert sign_in(console.anonymous(), USERS["approver"], PASSWORD).status_code == 401
    assert sign_in(console.anonymous(), USERS["approver"], NEW_PASSWORD).status_code == 303
    console.post("admin", f"/users/{USERS['approver']}/password", {"password": "short"})
    assert "too short" in flash(console)
    # the password is nowhere on the page
    assert NEW_PASSWORD not in console.client("admin").get("/users").text


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/users/add", {"name": "dewi", "role": "admin", "password": NEW_PASSWORD}),
        (f"/users/{USERS['viewer']}/role", {"role": "admin"}),
        (f"/users/{USERS['viewer']}/password", {"password": NEW_PASSWORD}),
        (f"/users/{USERS['viewer']}/disable", {}),
    ],
)
def test_every_action_needs_an_admin_and_the_form_token(
    console: ConsoleWorld, url: str, form: dict[str, str]
) -> None:
    before = user(console, USERS["viewer"])
    approver = console.post("approver", url, form)
    assert approver.status_code == 403
    admin = console.client("admin")
    assert admin.post(url, data=form).status_code == 403  # no form token
    other = form_token(console.client("editor").get("/me").text)  # another session's
    assert admin.post(url, data={**form, "csrf": other}).status_code == 403
    assert console.anonymous().post(url, data=form).status_code in (401, 403)
    after = user(console, USERS["viewer"])
    assert (after.role, after.password_hash, after.disabled_at, after.session_epoch) == (
        before.role,
        before.password_hash,
        before.disabled_at,
        before.session_epoch,
    )
    assert "dewi" not in console_users(console)


def test_the_cli_changes_a_role_by_the_same_rules(
    console: ConsoleWorld,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`ifn-campaign users role NAME --role R` calls users.set_role, as the page does."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", db_url)
    monkeypatch.setenv("IFN_DATA_DIR", str(tmp_path))

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["users", "role", *args])
        said = capsys.readouterr()
        return code, " ".join((said.out + said.err).split())

    assert run(USERS["viewer"], "--role", "editor") == (0, f"{USERS['viewer']} is now editor")
    assert user(console, USERS["viewer"]).role == "editor"
    code, said = run(USERS["admin"], "--role", "viewer")
    assert code != 0 and "admin-user is the last admin" in said
    code, said = run(USERS["viewer"], "--role", "boss")
    assert code != 0 and "valid: viewer, editor, approver, admin" in said
    assert user(console, USERS["viewer"]).role == "editor"
    assert user(console, USERS["admin"]).role == "admin"
