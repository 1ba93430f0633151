"""The outbox over posts made by the project's own stages: planned posts composed into real
cards and captions, approved, edited, moved and cancelled by the staff actions, as the console
and the CLI do it; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Member, Notice, NoticeState, Post
from ifn_campaign.notices.outbox import queue_due
from ifn_campaign.posts import actions
from tests.support.console_review import (
    HOSTILE_CAPTION,
    HOSTILE_NAME,
    ReviewPosts,
    compose_review_posts,
    write_campaigns,
)
from tests.support.notice_outbox import NOW, settings_for

STAFF = "staff:ayu"


@pytest.fixture(scope="session")
def shared_cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notice-cards")


@pytest.fixture
def composed(
    engine: Engine, db_url: str, tmp_path: Path, shared_cards: Path
) -> Iterator[tuple[Settings, Session, ReviewPosts]]:
    """Five composed posts a day apart from tomorrow, their members with an e-mail address."""
    write_campaigns(tmp_path / "campaigns", NOW)
    settings = settings_for(
        db_url,
        tmp_path,
        planner={"campaigns_dir": tmp_path / "campaigns"},
        notices={"days_ahead": 7},
    )
    with Session(engine) as session:
        posts = compose_review_posts(settings, session, NOW, shared_cards)
        for member in session.scalars(select(Member)):
            member.contact = {"email": f"{member.id}@sepatu.co.id"}
            member.consent_fields_allowed = ["email"]
        session.commit()
        yield settings, session, posts


def _queue(settings: Settings, session: Session, minutes: int = 0) -> dict[int, list[Notice]]:
    queue_due(session, settings, now=NOW + timedelta(minutes=minutes))
    session.commit()
    found: dict[int, list[Notice]] = {}
    for notice in session.scalars(select(Notice).order_by(Notice.id)):
        found.setdefault(notice.post_id or 0, []).append(notice)
    return found


def test_composed_posts_are_told_once_approved_with_their_real_card(
    composed: tuple[Settings, Session, ReviewPosts],
) -> None:
    settings, session, posts = composed
    assert _queue(settings, session) == {}  # composed: waiting for review
    actions.approve(session, posts.all, actor=STAFF, now=NOW, settings=settings)
    session.commit()
    notices = _queue(settings, session)
    assert sorted(notices) == sorted(posts.all)
    instagram = notices[posts.instagram][0]
    post = session.get(Post, posts.instagram)
    assert post is not None and post.caption and post.card_path
    assert post.caption in instagram.text_body
    [card] = instagram.attachments
    assert card["path"] == str(settings.path(post.card_path))
    with Image.open(card["path"]) as image:  # the card the compose stage drew
        assert image.format in {"JPEG", "PNG"} and image.width >= 1080
    hostile = notices[posts.hostile][0]
    assert hostile.html_body is not None
    assert HOSTILE_NAME in hostile.text_body and HOSTILE_CAPTION in hostile.text_body
    assert "<script>" not in hostile.html_body and "<img src=x" not in hostile.html_body
    assert _queue(settings, session, 15) == notices  # nothing new


@pytest.mark.slow
def test_staff_edits_moves_and_cancellations_reach_the_member(
    composed: tuple[Settings, Session, ReviewPosts],
) -> None:
    settings, session, posts = composed
    actions.approve(session, posts.all, actor=STAFF, now=NOW, settings=settings)
    session.commit()
    for rows in _queue(settings, session).values():
        rows[0].state = NoticeState.SENT  # as the sender leaves them
    session.commit()
    later = NOW + timedelta(minutes=10)
    actions.edit_caption(
        session, posts.facebook, "Keterangan yang diperbaiki.", actor=STAFF, now=later,
        settings=settings,
    )  # fmt: skip
    post = session.get(Post, posts.youtube)
    assert post is not None
    actions.move_post(
        session, posts.youtube, post.slot_at + timedelta(hours=2), actor=STAFF, now=later,
        settings=settings,
    )  # fmt: skip
    actions.cancel(
        session, [posts.instagram], reason="diganti", actor=STAFF, now=later, settings=settings
    )
    session.commit()
    notices = _queue(settings, session, 20)
    facebook = notices[posts.facebook][-1]
    assert facebook.kind == "update" and "Keterangan yang diperbaiki." in facebook.text_body
    youtube = notices[posts.youtube][-1]
    assert youtube.kind == "update" and "Jadwal berubah" in youtube.text_body
    assert notices[posts.instagram][-1].kind == "cancelled"
    assert len(notices[posts.hostile]) == len(notices[posts.four_eyes]) == 1
    assert _queue(settings, session, 35) == notices
