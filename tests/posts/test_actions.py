"""The staff actions (ifn_campaign.posts.actions) on SQLite and PostgreSQL: each change and each
refusal with the message staff read, selections all or nothing, the post's version bumped once
per action and a stale form refused (also by two racing threads on PostgreSQL), and the
four-eyes rule only where the campaign file asks for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    AccessDenied,
    CaptionRefused,
    ConflictError,
    IFNError,
    InvalidValueError,
    LedgerError,
    PlanError,
    TransitionError,
)
from ifn_campaign.models import AccountState, Member, Post, PostEvent, PostState
from ifn_campaign.posts import actions
from ifn_campaign.posts.lifecycle import move
from ifn_campaign.posts.withdrawal import cancel_disallowed
from tests.support.ledger import EARLIER, NOW, add_member, add_post

S = PostState
ANI, BUDI = "staff:ani", "staff:budi"
LOCAL_NOW = "10:00"  # NOW (03:00 UTC) in WIB, the default display zone
CAMPAIGN_FILE = """
name = "{name}"
title = "Uji"
start = 2026-11-01
{extra}
[[channels]]
channel = "instagram"
account = "bpipi-instagram"
[[channels.slots]]
days = ["mon"]
time = "19:00"
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Settings:
    """Campaign `sorotan` asks for four eyes, `pameran` does not; Instagram takes 2 a day."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "sorotan.toml").write_text(
        CAMPAIGN_FILE.format(name="sorotan", extra="four_eyes = true"), encoding="utf-8"
    )
    (folder / "pameran.toml").write_text(
        CAMPAIGN_FILE.format(name="pameran", extra=""), encoding="utf-8"
    )
    return Settings(planner={"campaigns_dir": folder}, instagram={"posts_per_24h": 2})


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        add_member(session, "m1")
        session.commit()
        yield session


def _post(session: Session, state: str = S.COMPOSED, **kw: Any) -> int:
    kw.setdefault("caption", "Sepatu kulit dari Bandung.")
    post_id = add_post(session, "m1", state, **kw)
    session.commit()
    return post_id


def _row(engine: Engine, post_id: int) -> Post:
    with Session(engine, expire_on_commit=False) as session:
        post = session.get(Post, post_id)
        assert post is not None
        session.expunge(post)
        return post


def _events(engine: Engine, post_id: int) -> list[tuple[str | None, str, str, str | None]]:
    with Session(engine) as session:
        return [
            (e.from_state, e.to_state, e.actor, e.note)
            for e in session.scalars(
                select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
            )
        ]


def _refused(session: Session, kind: type[IFNError], call: Any, *args: Any, **kw: Any) -> str:
    with pytest.raises(kind) as caught:
        call(session, *args, **kw)
    return str(caught.value)


# --- approve, reject, cancel -------------------------------------------------------------------


def test_approve_a_selection(engine: Engine, db: Session, cfg: Settings) -> None:
    ids = [_post(db), _post(db, S.FAILED, attempts=3)]
    done = actions.approve(db, ids, actor=ANI, now=NOW, settings=cfg)
    db.commit()
    assert [p.id for p in done] == ids
    for post_id, before in zip(ids, ["composed", "failed"], strict=True):
        post = _row(engine, post_id)
        assert (post.state, post.reviewed_by, post.reviewed_at, post.version) == (
            "approved",
            ANI,
            NOW,
            1,
        )
        assert _events(engine, post_id) == [(before, "approved", ANI, None)]
    assert _row(engine, ids[1]).attempts == 0  # a staff decision starts a new round of tries


def test_a_selection_is_all_or_nothing(engine: Engine, db: Session, cfg: Settings) -> None:
    fine = _post(db)
    out = _post(db, S.PUBLISHED)
    gone = _post(db, S.CANCELLED)
    message = _refused(
        db, TransitionError, actions.approve, [fine, out, gone], actor=ANI, now=NOW, settings=cfg
    )
    assert message == (
        f"post {out} is published and cannot become approved; "
        f"post {gone} is cancelled and cannot become approved (nothing was changed)"
    )
    db.commit()  # the caller commits anyway: the refusal rolled the session back
    assert (_row(engine, fine).state, _row(engine, fine).version) == ("composed", 0)
    assert _events(engine, fine) == []


def test_an_unknown_post_is_named(db: Session, cfg: Settings) -> None:
    fine = _post(db)
    message = _refused(
        db, LedgerError, actions.cancel, [fine, 999, 998], reason="x", actor=ANI, now=NOW,
        settings=cfg,
    )  # fmt: skip
    assert message == "no post 999, 998: see `ifn-campaign calendar`"


@pytest.mark.parametrize(
    ("action", "note"),
    [(actions.reject, "ditolak staf / rejected: foto buram"),
     (actions.cancel, "dibatalkan / cancelled: foto buram")],
)  # fmt: skip
def test_reject_and_cancel_keep_the_reason(
    engine: Engine, db: Session, cfg: Settings, action: Any, note: str
) -> None:
    post_id = _post(db, S.APPROVED)
    action(db, [post_id], reason="foto buram", actor=BUDI, now=NOW, settings=cfg)
    db.commit()
    post = _row(engine, post_id)
    assert (post.state, post.cancel_reason, post.version) == ("cancelled", note, 1)
    assert _events(engine, post_id) == [("approved", "cancelled", BUDI, note)]


# --- edit_caption ------------------------------------------------------------------------------


def test_edit_caption(engine: Engine, db: Session, cfg: Settings) -> None:
    post_id = _post(db)
    actions.edit_caption(
        db, post_id, "Sandal anyaman Tasikmalaya.", actor=ANI, now=NOW, settings=cfg
    )
    db.commit()
    post = _row(engine, post_id)
    assert (post.caption, post.caption_edited_by, post.state, post.version) == (
        "Sandal anyaman Tasikmalaya.",
        ANI,
        "composed",
        1,
    )
    assert _events(engine, post_id) == [("composed", "composed", ANI, "caption edited")]


def test_editing_a_scheduled_post_replaces_its_copy_with_one_version_bump(
    engine: Engine, db: Session, cfg: Settings
) -> None:
    post_id = _post(db, S.SCHEDULED, channel="facebook", remote_id="fb-1", campaign="pameran")
    actions.edit_caption(db, post_id, "Teks baru.", actor=ANI, now=NOW, settings=cfg)
    db.commit()
    post = _row(engine, post_id)
    assert (post.state, post.replaces_remote_id, post.remote_id, post.version) == (
        "approved",
        "fb-1",
        None,
        1,  # two logged changes, one staff action
    )
    assert [e[:2] for e in _events(engine, post_id)] == [
        ("scheduled", "approved"),
        ("approved", "approved"),
    ]


def test_edit_caption_refusals(db: Session, cfg: Settings) -> None:
    kw = {"actor": ANI, "now": NOW, "settings": cfg}
    out = _post(db, S.PUBLISHED)
    assert _refused(db, TransitionError, actions.edit_caption, out, "x", **kw) == (
        f"post {out} is published: only composed, approved or scheduled posts can be edited"
    )
    fine = _post(db)
    message = _refused(db, CaptionRefused, actions.edit_caption, fine, "a" * 2201, **kw)
    assert message.startswith("caption refused for instagram: ")
    half = _post(db, S.APPROVED, publish_step="create_container")
    assert _refused(db, TransitionError, actions.edit_caption, half, "x", **kw) == (
        f"post {half}: an earlier publish attempt (create_container) may already have reached "
        "the platform; run `ifn-campaign publish` (or wait for the next run) so it is "
        "reconciled, then edit or move it"
    )


# --- move_post ---------------------------------------------------------------------------------


def test_move_post(engine: Engine, db: Session, cfg: Settings) -> None:
    post_id = _post(db, S.APPROVED)
    before = _row(engine, post_id).slot_at
    new_at = NOW + timedelta(days=5)
    actions.move_post(db, post_id, new_at, actor=ANI, now=NOW, settings=cfg)
    db.commit()
    post = _row(engine, post_id)
    assert (post.slot_at, post.state, post.version) == (new_at, "approved", 1)
    assert _events(engine, post_id) == [
        (
            "approved",
            "approved",
            ANI,
            f"moved from {before.isoformat()} to {new_at.isoformat()}",
        )
    ]


def test_a_missed_post_moved_goes_out_at_the_new_time(
    engine: Engine, db: Session, cfg: Settings
) -> None:
    post_id = _post(db, S.MISSED, slot_at=EARLIER, last_error="late")
    new_at = NOW + timedelta(hours=2)
    actions.move_post(db, post_id, new_at, actor=ANI, now=NOW, settings=cfg)
    db.commit()
    post = _row(engine, post_id)
    assert (post.state, post.slot_at, post.last_error, post.version) == (
        "approved",
        new_at,
        None,
        1,
    )


def test_move_refusals(engine: Engine, db: Session, cfg: Settings) -> None:
    kw = {"actor": ANI, "now": NOW, "settings": cfg}
    post_id = _post(db, S.APPROVED)
    assert (
        _refused(
            db, InvalidValueError, actions.move_post, post_id, NOW - timedelta(minutes=1), **kw
        )
        == f"post {post_id} cannot move to 2026-12-01 09:59: that time has passed"
    )
    out = _post(db, S.PUBLISHED)
    assert (
        _refused(db, TransitionError, actions.move_post, out, NOW + timedelta(days=9), **kw)
        == f"post {out} is published: it can no longer be moved"
    )
    other_at = NOW + timedelta(days=20)
    other = _post(db, S.PLANNED, slot_at=other_at)
    assert _refused(db, PlanError, actions.move_post, post_id, other_at, **kw) == (
        f"post {other} already holds instagram/bpipi-instagram at 2026-12-21 10:00"
    )
    _post(db, S.SCHEDULED, slot_at=other_at + timedelta(hours=1), campaign="pameran")
    full = other_at + timedelta(hours=2)  # two posts in 24 h already on the account
    assert _refused(db, PlanError, actions.move_post, post_id, full, **kw) == (
        "instagram/bpipi-instagram has no room left around 2026-12-21 12:00"
    )
    half = _post(db, S.APPROVED, upload_session_url="https://upload/x", publish_step="upload")
    assert "may already have reached the platform" in _refused(
        db, TransitionError, actions.move_post, half, NOW + timedelta(days=9), **kw
    )
    assert _row(engine, post_id).version == 0 and _events(engine, post_id) == []


# --- publish_now, reauthorise ------------------------------------------------------------------


def test_publish_now_all_or_nothing(engine: Engine, db: Session, cfg: Settings) -> None:
    missed = _post(db, S.MISSED, slot_at=EARLIER, last_error="late", error_action="decide")
    fine = _post(db, S.APPROVED)
    kw = {"actor": BUDI, "now": NOW, "settings": cfg}
    assert _refused(db, TransitionError, actions.publish_now, [missed, fine], **kw) == (
        f"post {fine} is approved, not missed: see `ifn-campaign missed` for the posts waiting "
        "for a decision"
    )
    db.commit()
    assert _row(engine, missed).state == "missed"
    actions.publish_now(db, [missed], **kw)
    db.commit()
    post = _row(engine, missed)
    assert (post.state, post.slot_at, post.reviewed_by, post.error_action, post.version) == (
        "approved",
        EARLIER,
        BUDI,
        None,
        1,
    )


def test_reauthorise(engine: Engine, db: Session) -> None:
    waiting = [_post(db, S.NEEDS_REAUTH, next_attempt_at=NOW) for _ in range(2)]
    elsewhere = _post(db, S.NEEDS_REAUTH, channel="facebook")
    message = _refused(
        db, LedgerError, actions.reauthorise, "instagram", "bpipi-instagram", actor=ANI, now=NOW
    )
    assert message == "instagram account 'bpipi-instagram' is not waiting for re-authorisation"
    db.add(
        AccountState(
            channel="instagram", account="bpipi-instagram", needs_reauth_since=EARLIER, message="x"
        )
    )
    db.commit()
    assert actions.reauthorise(db, "instagram", "bpipi-instagram", actor=ANI, now=NOW) == 2
    db.commit()
    for post_id in waiting:
        post = _row(engine, post_id)
        assert (post.state, post.next_attempt_at, post.version) == ("approved", None, 1)
        assert _events(engine, post_id) == [("needs_reauth", "approved", ANI, "re-authorised")]
    assert _row(engine, elsewhere).state == "needs_reauth"
    with Session(engine) as session:
        state = session.get(AccountState, ("instagram", "bpipi-instagram"))
        assert state is not None and state.needs_reauth_since is None and state.message is None


# --- versions ----------------------------------------------------------------------------------


def test_the_second_of_two_saves_is_refused_and_nothing_is_lost(
    engine: Engine, db: Session, cfg: Settings
) -> None:
    post_id = _post(db)
    with Session(engine) as first, Session(engine) as second:
        read = [s.get(Post, post_id) for s in (first, second)]
        seen = [p.version for p in read if p is not None]
        assert seen == [0, 0]
        actions.edit_caption(
            first, post_id, "Versi Ani.", actor=ANI, now=NOW, settings=cfg, version=seen[0]
        )
        first.commit()
        message = _refused(
            second, ConflictError, actions.edit_caption, post_id, "Versi Budi.",
            actor=BUDI, now=NOW + timedelta(minutes=3), settings=cfg, version=seen[1],
        )  # fmt: skip
        assert message == f"post {post_id} was changed by {ANI} at {LOCAL_NOW}, reload"
        second.commit()
        again = _refused(
            second, ConflictError, actions.approve, [post_id],
            actor=BUDI, now=NOW, settings=cfg, versions={post_id: 0},
        )  # fmt: skip
        assert again == message
        post = _row(engine, post_id)
        assert (post.caption, post.caption_edited_by, post.version) == ("Versi Ani.", ANI, 1)
        # reloaded at version 1, Budi approves Ani's caption
        actions.approve(second, [post_id], actor=BUDI, now=NOW, settings=cfg, versions={post_id: 1})
        second.commit()
    post = _row(engine, post_id)
    assert (post.state, post.caption, post.version) == ("approved", "Versi Ani.", 2)
    assert [e[2] for e in _events(engine, post_id)] == [ANI, BUDI]


def test_a_form_read_before_any_logged_change_is_stale(
    engine: Engine, db: Session, cfg: Settings
) -> None:
    """Not only staff actions: a flow's move and the sync's set-based cancellation count too."""
    add_member(db, "m2")
    moved, fresh = _post(db), _post(db)
    withdrawn = add_post(db, "m2", S.COMPOSED)
    db.commit()
    post = db.get(Post, moved)
    assert post is not None
    move(db, post, S.PLANNED, actor="flow:compose-1", now=NOW)
    member = db.get(Member, "m2")
    assert member is not None
    member.consent_withdrawn_at = EARLIER
    db.commit()
    cancel_disallowed(db, ["m2"], NOW)
    db.commit()
    assert (_row(engine, moved).version, _row(engine, withdrawn).version) == (1, 1)
    message = _refused(
        db, ConflictError, actions.cancel, [moved, withdrawn, fresh], reason="x",
        actor=ANI, now=NOW, settings=cfg, versions={moved: 0, withdrawn: 0, fresh: 0},
    )  # fmt: skip
    assert message == (
        f"post {moved} was changed by flow:compose-1 at {LOCAL_NOW}, reload; "
        f"post {withdrawn} was changed by sync at {LOCAL_NOW}, reload"
    )
    db.commit()
    assert (_row(engine, fresh).state, _row(engine, fresh).version) == ("composed", 0)


def _save_at(
    engine: Engine, cfg: Settings, post_id: int, version: int, start: threading.Barrier,
    actor: str, results: list[str],
) -> None:  # fmt: skip
    """One staff member's save of a form read at `version`, started with the other's."""
    with Session(engine) as session:
        session.get(Post, post_id)
        start.wait()
        try:
            actions.edit_caption(
                session, post_id, f"oleh {actor}", actor=actor, now=NOW, settings=cfg,
                version=version,
            )  # fmt: skip
            session.commit()
            results.append("saved")
        except ConflictError as exc:
            results.append(str(exc))


def test_racing_saves_on_postgresql_one_wins(pg_url: str, cfg: Settings) -> None:
    """Two threads save the same post at the same version at once, ten times over: the row lock
    of the compare-and-set makes exactly one of each pair win."""
    engine = store.make_engine(pg_url)
    store.upgrade(engine)
    try:
        with Session(engine) as session:
            add_member(session, "m1")
            post_id = _post(session)
        for version in range(10):
            start = threading.Barrier(2)
            results: list[str] = []
            threads = [
                threading.Thread(
                    target=_save_at, args=(engine, cfg, post_id, version, start, actor, results)
                )
                for actor in (ANI, BUDI)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert len(results) == 2 and results.count("saved") == 1
            winner = _row(engine, post_id)
            assert winner.version == version + 1
            assert next(r for r in results if r != "saved") == (
                f"post {post_id} was changed by {winner.caption_edited_by} at {LOCAL_NOW}, reload"
            )
        assert len(_events(engine, post_id)) == 10
    finally:
        engine.dispose()


# --- four eyes ---------------------------------------------------------------------------------


def test_four_eyes_only_where_the_campaign_asks(engine: Engine, db: Session, cfg: Settings) -> None:
    strict, free = _post(db), _post(db, campaign="pameran")
    for post_id in (strict, free):
        actions.edit_caption(db, post_id, "Teks Ani.", actor=ANI, now=NOW, settings=cfg)
    db.commit()
    message = _refused(
        db, AccessDenied, actions.approve, [free, strict], actor=ANI, now=NOW, settings=cfg
    )
    assert message == (
        f"post {strict}: you edited its caption; in campaign sorotan someone else approves it "
        "(four eyes)"
    )
    db.commit()
    assert _row(engine, free).state == "composed"  # the selection is all or nothing
    actions.approve(db, [free], actor=ANI, now=NOW, settings=cfg)
    actions.approve(db, [strict], actor=BUDI, now=NOW, settings=cfg)
    db.commit()
    assert (_row(engine, free).reviewed_by, _row(engine, strict).reviewed_by) == (ANI, BUDI)


def test_four_eyes_an_approved_caption_edited_waits_for_another_approval(
    engine: Engine, db: Session, cfg: Settings
) -> None:
    """Four eyes: an approved post whose caption is edited goes back to the review queue, so
    the new text goes out only once someone other than its writer approved it (failed before:
    it stayed approved, and the editor's text went out approved by nobody); without the rule
    it stays approved."""
    strict, free = _post(db, S.APPROVED), _post(db, S.APPROVED, campaign="pameran")
    for post_id in (strict, free):
        actions.edit_caption(db, post_id, "Teks Ani.", actor=ANI, now=NOW, settings=cfg)
    db.commit()
    assert (_row(engine, strict).state, _row(engine, free).state) == ("composed", "approved")
    assert _events(engine, strict) == [
        ("approved", "approved", ANI, "caption edited"),
        ("approved", "composed", ANI, "caption edited: someone else approves it (four eyes)"),
    ]
    _refused(db, AccessDenied, actions.approve, [strict], actor=ANI, now=NOW, settings=cfg)
    actions.approve(db, [strict], actor=BUDI, now=NOW, settings=cfg)
    db.commit()
    assert _row(engine, strict).state == "approved"


def test_an_editor_who_may_not_approve_sends_an_approved_post_back_for_approval(
    engine: Engine, db: Session, cfg: Settings
) -> None:
    """An editor (`may_approve` False, the console's editor role) editing an approved post's
    caption in a campaign without four eyes: the post goes back to the review queue, so the
    editor's text is not published approved by nobody (failed before: it stayed approved); a
    composed post stays composed, and one who may approve keeps it approved."""
    edited, kept, queued = (
        _post(db, S.APPROVED, campaign="pameran"),
        _post(db, S.APPROVED, campaign="pameran"),
        _post(db, S.COMPOSED, campaign="pameran"),
    )
    for post_id, may in ((edited, False), (kept, True), (queued, False)):
        actions.edit_caption(
            db, post_id, "Teks Ani.", actor=ANI, now=NOW, settings=cfg, may_approve=may
        )
    db.commit()
    assert [_row(engine, p).state for p in (edited, kept, queued)] == [
        "composed",
        "approved",
        "composed",
    ]
    assert _events(engine, edited)[-1] == (
        "approved",
        "composed",
        ANI,
        "caption edited by an editor: an approver approves it",
    )


def test_four_eyes_without_the_campaign_file(db: Session, cfg: Settings) -> None:
    """A finished campaign whose file was removed has no rule any more."""
    post_id = _post(db, campaign="selesai")
    actions.edit_caption(db, post_id, "Teks Ani.", actor=ANI, now=NOW, settings=cfg)
    actions.approve(db, [post_id], actor=ANI, now=NOW, settings=cfg)
    db.commit()


# --- reads -------------------------------------------------------------------------------------


def test_the_lists_staff_read(db: Session) -> None:
    later = _post(db, slot_at=NOW + timedelta(days=3))
    sooner = _post(db, slot_at=NOW + timedelta(days=2))
    other = _post(db, campaign="pameran", slot_at=NOW + timedelta(days=4))
    failed = _post(db, S.FAILED, slot_at=NOW - timedelta(days=1))
    missed = _post(db, S.MISSED, slot_at=NOW - timedelta(days=2))
    reauth = _post(db, S.NEEDS_REAUTH, channel="facebook", slot_at=NOW + timedelta(hours=5))
    _post(db, S.PUBLISHED, slot_at=NOW + timedelta(days=1))
    rows = actions.awaiting_review(db)
    assert [r.post.id for r in rows] == [sooner, later, other]
    assert {r.member_name for r in rows} == {"Sepatu m1"}
    assert [r.post.id for r in actions.awaiting_review(db, "pameran")] == [other]
    assert [r.post.id for r in actions.needs_staff(db)] == [missed, failed, reauth]
    assert [r.post.id for r in actions.missed_posts(db)] == [missed]
    counts = actions.queue_counts(db, NOW)
    assert list(counts) == [("facebook", "bpipi-facebook"), ("instagram", "bpipi-instagram")]
    assert counts[("instagram", "bpipi-instagram")] == {"composed": 3, "published": 1}
    assert counts[("facebook", "bpipi-facebook")] == {"needs_reauth": 1}


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (S.PLANNED, "it has no card or caption yet (compose makes them)"),
        (S.SCHEDULED, "it is already on its way to the platform"),
        (S.PUBLISHING, "it is already on its way to the platform"),
    ],
)
def test_approve_refuses_a_post_not_waiting_for_approval(
    engine: Engine, db: Session, cfg: Settings, state: str, why: str
) -> None:
    """Approving a post being sent (or scheduled on the platform) would give it back to the
    publisher while a worker still holds it or its platform copy stands: a second worker could
    send it again. A planned post has no card: approved, it would only fail at its slot. The
    lifecycle allows these moves to the publisher itself, never to staff (failed before:
    approved all three)."""
    fine = _post(db)
    other = _post(db, state, remote_id="remote-1" if state == S.SCHEDULED else None)
    message = _refused(
        db, TransitionError, actions.approve, [fine, other], actor=ANI, now=NOW, settings=cfg
    )
    assert message == f"post {other} is {state}: {why} (nothing was changed)"
    db.commit()
    assert (_row(engine, fine).state, _row(engine, other).state) == ("composed", state)
    assert _events(engine, other) == []


@pytest.mark.parametrize("action", [actions.cancel, actions.reject])
def test_a_post_being_sent_right_now_is_not_cancelled_under_the_publisher(
    engine: Engine, db: Session, cfg: Settings, action: Any
) -> None:
    """A worker holds a publishing post in the middle of its platform calls: cancelled under
    it, the worker's answer then wrote the post published over the cancellation, so staff were
    told 'cancelled' of a post that went out (failed before: cancelled). Staff cancel it once
    it is out (the publisher takes it down) or given back."""
    fine, busy = _post(db), _post(db, S.PUBLISHING, claimed_by="worker-1")
    message = _refused(
        db, TransitionError, action, [fine, busy], reason="x", actor=ANI, now=NOW, settings=cfg
    )
    assert message == (
        f"post {busy} is being sent right now: cancel it once the publisher is done with it "
        "(a post already out is taken down) (nothing was changed)"
    )
    db.commit()
    assert (_row(engine, fine).state, _row(engine, busy).state) == ("composed", "publishing")
