"""The publisher decides a failed post's fate by the error's kind alone (`Publisher._settle`):
the same kind from either platform ends the same way. Each error is raised by the first remote
call of an Instagram post (its publishing quota), so nothing is sent and only the table acts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels import instagram
from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import (
    ConfigError,
    GraphMediaFetchFailed,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphPublishLimit,
    GraphRateLimited,
    GraphTokenInvalid,
    GraphTransient,
    IFNError,
    YouTubeOutcomeUnknown,
    YouTubeQuotaExceeded,
    YouTubeReauthNeeded,
    YouTubeTransient,
)
from ifn_campaign.models import PlatformBlock, PostState
from ifn_campaign.publishing.publisher import Publisher
from tests.support.publishing import World, approved, load

DEFAULT_ACTION = "fix what the message says, then approve again"


def _quota_resets() -> datetime:
    return datetime.now(UTC) + timedelta(hours=5)


# (the error, the post's state after, what the report lists it under, its action or None)
CASES: list[tuple[Callable[[], IFNError], PostState, str, str | None]] = [
    (
        lambda: GraphTokenInvalid("token refused"),
        PostState.NEEDS_REAUTH,
        "needs_reauth",
        "re-authorise",
    ),
    (
        lambda: YouTubeReauthNeeded("grant dead"),
        PostState.NEEDS_REAUTH,
        "needs_reauth",
        "re-authorise",
    ),
    (lambda: GraphPublishLimit("limit used up"), PostState.APPROVED, "moved", None),
    (
        lambda: GraphRateLimited("limited", retry_after=600, code=4),
        PostState.APPROVED,
        "retry_later",
        None,
    ),
    (
        lambda: YouTubeQuotaExceeded("quota", resets_at=_quota_resets()),
        PostState.APPROVED,
        "retry_later",
        None,
    ),
    (lambda: GraphTransient("HTTP 500"), PostState.APPROVED, "retry_later", None),
    (lambda: YouTubeTransient("HTTP 503"), PostState.APPROVED, "retry_later", None),
    (
        lambda: GraphOutcomeUnknown("timed out after sending"),
        PostState.APPROVED,
        "retry_later",
        None,
    ),
    (
        lambda: YouTubeOutcomeUnknown("session gone after the last chunk"),
        PostState.FAILED,
        "failed",
        "YouTube channel",
    ),
    (
        lambda: GraphMediaFetchFailed("could not fetch"),
        PostState.FAILED,
        "failed",
        "media_base_url",
    ),
    (lambda: GraphNotFound("gone"), PostState.FAILED, "failed", DEFAULT_ACTION),
    (lambda: ConfigError("no such account"), PostState.FAILED, "failed", DEFAULT_ACTION),
]


@pytest.mark.parametrize(
    ("make", "state", "listed", "action"),
    CASES,
    ids=[case[0]().__class__.__name__ for case in CASES],
)
def test_each_kind_has_one_outcome(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], IFNError],
    state: PostState,
    listed: str,
    action: str | None,
) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, Channel.INSTAGRAM, [now - timedelta(minutes=1)])
    error = make()

    def refuse(*_args: object, **_kwargs: object) -> instagram.Quota:
        raise error

    monkeypatch.setattr(instagram, "publishing_quota", refuse)
    report = Publisher(world.engine, world.settings).run()

    assert [entry if isinstance(entry, int) else entry[0] for entry in getattr(report, listed)] == [
        post_id
    ]
    post, _ = load(world, post_id)
    assert post.state == state, (post.state, post.last_error)
    assert str(error) in (post.last_error or "")
    assert world.platforms.graph.media() == []
    if action is not None:
        assert action in (post.error_action or "")
    with Session(world.engine) as session:
        blocks = session.scalars(select(PlatformBlock)).all()
    blocked = isinstance(error, GraphRateLimited | YouTubeQuotaExceeded)
    assert len(blocks) == (1 if blocked else 0)
    if blocked:  # a platform block is not a try of the post
        assert post.attempts == 0
        assert post.next_attempt_at is not None and post.next_attempt_at > now + timedelta(
            minutes=9
        )
    elif listed == "retry_later":  # a try: backed off, the step kept for reconciling
        assert post.attempts == 1
        assert post.next_attempt_at is not None


@pytest.mark.parametrize("problem", ["too large", "missing"])
def test_a_card_facebook_cannot_take_fails_before_anything_is_sent(
    world: World, problem: str
) -> None:
    """Uploaded as a file, a Facebook card over 4 MB or gone from disk fails the post before its
    step is recorded: nothing is sent, and the message says what to do."""
    now = datetime.now(UTC)
    (post_id,) = approved(world, Channel.FACEBOOK, [now - timedelta(minutes=1)])
    post, _ = load(world, post_id)
    card = Path(post.card_path or "")
    if problem == "missing":
        card.unlink()
    else:
        card.write_bytes(b"\xff\xd8\xff" + bytes(4 * 1024 * 1024))
    facebook = world.settings.facebook.model_copy(update={"photo_upload": "file"})
    settings = world.settings.model_copy(update={"facebook": facebook})

    report = Publisher(world.engine, settings).run()

    assert [pid for pid, _ in report.failed] == [post_id]
    post, _ = load(world, post_id)
    assert post.state == PostState.FAILED and post.publish_step is None
    expected = (
        "over Facebook's 4 MB upload" if problem == "too large" else "run `ifn-campaign compose`"
    )
    assert expected in (post.last_error or "")
    assert post.error_action == DEFAULT_ACTION
    assert world.platforms.graph.posts() == []
