"""`ledger by` and `history` with reach, as staff read them: totals, medians, features not read
yet, the share of reach beside the share of members, each feature's latest figures, and member
text (rich markup, bidi overrides, ESC) printed as text; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.models import Feature, InsightReading, Post, PostState, ReadingState
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at
from tests.support.insights import add_reading
from tests.support.ledger import add_member, add_post

HOSTILE = "[bold]Jawa[/] \u202eTengah\x1b[2J"  # markup, a right-to-left override, clear screen


def _day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, n, hour, tzinfo=UTC)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def cli(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, int]]:
    """Three members: ifn-1 (Jawa Barat) reached 100 and 300 (its 1d reading replaced by
    7d); ifn-2 (hostile province, sandals then boots) reached 50 and has a feature not read yet
    and one gone from the platform; ifn-3 (Jawa Barat) never featured. The posts by name."""
    with RegistrySandbox(members=[]) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        monkeypatch.setenv("IFN_DATABASE__URL", db_url)
        monkeypatch.setattr(base.out, "_width", 250)  # a wide terminal: no wrapped cells
        with Session(engine) as s:
            add_member(s, "ifn-1")
            add_member(s, "ifn-2", province=HOSTILE, categories=["sandals", "boots"])
            add_member(s, "ifn-3")
            ids: dict[str, int] = {}
            for name, member, day, channel in (
                ("ig", "ifn-1", 2, "instagram"),
                ("fb", "ifn-1", 3, "facebook"),
                ("yt", "ifn-2", 4, "youtube"),
                ("unread", "ifn-2", 20, "instagram"),
                ("gone", "ifn-2", 21, "facebook"),
            ):
                ids[name] = add_post(
                    s,
                    member,
                    PostState.PUBLISHED,
                    channel,
                    slot_at=_day(day),
                    featured_at=_day(day),
                    published_at=_day(day),
                )
            ids["planned"] = add_post(s, "ifn-1", PostState.APPROVED, slot_at=_day(28))
            # a permalink and a cancel reason no platform or staff gave: printed as text
            s.get_one(Post, ids["yt"]).cancel_reason = "[red]batal[/]\u202e\x07"
            s.execute(
                update(Feature)
                .where(Feature.post_id == ids["yt"])
                .values(permalink="https://youtu.be/x\x1b]8;;http://x\x07")
            )
            add_reading(s, ids["ig"], "1d", 40, {"reach": 40, "likes": 1})
            add_reading(
                s,
                ids["ig"],
                "7d",
                100,
                {"reach": 100, "likes": 9, "comments": 2, "saved": 1, "shares": 3, "views": 180},
            )
            add_reading(
                s, ids["fb"], "7d", 1300, {"post_total_media_view_unique": 1300, "reactions": 12}
            )
            add_reading(s, ids["yt"], "1d", 50, {"views": 50, "likes": 4, "comments": 0})
            add_reading(s, ids["unread"], "1h", None, state=ReadingState.RETRY)
            add_reading(s, ids["gone"], "1h", 8, {"reactions": 0, "comments": 0})
            add_reading(s, ids["gone"], "1d", None, state=ReadingState.GONE)
            s.get_one(Post, ids["gone"]).remote_gone_at = _day(22, 1)
            s.commit()
        yield ids


def test_ledger_by_province_with_reach(
    cli: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "by", "province"]) == 0
    out = capsys.readouterr().out
    shown = _flat(out)
    assert "5 features by province, the start to now: reach 1,458, 1 not read yet" in shown
    header = "province ┃ features ┃ share ┃ reach ┃ median ┃ not read ┃ members ┃ of members"
    assert header + " ┃ of reach ┃ reach gap" in shown
    # Jawa Barat: 2 features, both read (100 and 1,300: even count, median 700), 2 of 3
    # members, 96% of the reach: 1,400 / 1,458
    assert "Jawa Barat │ 2 │ 40% │ 1,400 │ 700 │ 0 │ 2 │ 67% │ 96% │ +29%" in shown
    # the hostile province: 50 and 8 read (median 29), the Instagram one not read yet (left out
    # of the median, not 0); 1 of 3 members but 4% of the reach
    row = "[bold]Jawa[/] \\u202eTengah\\x1b[2J │ 3 │ 60% │ 58 │ 29 │ 1 │ 1 │ 33% │ 4% │ -29%"
    assert row in shown
    assert "\u202e" not in out and "\x1b" not in out  # written out, never sent to the terminal
    assert "instagram reach, facebook post_total_media_view_unique, youtube views" in shown
    assert "counts under the first one listed" not in shown


def test_ledger_by_category_says_the_first_category_counts(
    cli: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "by", "category", "--since", "2026-11-04"]) == 0
    shown = _flat(capsys.readouterr().out)
    # only ifn-2's features since 4 November: all under sandals, its first category
    assert "3 features by category, 2026-11-04 to now: reach 58, 1 not read yet" in shown
    assert "Sandal & selop / Sandals & slides │ 3 │ 100% │ 58 │ 29 │ 1 │ 1 │ 33% │ 100% │ +67%" in (
        shown
    )
    assert "Bot" not in shown  # boots: ifn-2's second category
    # leather shoes: members, no feature in the period: nothing read, no median
    assert "Sepatu kulit / Leather shoes │ 0 │ 0% │ — │ — │ 0 │ 2 │ 67% │ 0% │ -67%" in shown
    assert "a member with several categories counts under the first one listed" in shown


def test_ledger_by_with_nothing_read(
    cli: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["ledger", "by", "actor-type", "--since", "2026-11-20", "--until", "2026-11-20"]) == 0
    )
    shown = _flat(capsys.readouterr().out)
    assert "1 feature by actor-type, 2026-11-20 to 2026-11-20: reach 0, 1 not read yet" in shown
    assert "Produsen / Producer │ 1 │ 100% │ — │ — │ 1 │ 3 │ 100% │ — │ —" in shown
    assert "a member with several actor types counts under the first one listed" in shown


def test_ledger_by_fits_80_columns(
    cli: dict[str, int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base.out, "_width", 80)
    assert main(["ledger", "by", "category"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "of members" in out and "of reach" in out
    assert main(["ledger", "by", "category", "--wide"]) == 0
    assert "median" in capsys.readouterr().out


def test_history_with_figures(cli: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "ifn-1"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "History of ifn-1: 3 posts" in shown and "figures (WIB)" in shown
    # the latest reading (7d) wins over the 1d one; read 7 days after 19:00 WIB on 2 November
    assert "reach 100 (7d, read 2026-11-09 19:00)" in shown
    assert "likes 9 · comments 2 · shares 3 · saved 1 · views 180" in shown
    assert "reach 1,300 (7d, read 2026-11-10 19:00)" in shown and "reactions 12" in shown
    assert "not read yet" not in shown  # the approved post never went out: no figures at all
    assert main(["history", "ifn-2"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    shown = _flat(out)
    assert "cancelled: [red]batal[/]\\u202e\\x07" in shown
    assert "https://youtu.be/x\\x1b]8;;http://x\\x07" in shown
    assert "reach 50 (1d, read 2026-11-05 19:00)" in shown and "likes 4 · comments 0" in shown
    assert "not read yet" in shown
    # gone: its last figures stay, with when it went
    gone = shown.index("reach 8 (1h, read 2026-11-21 20:00)")
    assert shown.index("reactions 0 · comments 0") > gone
    assert shown.index("gone from the platform 2026-11-22 08:00") > gone


def test_history_says_a_late_reading(
    cli: dict[str, int], capsys: pytest.CaptureFixture[str], engine: Engine
) -> None:
    """The worker was down: the Facebook post's 7d reading was taken 5 days 3 hours after its
    mark (late after 42 hours): still its latest figures, said to be late."""
    with Session(engine) as s:
        s.execute(
            update(InsightReading)
            .where(InsightReading.post_id == cli["fb"], InsightReading.mark == "7d")
            .values(read_at=_day(15, 15))
        )
        s.commit()
    assert main(["history", "ifn-1"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "reach 1,300 (7d, read late, 5d 3h after the mark, 2026-11-15 22:00)" in shown
    assert "reach 100 (7d, read 2026-11-09 19:00)" in shown  # on time: nothing said
