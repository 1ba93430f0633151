"""`ifn-campaign members withdrawals` and `members revoke-links` as staff use them, on SQLite and
PostgreSQL: the list in WIB, the CSV for the registry's owner (formula-proof, WIB and UTC ISO),
marking only what was listed, and one-line errors that change nothing."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import MemberLink, MemberWithdrawal, Notice, NoticeState
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at
from tests.support.ledger import EARLIER, add_member

FIRST = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10.00 WIB
SECOND = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # 00.30 WIB on the 3rd


@pytest.fixture
def cli(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Engine]:
    """The CLI on this test's database, with two members who withdrew on their page (one with
    a name that is a spreadsheet formula and rich markup) and one withdrawn in the registry."""
    with RegistrySandbox(members=[]) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        monkeypatch.setenv("IFN_DATABASE__URL", db_url)
        monkeypatch.setattr(base.out, "_width", 250)
        with Session(engine) as s:
            add_member(s, "ifn-1", business_name='=HYPERLINK("http://x","[bold]Jaya[/]")')
            add_member(s, "ifn-2", business_name="Sepatu Dua")
            add_member(s, "ifn-3", consent_withdrawn_at=EARLIER)  # the registry knows
            s.commit()
            withdraw(s, "ifn-1", source=MEMBER_PAGE, answer_id=None, now=FIRST)
            withdraw(s, "ifn-2", source=MEMBER_PAGE, answer_id=None, now=SECOND)
            s.commit()
        yield engine


def _flat(text: str) -> str:
    return " ".join(text.split())


def _reported(engine: Engine) -> dict[str, datetime | None]:
    with Session(engine) as s:
        return {w.member_id: w.reported_at for w in s.scalars(select(MemberWithdrawal))}


def _error(capsys: pytest.CaptureFixture[str], code: int, needle: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and lines[-1].startswith("error:") and "Traceback" not in err
    assert needle in lines[-1], lines[-1]


def test_the_list_shows_each_withdrawal_in_wib(
    cli: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["members", "withdrawals"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "Withdrawals on the member page: 2 (2 not yet reported)" in shown
    assert "ifn-1" in shown and "2026-12-01 10:00" in shown and "2026-12-03 00:30" in shown
    assert "[bold]Jaya[/]" in shown  # member text shown as text, not as markup
    assert "ifn-3" not in shown and "not yet" in shown
    assert _reported(cli) == {"ifn-1": None, "ifn-2": None}  # listing marks nothing


def test_csv_then_mark_reported_marks_only_what_was_written(
    cli: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "untuk-registri.csv"
    assert main(["members", "withdrawals", "--csv", str(out), "--mark-reported"]) == 0
    said = _flat(capsys.readouterr().out)
    assert "wrote 2 withdrawal(s)" in said and "marked 2 withdrawal(s) as reported" in said
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "withdrawal",
        "member_id",
        "member",
        "withdrawn (WIB)",
        "withdrawn (UTC)",
        "source",
        "reported (UTC)",
    ]
    assert [r[1:] for r in rows[1:]] == [
        [
            "ifn-1",
            '\'=HYPERLINK("http://x","[bold]Jaya[/]")',  # never a formula in a spreadsheet
            "2026-12-01T10:00:00+07:00",
            "2026-12-01T03:00:00Z",
            MEMBER_PAGE,
            "",  # not reported when the file was written
        ],
        [
            "ifn-2",
            "Sepatu Dua",
            "2026-12-03T00:30:00+07:00",
            "2026-12-02T17:30:00Z",
            MEMBER_PAGE,
            "",
        ],
    ]
    reported = _reported(cli)
    assert reported["ifn-1"] is not None and reported["ifn-1"] == reported["ifn-2"]
    # a withdrawal after the export stays unreported; the first ones keep their date
    with Session(cli) as s:
        add_member(s, "ifn-4", business_name="Sepatu Empat")
        withdraw(s, "ifn-4", source=MEMBER_PAGE, answer_id=None, now=SECOND + timedelta(days=1))
        s.commit()
    assert main(["members", "withdrawals", "--unreported"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "Withdrawals on the member page: 1 (1 not yet reported)" in shown
    assert "ifn-4" in shown and "ifn-1" not in shown
    assert main(["members", "withdrawals", "--mark-reported"]) == 0
    assert "marked 1 withdrawal(s)" in capsys.readouterr().out
    again = _reported(cli)
    assert again["ifn-1"] == reported["ifn-1"] and again["ifn-4"] is not None
    assert main(["members", "withdrawals", "--mark-reported"]) == 0
    assert "marked 0 withdrawal(s)" in capsys.readouterr().out


def test_a_file_that_cannot_be_written_marks_nothing(
    cli: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "w.csv"
    code = main(["members", "withdrawals", "--csv", str(target), "--mark-reported"])
    _error(capsys, code, "nothing was marked")
    assert _reported(cli) == {"ifn-1": None, "ifn-2": None}
    assert blocker.read_text() == "not a folder"


def test_revoke_links(cli: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with Session(cli) as s:
        for member_id in ("ifn-2", "ifn-2", "ifn-1"):
            s.add(
                MemberLink(
                    member_id=member_id, created_at=FIRST, expires_at=FIRST + timedelta(days=30)
                )
            )
        s.flush()
        link_id = s.scalars(select(MemberLink.id).where(MemberLink.member_id == "ifn-2")).first()
        for number, state in enumerate((NoticeState.PENDING, NoticeState.SENT)):
            s.add(  # a notice carrying the link: the pending one is made again, the sent kept
                Notice(
                    member_id="ifn-2",
                    kind="before",
                    medium="email",
                    to_address="ifn-2@example.test",
                    dedupe_key=f"before:post:{number}:email",
                    message_id=f"<{number}@bpipi.id>",
                    subject="s",
                    text_body="t",
                    link_id=link_id,
                    state=state,
                    next_attempt_at=FIRST,
                    created_at=FIRST,
                    state_changed_at=FIRST,
                )
            )
        s.commit()
    assert main(["members", "revoke-links", "ifn-2", "--by", "rina"]) == 0
    said = _flat(capsys.readouterr().out)
    assert "revoked 2 link(s) to the page of ifn-2" in said
    assert "1 notice(s) not yet sent will be made again with a new link" in said
    assert main(["members", "revoke-links", "ifn-2"]) == 0
    assert "revoked 0 link(s)" in _flat(capsys.readouterr().out)
    with Session(cli) as s:
        assert list(s.scalars(select(Notice.state))) == [NoticeState.SENT]
    _error(capsys, main(["members", "revoke-links", "ifn-404"]), "no member 'ifn-404' stored")
    with Session(cli) as s:
        links = {(li.member_id, li.revoked_by is not None) for li in s.scalars(select(MemberLink))}
        by = set(s.scalars(select(MemberLink.revoked_by).where(MemberLink.member_id == "ifn-2")))
    assert links == {("ifn-2", True), ("ifn-1", False)} and by == {"staff:rina"}


def test_members_still_lists_members(cli: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["members", "--status", "active", "--limit", "2"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "Members: the first 2 of 3 active" in shown
    assert main(["members"]) == 0
    assert "Members (3 stored)" in _flat(capsys.readouterr().out)
