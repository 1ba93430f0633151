"""Every table the CLI prints, on a synced, planned and published database, at 80 columns (a
normal terminal, or output piped to a file) and at 200: every line fits, every date and state is
printed whole, and the columns that matter most are there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.cli.tables import ELLIPSIS, Col, fit, layout, print_table, show
from ifn_campaign.models import Member, Post, PostState, QuarantinedRecord
from ifn_campaign.posts.withdrawal import cancel_disallowed
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at
from tests.support.ledger import add_member, add_post

WIB = ZoneInfo("Asia/Jakarta")
CARD = Path("/var/ifn/cards") / "ab" / f"{'ab' * 32}.jpg"
WIDTHS = (80, 200)
CAMPAIGN = """
name = "sorotan-uji"
title = "Sorotan Anggota IFN untuk uji lebar tabel"
start = 2030-01-01
holidays = "ignore"
cooldown_days = 0

[[channels]]
channel = "instagram"
[[channels.slots]]
days = ["selasa", "kamis", "sabtu"]
time = "19:00"

[[channels]]
channel = "facebook"
[[channels.slots]]
days = ["rabu", "minggu"]
time = "18:30"

[[channels]]
channel = "youtube"
[[channels.slots]]
days = ["jumat"]
time = "17:00"
"""
LONG_NAME = "PT Sepatu Kulit Asli Cibaduyut Bandung Jaya Makmur Sentosa Abadi Internasional"
LONG_REASON = (
    "dipilih staf untuk pekan pameran: anggota baru dari Jawa Barat yang belum pernah tampil, "
    "dengan foto produk terbaru dan persetujuan untuk ketiga kanal"
)
PERMALINK = "https://www.facebook.com/100000000000001/posts/200000000000000001234567"
# a date, a date and time, and a time with its seconds, cut anywhere: '2026-1…', '2026-12-06 18:…'
CUT_DATE = re.compile(r"(?<![\w/-])\d{4}-[\d-]*(?: [\d:]*)?" + ELLIPSIS)
DATE_LIKE = re.compile(r"(?<![\w/-])\d{4}-\d[\d-]*(?: \d[\d:]*)?")
WHOLE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?")


@dataclass
class World:
    """The database the tables are printed from, and what each table must show whole."""

    folder: Path
    sync_output: str = ""
    members: list[tuple[str, str]] = field(default_factory=list)  # id, last seen
    quarantined: list[tuple[int, str, str]] = field(default_factory=list)  # id, member, seen
    planned: list[tuple[int, str, str]] = field(default_factory=list)  # id, slot, state
    long_member: str = "ifn-long"
    long_posts: list[tuple[int, str, str]] = field(default_factory=list)  # id, slot, state
    takedown: tuple[int, str] = (0, "")  # post id, requested


def _wib(moment: datetime, weekday: bool = False) -> str:
    return f"{moment.astimezone(WIB):{'%a ' if weekday else ''}%Y-%m-%d %H:%M}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The sample registry synced (with its quarantined records and media), a campaign planned
    for two weeks, and a member with a long name whose posts were published, cancelled with a
    long reason and taken down after a withdrawal."""
    folder = tmp_path_factory.mktemp("tables")
    found = World(folder)
    with pytest.MonkeyPatch.context() as mp, RegistrySandbox() as sandbox:
        point_cli_at(sandbox, mp, folder)
        campaigns = folder / "campaigns"
        campaigns.mkdir()
        (campaigns / "sorotan-uji.toml").write_text(CAMPAIGN, encoding="utf-8")
        mp.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(campaigns))
        mp.setattr(base.out, "_width", 80)
        assert main(["db", "upgrade"]) == 0
        with base.out.capture() as captured:
            assert main(["sync"]) == 0
        found.sync_output = captured.get()
        with base.out.capture():
            assert main(["plan", "--from", "2030-01-07", "--weeks", "2"]) == 0
    engine = store.open_store(f"sqlite:///{folder / 'ifn.db'}")
    with Session(engine) as s:
        now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
        add_member(s, found.long_member, business_name=LONG_NAME, province="Jawa Barat")
        add_member(s, "ifn-gone", consent_withdrawn_at=now)
        out = add_post(
            s,
            found.long_member,
            PostState.PUBLISHED,
            "facebook",
            campaign="sorotan-uji",
            slot_at=datetime(2026, 11, 3, 11, 30, tzinfo=UTC),
            featured_at=datetime(2026, 11, 3, 11, 30, tzinfo=UTC),
            permalink=PERMALINK,
        )
        cancelled = add_post(
            s,
            found.long_member,
            PostState.CANCELLED,
            "youtube",
            campaign="sorotan-uji",
            slot_at=datetime(2026, 11, 6, 10, 0, tzinfo=UTC),
            cancel_reason="ditolak staf / rejected: " + LONG_REASON,
        )
        composed = add_post(
            s,
            found.long_member,
            PostState.COMPOSED,
            campaign="sorotan-uji",
            slot_at=datetime(2026, 11, 7, 12, 0, tzinfo=UTC),
            card_path=str(CARD),
            caption="Sepatu kulit asli dari Cibaduyut. #SorotanAnggotaIFN",
        )
        gone = add_post(
            s,
            "ifn-gone",
            PostState.PUBLISHED,
            slot_at=datetime(2026, 11, 5, 12, 0, tzinfo=UTC),
            featured_at=datetime(2026, 11, 5, 12, 0, tzinfo=UTC),
            permalink=PERMALINK,
        )
        for post in s.scalars(select(Post).where(Post.member_id == found.long_member)):
            post.reason_id = post.reason_en = LONG_REASON
        s.commit()
        cancel_disallowed(s, ["ifn-gone"], now + timedelta(days=1))
        s.commit()
        for post_id in (out, cancelled, composed):
            post = s.get(Post, post_id)
            assert post is not None
            found.long_posts.append((post.id, _wib(post.slot_at), post.state))
        taken = s.get(Post, gone)
        assert taken is not None and taken.takedown_requested_at is not None
        found.takedown = (gone, _wib(taken.takedown_requested_at))
        found.members = [  # times in the display zone, as every other table prints them
            (m.id, _wib(m.last_seen_at)) for m in s.scalars(select(Member).order_by(Member.id))
        ]
        found.quarantined = [
            (q.id, q.member_id or "", _wib(q.last_seen_at))
            for q in s.scalars(
                select(QuarantinedRecord).where(QuarantinedRecord.resolved_at.is_(None))
            )
        ]
        found.planned = [
            (p.id, _wib(p.slot_at, weekday=True) + " WIB", p.state)
            for p in s.scalars(select(Post).where(Post.campaign == "sorotan-uji"))
            if p.slot_at.year == 2030
        ]
    engine.dispose()
    assert found.quarantined and len(found.planned) == 12
    yield found


