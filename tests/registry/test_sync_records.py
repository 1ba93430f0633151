"""Issue 14, the sync's side of record validation, over HTTP against the registry sandbox on
SQLite and PostgreSQL: invalid Unicode is quarantined and stored safely, a non-canonical id never
touches another member, notes reach `member.notes` and the CLI, and a bad media URL is refused
for good without a single request (a second sandbox is the canary that counts them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.models import Member, MemberMedia, QuarantinedRecord, SyncRun
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.media import MediaFetcher
from ifn_campaign.registry.sync import COUNT_FIELDS, SyncResult, sync_members
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.registry import settings_for


def _sync(settings: Settings, *, media: bool = True) -> SyncResult:
    engine = store.open_store(settings.database.url)
    fetcher = MediaFetcher(settings.media) if media else None
    try:
        with RegistryClient(settings.registry, sleep=lambda _s: None) as client:
            return sync_members(engine, client, fetcher)
    finally:
        if fetcher:
            fetcher.close()
        engine.dispose()


def _member(i: int) -> dict[str, Any]:
    member = copy.deepcopy(generate_members(i, seed=11)[i - 1])
    del member["updated_at"]
    return member


@pytest.fixture
def sandbox() -> Any:
    with RegistrySandbox(members=generate_members(3, seed=11)) as sb:
        yield sb


@pytest.fixture
def canary() -> Any:
    """A server the bad URLs point at: any request it sees is a request we must not send."""
    with RegistrySandbox(members=[]) as sb:
        yield sb


@pytest.fixture
def cfg(sandbox: RegistrySandbox, canary: RegistrySandbox, db_url: str, tmp_path: Path) -> Settings:
    settings = settings_for(sandbox, db_url, tmp_path / "media", page_size=2)
    hosts = [*settings.media.allow_hosts, canary.url.removeprefix("http://")]
    return settings.model_copy(
        update={"media": settings.media.model_copy(update={"allow_hosts": hosts})}
    )


@pytest.mark.parametrize("field", ["business_name", "owner_name", "contact__email", "photo_alt"])
def test_a_lone_surrogate_is_quarantined_and_stored_safely(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox, field: str
) -> None:
    bad = _member(4)
    if field == "photo_alt":
        bad["photos"][0]["alt"] = "foto \ud800"
    elif field == "contact__email":
        bad["contact"]["email"] = "info\udfff@contoh.co.id"
    else:
        bad[field] = "Sepatu \ud83d Jaya"  # half of an emoji's pair, sent as a JSON escape
    sandbox.upsert(bad)
    result = _sync(cfg, media=False)
    assert result.run.status == "completed" and result.counts()["new"] == 3
    with Session(engine) as s:
        assert s.get(Member, bad["id"]) is None
        [row] = s.scalars(select(QuarantinedRecord)).all()
    assert row.member_id == bad["id"]
    assert any("surrogate" in r for r in row.reasons), row.reasons
    assert "\\ud8" in row.payload or "\\udf" in row.payload  # the payload is kept, escaped


def test_a_non_canonical_id_never_changes_the_member_it_resembles(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    _sync(cfg, media=False)
    victim = generate_members(3, seed=11)[0]
    for raw_id in (victim["id"] + "\x00", " " + victim["id"], victim["id"] + "\u200b"):
        impostor = {**copy.deepcopy(victim), "id": raw_id, "status": "deleted"}
        impostor["business_name"] = "Penipu"
        del impostor["updated_at"]
        sandbox.upsert(impostor)
    result = _sync(cfg, media=False)
    assert result.counts()["quarantined"] == 3 and result.counts()["removed"] == 0
    with Session(engine) as s:
        kept = s.get(Member, victim["id"])
        assert kept is not None and kept.status == "active"
        assert kept.business_name == victim["business_name"]
        rows = s.scalars(select(QuarantinedRecord)).all()
    assert all(any(r.startswith("id:") for r in q.reasons) for q in rows)


def test_notes_are_stored_shown_and_cleared_when_the_registry_fixes_the_record(
    cfg: Settings,
    engine: Engine,
    sandbox: RegistrySandbox,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member = _member(4)
    fixed = copy.deepcopy(member)
    member["business_name"] = "Sepatu\x00 Jaya"
    member["socials"] = {"instagram": "sepatu\njaya"}
    sandbox.upsert(member)
    assert _sync(cfg, media=False).counts()["new"] == 4
    with Session(engine) as s:
        stored = s.get(Member, member["id"])
        assert stored is not None and stored.business_name == "Sepatu Jaya"
        assert stored.socials["instagram"] is None
        notes = stored.notes or []
    assert any(n.startswith("business_name: removed 1") and "U+0000" in n for n in notes)
    assert any(n.startswith("socials.instagram:") and "left out" in n for n in notes)
    monkeypatch.setenv("IFN_DATABASE__URL", db_url)
    assert main(["member", member["id"]]) == 0
    shown = capsys.readouterr().out
    assert "note: business_name: removed 1" in shown and "note: socials.instagram:" in shown
    fixed["business_name"] = "Sepatu Jaya"
    sandbox.upsert(fixed)
    assert _sync(cfg, media=False).counts()["updated"] == 1
    with Session(engine) as s:
        stored = s.get(Member, member["id"])
        assert stored is not None and stored.notes is None


def _bad_urls(canary: RegistrySandbox) -> dict[str, str]:
    """Each bad URL and the reason it is refused; all of them aim at the canary."""
    host = canary.url.removeprefix("http://")
    image = canary.add_file("logo.png", b"\x89PNG not really", "image/png")
    return {
        f"http://a@{host}/media/logo.png": "credentials_in_url",
        f"http://{host}\\media\\logo.png": "invalid_url",
        f"http://{host}/media/logo.png\r\nX-Injected: 1": "invalid_url",
        f"file:///{host}/media/logo.png": "unsupported_scheme",
        f"gopher://{host}/media/logo.png": "unsupported_scheme",
        f"ftp://{host}/media/logo.png": "unsupported_scheme",
        "data:image/png;base64,iVBORw0KGgo=": "unsupported_scheme",
        "javascript:fetch('" + image + "')": "unsupported_scheme",
        f"//{host}/media/logo.png": "unsupported_scheme",
        "media/logo.png": "unsupported_scheme",
        image + "?" + "a" * 10_000: "url_too_long",
    }


def test_a_bad_media_url_is_refused_for_good_and_never_requested(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox, canary: RegistrySandbox
) -> None:
    bad = _bad_urls(canary)
    urls = list(bad)
    member = _member(4)
    member["logo_url"] = urls[0]
    member["photos"] = [{"url": u, "alt": f"foto {i}"} for i, u in enumerate(urls[1:])]
    sandbox.upsert(member)
    result = _sync(cfg)
    assert result.counts()["new"] == 4 and result.counts()["quarantined"] == 0
    assert result.counts()["media_refused"] == len(urls)
    assert len(canary.requests) == 0
    with Session(engine) as s:
        rows = s.scalars(select(MemberMedia).where(MemberMedia.member_id == member["id"]))
        refused = {r.source_url: r.refused_reason for r in rows}
        stored = s.get(Member, member["id"])
    assert refused == bad
    assert stored is not None and stored.logo_url == urls[0]
    # permanent: the next sync does not try again, nor count them again
    again = _sync(cfg)
    assert again.counts()["media_refused"] == 0 and len(canary.requests) == 0
    # a new URL is a new decision
    member["logo_url"] = canary.url + "/media/logo.png"
    sandbox.upsert(member)
    _sync(cfg)
    assert [r.path for r in canary.requests] == ["/media/logo.png"]


def test_a_photo_without_a_usable_url_is_refused_and_the_member_stored(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox, canary: RegistrySandbox
) -> None:
    """A photo with an empty, missing or non-text URL, a photo that is not an object, an alt
    that is not text, a logo that is not text: each costs only that picture (or value), never
    the member, and nothing is requested."""
    good = canary.add_file("ok.png", b"\x89PNG not really", "image/png")
    member = _member(4)
    member["logo_url"] = {"href": good}
    member["photos"] = [
        {"url": "", "alt": "kosong"},
        {"alt": "tanpa url"},
        {"url": 42},
        good,
        {"url": f"http://{canary.url.removeprefix('http://')}\r\n/ok.png", "alt": 7},
    ]
    sandbox.upsert(member)
    result = _sync(cfg)
    assert result.run.status == "completed"
    assert result.counts()["new"] == 4 and result.counts()["quarantined"] == 0
    assert result.counts()["media_refused"] == 5 and len(canary.requests) == 0
    with Session(engine) as s:
        stored = s.get(Member, member["id"])
        rows = s.scalars(
            select(MemberMedia)
            .where(MemberMedia.member_id == member["id"])
            .order_by(MemberMedia.position)
        ).all()
    assert stored is not None and stored.logo_url is None
    assert [(r.role, r.refused_reason) for r in rows] == [("photo", "invalid_url")] * 5
    assert [r.refused_detail for r in rows][:4] == ["empty: no URL given"] * 4
    assert rows[4].alt is None and "\r\n" in rows[4].source_url
    notes = stored.notes or []
    for prefix in ("logo_url:", "photos.0.url:", "photos.1.url:", "photos.2.url:", "photos.3:"):
        assert any(n.startswith(prefix) for n in notes), (prefix, notes)
    assert any(n.startswith("photos.4.alt:") for n in notes), notes


# Characters a terminal or a markdown table must never receive raw from member data.
_RAW = ("\x1b", "\r", "\x07", "\u202e", "\x00")


def _no_raw(text: str) -> None:
    assert not any(c in text for c in _RAW), repr(text)


def test_member_text_never_reaches_the_terminal_raw(
    cfg: Settings,
    engine: Engine,
    sandbox: RegistrySandbox,
    canary: RegistrySandbox,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refused URL is kept as sent (CR/LF, ESC and all) and stored text may predate today's
    cleaning: the sync summary, `members`, `member` and `quarantine` show every invisible
    character as its escape, and its Prefect table holds no line break or direction override."""
    host = canary.url.removeprefix("http://")
    member = _member(4)
    member["logo_url"] = f"http://{host}/a.png\r\nX-Evil: 1\x1b[2J\x07\u202e"
    sandbox.upsert(member)
    sandbox.upsert({**_member(5), "id": "bad\x1b[31m"})  # quarantined, no id kept
    sandbox.upsert({**_member(6), "status": "paused\x1b]0;owned\x07"})
    monkeypatch.setenv("IFN_DATABASE__URL", db_url)
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", cfg.registry.base_url)
    monkeypatch.setenv("IFN_MEDIA__DIR", str(cfg.media.dir))
    monkeypatch.setenv("IFN_MEDIA__ALLOW_HOSTS", json.dumps(cfg.media.allow_hosts))
    monkeypatch.setenv("IFN_LOG__FILE", str(cfg.media.dir.parent / "cli.log"))
    monkeypatch.setattr(base.out, "_width", 400)  # one table row per line, whatever the host
    assert main(["sync"]) == 0
    summary = capsys.readouterr().out
    _no_raw(summary)
    assert "\\r\\nX-Evil: 1\\x1b[2J" in summary and len(canary.requests) == 0
    with Session(engine) as s:  # stored before today's cleaning, or by hand
        stored = s.get(Member, member["id"])
        assert stored is not None
        stored.business_name = "Sepatu\x1b[31m Merah\r\nPalsu\u202e"
        stored.province = "Jawa\x07 Timur"
        stored.notes = ["business_name: \x1b[2J"]
        s.commit()
    for command in (["members"], ["member", member["id"]], ["quarantine"]):
        assert main(command) == 0
        shown = capsys.readouterr().out
        _no_raw(shown)
    assert main(["member", member["id"]]) == 0
    shown = capsys.readouterr().out
    assert "Sepatu\\x1b[31m Merah\\r\\nPalsu\\u202e" in shown and "\\x1b[2J" in shown


def test_the_sync_markdown_shows_a_refused_url_on_one_line() -> None:
    run = SyncRun(id=1, source="registry:x", mode="full", status="completed", pages=1)
    result = SyncResult(run=run)
    result.media_refusals.append(("ifn-1", "http://x/a.png\r\n| b |\x1b[2J\u202e", "invalid_url"))
    for name in COUNT_FIELDS:
        setattr(run, name, 0)
    [row] = [line for line in result.markdown().splitlines() if line.startswith("| ifn-1")]
    _no_raw(row)
    assert "\\\\r\\\\n" in row and "\\|" in row  # the escapes, themselves escaped for markdown
