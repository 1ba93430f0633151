"""Consent withdrawal: queued posts cancelled, published ones listed for takedown, in the sync's
own transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import print_summary
from ifn_campaign.config import Settings
from ifn_campaign.errors import LedgerError
from ifn_campaign.models import QUEUED_STATES, Member, Post, PostState, SyncRun
from ifn_campaign.posts.withdrawal import (
    NOT_GRANTED,
    WITHDRAWN,
    cancel_disallowed,
    channel_withdrawn,
    mark_taken_down,
    takedowns,
)
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.sync import SyncResult, sync_members
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.ledger import EARLIER, NOW, add_member, add_post
from tests.support.registry import settings_for


def posts(engine: Engine) -> dict[int, tuple[Any, ...]]:
    with Session(engine) as s:
        return {
            p.id: (p.state, p.state_changed_at, p.cancel_reason, p.takedown_requested_at)
            for p in s.scalars(select(Post))
            if p.id is not None
        }


def test_withdrawal_cancels_every_queued_state_and_lists_the_rest(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1", consent_withdrawn_at=EARLIER)
        queued = {state: add_post(s, "m1", state) for state in sorted(QUEUED_STATES)}
        flying = add_post(s, "m1", PostState.PUBLISHING)
        out = add_post(
            s, "m1", PostState.PUBLISHED, featured_at=EARLIER, permalink="https://ig/p/1"
        )
        failed = add_post(s, "m1", PostState.FAILED)
        gone = add_post(s, "m1", PostState.CANCELLED, cancel_reason="staff")
        s.commit()
        report = cancel_disallowed(s, ["m1"], NOW)
        s.commit()
    # a failed post waits for staff and may hold an old scheduled copy: cancelled too
    assert sorted(c.post_id for c in report.cancelled) == sorted([*queued.values(), failed])
    assert {c.reason for c in report.cancelled} == {WITHDRAWN}
    assert [(t.post_id, t.channel, t.permalink) for t in report.takedowns] == [
        (out, "instagram", "https://ig/p/1")
    ]
    assert [(f.post_id, f.reason) for f in report.in_flight] == [(flying, WITHDRAWN)]
    rows = posts(engine)
    for post_id in [*queued.values(), failed]:
        assert rows[post_id] == ("cancelled", NOW, WITHDRAWN, None)
    assert rows[flying] == ("publishing", EARLIER, None, None)
    assert rows[out] == ("published", EARLIER, None, NOW)
    assert rows[gone] == ("cancelled", EARLIER, "staff", None)
    assert report.summary() == (
        "cancelled 6 queued posts after consent withdrawals; 1 published post to take down: "
        "see `ifn-campaign takedowns`; 1 post being published lost consent (the publisher "
        "checks consent before the call)"
    )


def test_second_call_changes_nothing(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1", consent_withdrawn_at=EARLIER)
        add_post(s, "m1")
        add_post(s, "m1", PostState.PUBLISHED, featured_at=EARLIER)
        s.commit()
        assert cancel_disallowed(s, ["m1"], NOW)
        s.commit()
    before = posts(engine)
    with Session(engine) as s:
        again = cancel_disallowed(s, ["m1", "m1"], NOW + timedelta(hours=1))
        s.commit()
    assert not again and again.summary() == ""
    assert posts(engine) == before


def test_a_channel_withdrawal_cancels_only_that_channel(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1", consent_channels=["facebook"])
        ig = add_post(s, "m1", PostState.APPROVED, "instagram")
        yt = add_post(s, "m1", PostState.PLANNED, "youtube")
        fb = add_post(s, "m1", PostState.APPROVED, "facebook")
        ig_out = add_post(s, "m1", PostState.PUBLISHED, "instagram", featured_at=EARLIER)
        fb_out = add_post(s, "m1", PostState.PUBLISHED, "facebook", featured_at=EARLIER)
        s.commit()
        report = cancel_disallowed(s, ["m1"], NOW)
        s.commit()
    assert sorted((c.post_id, c.reason) for c in report.cancelled) == sorted(
        [(ig, channel_withdrawn("instagram")), (yt, channel_withdrawn("youtube"))]
    )
    assert channel_withdrawn("instagram") == (
        "persetujuan untuk kanal instagram dicabut / consent for instagram withdrawn"
    )
    assert [t.post_id for t in report.takedowns] == [ig_out]
    rows = posts(engine)
    assert rows[fb][0] == "approved" and rows[fb_out][3] is None


@pytest.mark.parametrize(
    "status,reason",
    [
        ("suspended", "anggota tidak aktif (suspended) / member no longer active (suspended)"),
        ("deleted", "anggota dihapus dari registri (deleted) / member deleted from the registry"),
        ("missing", "anggota tidak ada lagi di registri (missing) / member no longer in the"),
    ],
)
def test_inactive_members_lose_queued_posts_but_keep_published_ones(
    engine: Engine, status: str, reason: str
) -> None:
    with Session(engine) as s:
        add_member(s, "m1", status=status)
        queued = add_post(s, "m1", PostState.NEEDS_REAUTH)
        out = add_post(s, "m1", PostState.PUBLISHED, featured_at=EARLIER)
        s.commit()
        report = cancel_disallowed(s, ["m1"], NOW)
        s.commit()
    assert [c.post_id for c in report.cancelled] == [queued]
    assert report.cancelled[0].reason.startswith(reason)
    assert report.takedowns == []  # consent stands: a suspension does not unpublish
    assert posts(engine)[out][3] is None


def test_a_suspended_member_who_also_dropped_a_channel_gets_a_takedown(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1", status="suspended", consent_channels=["facebook"])
        out = add_post(s, "m1", PostState.PUBLISHED, "instagram", featured_at=EARLIER)
        s.commit()
        report = cancel_disallowed(s, ["m1"], NOW)
    assert [t.post_id for t in report.takedowns] == [out]


def test_consent_never_granted_and_untouched_members(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "never", consent_granted_at=None, consent_channels=[])
        add_member(s, "fine")
        add_member(s, "not-asked", consent_withdrawn_at=EARLIER)
        never = add_post(s, "never")
        fine = add_post(s, "fine")
        other = add_post(s, "not-asked")
        s.commit()
        report = cancel_disallowed(s, ["never", "fine", "nobody"], NOW)
        s.commit()
    assert [(c.post_id, c.reason) for c in report.cancelled] == [(never, NOT_GRANTED)]
    rows = posts(engine)
    assert rows[fine][0] == "scheduled"
    assert rows[other][0] == "scheduled"  # only the members named are looked at


def test_a_sync_page_of_members_takes_a_constant_number_of_statements(engine: Engine) -> None:
    ids = [f"m{i:04d}" for i in range(1200)]
    with Session(engine) as s:
        for member_id in ids:
            add_member(s, member_id, consent_withdrawn_at=EARLIER)
            add_post(s, member_id)
        s.commit()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as s:
            report = cancel_disallowed(s, ids, NOW)
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(report.cancelled) == 1200
    # per 500 members: members, posts, one update per reason, and one insert into the event log
    assert len(statements) <= 4 * 3


def test_takedowns_are_listed_until_marked_done(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1", consent_withdrawn_at=EARLIER)
        out = add_post(s, "m1", PostState.PUBLISHED, featured_at=EARLIER, permalink="https://x/1")
        planned = add_post(s, "m1", PostState.PLANNED)
        s.commit()
        cancel_disallowed(s, ["m1"], NOW)
        s.commit()
        listed = takedowns(s)
        assert [(t.post_id, t.permalink, t.business_name) for t in listed] == [
            (out, "https://x/1", "Sepatu m1")
        ]
        post, changed = mark_taken_down(s, out, NOW + timedelta(hours=2))
        s.commit()
        assert changed and post.taken_down_at == NOW + timedelta(hours=2)
        assert takedowns(s) == []
        assert [t.taken_down_at for t in takedowns(s, include_done=True)] == [post.taken_down_at]
        again, changed = mark_taken_down(s, out, NOW + timedelta(hours=5))
        assert not changed and again.taken_down_at == NOW + timedelta(hours=2)
        with pytest.raises(LedgerError, match="no post 999 stored"):
            mark_taken_down(s, 999, NOW)
        with pytest.raises(LedgerError, match=f"post {planned} has no takedown request"):
            mark_taken_down(s, planned, NOW)


# The sync: a withdrawal in the registry cancels the member's queued posts in the same run.


def _plain(n: int, seed: int = 5) -> list[dict[str, Any]]:
    return [{**m, "logo_url": None, "photos": []} for m in generate_members(n, seed=seed)]


def _sync(settings: Settings, *, full: bool | None = None) -> SyncResult:
    engine = store.open_store(settings.database.url)
    try:
        with RegistryClient(settings.registry, sleep=lambda _s: None) as client:
            return sync_members(engine, client, None, full=full)
    finally:
        engine.dispose()


def _changed(member: dict[str, Any], **consent: Any) -> dict[str, Any]:
    changed = copy.deepcopy(member)
    del changed["updated_at"]
    changed["consent"].update(consent)
    return changed


def test_sync_cancels_in_the_run_that_sees_the_withdrawal(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(6)
    a, b, c = (m["id"] for m in members[:3])
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media", page_size=2)
        _sync(cfg)
        with Session(engine) as s:
            a_ig = add_post(s, a, PostState.SCHEDULED, "instagram")
            a_fb = add_post(s, a, PostState.APPROVED, "facebook")
            a_out = add_post(
                s, a, PostState.PUBLISHED, "instagram", featured_at=EARLIER, permalink="https://i/1"
            )
            b_ig = add_post(s, b, PostState.PLANNED, "instagram")
            b_fb = add_post(s, b, PostState.PLANNED, "facebook")
            c_ig = add_post(s, c, PostState.PLANNED, "instagram")
            s.commit()
        sb.upsert(_changed(members[0], withdrawn_at="2026-11-30T10:00:00Z"))
        sb.upsert(_changed(members[1], channels=["facebook", "youtube"]))
        result = _sync(cfg)
    assert result.run.mode == "incremental" and result.withdrawn == [a]
    assert sorted((x.post_id, x.reason) for x in result.cancelled_posts) == sorted(
        [(a_ig, WITHDRAWN), (a_fb, WITHDRAWN), (b_ig, channel_withdrawn("instagram"))]
    )
    assert [(t.post_id, t.permalink) for t in result.takedowns] == [(a_out, "https://i/1")]
    rows = posts(engine)
    assert rows[b_fb][0] == "planned" and rows[c_ig][0] == "planned"
    assert rows[a_out][3] is not None
    line = (
        "cancelled 3 queued posts after consent withdrawals; "
        "1 published post to take down: see `ifn-campaign takedowns`"
    )
    markdown = result.markdown()
    assert line in markdown and "## Posts cancelled and taken down" in markdown
    assert f"| {a_ig} | {a.replace('_', chr(92) + '_')} | instagram |" in markdown
    assert "https://i/1" in markdown
    console = Console(file=io.StringIO(), width=200)
    print_summary(result, console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert line in shown and f"consent withdrawn by: {a}" in shown


def test_a_full_sync_cancels_the_posts_of_members_gone_from_the_registry(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(3)
    gone = members[2]["id"]
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg)
        with Session(engine) as s:
            queued = add_post(s, gone, PostState.APPROVED)
            s.commit()
        sb.remove(gone)
        result = _sync(cfg, full=True)
    assert [(c.post_id, c.member_id) for c in result.cancelled_posts] == [(queued, gone)]
    assert posts(engine)[queued][2].startswith("anggota tidak ada lagi di registri (missing)")


@pytest.mark.slow
def test_sigkill_never_leaves_a_withdrawal_without_its_cancellations(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Kill `ifn-campaign sync` mid-run while it stores withdrawals: after every kill, each
    stored withdrawal has its post cancelled and no other post is; then the run completes."""
    members = _plain(40, seed=9)
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media", page_size=4)
        first = _sync(cfg).run.id
        with Session(engine) as s:
            post_of = {m["id"]: add_post(s, m["id"]) for m in members}
            s.commit()
        for m in members:
            sb.upsert(_changed(m, withdrawn_at="2026-11-30T10:00:00Z"))
        sb.faults.add(Fault(path="/api/v1/members", kind="slow", delay=0.15, times=0))
        env = {
            **os.environ,
            "IFN_DATABASE__URL": db_url,
            "IFN_REGISTRY__BASE_URL": sb.url,
            "IFN_REGISTRY__PAGE_SIZE": "4",
            "IFN_MEDIA__DIR": str(tmp_path / "media"),
        }
        env.pop("IFN_CONFIG", None)
        cli = [sys.executable, "-m", "ifn_campaign.cli.app", "sync", "--no-media"]

        def pages_done() -> int:
            with Session(engine) as s:
                runs = s.scalars(select(SyncRun).where(SyncRun.id != first)).all()
                return max((r.pages for r in runs), default=-1)

        def check() -> int:
            with Session(engine) as s:
                withdrawn = set(
                    s.scalars(select(Member.id).where(Member.consent_withdrawn_at.is_not(None)))
                )
                states = {p.member_id: p.state for p in s.scalars(select(Post))}
            for member_id, state in states.items():
                assert state == ("cancelled" if member_id in withdrawn else "scheduled"), member_id
            return len(withdrawn)

        stored = []
        for wait_for in (2, 5):
            proc = subprocess.Popen(
                cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 60
            while pages_done() < wait_for:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.02)
            time.sleep(0.07)  # land somewhere inside the next page
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stored.append(check())
        assert 0 < stored[0] <= stored[1] < len(members)
        done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert check() == len(members)
        assert len(post_of) == len(members)


