"""The public showcase as files: who is on it, what of them, hostile data kept as data, a
withdrawn member gone at the next build, and the old site kept whole when a build fails."""

from __future__ import annotations

import fcntl
import hashlib
import re
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.errors import FileAccessError, TemplateError
from ifn_campaign.models import Member, Post
from ifn_campaign.showcase import build_showcase, slug
from ifn_campaign.showcase.site import MARKER
from tests.support.showcase import (
    HOSTILE_ID,
    NOW,
    OWNER,
    PHONE,
    Featured,
    site_text,
)

SAFE_NAME = re.compile(r"[a-z0-9-]+(\.[a-z]+)?")


def _build(session: Session, settings: Settings, out: Path, **kw: object) -> None:
    build_showcase(session, settings, out, now=kw.pop("now", NOW))  # type: ignore[arg-type]


def test_the_site_shows_featured_members_with_their_cards_and_links(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, made = featured
    out = tmp_path / "site"
    report = build_showcase(session, showcase_settings, out, now=NOW)
    assert report.members == 2 and report.features == 3 and report.cards == 3
    assert report.notes == []
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'lang="id"' in index and "Anggota IFN yang telah ditampilkan" in index
    assert "Sepatu Kulit Nusantara" in index
    for hidden in made.hidden:
        name = session.get(Member, hidden)
        assert name is not None and name.business_name not in site_text(out), hidden
        assert not (out / "anggota" / f"{slug(hidden)}.html").exists()
    # one page per member, per province and per category; the fairness page; the assets
    page = (out / "anggota" / f"{slug('ifn-a')}.html").read_text(encoding="utf-8")
    assert "https://www.instagram.com/p/AAA111/" in page
    assert "https://www.facebook.com/bpipi/posts/222" in page
    assert "Jawa Barat" in page and "sentra Ciomas, Kab. Bogor, Jawa Barat" in page
    assert "Instagram" in page and "WIB" in page
    assert (out / "provinsi" / f"{slug('Jawa Barat')}.html").is_file()
    assert (out / "provinsi" / f"{slug('Jawa Timur')}.html").is_file()
    assert (out / "kategori" / f"{slug('leather_shoes')}.html").is_file()
    assert (out / "kategori" / f"{slug('sandals')}.html").is_file()
    east = (out / "provinsi" / f"{slug('Jawa Timur')}.html").read_text(encoding="utf-8")
    assert "Sepatu Kulit Nusantara" not in east and "Sepatukulitbuatantangan" in east
    for asset in ("showcase.css", "showcase.js", MARKER, "keadilan.html"):
        assert (out / asset).is_file(), asset
    # the queued post is nobody's business yet: only published features
    assert "2026-11-29" not in page and "29 November" not in page
    # cards are copied by content: the same bytes under their SHA-256
    cards = sorted((out / "kartu").iterdir())
    assert len(cards) == 3
    for card in cards:
        assert card.name == f"{hashlib.sha256(card.read_bytes()).hexdigest()}.jpg"
        assert f"kartu/{card.name}" in site_text(out)
    # every file name is ours, none from member data; and a web server's user can read them
    for path in out.rglob("*"):
        if path.name != MARKER:
            assert SAFE_NAME.fullmatch(path.name), path
        assert path.resolve().is_relative_to(out.resolve())
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


def test_no_field_the_member_did_not_allow_is_shown(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, _ = featured
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    everything = site_text(out)
    page = (out / "anggota" / f"{slug('ifn-a')}.html").read_text(encoding="utf-8")
    # not allowed: the owner's name and the phone, even inside the description
    assert OWNER not in everything and "Budi" not in everything
    assert PHONE not in everything and "3456" not in everything
    assert "Sepatu kulit pria buatan tangan sejak 1998." in page
    # allowed: the e-mail; public business facts: the website, a consented channel's handle
    assert "halo@nusantara.example" in page
    assert 'href="https://nusantara.example"' in page
    assert "https://www.instagram.com/sepatunusantara/" in page
    # a handle on a platform that is not a consented channel is not shown
    assert "nusantara.tt" not in everything
    # no photo of the member is copied or linked: only cards
    assert "owner.jpg" not in everything and "registry.example" not in everything
    assert {p.parent.name for p in out.rglob("*.jpg")} == {"kartu"}


def test_hostile_member_data_stays_text(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, _ = featured
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    page_file = out / "anggota" / f"{slug(HOSTILE_ID)}.html"
    assert page_file.is_file() and page_file.parent == out / "anggota"
    page = page_file.read_text(encoding="utf-8")
    everything = site_text(out)
    assert "<script>alert" not in everything and "<img src=x" not in everything
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in everything and "&lt;b&gt;bold&lt;/b&gt;" in page
    # a javascript: permalink or website is shown as nothing, never linked
    assert "javascript:" not in everything
    # the right-to-left override stays inside its isolate
    assert re.search(r"<bdi>[^<]*\u202eRTL[^<]*</bdi>", page)
    # a category code with markup in it is text too, and its page's name is a slug
    assert "<i>x</i>" not in everything
    assert (out / "kategori" / f"{slug('../<i>x</i>')}.html").is_file()
    assert not (out.parent / "etc").exists()


def test_a_member_who_withdraws_is_gone_at_the_next_build(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, _ = featured
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    page = out / "anggota" / f"{slug('ifn-a')}.html"
    assert page.is_file()
    member = session.get(Member, "ifn-a")
    assert member is not None
    member.consent_withdrawn_at = NOW
    session.commit()
    _build(session, showcase_settings, out, now=NOW + timedelta(minutes=5))
    assert not page.exists()
    assert "Sepatu Kulit Nusantara" not in site_text(out)
    assert not (out / "provinsi" / f"{slug('Jawa Barat')}.html").exists()
    # the cards of that member's posts are gone too; the other member's stays
    assert len(list((out / "kartu").iterdir())) == 1
    # nothing is left beside the site from either build
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".site.building", ".site.old"))]


def test_published_features_dated_after_the_build_are_shown(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    """The demo publishes two weeks of slots on a clock moved forward: its features are dated
    after the wall clock a later `ifn-campaign showcase` runs on. A published post is out, so
    its feature is shown (the site was empty on the demo's data)."""
    session, _ = featured
    report = build_showcase(session, showcase_settings, tmp_path / "site", now=NOW)
    early = build_showcase(
        session, showcase_settings, tmp_path / "early", now=NOW - timedelta(days=60)
    )
    assert (early.members, early.features) == (report.members, report.features) != (0, 0)


def test_a_build_that_fails_half_way_leaves_the_old_site(
    featured: tuple[Session, Featured], tmp_path: Path
) -> None:
    """A restyled member page with a slip: the index is made, the member pages fail; the site
    served is the old one, byte for byte, and the half-built folder is gone."""
    session, _ = featured
    mine = tmp_path / "mine"
    (mine / "showcase").mkdir(parents=True)
    (mine / "showcase" / "member.html.j2").write_text(
        "{{ member.no_such_field.deeper }}", encoding="utf-8"
    )
    plain = Settings(data_dir=tmp_path / "data")
    restyled = Settings(data_dir=tmp_path / "data", templates={"dir": str(mine)})
    out = tmp_path / "site"
    _build(session, plain, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(TemplateError, match=r"member\.html\.j2"):
        _build(session, restyled, out, now=NOW + timedelta(days=1))
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".site.building", ".site.old"))]


