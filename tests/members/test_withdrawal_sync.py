"""A withdrawal on the member page survives the registry's syncs (incremental and full) while
the registry still says "granted", re-plans and un-cancels nothing, and is lifted when the
registry records consent granted after it; over loopback against the registry sandbox, on
SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import Member, MemberWithdrawal, Post, PostState, utcnow
from ifn_campaign.planner.eligibility import load_candidates
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.consent import ConsentState, consent_at
from ifn_campaign.registry.sync import SyncResult, sync_members
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.ledger import EARLIER, add_post
from tests.support.registry import settings_for

NO_MEDIA = "no usable photo or logo"  # the planner's refusal when only media is missing
NO_CONSENT = "no consent for instagram"


def _plain(n: int) -> list[dict[str, Any]]:
    return [{**m, "logo_url": None, "photos": []} for m in generate_members(n, seed=11)]


def _sync(settings: Settings, *, full: bool | None = None) -> SyncResult:
    engine = store.open_store(settings.database.url)
    try:
        with RegistryClient(settings.registry, sleep=lambda _s: None) as client:
            return sync_members(engine, client, None, full=full)
    finally:
        engine.dispose()


def _edited(member: dict[str, Any], description: str, **consent: Any) -> dict[str, Any]:
    """The member as the registry sends it after an edit (a new updated_at, from the sandbox)."""
    changed = copy.deepcopy(member)
    del changed["updated_at"]
    changed["description_id"] = description
    changed["consent"].update(consent)
    return changed


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _state(engine: Engine, member_id: str) -> tuple[datetime | None, dict[int, str], str | None]:
    """The member's stored withdrawal time, their posts' states, and why the planner would
    refuse them on Instagram now (None: eligible)."""
    with Session(engine) as s:
        member = s.get(Member, member_id)
        assert member is not None
        posts = {p.id: p.state for p in s.scalars(select(Post).where(Post.member_id == member_id))}
        (candidate,) = load_candidates(s, [member_id], utcnow())
        refusal = candidate.refusal("instagram")
        return member.consent_withdrawn_at, posts, None if refusal is None else refusal[1]


def test_the_registry_does_not_bring_a_page_withdrawal_back(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    members = _plain(4)
    a, b = members[0]["id"], members[1]["id"]
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media", page_size=2)
        _sync(cfg)
        assert _state(engine, a)[2] == NO_MEDIA  # eligible but for media: consent in force
        with Session(engine) as s:
            queued = add_post(s, a, PostState.APPROVED)
            out = add_post(s, a, PostState.PUBLISHED, featured_at=EARLIER, permalink="https://i/9")
            theirs = add_post(s, b, PostState.APPROVED)
            s.commit()
            withdrawn_at = utcnow().replace(microsecond=0) - timedelta(hours=1)
            report = withdraw(s, a, source=MEMBER_PAGE, answer_id=None, now=withdrawn_at)
            s.commit()
        assert [c.post_id for c in report.cancelled] == [queued]
        held = (withdrawn_at, {queued: PostState.CANCELLED, out: PostState.PUBLISHED}, NO_CONSENT)
        assert _state(engine, a) == held

        # the registry changes the member's profile but still says "granted" (the old date)
        sb.upsert(_edited(members[0], "Sepatu kulit, kini juga sandal."))
        incremental = _sync(cfg)
        assert incremental.run.mode == "incremental" and incremental.run.updated >= 1
        assert _state(engine, a) == held
        assert not incremental.cancelled_posts and not incremental.takedowns
        assert not incremental.withdrawn

        # a full sync, with the record written again (changed) and with it unchanged
        sb.upsert(_edited(members[0], "Sepatu kulit dan sandal dari Sidoarjo."))
        full = _sync(cfg, full=True)
        assert full.run.mode == "full" and full.run.updated >= 1
        assert _state(engine, a) == held
        again = _sync(cfg, full=True)
        assert _state(engine, a) == held and not again.cancelled_posts
        with Session(engine) as s:
            member = s.get(Member, a)
            assert member is not None
            assert member.description_id == "Sepatu kulit dan sandal dari Sidoarjo."
            assert consent_at(member, utcnow()) is ConsentState.WITHDRAWN
            assert s.get(Post, out).takedown_requested_at == withdrawn_at  # type: ignore[union-attr]
            assert s.get(Post, theirs).state == PostState.APPROVED  # type: ignore[union-attr]

        # the registry withdraws too, with its own date: its date is stored
        registry_at = withdrawn_at + timedelta(seconds=1)
        sb.upsert(_edited(members[0], "Tetap.", withdrawn_at=_iso(registry_at)))
        _sync(cfg)
        assert _state(engine, a)[0] == registry_at
        # ... and then takes that back, still with the old grant: the page's withdrawal holds
        sb.upsert(_edited(members[0], "Tetap lagi.", withdrawn_at=None))
        _sync(cfg)
        assert _state(engine, a)[0] == withdrawn_at

        # the member consents again in the registry, after their withdrawal: consent in force
        regranted = withdrawn_at + timedelta(seconds=2)
        sb.upsert(_edited(members[0], "Kembali.", granted_at=_iso(regranted)))
        back = _sync(cfg)
        assert not back.cancelled_posts
        # in force, nothing un-cancelled: the planner may pick them again (they have no media)
        assert _state(engine, a) == (
            None,
            {queued: PostState.CANCELLED, out: PostState.PUBLISHED},
            NO_MEDIA,
        )
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(MemberWithdrawal)) == 1


def test_a_grant_at_the_moment_of_the_withdrawal_does_not_lift_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Only consent granted after the withdrawal lifts it; the same second keeps it."""
    members = _plain(2)
    a = members[0]["id"]
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg)
        at = utcnow().replace(microsecond=0)
        with Session(engine) as s:
            withdraw(s, a, source=MEMBER_PAGE, answer_id=None, now=at)
            s.commit()
        sb.upsert(_edited(members[0], "Sama detiknya.", granted_at=_iso(at)))
        _sync(cfg)
        assert _state(engine, a)[0] == at
        sb.upsert(_edited(members[0], "Sebelumnya.", granted_at=_iso(at - timedelta(days=1))))
        _sync(cfg, full=True)
        assert _state(engine, a)[0] == at


