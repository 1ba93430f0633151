"""The sync end to end over HTTP against the registry sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.errors import RegistryUnreachable
from ifn_campaign.models import (
    Member,
    MemberMedia,
    QuarantinedRecord,
    SyncRun,
    SyncState,
    utcnow,
)
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.consent import promotable
from ifn_campaign.registry.sync import SyncResult, sync_members
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.registry import settings_for
from tests.support.sync import CLI, _cli_env, _sync, state

BROKEN: list[Any] = [
    {"id": "bad-1", "business_name": "  ", "actor_types": ["brand"], "status": "active"},
    {"id": "bad-2", "business_name": "Grosir Sepatu", "actor_types": ["wholesaler"]},
    "not an object",
]


def _members(n: int = 12) -> list[dict[str, Any]]:
    return generate_members(n, seed=7)


@pytest.fixture
def sandbox() -> Any:
    with RegistrySandbox(members=_members() + copy.deepcopy(BROKEN)) as sb:
        yield sb


@pytest.fixture
def cfg(sandbox: RegistrySandbox, engine: Engine, db_url: str, tmp_path: Path) -> Settings:
    return settings_for(sandbox, db_url, tmp_path / "media", page_size=5)


def test_full_sync_stores_valid_quarantines_broken(cfg: Settings, engine: Engine) -> None:
    result = _sync(cfg)
    counts = result.counts()
    assert counts["new"] == 12 and counts["quarantined"] == 3 and counts["unchanged"] == 0
    assert counts["media_refused"] == 0
    assert counts["media_fetched"] + counts["media_reused"] == sum(
        1 + len(m["photos"]) for m in _members()
    )
    with Session(engine) as s:
        assert s.scalar(select(SyncState.high_water_mark)) is not None
        reasons = {q.member_id: q.reasons for q in s.scalars(select(QuarantinedRecord))}
    assert any("business_name" in r for r in reasons["bad-1"])
    assert any("wholesaler" in r for r in reasons["bad-2"])
    assert any("description_id" in r for r in reasons["bad-2"])
    assert reasons[None] == ["record: expected a JSON object, got str"]
    run = result.run
    assert run.status == "completed" and run.mode == "full" and run.pages == 3


def test_resync_without_changes_rewrites_nothing(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    _sync(cfg)
    before = state(engine)
    with Session(engine) as s:
        changed_at = {m.id: m.last_changed_at for m in s.scalars(select(Member))}
    sandbox.requests.clear()
    again = _sync(cfg, full=True)
    assert again.counts() == {
        "new": 0,
        "updated": 0,
        "unchanged": 12,
        "quarantined": 3,
        "removed": 0,
        "media_fetched": 0,
        "media_reused": 0,
        "media_refused": 0,
    }
    assert sandbox.requests.matching("/media/") == []
    assert state(engine) == before
    with Session(engine) as s:
        assert {m.id: m.last_changed_at for m in s.scalars(select(Member))} == changed_at
        assert s.scalar(select(QuarantinedRecord).where(QuarantinedRecord.member_id == "bad-1"))
        assert len(s.scalars(select(QuarantinedRecord)).all()) == 3  # not stored twice


def test_incremental_sync_fetches_only_changes(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    _sync(cfg)
    member = _members()[4]
    changed = {**member, "business_name": "Sepatu Kulit Baru"}
    del changed["updated_at"]
    sandbox.upsert(changed)
    sandbox.requests.clear()
    result = _sync(cfg)
    assert result.run.mode == "incremental"
    assert result.counts()["updated"] == 1
    assert result.counts()["new"] == 0
    first = sandbox.requests.matching("/api/v1/members")[0]
    assert "updated_since" in first.params
    with Session(engine) as s:
        assert s.get(Member, member["id"]).business_name == "Sepatu Kulit Baru"  # type: ignore[union-attr]


def test_suspended_deleted_and_vanished_members_stop_being_promotable(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    _sync(cfg)
    ms = _members()
    for member, status in ((ms[0], "suspended"), (ms[1], "deleted")):
        change = {**member, "status": status}
        del change["updated_at"]
        sandbox.upsert(change)
    sandbox.remove(ms[2]["id"])
    incremental = _sync(cfg)
    assert incremental.counts()["removed"] == 2  # a vanished member needs a full sync to notice
    full = _sync(cfg, full=True)
    assert full.counts()["removed"] == 1
    with Session(engine) as s:
        statuses = {m.id: (m.status, promotable(m, utcnow())) for m in s.scalars(select(Member))}
    assert statuses[ms[0]["id"]] == ("suspended", False)
    assert statuses[ms[1]["id"]] == ("deleted", False)
    assert statuses[ms[2]["id"]] == ("missing", False)
    assert statuses[ms[3]["id"]] == ("active", True)
    sandbox.upsert({k: v for k, v in ms[2].items() if k != "updated_at"})
    back = _sync(cfg)
    assert back.counts()["updated"] == 1
    with Session(engine) as s:
        assert s.get(Member, ms[2]["id"]).status == "active"  # type: ignore[union-attr]


def test_fixed_record_resolves_its_quarantine(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    _sync(cfg)
    fixed = {**_members(13)[12], "id": "bad-1"}
    del fixed["updated_at"]
    sandbox.upsert(fixed)
    result = _sync(cfg)
    assert result.counts()["new"] == 1
    with Session(engine) as s:
        q = s.scalars(select(QuarantinedRecord).where(QuarantinedRecord.member_id == "bad-1")).one()
        assert q.resolved_at is not None


def test_quarantined_update_keeps_last_good_version(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    _sync(cfg)
    member = _members()[5]
    broken = {**member, "year_founded": 3020}
    del broken["updated_at"]
    sandbox.upsert(broken)
    result = _sync(cfg, full=True)
    assert result.counts()["quarantined"] == 4 and result.counts()["removed"] == 0
    with Session(engine) as s:
        kept = s.get(Member, member["id"])
        assert kept is not None and kept.status == "active"
        assert kept.year_founded == member["year_founded"]


def test_media_refusals_are_recorded_on_the_member(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox
) -> None:
    hostile = {
        **_members(14)[13],
        "logo_url": "http://169.254.169.254/latest/meta-data/",
        "photos": [{"url": sandbox.url + "/media/missing.jpg", "alt": "hilang"}],
    }
    del hostile["updated_at"]
    sandbox.upsert(hostile)
    result = _sync(cfg)
    assert result.counts()["media_refused"] == 2
    with Session(engine) as s:
        rows = s.scalars(select(MemberMedia).where(MemberMedia.member_id == hostile["id"])).all()
    assert sorted((r.role, r.refused_reason) for r in rows) == [
        ("logo", "metadata_address"),
        ("photo", "http_status"),
    ]
    # the 404 is transient as far as we know: the next sync retries it, the metadata one never
    sandbox.add_file("missing.jpg", _jpeg(), "image/jpeg")
    sandbox.requests.clear()
    again = _sync(cfg)
    assert again.counts()["media_fetched"] == 1
    assert [r.path for r in sandbox.requests.matching("/media/")] == ["/media/missing.jpg"]


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buf, "JPEG")
    return buf.getvalue()


def test_failed_sync_resumes_from_its_cursor_to_the_same_state(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox, tmp_path: Path, db_url: str
) -> None:
    sandbox.faults.add(Fault(path="/api/v1/members", kind="status", status=500, after=1, times=0))
    with pytest.raises(RegistryUnreachable):
        _sync(cfg.model_copy(update={"registry": cfg.registry.model_copy(update={"retries": 0})}))
    with Session(engine) as s:
        failed = s.scalars(select(SyncRun)).one()
        assert failed.status == "failed" and failed.pages == 1 and failed.cursor
        assert "HTTP 500" in failed.errors[0]
    sandbox.faults.clear()
    sandbox.requests.clear()
    resumed = _sync(cfg)
    assert resumed.run.resumed_from == failed.id
    assert sandbox.requests.matching("/api/v1/members")[0].params["cursor"] == failed.cursor
    ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
    store.upgrade(store.make_engine(ref_url))
    _sync(settings_for(sandbox, ref_url, tmp_path / "ref-media", page_size=5))
    assert state(store.make_engine(ref_url)) == state(engine)


def test_token_never_reaches_the_database(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str
) -> None:
    secret = "tok-9f8e7d6c5b4a"
    with RegistrySandbox(members=_members(3), token=secret) as sb:
        cfg = settings_for(sb, sqlite_url, tmp_path / "media")
        engine = store.open_store(sqlite_url)
        with RegistryClient(cfg.registry, secret) as client:
            sync_members(engine, client, None)
    raw = Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert secret.encode() not in raw


@pytest.mark.slow
def test_sigkill_at_any_point_then_rerun_matches_uninterrupted(tmp_path: Path, db_url: str) -> None:
    """Kill `ifn-campaign sync` with SIGKILL mid-run, several times, then let it finish."""
    members = generate_members(60, seed=11) + copy.deepcopy(BROKEN)
    with RegistrySandbox(members=members) as sb:
        sb.faults.add(Fault(path="/api/v1/members", kind="slow", delay=0.15, times=0))
        env = {
            **os.environ,
            "IFN_DATABASE__URL": db_url,
            "IFN_REGISTRY__BASE_URL": sb.url,
            "IFN_REGISTRY__PAGE_SIZE": "4",
            "IFN_MEDIA__DIR": str(tmp_path / "media"),
            "IFN_MEDIA__ALLOW_HOSTS": f'["{sb.url.removeprefix("http://")}"]',
        }
        env.pop("IFN_CONFIG", None)
        cli = [sys.executable, "-m", "ifn_campaign.cli.app"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        engine = store.make_engine(db_url)

        def pages_done() -> int:
            with Session(engine) as s:
                return max((r.pages for r in s.scalars(select(SyncRun))), default=-1)

        # kill before the first page, then after some pages of each (resumed) run
        for wait_for in (None, 2, 6, 10):
            proc = subprocess.Popen(
                [*cli, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 60
            while wait_for is not None and pages_done() < wait_for:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.02)
            if wait_for is None:
                time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        with Session(engine) as s:
            runs = s.scalars(select(SyncRun)).all()
        assert runs and all(r.status in ("running", "interrupted") for r in runs)
        assert max(r.pages for r in runs) >= 10
        done = subprocess.run([*cli, "sync"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        with Session(engine) as s:
            last = s.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
            assert last is not None and last.status == "completed" and last.resumed_from

        sb.faults.clear()
        ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
        store.upgrade(store.make_engine(ref_url))
        _sync(settings_for(sb, ref_url, tmp_path / "ref-media", page_size=4))
    reference, resumed = state(store.make_engine(ref_url)), state(engine)
    for key in reference:
        assert resumed[key] == reference[key], key


def test_resume_with_a_cursor_the_registry_no_longer_accepts_starts_over(
    cfg: Settings, engine: Engine, sandbox: RegistrySandbox, tmp_path: Path
) -> None:
    sandbox.faults.add(Fault(path="/api/v1/members", kind="status", status=500, after=1, times=0))
    with pytest.raises(RegistryUnreachable):
        _sync(cfg.model_copy(update={"registry": cfg.registry.model_copy(update={"retries": 0})}))
    sandbox.faults.clear()
    with Session(engine) as s:  # as if the registry had rotated its cursor keys meanwhile
        failed = s.scalars(select(SyncRun)).one()
        failed.cursor = "expired-cursor"
        s.commit()
        failed_id, failed_new = failed.id, failed.new
    resumed = _sync(cfg)
    assert resumed.run.resumed_from == failed_id and resumed.run.status == "completed"
    assert resumed.counts()["new"] == 12 - failed_new
    ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
    store.upgrade(store.make_engine(ref_url))
    _sync(settings_for(sandbox, ref_url, tmp_path / "ref-media", page_size=5))
    assert state(store.make_engine(ref_url)) == state(engine)


def _kill_after_pages(env: dict[str, str], engine: Engine, pages: int) -> None:
    """Run `ifn-campaign sync` and SIGKILL it once `pages` pages of a run are committed."""
    proc = subprocess.Popen(
        [*CLI, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        with Session(engine) as s:
            done = max((r.pages for r in s.scalars(select(SyncRun))), default=-1)
        if done >= pages:
            break
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_killed_sync_whose_cursor_then_expires_starts_over_by_itself(
    tmp_path: Path, db_url: str
) -> None:
    """The registry answers the saved cursor with `{"error": "invalid_cursor", ...}` (a string
    error): the resumed run starts over by itself and ends like an uninterrupted sync."""
    members = generate_members(30, seed=5) + copy.deepcopy(BROKEN)
    with RegistrySandbox(members=members) as sb:
        sb.faults.add(Fault(path="/api/v1/members", kind="slow", delay=0.1, times=0))
        env = _cli_env(sb, db_url, tmp_path, page_size=4)
        subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
        engine = store.make_engine(db_url)
        _kill_after_pages(env, engine, 3)
        sb.expire_cursors()
        sb.faults.clear()
        sb.requests.clear()
        done = subprocess.run([*CLI, "sync"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        refused = [r for r in sb.requests.matching("/api/v1/members") if r.status == 400]
        assert len(refused) == 1  # the saved cursor, once; then from the first page
        with Session(engine) as s:
            last = s.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
            assert last is not None and last.status == "completed" and last.resumed_from
        ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
        store.upgrade(store.make_engine(ref_url))
        _sync(settings_for(sb, ref_url, tmp_path / "ref-media", page_size=4))
    assert state(store.make_engine(ref_url)) == state(engine)
    engine.dispose()


def _plain(n: int, seed: int = 21) -> list[dict[str, Any]]:
    """Generated members without media, so two registries serve byte-identical records."""
    return [{**m, "logo_url": None, "photos": []} for m in generate_members(n, seed=seed)]


def test_a_record_dated_in_the_future_does_not_freeze_incremental_sync(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(4)
    members[0]["updated_at"] = "2099-01-01T00:00:00Z"
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg, media=False)
        with Session(engine) as s:
            state = s.get(SyncState, f"registry:{sb.url}")
            mark = state.high_water_mark if state else None
        assert mark is not None and mark.year < 2099
        changed = {**members[1], "business_name": "Sepatu Sesudahnya"}
        del changed["updated_at"]
        sb.upsert(changed)
        result = _sync(cfg, media=False)
        assert result.run.mode == "incremental" and result.counts()["updated"] == 1


def test_killed_after_the_last_page_still_marks_vanished_members(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(6)
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media", page_size=4)
        _sync(cfg, media=False)
        sb.remove(members[5]["id"])

        def die_after_last_page(run: SyncRun, _records: int) -> None:
            if run.cursor is None:
                raise KeyboardInterrupt  # as if killed right after the last commit

        with RegistryClient(cfg.registry) as client, pytest.raises(KeyboardInterrupt):
            sync_members(engine, client, None, full=True, progress=die_after_last_page)
        sb.requests.clear()
        resumed = _sync(cfg, media=False)
        assert resumed.run.resumed_from and resumed.run.mode == "full"
        assert sb.requests.matching("/api/") == []  # nothing left to read, only to conclude
        assert resumed.counts()["removed"] == 1
        with Session(engine) as s:
            assert s.get(Member, members[5]["id"]).status == "missing"  # type: ignore[union-attr]


def test_a_member_moving_to_another_source_is_watched_there(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(3)
    with RegistrySandbox(members=members) as first, RegistrySandbox(members=members) as second:
        _sync(settings_for(first, db_url, tmp_path / "m1"), full=True, media=False)
        cfg = settings_for(second, db_url, tmp_path / "m2")
        moved = _sync(cfg, full=True, media=False)
        assert moved.counts()["unchanged"] == 3  # not rewritten, only re-homed
        with Session(engine) as s:
            assert {m.source for m in s.scalars(select(Member))} == {f"registry:{second.url}"}
        second.remove(members[0]["id"])
        assert _sync(cfg, full=True, media=False).counts()["removed"] == 1


def test_the_last_copy_of_a_repeated_id_in_a_page_wins(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    good = _plain(1)[0]
    bad = {**good, "actor_types": ["wholesaler"]}
    with RegistrySandbox(members=[good]) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg, media=False)

    class Repeats:
        name = f"registry:{sb.url}"
        supports_incremental = True

        def pages(self, since: Any = None, cursor: Any = None) -> Any:
            from ifn_campaign.registry.source import Page

            yield Page(records=[good, bad], cursor=None, next_cursor=None)

    result = sync_members(engine, Repeats(), None, full=True)
    assert result.counts()["quarantined"] == 1 and result.counts()["unchanged"] == 0
    with Session(engine) as s:
        q = s.scalars(select(QuarantinedRecord)).one()
        assert q.resolved_at is None  # the bad copy is the current one: still open
    again = sync_members(engine, Repeats(), None, full=True)
    assert again.counts()["quarantined"] == 1  # never silently taken for the stored good one


def test_reverting_to_the_previous_good_record_resolves_its_quarantine(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    good = _plain(1)[0]
    with RegistrySandbox(members=[good]) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg, media=False)
        sb.upsert({**good, "actor_types": ["wholesaler"], "updated_at": "2026-02-01T00:00:00Z"})
        assert _sync(cfg, full=True, media=False).counts()["quarantined"] == 1
        sb.upsert(dict(good))  # exactly the bytes we stored before
        result = _sync(cfg, full=True, media=False)
        assert result.counts()["unchanged"] == 1
        with Session(engine) as s:
            assert s.scalars(select(QuarantinedRecord)).one().resolved_at is not None


def test_a_deleted_member_that_then_vanishes_is_removed_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(2)
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg, media=False)
        gone = {**members[0], "status": "deleted"}
        del gone["updated_at"]
        sb.upsert(gone)
        assert _sync(cfg, full=True, media=False).counts()["removed"] == 1
        sb.remove(members[0]["id"])
        assert _sync(cfg, full=True, media=False).counts()["removed"] == 0
        with Session(engine) as s:
            assert s.get(Member, members[0]["id"]).status == "missing"  # type: ignore[union-attr]


def _sync_expiring(settings: Settings, sb: RegistrySandbox, after_pages: set[int]) -> SyncResult:
    """A sync whose registry refuses every cursor given out so far once these pages are in."""
    engine = store.open_store(settings.database.url)
    seen = 0

    def expire(_run: SyncRun, _records: int) -> None:
        nonlocal seen
        seen += 1
        if seen in after_pages:
            sb.expire_cursors()

    try:
        with RegistryClient(settings.registry, sleep=lambda _s: None) as client:
            return sync_members(engine, client, None, progress=expire)
    finally:
        engine.dispose()


def test_a_cursor_refused_in_the_middle_of_a_run_starts_the_pages_over(
    engine: Engine, tmp_path: Path, db_url: str
) -> None:
    """Not only a saved cursor: a registry that rotates its cursor keys while a fresh sync
    pages through refuses the next one; the run starts over by itself and ends like an
    uninterrupted sync (storing a page again is harmless)."""
    members = _plain(20)
    with RegistrySandbox(members=members) as sb:
        result = _sync_expiring(settings_for(sb, db_url, tmp_path / "m", page_size=4), sb, {2})
        assert result.run.status == "completed" and result.counts()["new"] == 20
        refused = [r for r in sb.requests.matching("/api/v1/members") if r.status == 400]
        assert len(refused) == 1
        ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
        store.upgrade(store.make_engine(ref_url))
        _sync(settings_for(sb, ref_url, tmp_path / "ref-media", page_size=4), media=False)
    assert state(store.make_engine(ref_url)) == state(engine)


def test_a_registry_refusing_every_cursor_fails_the_run_after_a_bounded_restart(
    engine: Engine, tmp_path: Path, db_url: str
) -> None:
    """A registry that refuses each cursor it gives out would loop a run forever: the run
    starts over a bounded number of times, then fails with the registry's message."""
    from ifn_campaign.errors import RegistryResponseError
    from ifn_campaign.registry.sync import CURSOR_RESTARTS

    with RegistrySandbox(members=_plain(12)) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "m", page_size=4)
        with pytest.raises(RegistryResponseError, match="cursor"):
            _sync_expiring(cfg, sb, set(range(1, 100)))
        refused = [r for r in sb.requests.matching("/api/v1/members") if r.status == 400]
        assert len(refused) == CURSOR_RESTARTS + 1