def test_an_invalid_record_that_withdraws_consent_still_cancels(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(4)
    a, b, c = (m["id"] for m in members[:3])
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media", page_size=2)
        _sync(cfg)
        with Session(engine) as s:
            a_ig = add_post(s, a, PostState.APPROVED, "instagram")
            a_out = add_post(
                s, a, PostState.PUBLISHED, "instagram", featured_at=EARLIER, permalink="https://i/2"
            )
            b_fb = add_post(s, b, PostState.SCHEDULED, "facebook")
            c_ig = add_post(s, c, PostState.PLANNED, "instagram")
            province = s.get(Member, a).province  # type: ignore[union-attr]
            s.commit()
        # a withdraws but its record is broken otherwise (and tries to move province too)
        broken = _changed(members[0], withdrawn_at="2026-11-30T10:00:00Z")
        broken.update(business_name="", province="Bali")
        sb.upsert(broken)
        deleted = copy.deepcopy(members[1])  # b is deleted, with an unusable record
        del deleted["updated_at"]
        deleted.update(status="Deleted", actor_types=[])
        sb.upsert(deleted)
        unusable = _changed(members[2], withdrawn_at="kemarin")  # c: no usable time
        unusable["business_name"] = ""
        sb.upsert(unusable)
        result = _sync(cfg)
        again = _sync(cfg)  # the same broken records again: nothing more to do
    assert {q.member_id for q in result.quarantined} == {a, b, c}
    assert result.withdrawn == [a]
    assert sorted((x.post_id, x.reason) for x in result.cancelled_posts) == sorted(
        [(a_ig, WITHDRAWN), (b_fb, _STATUS_DELETED)]
    )
    assert [t.post_id for t in result.takedowns] == [a_out]
    assert not again.cancelled_posts and not again.takedowns and not again.withdrawn
    rows = posts(engine)
    assert rows[c_ig][0] == PostState.PLANNED
    with Session(engine) as s:
        stored_a, stored_b, stored_c = (s.get(Member, i) for i in (a, b, c))
        assert stored_a is not None and stored_b is not None and stored_c is not None
        assert stored_a.consent_withdrawn_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
        assert stored_a.province == province and stored_a.business_name  # nothing else applied
        assert stored_a.status == "active"
        assert stored_b.status == "deleted" and stored_b.consent_withdrawn_at is None
        assert stored_b.actor_types  # the invalid empty list was not stored
        assert stored_c.consent_withdrawn_at is None


_STATUS_DELETED = (
    "anggota dihapus dari registri (deleted) / member deleted from the registry (deleted)"
)
