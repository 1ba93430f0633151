"""Member text never drives staff's terminal: `review`, `notices list` and `members
withdrawals` print what the registry and the member page hold through `shown`, so an ESC or BEL
(clear the screen, a hidden hyperlink) is written out as its escape, never sent as is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import MemberAnswer, MemberAnswerKind, Notice, NoticeState, PostState
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at
from tests.support.ledger import add_member, add_post

CLEAR = "\x1b[2J"  # clears the screen
LINK = "\x1b]8;;http://x\x07"  # OSC 8: what follows is a hyperlink to http://x
SHOWN = ("\\x1b[2J", "\\x1b]8;;http://x\\x07")  # how staff see them
AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def cli(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Engine]:
    """A member whose name, post caption and title, change comment and notice carry escapes."""
    with RegistrySandbox(members=[]) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        monkeypatch.setenv("IFN_DATABASE__URL", db_url)
        monkeypatch.setattr(base.out, "_width", 250)
        with Session(engine) as s:
            add_member(s, f"ifn-1{CLEAR}", business_name=f"Sepatu {CLEAR}Jaya{LINK}klik")
            add_member(s, "ifn-2", business_name=f"Sandal {LINK}Dua")
            post_id = add_post(
                s,
                f"ifn-1{CLEAR}",
                PostState.COMPOSED,
                "youtube",
                caption=f"Baris satu {CLEAR}\nBaris dua {LINK}klik",
                title=f"Judul {LINK}",
                compose_notes=[f"catatan {CLEAR}"],
            )
            s.add(
                MemberAnswer(
                    member_id=f"ifn-1{CLEAR}",
                    post_id=post_id,
                    kind=MemberAnswerKind.CHANGE,
                    comment=f"ganti {CLEAR}{LINK}",
                    address="192.0.2.1",
                    at=AT,
                )
            )
            s.add(
                Notice(
                    member_id=f"ifn-1{CLEAR}",
                    post_id=post_id,
                    kind="before",
                    medium="email",
                    to_address=f"a{CLEAR}@sepatu.co.id",
                    dedupe_key="before:post:1:email",
                    message_id="<1@bpipi.id>",
                    subject="s",
                    text_body="t",
                    state=NoticeState.FAILED,
                    last_error=f"550 {LINK}no such user",
                    next_attempt_at=AT,
                    created_at=AT,
                    state_changed_at=AT,
                )
            )
            s.commit()
            withdraw(s, "ifn-2", source=MEMBER_PAGE, answer_id=None, now=AT + timedelta(hours=1))
            s.commit()
        yield engine


@pytest.mark.parametrize(
    "command", [["review"], ["notices", "list"], ["members", "withdrawals"]], ids=" ".join
)
def test_escapes_from_member_text_are_shown_not_sent(
    cli: Engine, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(command) == 0
    said = capsys.readouterr().out
    assert "\x1b" not in said and "\x07" not in said
    assert any(seen in said for seen in SHOWN), said


def test_review_shows_every_member_text_escaped_and_the_caption_line_by_line(
    cli: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review"]) == 0
    said = capsys.readouterr().out
    assert "\x1b" not in said and "\x07" not in said
    lines = said.splitlines()
    assert "Baris satu \\x1b[2J" in lines and "Baris dua \\x1b]8;;http://x\\x07klik" in lines
    for text in (
        "ifn-1\\x1b[2J: Sepatu \\x1b[2JJaya\\x1b]8;;http://x\\x07klik",
        "title: Judul \\x1b]8;;http://x\\x07",
        "catatan \\x1b[2J",
        "ganti \\x1b[2J\\x1b]8;;http://x\\x07",
    ):
        assert text in said, text
