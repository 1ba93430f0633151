"""The monthly report's reach evidence and page on a month built row by row
(tests/support/report_month.py), on SQLite and PostgreSQL: reach per post, channel and week with
"not read yet" never 0, the fairness tables in features, reach and membership, best and worst
slots, failures and what was done, first features, both languages, hostile member text in
tables and charts, an empty month, and `--month` on the command line."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.cli.app import main
from ifn_campaign.errors import InvalidValueError, UnknownValueError
from ifn_campaign.reports import charts
from ifn_campaign.reports.page import CampaignReport, collect, month_window, write_html
from ifn_campaign.reports.words import PAGE_NAMES, labels
from tests.support.report_month import (
    AS_OF,
    FAILURE_NOTE,
    HOSTILE_NAME,
    HOSTILE_PROVINCE,
    JAKARTA,
    MONTH,
    SINCE,
    UNTIL,
    Month,
    build_month,
    point_cli,
)

ZONE = "Asia/Jakarta"


@pytest.fixture
def month(engine: Engine) -> Month:
    with Session(engine) as session:
        return build_month(session)


def _report(engine: Engine, since=SINCE, until=UNTIL) -> CampaignReport:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return collect(
            session, since=since, until=until, as_of=AS_OF, file=Path, display_timezone=ZONE
        )


def _pages(report: CampaignReport, out: Path) -> dict[str, str]:
    write_html(report, out, display_timezone=ZONE, made_at=AS_OF)
    return {lang: (out / name).read_text(encoding="utf-8") for lang, name in PAGE_NAMES.items()}


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert found, name
    return found.group(1)


def test_reach_per_post_channel_and_week_leave_unread_posts_out(
    engine: Engine, month: Month
) -> None:
    reach = _report(engine).reach
    by_post = {p.post_id: p.reach for p in reach.posts}
    posts = month.posts
    assert posts["october"] not in by_post and posts["still_failed"] not in by_post
    assert by_post[posts["old_ig"]] == 1200  # the latest mark, not the first
    assert by_post[posts["new_yt_unread"]] is None  # not read yet: never 0
    assert (reach.read, reach.total) == (4, 1200 + 300 + 900 + 500)
    channels = {c.channel: (c.posts, c.read, c.reach) for c in reach.by_channel}
    assert channels == {
        "instagram": (2, 2, 2100),
        "facebook": (2, 2, 800),
        "youtube": (1, 0, 0),
    }
    youtube = next(c for c in reach.by_channel if c.channel == "youtube")
    assert youtube.mean is None and youtube.unread == 1
    weeks = [
        (w.start.isoformat(), w.end.isoformat(), w.posts, w.read, w.reach) for w in reach.by_week
    ]
    assert weeks == [
        ("2026-11-01", "2026-11-01", 0, 0, 0),
        ("2026-11-02", "2026-11-08", 2, 2, 1500),
        ("2026-11-09", "2026-11-15", 1, 1, 900),
        ("2026-11-16", "2026-11-22", 2, 1, 500),
        ("2026-11-23", "2026-11-29", 0, 0, 0),
        ("2026-11-30", "2026-11-30", 0, 0, 0),
    ]


def test_fairness_divides_features_and_reach_against_membership(
    engine: Engine, month: Month
) -> None:
    fairness = _report(engine).reach.fairness
    province = {g.value: g for g in fairness["province"]}
    assert province["Jawa Barat"].features == 1 and province["Jawa Barat"].reach == 1200
    assert province["Bali"].features == 2 and province["Bali"].unread == 1
    assert province["Bali"].reach == 300
    assert province[HOSTILE_PROVINCE].reach == 1400
    assert province["Papua"].features == 0 and province["Papua"].member_share == 0.25
    assert sum(g.reach_share for g in fairness["province"]) == pytest.approx(1.0)
    assert province["Bali"].reach_share == pytest.approx(300 / 2900)
    assert province["Bali"].feature_share == pytest.approx(2 / 5)
    actor = {g.value: g for g in fairness["actor_type"]}
    assert actor["producer"].members == 2 and actor["producer"].reach == 1200


def test_slots_failures_and_first_features(engine: Engine, month: Month) -> None:
    reach = _report(engine).reach
    best = [(s.channel, s.weekday, s.hour, s.posts, s.mean_reach) for s in reach.best_slots]
    worst = [(s.channel, s.weekday, s.hour, s.posts) for s in reach.worst_slots]
    # instagram: Tuesday 19:00 (1200) beats Wednesday 19:00 (900); one slot is never both
    assert ("instagram", 1, 19, 1, 1200.0) in best and ("instagram", 2, 19, 1) in worst
    assert not {(c, d, h) for c, d, h, *_ in best} & {(c, d, h) for c, d, h, _ in worst}
    assert not [s for s in reach.best_slots + reach.worst_slots if s.channel == "youtube"]
    stories = {f.post_id: f for f in reach.failures}
    assert set(stories) == {month.posts["still_failed"], month.posts["fixed_fb"]}
    fixed = stories[month.posts["fixed_fb"]]
    assert fixed.resolved and fixed.what_happened == "HTTP 500" and fixed.error_action is None
    assert [(s, actor) for s, _, actor in fixed.then] == [
        ("approved", "staff@bpipi.id"),
        ("published", "publisher-1"),
    ]
    stuck = stories[month.posts["still_failed"]]
    assert not stuck.resolved and stuck.then == [] and stuck.what_happened == FAILURE_NOTE
    assert stuck.error_action and "approve it again" in stuck.error_action
    first = [(m.member_id, m.channel, m.reach) for m in reach.first_time]
    assert first == [("m-new", "facebook", 300), ("m-bad", "instagram", 900)]  # m-old: October


def test_the_page_in_both_languages_links_the_other(
    engine: Engine, month: Month, tmp_path: Path
) -> None:
    pages = _pages(_report(engine), tmp_path)
    id_page, en_page = pages["id"], pages["en"]
    assert '<html lang="id">' in id_page and '<html lang="en">' in en_page
    assert 'href="index.en.html"' in id_page and 'href="index.html"' in en_page
    assert "Bulan November 2026" in id_page and '<p class="period">November 2026</p>' in en_page
    went_out = _section(id_page, "went-out")
    assert "belum terbaca" in went_out and "1.200" in went_out  # Indonesian digit grouping
    assert "not read yet" in _section(en_page, "went-out") and "1,200" in en_page
    assert went_out.count("belum terbaca") == 1  # the one unread post; none shows 0
    assert 'href="https://www.instagram.com/p/OLD1/"' in went_out  # the ledger's link
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', id_page))
    for page in pages.values():
        assert page.count("<svg") == 5  # reach per channel and week, three fairness charts
        ids = re.findall(r'\bid="([^"]+)"', page)
        assert len(ids) == len(set(ids))  # five charts inline, no id twice
        assert "<script>" not in page and "<b>Jawa</b>" not in page
    assert "Produsen" in id_page and "Producer" in en_page and "Produsen" not in en_page
    assert FAILURE_NOTE in _section(en_page, "failures")
    assert "staff@bpipi.id" in _section(en_page, "failures")


def test_slot_hours_are_written_as_each_language_writes_times(
    engine: Engine, month: Month, tmp_path: Path
) -> None:
    """The best and worst slots' hours as every other time on the page: "19.00" in
    Indonesian, "19:00" in English."""
    pages = _pages(_report(engine), tmp_path)
    assert "Selasa 19.00" in _section(pages["id"], "slots")
    assert "19:00" not in _section(pages["id"], "slots")
    assert "Tuesday 19:00" in _section(pages["en"], "slots")


def test_no_indonesian_label_is_left_on_the_english_page(
    engine: Engine, month: Month, tmp_path: Path
) -> None:
    words = labels()
    assert words["id"].keys() == words["en"].keys()
    for key in words["id"]:  # the same values filled in
        assert set(re.findall(r"{\w+}", words["id"][key])) == set(
            re.findall(r"{\w+}", words["en"][key])
        ), key
    en_page = _pages(_report(engine), tmp_path)["en"]
    visible = re.sub(r"<[^>]+>", " ", en_page)
    indonesian = {
        v.split("{")[0].strip()
        for k, v in words["id"].items()
        if v != words["en"][k] and k != "other_lang"
    }
    left = [v for v in indonesian if len(v) > 3 and v in visible]
    assert not left, left
    for word in ("Senin", "Selasa", "Rabu", "belum", "jangkauan", "anggota", "Minggu"):
        assert word not in visible, word


def test_hostile_member_text_is_escaped_in_tables_and_charts(
    engine: Engine, month: Month, tmp_path: Path
) -> None:
    page = _pages(_report(engine), tmp_path)["en"]
    assert (
        "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    )
    assert f"<bdi>{escape(HOSTILE_NAME)}</bdi>" in page  # whole, isolated, `$` as written
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    texts = [t for svg in svgs for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    # the province is a chart label: drawn as written (no mathtext), escaped, cut to one line
    assert any(t.startswith("$x^2$ &lt;b&gt;Jawa&lt;/b&gt;") for t in texts), texts
    assert not [t for t in texts if len(html.unescape(t)) > charts.LABEL_CHARS]


def test_charts_are_deterministic_and_draw_dollars_as_text() -> None:
    one = charts.bars(["$x$ <b>", "b"], [3, 1], title="t", key="k", colour="#000000", ink="#111111")
    assert one == charts.bars(
        ["$x$ <b>", "b"], [3, 1], title="t", key="k", colour="#000000", ink="#111111"
    )
    assert ">$x$ &lt;b&gt;</text>" in one and "<dc:date>" not in one
    assert charts.bars([], [], title="t", key="k", colour="#000000", ink="#111111").startswith(
        "<svg"
    )


def test_a_month_with_no_posts_is_a_real_page(engine: Engine, tmp_path: Path) -> None:
    since, until = month_window("2025-02", JAKARTA, AS_OF)
    report = _report(engine, since, until)
    assert not report.posts and not report.reach.posts
    pages = _pages(report, tmp_path)
    assert "Tidak ada yang direncanakan" in pages["id"] and "Bulan Februari 2025" in pages["id"]
    assert "Nothing was planned" in pages["en"] and "</html>" in pages["en"]
    assert "<svg" not in pages["en"] and "<article" not in pages["en"]


@pytest.mark.parametrize(
    "bad", ["2026-13", "26-01", "", "2026-1", "2026-00", " 2026-01", "2026/01"]
)
def test_month_must_be_a_calendar_month(bad: str) -> None:
    with pytest.raises(InvalidValueError, match="YYYY-MM"):
        month_window(bad, JAKARTA, AS_OF)


def test_the_report_language_is_id_or_en(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(UnknownValueError, match="id, en"):
        write_html(_report(engine), tmp_path, display_timezone=ZONE, made_at=AS_OF, lang="fr")


@pytest.mark.slow
def test_cli_month_writes_both_pages_and_the_pdf(
    engine: Engine,
    month: Month,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = point_cli(engine, monkeypatch, tmp_path)
    assert main(["report", "--month", MONTH, "--lang", "en", "--pdf"]) == 0
    printed = capsys.readouterr().out
    out = folder / MONTH
    assert (out / "index.html").is_file() and (out / "index.en.html").is_file()
    assert (out / "ifn-report.pdf").read_bytes().startswith(b"%PDF-")
    assert "total reach: 2,900 (4 of 5 posts read;" in printed, printed
    assert "ifn-report.pdf" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "YYYY-MM"),
        (["--month", "26-01"], "YYYY-MM"),
        (["--month", ""], "YYYY-MM"),
        (["--month", "2026-11", "--since", "2026-11-01"], "--month"),
        (["--month", "2026-11", "--lang", "fr"], "id, en"),
    ],
)
def test_cli_refuses_a_bad_month_and_language(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    folder = point_cli(engine, monkeypatch, tmp_path)
    assert main(["report", *args]) != 0
    assert message in capsys.readouterr().err
    assert not folder.exists()  # nothing written


def test_labels_file_is_valid_toml_with_both_languages() -> None:
    from ifn_campaign.bundled import templates

    with (templates("report") / "labels.toml").open("rb") as file:
        assert set(tomllib.load(file)) == {"id", "en"}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_any_label_makes_a_well_formed_chart(labels: list[str]) -> None:
    """Whatever a member wrote (control characters, surrogates, markup, `$`, right-to-left): the
    chart is well-formed XML, each label one line of at most LABEL_CHARS characters."""
    svg = charts.bars(
        labels, [1.0] * len(labels), title="t", key="k", colour="#000000", ink="#111111"
    )
    tree = ElementTree.fromstring(svg)
    drawn = [t.text or "" for t in tree.iter("{http://www.w3.org/2000/svg}text")]
    for label in labels:
        shown = "".join(" " if not c.isprintable() else c for c in label).strip()
        cut = shown if len(shown) <= charts.LABEL_CHARS else shown[: charts.LABEL_CHARS - 1] + "…"
        assert not cut or cut in drawn, (label, drawn)
    assert all(len(t) <= charts.LABEL_CHARS and "\n" not in t for t in drawn)


def test_cli_counts_one_post_as_one_post(
    engine: Engine,
    month: Month,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli(engine, monkeypatch, tmp_path)
    assert main(["report", "--since", "2026-11-03", "--until", "2026-11-03"]) == 0
    printed = capsys.readouterr().out
    assert "1 post by state and channel" in printed, printed