@pytest.fixture
def run(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str], int], str]:
    """Run a command against the world's database on a console this many columns wide."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(world.folder)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{world.folder / 'ifn.db'}")
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(world.folder / "campaigns"))

    def command(args: list[str], width: int) -> str:
        monkeypatch.setattr(base.out, "_width", width)
        capsys.readouterr()
        code = main(args)
        printed = capsys.readouterr()
        assert code == 0, printed.err
        return printed.out

    return command


def _readable(text: str, width: int) -> None:
    """What every table must be at any width: lines that fit, dates never cut or broken."""
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"
    assert not CUT_DATE.search(text), CUT_DATE.search(text)
    for date in DATE_LIKE.findall(text):
        assert WHOLE_DATE.fullmatch(date), f"a date printed in part: {date!r}"


def _row(text: str, *cells: str) -> str:
    """The one line that holds all these cells whole (a row's kept columns share its line)."""
    lines = [line for line in text.splitlines() if all(cell in line for cell in cells)]
    assert lines, f"no line holds {cells} whole in:\n{text}"
    return lines[0]


def _column(text: str, name: str) -> str:
    """A one-row table's cell under `name`, its lines joined (a folded link read back)."""
    lines = text.splitlines()
    heading = next(line for line in lines if line.startswith("┃") and f" {name} " in line)
    at = heading.index(f" {name} ")
    start = heading.rindex("┃", 0, at) + 1
    end = heading.index("┃", at)
    body = [line for line in lines if line.startswith("│")]
    return "".join(line[start:end].strip() for line in body)


def _header(text: str, *names: str) -> None:
    heading = " ".join(line for line in text.splitlines() if line.startswith("┃"))
    words = " ".join(heading.replace("┃", " ").split())
    for name in names:
        assert name in words, f"column {name!r} missing from {words!r}"


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_members(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["members", "--limit", "200"], width)
    _readable(text, width)
    _header(text, "id", "name", "status", "last seen (WIB)")
    for member_id, seen in world.members:
        _row(text, f"│ {member_id} ", seen)
    assert LONG_NAME.split()[0] in _row(text, world.long_member)


def test_members_says_when_the_limit_leaves_some_out(
    run: Callable[[list[str], int], str], world: World
) -> None:
    """50 rows under 'Members (68 stored)' read as the whole list; the rest were left out
    without a word."""
    stored = len(world.members)
    text = " ".join(run(["members", "--limit", "5"], 80).split())
    assert f"Members: the first 5 of {stored} (--limit N shows more)" in text
    text = " ".join(run(["members", "--status", "suspended", "--limit", "1"], 80).split())
    assert re.search(r"Members: the first 1 of \d+ suspended \(--limit N shows more\)", text)
    text = " ".join(run(["members", "--limit", str(stored)], 80).split())
    assert f"Members ({stored} stored)" in text and "--limit" not in text
    text = " ".join(run(["members", "--status", "deleted", "--limit", str(stored)], 80).split())
    assert re.search(rf"Members: \d+ deleted of {stored} stored", text), text


@pytest.mark.parametrize("width", WIDTHS)
def test_member(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    member_id = next(m for m, _ in world.members if m.startswith("ifn-00"))
    text = run(["member", member_id], width)
    _readable(text, width)
    with Session(store.open_store(f"sqlite:///{world.folder / 'ifn.db'}")) as s:
        stored = s.get(Member, member_id)
        assert stored is not None
        # every time in the display zone, labelled: the registry's own time was printed as
        # '2025-01-31 22:25:14+00:00' and first/last seen in UTC beside a consent time in WIB
        _row(text, "first seen", _wib(stored.first_seen_at) + " WIB")
        _row(text, "last seen", _wib(stored.last_seen_at) + " WIB")
        _row(text, "registry updated", _wib(stored.updated_at) + " WIB")
    assert "+00:00" not in text
    _header(text, "role", "#", "refused")
    assert "http://127.0.0.1" in text  # the media source, shortened at 80 but there


@pytest.mark.parametrize("width", WIDTHS)
def test_quarantine(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["quarantine"], width)
    _readable(text, width)
    _header(text, "id", "member", "reasons", "last seen (WIB)")
    for _, member_id, seen in world.quarantined:
        _row(text, member_id, seen)
    assert ELLIPSIS not in text  # every reason whole: staff fix them in the registry


@pytest.mark.parametrize("width", WIDTHS)
def test_plan(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["plan", "--from", "2030-01-07", "--weeks", "2", "--dry-run"], width)
    _readable(text, width)
    _header(text, "slot", "member", "action")
    for _, slot, _ in world.planned:
        _row(text, slot, "kept")  # the planned posts are kept by a second plan
    if width == 80:
        assert "reason not shown; --wide shows all" in " ".join(text.split())
    else:
        _header(text, "channel", "reason")


@pytest.mark.parametrize("width", WIDTHS)
def test_calendar(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["calendar", "--from", "2030-01-07", "--weeks", "2", "--all"], width)
    _readable(text, width)
    _header(text, "post", "slot", "member", "state")
    for post_id, slot, state in world.planned:
        _row(text, f"{post_id} │", slot, state)
    text = run(["calendar", "--from", "2026-11-01", "--weeks", "1", "--all", "--english"], width)
    _readable(text, width)
    for post_id, _, state in world.long_posts:
        _row(text, f"{post_id} │", state)
    assert world.long_member in text  # the id comes first: a long name is cut, never the id
    if width == 200:
        _header(text, "campaign", "channel", "reason")


@pytest.mark.parametrize("width", WIDTHS)
def test_campaigns(run: Callable[[list[str], int], str], width: int) -> None:
    text = run(["campaigns"], width)
    _readable(text, width)
    _row(text, "sorotan-uji", "2030-01-01 to open")
    _header(text, "name", "channels and slots")
    assert "instagram/bpipi" in text and "youtube/bpipi" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_history(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["history", world.long_member, "--lang", "id"], width)
    _readable(text, width)
    _header(text, "post", "slot", "state", "why")
    for post_id, slot, state in world.long_posts:
        _row(text, f"{post_id} │", slot, state)
    # the member's whole record: reasons are never cut in a history, the links fold
    assert "ditolak" in text and LONG_REASON.split()[-1] in text and ELLIPSIS not in text
    if width == 200:
        _header(text, "campaign", "channel", "featured (WIB)", "permalink")
        assert _column(text, "permalink") == PERMALINK


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ledger", [["never-featured", "--limit", "100"], ["gap", "--limit", "5"]])
def test_ledger_waiting(
    run: Callable[[list[str], int], str], ledger: list[str], width: int
) -> None:
    text = run(["ledger", *ledger], width)
    _readable(text, width)
    _header(text, "member", "name", "days")
    assert re.search(r"│ \S+ +│ .+│ +\d+ │", text)  # id, name ... days on one line


@pytest.mark.parametrize("width", WIDTHS)
def test_ledger_by(run: Callable[[list[str], int], str], width: int) -> None:
    text = run(["ledger", "by", "province"], width)
    _readable(text, width)
    _row(text, "Jawa Barat", "│")


@pytest.mark.parametrize("width", WIDTHS)
def test_takedowns(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["takedowns", "--all"], width)
    _readable(text, width)
    _header(text, "post", "member", "permalink", "requested")
    post_id, requested = world.takedown
    _row(text, f"{post_id} │", "ifn-gone", requested)
    assert _column(text, "permalink") == PERMALINK  # folded over lines, never cut


@pytest.mark.parametrize("width", WIDTHS)
def test_status_and_report(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["status"], width)
    _readable(text, width)
    _header(text, "account", "planned", "composed", "approved", "scheduled", "publishing")
    _row(text, "instagram/bpipi")
    out_dir = world.folder / f"report-{width}"
    text = run(
        ["report", "--since", "2026-11-01", "--until", "2026-11-30", "--out", str(out_dir)], width
    )
    _readable(text.rsplit("\nreport: ", 1)[0], width)  # the page's path is printed whole
    _row(text, "published")


@pytest.mark.parametrize("width", WIDTHS)
def test_review(run: Callable[[list[str], int], str], world: World, width: int) -> None:
    text = run(["review"], width)
    post_id, slot, _ = world.long_posts[-1]
    rule = _row(text, f"post {post_id}, ")
    assert len(rule) == width and re.search(rf"post {post_id}, [A-Z][a-z]{{2}} {slot} ─", rule)
    _row(text, world.long_member, "instagram/")
    assert f"card: {CARD}" in text.splitlines()  # a path on one line, to copy
    _readable(text.replace(f"card: {CARD}", ""), width)


def test_sync_summary_fits_80_columns(world: World) -> None:
    _readable(world.sync_output, 80)
    _header(world.sync_output, "count", "member", "reasons")
    for _, member_id, _ in world.quarantined:
        assert member_id in world.sync_output


@pytest.mark.parametrize("width", WIDTHS)
def test_deployments_table(width: int) -> None:
    from ifn_campaign.cli.serve import _table
    from ifn_campaign.config import Settings

    console = Console(width=width, record=True, color_system=None)
    with console.capture() as captured:
        show(_table(Settings(), "Deployments on http://127.0.0.1:4200/api, work pool ifn"), console)
    text = captured.get()
    _readable(text, width)
    _header(text, "deployment", "schedule", "at once")
    _row(text, "publish_due/ifn-campaign", "*/5 * * * *")


def test_wide_prints_every_column_and_cell_whole(
    run: Callable[[list[str], int], str], world: World
) -> None:
    text = run(["calendar", "--from", "2026-11-01", "--weeks", "1", "--all", "--wide"], 80)
    _header(text, "post", "slot", "campaign", "channel", "member", "state", "reason")
    assert ELLIPSIS not in text and "not shown" not in text
    assert LONG_NAME in text and PERMALINK not in text
    assert max(len(line) for line in text.splitlines()) > 80  # for `less -S` or a file


def test_piped_output_uses_80_columns(world: World, tmp_path: Path) -> None:
    """Output piped to a file: rich takes 80 columns (no COLUMNS, no terminal), the tables fit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_") and k != "COLUMNS"}
    env["IFN_DATABASE__URL"] = f"sqlite:///{world.folder / 'ifn.db'}"
    env["IFN_PLANNER__CAMPAIGNS_DIR"] = str(world.folder / "campaigns")
    args = ["calendar", "--from", "2030-01-07", "--weeks", "2", "--all"]
    done = subprocess.run(
        [sys.executable, "-m", "ifn_campaign.cli.app", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    _readable(done.stdout, 80)
    for post_id, slot, state in world.planned:
        _row(done.stdout, f"{post_id} │", slot, state)


# the helper itself, on cells made to stress it


def test_priorities_drop_the_highest_number_first_and_keep_columns_whole() -> None:
    columns = [
        Col("when", keep=True),
        Col("name"),
        Col("extra", 2),
        Col("more", 1),
        Col("state", keep=True),
    ]
    row = ["Sun 2026-12-06 18:30 WIB", "x" * 30, "y" * 30, "z" * 30, "needs_reauth"]
    console = Console(width=80)
    plan = layout(columns, [[console.render_str(c) for c in row]], 80, wide=False)
    assert plan.dropped == ["extra"] and plan.shown == [0, 1, 3, 4]
    assert plan.widths[0] == len(row[0]) and plan.widths[4] == len("needs_reauth")
    assert sum(plan.widths.values()) + 3 * len(plan.shown) + 1 <= 80
    wide = layout(columns, [[console.render_str(c) for c in row]], 80, wide=True)
    assert wide.dropped == [] and wide.widths[1] == 30


def test_free_text_is_cut_to_its_lines_with_an_ellipsis() -> None:
    console = Console(width=60, record=True, color_system=None)
    with console.capture() as captured:
        print_table(
            [Col("id", keep=True), Col("reason", lines=2)],
            [("ifn-0001", LONG_REASON)],
            console=console,
        )
    text = captured.get()
    body = [line for line in text.splitlines() if line.startswith("│")]
    assert len(body) == 2 and body[1].rstrip(" │").endswith(ELLIPSIS)
    # a table of a command without --wide (the demo's, the sync summary) says what does show all
    assert "1 long text cut short (…); a wider terminal shows all" in " ".join(text.split())


def test_a_row_must_have_a_cell_for_every_column() -> None:
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        fit([Col("a"), Col("b"), Col("c")], [("1", "2")], console=Console(width=80))