def test_a_folder_that_is_not_a_showcase_is_never_replaced(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, _ = featured
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileAccessError, match="not a showcase folder"):
        _build(session, showcase_settings, home)
    assert [p.name for p in home.iterdir()] == ["notes.txt"]
    a_file = tmp_path / "file.html"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(FileAccessError, match="is not a folder"):
        _build(session, showcase_settings, a_file)
    assert a_file.read_text(encoding="utf-8") == "x"
    linked = tmp_path / "linked"
    linked.symlink_to(home, target_is_directory=True)
    with pytest.raises(FileAccessError, match="is a symbolic link: give the folder it points"):
        _build(session, showcase_settings, linked)
    assert linked.is_symlink() and [p.name for p in home.iterdir()] == ["notes.txt"]
    # an empty folder is taken, and rebuilt afterwards thanks to the marker
    empty = tmp_path / "empty"
    empty.mkdir()
    _build(session, showcase_settings, empty)
    _build(session, showcase_settings, empty)
    assert (empty / "index.html").is_file()


def test_the_fairness_page_counts_features_against_members(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, _ = featured
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    page = (out / "keadilan.html").read_text(encoding="utf-8")
    features = len(session.scalars(select(Post.id).where(Post.state == "published")).all())
    assert f"({features} tampilan sejauh ini)" in page
    assert page.count("<svg") == 2  # per province and per actor type
    assert "Tampilan per provinsi" in page and "Tampilan per jenis pelaku" in page
    assert "Produsen" in page and "Jawa Barat" in page
    # no member is named on it
    assert "Nusantara" not in page and "Ditarik" not in page


def test_an_empty_ledger_makes_a_site_that_says_so(
    engine: object, showcase_settings: Settings, tmp_path: Path
) -> None:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    out = tmp_path / "site"
    with Session(engine) as session:
        report = build_showcase(session, showcase_settings, out, now=NOW)
    assert report.members == 0
    assert "Belum ada anggota yang ditampilkan." in (out / "index.html").read_text("utf-8")
    assert "Belum ada tampilan" in (out / "keadilan.html").read_text("utf-8")


@pytest.mark.parametrize("text", ["../x", "/etc/passwd", "CON", "\u202e", "", "a" * 500, "é/è"])
def test_slugs_are_file_names(text: str) -> None:
    made = slug(text)
    assert SAFE_NAME.fullmatch(made) and len(made) <= 53
    assert slug(text) == made and slug(text + "x") != made


def test_a_killed_builds_leftovers_go_at_the_next_build(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    session, _ = featured
    out = tmp_path / "site [1]"  # a name with glob characters in it
    half = tmp_path / ".site [1].building-abc123"
    old = tmp_path / ".site [1].old-0000"
    for folder in (half, old):
        folder.mkdir()
        (folder / "index.html").write_text("half", encoding="utf-8")
    unrelated = tmp_path / ".site.building-other"
    unrelated.mkdir()
    _build(session, showcase_settings, out)
    assert not half.exists() and not old.exists()
    assert unrelated.is_dir()  # another folder's
    assert (out / "index.html").is_file()


def test_a_build_waits_for_the_one_under_way(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    """A build holds `.<name>.lock` beside the folder (as a publish run's would): another build
    of the folder waits for it, then makes its whole site; while it waits nothing changes."""
    session, _ = featured
    engine = session.get_bind()
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    before = (out / "index.html").read_bytes()
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with Session(engine) as own:
                build_showcase(own, showcase_settings, out, now=NOW + timedelta(days=1))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with (tmp_path / ".site.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a build under way
        waiting = threading.Thread(target=build)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # it waits
        assert (out / "index.html").read_bytes() == before
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.building")]
        fcntl.flock(held, fcntl.LOCK_UN)
    waiting.join(timeout=60)
    assert not waiting.is_alive() and errors == []
    assert (out / "index.html").read_bytes() != before  # built at its own time
    assert "7 Desember 2026" in (out / "index.html").read_text(encoding="utf-8")


def test_every_link_resolves_and_english_follows_indonesian(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    """Every page's relative links and images lead to a file of the site; each page has its
    other-language twin (Indonesian at the root, English under en/), linked both ways."""
    session, _ = featured
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 2 * len([p for p in pages if p.relative_to(out).parts[0] != "en"])
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for target in re.findall(r'(?:href|src)="([^"]+)"', html):
            if target.startswith(("https://", "#")):
                continue
            assert (page.parent / target).resolve().is_file(), f"{page}: {target}"
        english = page.relative_to(out).parts[0] == "en"
        assert f'<html lang="{"en" if english else "id"}">' in html
        twin = re.search(r'<a class="language" href="([^"]+)"', html)
        assert twin is not None
        other = (page.parent / twin.group(1)).resolve()
        assert other == (
            out / page.relative_to(out / "en") if english else out / "en" / page.relative_to(out)
        )
    page = (out / "en" / "anggota" / f"{slug('ifn-a')}.html").read_text(encoding="utf-8")
    assert "See the post on Instagram" in page and "Kab. Bogor" not in page
    assert "Bogor Regency, West Java" in page and "Leather shoes" in page
    assert "Tuesday, 3 November 2026 at 19:00 WIB" in page
    assert OWNER not in page and "halo@nusantara.example" in page
    index = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert "IFN members we have featured" in index and 'data-shown-of="{shown} of' in index


def test_a_member_row_no_sync_writes_is_left_out_and_said(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    """JSON null where a list or a map is kept (a hand edit): that member is left out with a
    note, the rest of the site is built."""
    session, _ = featured
    session.execute(
        text("UPDATE member SET contact = 'null', categories = 'null' WHERE id = 'ifn-a'")
    )
    session.commit()
    out = tmp_path / "site"
    report = build_showcase(session, showcase_settings, out, now=NOW)
    assert report.members == 1
    assert [n for n in report.notes if "'ifn-a' left out" in n]
    assert not (out / "anggota" / f"{slug('ifn-a')}.html").exists()
    assert (out / "anggota" / f"{slug(HOSTILE_ID)}.html").is_file()


@pytest.mark.parametrize(
    "stored",
    ['"no owner_name, no phone"', '{"owner_name": false, "phone": false}', "null", "7"],
)
def test_a_consent_list_that_is_no_list_allows_nothing(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path, stored: str
) -> None:
    """A hand-edited `consent_fields_allowed` that is a string or a map is no consent: read as
    such, a string allowed its substrings and a map its keys, so the site published the owner's
    name and phone they had refused. The member is shown with their public facts only."""
    session, _ = featured
    session.execute(
        text("UPDATE member SET consent_fields_allowed = :v WHERE id = 'ifn-a'"), {"v": stored}
    )
    session.commit()
    out = tmp_path / "site"
    _build(session, showcase_settings, out)
    everything = site_text(out)
    assert OWNER not in everything and PHONE not in everything
    assert "halo@nusantara.example" not in everything  # the e-mail, allowed before, is not now
    page = (out / "anggota" / f"{slug('ifn-a')}.html").read_text(encoding="utf-8")
    assert "Sepatu kulit pria buatan tangan sejak 1998." in page
