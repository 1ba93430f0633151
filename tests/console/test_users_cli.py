"""`ifn-campaign users add|passwd|disable|list` through the real CLI entry: the password from a
file or stdin, refusals in the CLI's words, argon2id hashes, and the password nowhere but in the
hash (no table, no output)."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.console.app import create_app
from ifn_campaign.models import StaffUser
from ifn_campaign.wiring import Resources
from tests.support.console import sign_in

SECRET = "Rahasia-Cibaduyut-77"


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on a migrated database of its own (SQLite and PostgreSQL), in tmp_path."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", db_url)
    monkeypatch.setenv("IFN_DATA_DIR", str(tmp_path))
    assert main(["db", "upgrade"]) == 0
    return db_url


def _run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> tuple[int, str]:
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    captured = capsys.readouterr()
    plain = re.sub(r"[\u2500-\u257f]", " ", captured.out + captured.err)  # table borders
    return code, " ".join(plain.split())


def _password_file(tmp_path: Path, password: str) -> str:
    path = tmp_path / "password.txt"
    path.write_text(password + "\nsecond line is not the password\n", encoding="utf-8")
    return str(path)


def _every_value(db_url: str) -> list[str]:
    """Every value of every column of every table, as text."""
    engine = create_engine(db_url)
    try:
        values = []
        with engine.connect() as connection:
            for table in inspect(engine).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    values.extend(str(value) for value in row)
        return values
    finally:
        engine.dispose()


def _user(db_url: str, name: str) -> StaffUser:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            return session.scalars(select(StaffUser).where(StaffUser.name == name)).one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_add_from_a_file_and_from_stdin_keeps_only_an_argon2id_hash(
    cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = _password_file(tmp_path, SECRET)
    code, out = _run(
        capsys, monkeypatch, "users", "add", "sari", "--role", "editor", "--password-file", pw
    )
    assert code == 0, out
    assert "user sari added as editor" in out
    code, out2 = _run(
        capsys, monkeypatch, "users", "add", "budi", "--role", "admin", stdin=SECRET + "-2\n"
    )
    assert code == 0, out2
    code, listing = _run(capsys, monkeypatch, "users", "list")
    assert code == 0
    assert "sari editor" in listing and "budi admin" in listing and "active" in listing
    for name in ("sari", "budi"):
        assert _user(cli, name).password_hash.startswith("$argon2id$")
    values = _every_value(cli)
    assert any(v.startswith("$argon2id$") for v in values)
    for secret in (SECRET, SECRET + "-2"):
        assert not any(secret in value for value in values)
        assert secret not in out + out2 + listing


def test_the_password_from_a_file_signs_in(
    cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = _password_file(tmp_path, SECRET)
    assert (
        _run(
            capsys, monkeypatch, "users", "add", "sari", "--role", "viewer", "--password-file", pw
        )[0]
        == 0
    )
    with Resources(Settings(database={"url": cli}, data_dir=tmp_path)) as resources:
        client = TestClient(create_app(resources), follow_redirects=False)
        assert sign_in(client, "sari", SECRET).status_code == 303
        assert (
            sign_in(
                TestClient(create_app(resources), follow_redirects=False),
                "sari",
                SECRET + "\nsecond line is not the password",
            ).status_code
            == 401
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["--role", "editor"], "pendek\n", "too short: at least 10 characters"),
        (["--role", "boss"], SECRET + "\n", "viewer, editor, approver, admin"),
        (["--role", "editor"], "", "no password given"),
    ],
)
def test_add_refuses(
    cli: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    stdin: str,
    says: str,
) -> None:
    code, out = _run(capsys, monkeypatch, "users", "add", "sari", *args, stdin=stdin)
    assert code != 0
    assert says in out
    assert _run(capsys, monkeypatch, "users", "list")[1].startswith("no console users")


def test_add_refuses_a_name_taken_before_asking_the_password(
    cli: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        _run(capsys, monkeypatch, "users", "add", "sari", "--role", "viewer", stdin=SECRET)[0] == 0
    )
    code, out = _run(capsys, monkeypatch, "users", "add", "sari", "--role", "admin", stdin="")
    assert code == 1
    assert "user 'sari' exists already" in out and "users passwd sari" in out
    assert _user(cli, "sari").role == "viewer"


def test_passwd_changes_the_password_and_disable_stops_signing_in(
    cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        _run(capsys, monkeypatch, "users", "add", "sari", "--role", "editor", stdin=SECRET)[0] == 0
    )
    before = _user(cli, "sari")
    code, out = _run(capsys, monkeypatch, "users", "passwd", "sari", stdin=SECRET + "-new\n")
    assert code == 0 and "their open logins and calendar feed have ended" in out
    after = _user(cli, "sari")
    assert after.password_hash != before.password_hash
    assert after.password_hash.startswith("$argon2id$")
    assert after.session_epoch == before.session_epoch + 1
    assert _run(capsys, monkeypatch, "users", "passwd", "sari", stdin="short\n")[1].endswith(
        "too short: at least 10 characters"
    )
    code, out = _run(capsys, monkeypatch, "users", "passwd", "nobody", stdin=SECRET)
    assert code == 1 and "no console user 'nobody'" in out
    with Resources(Settings(database={"url": cli}, data_dir=tmp_path)) as resources:
        app = create_app(resources)
        assert sign_in(TestClient(app, follow_redirects=False), "sari", SECRET).status_code == 401
        assert (
            sign_in(TestClient(app, follow_redirects=False), "sari", SECRET + "-new").status_code
            == 303
        )
        code, out = _run(capsys, monkeypatch, "users", "disable", "sari")
        assert code == 0 and "disabled" in out
        assert (
            sign_in(TestClient(app, follow_redirects=False), "sari", SECRET + "-new").status_code
            == 401
        )
    assert "sari editor id disabled" in _run(capsys, monkeypatch, "users", "list")[1]
    assert not any(SECRET in value for value in _every_value(cli))