@pytest.mark.slow
def test_a_withdrawal_committed_while_a_sync_writes_the_member_is_kept(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """The member page withdraws (its transaction open, the member's row locked) while a sync
    stores a changed record of the same member: the sync waits for the row, and what it stores
    keeps the withdrawal. On PostgreSQL the sync has read the member as not withdrawn before it
    waits; on SQLite it waits for the write lock at its start."""
    members = _plain(2)
    a = members[0]["id"]
    with RegistrySandbox(members=members) as sb:
        cfg = settings_for(sb, db_url, tmp_path / "media")
        _sync(cfg)
        sb.upsert(_edited(members[0], "Diubah saat anggota menarik persetujuan."))
        at = utcnow().replace(microsecond=0) - timedelta(minutes=5)
        results: list[SyncResult | BaseException] = []
        with Session(engine) as page:
            withdraw(page, a, source=MEMBER_PAGE, answer_id=None, now=at)
            page.flush()

            def run() -> None:
                try:
                    results.append(_sync(cfg))
                except BaseException as exc:  # reported to the test below
                    results.append(exc)

            syncing = threading.Thread(target=run)
            syncing.start()
            syncing.join(timeout=3)
            assert syncing.is_alive(), "the sync did not wait for the member page's transaction"
            page.commit()
        syncing.join(timeout=60)
        assert not syncing.is_alive()
    (result,) = results
    assert isinstance(result, SyncResult), result
    assert result.run.updated >= 1
    withdrawn_at, _posts, refusal = _state(engine, a)
    assert withdrawn_at == at and refusal == NO_CONSENT
    with Session(engine) as s:
        member = s.get(Member, a)
        assert member is not None
        assert member.description_id == "Diubah saat anggota menarik persetujuan."
