"""Compose and review on members synced from the sample registry: cards and captions stored on the
post, auto-approval, consent checked again, every move logged, and the staff commands with their
refusals."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from ifn_campaign.cli.app import main
from ifn_campaign.errors import TransitionError
from ifn_campaign.models import MediaAsset, Member, MemberMedia, Post, PostEvent, PostState
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.plan import plan_campaign
from ifn_campaign.posts.compose import compose_posts
from ifn_campaign.posts.lifecycle import move
from tests.support.planning import LIMITS
from tests.support.publishing import NOW, _session, _tools, campaign


def _plan_and_compose(workdir: Path, c: Campaign) -> list[Post]:
    renderer, writer = _tools(workdir)
    with _session(workdir) as session:
        plan_campaign(session, c, LIMITS, NOW, NOW + timedelta(weeks=1), NOW)
        session.commit()
        compose_posts(session, renderer, writer, {c.name: c}, NOW, stored=str, file=Path)
        return list(session.scalars(select(Post).order_by(Post.slot_at)))


def test_compose_stores_card_caption_and_logs_each_move(workdir: Path) -> None:
    posts = _plan_and_compose(workdir, campaign())
    assert len(posts) == 3 and all(p.state == PostState.COMPOSED for p in posts)
    for post in posts:
        assert post.card_path and Path(post.card_path).is_file()
        assert post.caption and "#PekanUji" in post.caption
        assert post.caption_lang == "id"
    instagram = next(p for p in posts if p.channel == "instagram")
    assert instagram.caption and instagram.caption.startswith("✨ Pekan Uji: ")
    with Image.open(instagram.card_path or "") as card:
        assert card.size == (1080, 1350)
    youtube = next(p for p in posts if p.channel == "youtube")
    assert youtube.title and "Pekan Uji" in youtube.title and youtube.tags
    with Image.open(youtube.thumbnail_path or "") as thumb:
        assert thumb.size == (1280, 720)
    with _session(workdir) as session:
        events = session.execute(
            select(PostEvent.post_id, PostEvent.from_state, PostEvent.to_state, PostEvent.actor)
        ).all()
    for post in posts:
        mine = [(a, b, who) for i, a, b, who in events if i == post.id]
        assert mine == [(None, "planned", "planner"), ("planned", "composed", "compose")]


def test_auto_approve_campaign(workdir: Path) -> None:
    posts = _plan_and_compose(workdir, campaign(auto_approve=True))
    assert {p.state for p in posts} == {PostState.APPROVED}
    assert {p.reviewed_by for p in posts} == {"auto-approve"}


def test_consent_is_checked_again_before_composing(workdir: Path) -> None:
    c = campaign()
    renderer, writer = _tools(workdir)
    with _session(workdir) as session:
        plan_campaign(session, c, LIMITS, NOW, NOW + timedelta(weeks=1), NOW)
        session.commit()
        first = session.scalars(select(Post).order_by(Post.slot_at)).first()
        assert first is not None
        member = session.get(Member, first.member_id)
        assert member is not None
        member.consent_withdrawn_at = NOW
        session.commit()
        result = compose_posts(session, renderer, writer, {c.name: c}, NOW, stored=str, file=Path)
        session.refresh(first)
    assert (
        first.id,
        "member not promotable on this channel any more: run `ifn-campaign plan`",
    ) in (result.skipped)
    assert first.state == PostState.PLANNED and first.caption is None


def test_a_tiny_photo_flags_the_post_low_resolution(workdir: Path) -> None:
    renderer, writer = _tools(workdir)
    c = campaign()
    with _session(workdir) as session:
        member = session.scalars(select(Member).where(Member.status == "active")).first()
        assert member is not None
        buf = io.BytesIO()
        Image.new("RGB", (240, 180), (120, 60, 30)).save(buf, "JPEG")
        path = workdir / "tiny.jpg"
        path.write_bytes(buf.getvalue())
        sha = "f" * 64
        session.add(
            MediaAsset(
                sha256=sha,
                mime_type="image/jpeg",
                width=240,
                height=180,
                bytes=len(buf.getvalue()),
                source_url="http://x/tiny.jpg",
                fetched_at=NOW,
                path=str(path),
            )
        )
        session.flush()
        for media in session.scalars(
            select(MemberMedia).where(
                MemberMedia.member_id == member.id, MemberMedia.role == "photo"
            )
        ):
            session.delete(media)
        session.flush()
        session.add(
            MemberMedia(
                member_id=member.id,
                role="photo",
                position=0,
                source_url="http://x/tiny.jpg",
                asset_sha256=sha,
                checked_at=NOW,
            )
        )
        member.consent_channels = ["instagram", "facebook", "youtube"]
        post = Post(
            campaign="uji",
            channel="instagram",
            account="bpipi",
            slot_at=NOW + timedelta(days=2),
            member_id=member.id,
            template="sorotan",
            reason_id="uji",
            reason_en="test",
            state_changed_at=NOW,
            created_at=NOW,
        )
        session.add(post)
        session.commit()
        compose_posts(
            session,
            renderer,
            writer,
            {"uji": c},
            NOW,
            stored=str,
            file=Path,
            post_ids=[post.id or 0],
        )
        session.refresh(post)
    assert post.state == PostState.COMPOSED
    assert post.low_resolution
    assert post.compose_notes and post.compose_notes[0].startswith("photo upscaled more than 2x")


def test_illegal_moves_are_refused_with_the_way_forward(workdir: Path) -> None:
    posts = _plan_and_compose(workdir, campaign())
    with _session(workdir) as session:
        post = session.get(Post, posts[0].id)
        assert post is not None
        post.state = PostState.PUBLISHED
        with pytest.raises(TransitionError, match="is published: it cannot become approved"):
            move(session, post, PostState.APPROVED, actor="staff:x", now=NOW)


@pytest.mark.slow
def test_review_approve_edit_move_reject_status(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--campaign", "sorotan-anggota", "--weeks", "2"]) == 0
    assert main(["compose", "--weeks", "2"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "composed (0 approved automatically), 0 failed" in printed
    assert main(["review", "--english"]) == 0
    printed = capsys.readouterr().out
    assert "card:" in printed and "why:" in printed and "never featured" in printed
    with _session(workdir) as session:
        ids = [p.id for p in session.scalars(select(Post).order_by(Post.slot_at))]
        channels = {p.id: p.channel for p in session.scalars(select(Post))}
    first, second, third = ids[0], ids[1], ids[2]

    assert main(["approve", str(first), "--by", "rina"]) == 0
    assert (
        main(
            ["edit-caption", str(second), "--text", "Sepatu kulit dari Cibaduyut.", "--by", "rina"]
        )
        == 0
    )
    long_text = " ".join(f"#tagar{i}" for i in range(40)) + " kata" * 1300  # every channel refuses
    assert main(["edit-caption", str(second), "--text", long_text]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("error: caption refused for")
    assert main(["reject", str(third), "--reason", "foto buram", "--by", "rina"]) == 0
    assert main(["approve", str(third)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"post {third} is cancelled and cannot become approved (nothing was changed)" in err

    later = (NOW + timedelta(days=40)).astimezone(base_zone()).strftime("%Y-%m-%d 10:00")
    assert main(["move", str(second), "--at", later, "--by", "rina"]) == 0
    assert main(["move", str(first), "--at", "2001-01-01 10:00"]) == 1
    assert "that time has passed" in capsys.readouterr().err

    with _session(workdir) as session:
        rows = {p.id: p for p in session.scalars(select(Post))}
        log = session.execute(
            select(PostEvent.post_id, PostEvent.to_state, PostEvent.actor, PostEvent.note)
        ).all()
    assert rows[first].state == PostState.APPROVED and rows[first].reviewed_by == "staff:rina"
    assert rows[second].caption == "Sepatu kulit dari Cibaduyut."
    assert rows[second].caption_edited_by == "staff:rina"
    assert rows[third].state == PostState.CANCELLED
    assert rows[third].cancel_reason == "ditolak staf / rejected: foto buram"
    notes = {(i, n) for i, _, who, n in log if who == "staff:rina"}
    assert (second, "caption edited") in notes
    assert any(i == second and n and n.startswith("moved from") for i, n in notes)
    assert channels[first] in ("instagram", "facebook", "youtube")

    capsys.readouterr()
    assert main(["approve", "--all"]) == 0
    assert main(["status"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Queue per account" in printed and "instagram/bpipi" in printed
    assert main(["cancel", "999999", "--reason", "x"]) == 1
    assert "no post 999999" in capsys.readouterr().err


def base_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")
