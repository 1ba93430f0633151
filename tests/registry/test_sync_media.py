"""Issue 14, the media stage: a page commits its members and media rows and the bytes are
fetched after it, each fetch under `media.fetch_deadline`; a sync SIGKILLed between a page and
its media leaves the rows pending and the next run fetches them (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import MediaSettings, RegistrySettings
from ifn_campaign.models import Member, MemberMedia, SyncRun
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.media import MediaFetcher
from ifn_campaign.registry.sync import SyncResult, sync_members
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.registry import settings_for
from tests.support.sync import CLI, _cli_env, _sync, state

TRICKLE = "trickle.jpg"


@contextlib.contextmanager
def trickling(on_request: Any) -> Iterator[str]:
    """A host that answers an image request with headers, then one byte every 50 ms for ever
    (each byte inside any read timeout). `on_request` runs as each request arrives."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            on_request()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(0.05):
                conn.sendall(b"\xff")

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def _media_states(engine: Engine) -> dict[tuple[str, str, int], tuple[str | None, bool]]:
    with Session(engine) as s:
        return {
            (m.member_id, m.role, m.position): (m.refused_reason, m.asset_sha256 is not None)
            for m in s.scalars(select(MemberMedia))
        }


def test_a_trickling_media_host_waits_for_no_page(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """The fetch starts only once the page (members and media rows) is committed, ends at
    media.fetch_deadline however patiently the host sends, is refused `timeout`, and is tried
    again on the next sync."""
    members = generate_members(6, seed=2)
    seen_at_request: list[tuple[int, Any]] = []

    def look() -> None:  # from the host's side, in its own connection to the database
        with Session(engine) as s:
            stored = s.scalar(select(func.count()).select_from(Member))
            reason = s.scalar(
                select(MemberMedia.refused_reason).where(
                    MemberMedia.member_id == members[0]["id"], MemberMedia.role == "logo"
                )
            )
        seen_at_request.append((stored or 0, reason))

    with trickling(look) as host, RegistrySandbox(members=copy.deepcopy(members)) as sb:
        slow = copy.deepcopy(members[0])
        slow["logo_url"] = f"http://{host}/{TRICKLE}"
        sb.upsert(slow)
        media = MediaSettings(
            dir=tmp_path / "media",
            allow_hosts=[sb.url.removeprefix("http://"), host],
            read_timeout=5.0,
            fetch_deadline=1.0,
        )

        def run() -> SyncResult:
            settings_ = RegistrySettings(base_url=sb.url, page_size=50)
            with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
                return sync_members(engine, client, fetcher, full=True)

        first = run()
        assert seen_at_request == [(6, "pending")]  # the page was in before the fetch began
        assert first.run.status == "completed"
        assert first.media_refusals == [(slow["id"], slow["logo_url"], "timeout")]
        states = _media_states(engine)
        assert states.pop((slow["id"], "logo", 0)) == ("timeout", False)
        assert set(states.values()) == {(None, True)}  # every other picture is in
        second = run()
        assert len(seen_at_request) == 2  # a timeout may pass: tried again
        assert second.run.media_refused == 1 and second.run.media_fetched == 0


@pytest.mark.slow
def test_killed_between_a_page_and_its_media_the_next_run_fetches_them(
    tmp_path: Path, db_url: str
) -> None:
    """SIGKILL once the only page is committed while its pictures are still downloading: the
    rows are there, pending; the next run (nothing left to page through) fetches every one and
    ends where an uninterrupted sync ends."""
    with RegistrySandbox(members=generate_members(5, seed=8)) as sb:
        env = _cli_env(sb, db_url, tmp_path, page_size=50)
        subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
        engine = store.make_engine(db_url)
        sb.faults.add(Fault(path="/media/", kind="slow", delay=30, times=0))
        proc = subprocess.Popen(
            [*CLI, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while True:
            with Session(engine) as s:
                pages = s.scalar(select(func.max(SyncRun.pages))) or 0
            if pages >= 1:
                break
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        while not sb.requests.matching("/media/"):  # the downloads have begun
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        left = _media_states(engine)
        assert left and set(left.values()) == {("pending", False)}
        sb.faults.clear()
        done = subprocess.run([*CLI, "sync"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert set(_media_states(engine).values()) == {(None, True)}
        ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
        store.upgrade(store.make_engine(ref_url))
        _sync(settings_for(sb, ref_url, tmp_path / "ref-media", page_size=50))
    assert state(store.make_engine(ref_url)) == state(engine)
    engine.dispose()


def test_a_changed_member_rechecks_its_pictures_but_not_a_refusal_for_good(
    engine: Engine, tmp_path: Path
) -> None:
    """A member who changes another field has their fetched pictures checked again (ETag, so a
    picture replaced at the same URL is noticed); a picture refused from its URL alone stays
    refused without a request until the URL changes."""
    member = generate_members(1, seed=6)[0]
    member["logo_url"] = "ftp://files.example/logo.png"
    member["photos"] = member["photos"][:1]
    with RegistrySandbox(members=[copy.deepcopy(member)]) as sb:
        media = MediaSettings(dir=tmp_path / "media", allow_hosts=[sb.url.removeprefix("http://")])

        def run() -> SyncResult:
            settings_ = RegistrySettings(base_url=sb.url, page_size=50)
            with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
                return sync_members(engine, client, fetcher, full=True)

        first = run()
        assert first.run.media_fetched == 1 and first.run.media_refused == 1
        sb.requests.clear()
        sb.upsert({**member, "business_name": member["business_name"] + " Baru"})
        second = run()
        asked = sb.requests.matching("/media/")
        assert [r.path for r in asked] == [member["photos"][0]["url"]]
        assert asked[0].headers.get("If-None-Match")  # checked again, conditionally
        assert second.run.media_reused == 1 and second.run.media_refused == 0
        states = _media_states(engine)
        assert states[(member["id"], "logo", 0)] == ("unsupported_scheme", False)
        assert states[(member["id"], "photo", 0)] == (None, True)


@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_a_picture_url_no_database_stores_costs_only_that_picture(
    engine: Engine, tmp_path: Path, bad: str
) -> None:
    """A URL (or alt text) holding NUL, which PostgreSQL text refuses, is stored escaped
    (`\\u0000`) on both databases and refused `invalid_url` without a request: the member and
    their other pictures are stored. A lone surrogate the validation quarantines itself."""
    member = generate_members(1, seed=12)[0]
    member["logo_url"] = f"http://127.0.0.1:1/logo{bad}.png"
    member["photos"] = [{**member["photos"][0], "alt": f"Produk{bad}"}]
    with RegistrySandbox(members=[copy.deepcopy(member)]) as sb:
        media = MediaSettings(dir=tmp_path / "media", allow_hosts=[sb.url.removeprefix("http://")])
        settings_ = RegistrySettings(base_url=sb.url, page_size=50)
        with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
            result = sync_members(engine, client, fetcher, full=True)
    assert result.run.status == "completed" and result.run.quarantined <= 1
    if result.run.quarantined:  # the validation's own refusal (a lone surrogate), not ours
        assert "could not be stored" not in " ".join(result.quarantined[0].reasons)
        return
    states = _media_states(engine)
    assert states[(member["id"], "logo", 0)] == ("invalid_url", False)
    assert states[(member["id"], "photo", 0)] == (None, True)


def test_a_hostile_etag_is_not_kept_and_costs_nothing(engine: Engine, tmp_path: Path) -> None:
    """A media host's ETag longer than the column (or unprintable) is dropped, not written: the
    picture is stored and the sync completes on both databases."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "PNG")
    png = buffer.getvalue()

    def answer(conn: socket.socket, etag: bytes) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
            conn.sendall(head + b"ETag: " + etag + b"\r\nContent-Length: %d\r\n\r\n" % len(png))
            conn.sendall(png)

    listener = socket.create_server(("127.0.0.1", 0))
    etags = [b'"' + b"e" * 5000 + b'"', b'"a\x7fb"']

    def serve() -> None:
        with contextlib.suppress(OSError):
            for etag in itertools.cycle(etags):
                conn, _ = listener.accept()
                answer(conn, etag)

    threading.Thread(target=serve, daemon=True).start()
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    member = generate_members(1, seed=13)[0]
    member["logo_url"] = f"http://{host}/logo.png"
    member["photos"] = [{"url": f"http://{host}/photo.png", "alt": "Produk"}]
    try:
        with RegistrySandbox(members=[member]) as sb:
            media = MediaSettings(dir=tmp_path / "media", allow_hosts=[host])
            settings_ = RegistrySettings(base_url=sb.url, page_size=50)
            with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
                result = sync_members(engine, client, fetcher, full=True)
    finally:
        listener.close()
    assert result.run.status == "completed" and result.run.media_refused == 0
    with Session(engine) as s:
        rows = s.scalars(select(MemberMedia)).all()
    assert [(r.asset_sha256 is not None, r.etag) for r in rows] == [(True, None), (True, None)]


def _sha_of(sb: RegistrySandbox, name: str) -> str:
    """The SHA-256 of a picture the sandbox serves."""
    import hashlib

    import requests

    return hashlib.sha256(requests.get(f"{sb.url}/media/{name}", timeout=5).content).hexdigest()


def test_a_member_whose_picture_changes_during_the_sync_ends_it_with_the_new_one(
    engine: Engine, tmp_path: Path
) -> None:
    """The registry sends a member again on a later page of the same run (they changed their
    logo meanwhile): the new URL is fetched in that run, not left pending, and the old URL's
    outcome is neither written over the new row nor counted."""
    first, other = generate_members(2, seed=21)
    first |= {"updated_at": "2024-01-01T00:00:00Z", "photos": []}
    first["logo_url"] = "/media/gen-logo-0.png"
    other |= {"updated_at": "2024-01-02T00:00:00Z", "photos": []}
    other["logo_url"] = "/media/gen-logo-0.png"
    with RegistrySandbox(members=[copy.deepcopy(first), copy.deepcopy(other)]) as sb:
        media = MediaSettings(dir=tmp_path / "media", allow_hosts=[sb.url.removeprefix("http://")])

        def changed_meanwhile(run: SyncRun, _records: int) -> None:
            if run.pages == 1:  # after the first page: the member changes their logo
                changed = {k: v for k, v in first.items() if k != "updated_at"}  # now
                sb.upsert(changed | {"logo_url": "/media/gen-logo-1.png"})

        settings_ = RegistrySettings(base_url=sb.url, page_size=1)
        with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
            result = sync_members(engine, client, fetcher, full=True, progress=changed_meanwhile)
        new_sha = _sha_of(sb, "gen-logo-1.png")
    assert result.run.status == "completed" and result.run.pages == 3
    with Session(engine) as s:
        row = s.scalars(select(MemberMedia).where(MemberMedia.member_id == first["id"])).one()
    assert row.source_url.endswith("/media/gen-logo-1.png")
    assert (row.refused_reason, row.asset_sha256) == (None, new_sha)
    # gen-logo-0 and gen-logo-1 stored once each; the old logo's fetch counts (as reused by
    # the other member) only when it was stored before the member changed it
    assert result.run.media_fetched == 2 and result.run.media_reused <= 1
    assert result.media_refusals == []


def test_two_syncs_storing_the_same_new_picture_at_once_both_complete(
    engine: Engine, tmp_path: Path
) -> None:
    """Two syncs (of different sources) fetch the same picture at once: the other stores the
    asset between our look-up and our insert. The duplicate is not an error: the picture is
    kept and the sync completes (it failed on the asset's primary key, SQLite and PostgreSQL)."""
    from sqlalchemy import event, insert

    from ifn_campaign.models import MediaAsset, utcnow

    member = generate_members(1, seed=22)[0] | {"photos": []}
    member["logo_url"] = "/media/gen-logo-0.png"
    raced: list[str] = []

    def other_sync_first(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if raced or not statement.lstrip().upper().startswith("INSERT INTO MEDIA_ASSET"):
            return
        raced.append(sha)
        row = {"sha256": sha, "mime_type": "image/png", "width": 1, "height": 1, "bytes": 1}
        row |= {"source_url": "http://other.example/logo.png", "path": "elsewhere"}
        with engine.begin() as other:  # another process, its own connection
            other.execute(insert(MediaAsset.__table__), [row | {"fetched_at": utcnow()}])

    with RegistrySandbox(members=[member]) as sb:
        sha = _sha_of(sb, "gen-logo-0.png")
        event.listen(engine, "before_cursor_execute", other_sync_first)
        try:
            media = MediaSettings(
                dir=tmp_path / "media", allow_hosts=[sb.url.removeprefix("http://")]
            )
            settings_ = RegistrySettings(base_url=sb.url, page_size=50)
            with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
                result = sync_members(engine, client, fetcher, full=True)
        finally:
            event.remove(engine, "before_cursor_execute", other_sync_first)
    assert raced and result.run.status == "completed"
    states = _media_states(engine)
    assert states == {(member["id"], "logo", 0): (None, True)}


def test_a_picture_the_fetcher_fails_on_unexpectedly_is_fetched_again_next_sync(
    engine: Engine, tmp_path: Path
) -> None:
    """A fetch that raises something unexpected in its pool thread (here the media folder
    cannot be written: a disk full or a wrong mount) is refused `fetch_failed` for this run
    only: nothing about the URL is wrong, so the next sync fetches it (it stayed refused until
    the member changed the URL)."""
    member = generate_members(1, seed=23)[0] | {"photos": []}
    member["logo_url"] = "/media/gen-logo-0.png"
    media_dir = tmp_path / "media"
    with RegistrySandbox(members=[member]) as sb:
        blocker = media_dir / _sha_of(sb, "gen-logo-0.png")[:2]
        blocker.parent.mkdir(parents=True)
        blocker.write_bytes(b"")  # a file where the store wants a folder
        media = MediaSettings(dir=media_dir, allow_hosts=[sb.url.removeprefix("http://")])

        def run() -> SyncResult:
            settings_ = RegistrySettings(base_url=sb.url, page_size=50)
            with RegistryClient(settings_) as client, MediaFetcher(media) as fetcher:
                return sync_members(engine, client, fetcher, full=True)

        first = run()
        assert first.run.status == "completed"
        assert [r for _m, _u, r in first.media_refusals] == ["fetch_failed"]
        blocker.unlink()
        second = run()
    assert second.run.status == "completed" and second.run.media_fetched == 1
    assert _media_states(engine) == {(member["id"], "logo", 0): (None, True)}
