"""One error tree for every channel: each Graph and YouTube error is exactly one ChannelError
kind, which is what the publisher's table (`Publisher._settle`) decides by, and each says what
to do without a token in sight."""

from __future__ import annotations

import inspect
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from ifn_campaign import errors
from ifn_campaign.errors import (
    ChannelBlocked,
    ChannelError,
    ChannelNotFound,
    ChannelOutcomeUnknown,
    ChannelReauthNeeded,
    ChannelRefused,
    ChannelTransient,
    GraphError,
    GraphRateLimited,
    YouTubeError,
    YouTubeQuotaExceeded,
)

KINDS = (
    ChannelTransient,
    ChannelOutcomeUnknown,
    ChannelNotFound,
    ChannelReauthNeeded,
    ChannelRefused,
)
PLATFORM = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, GraphError | YouTubeError) and cls not in (GraphError, YouTubeError)
]


@pytest.mark.parametrize("cls", PLATFORM, ids=lambda cls: cls.__name__)
def test_every_platform_error_is_one_kind(cls: type[ChannelError]) -> None:
    kinds = [kind for kind in KINDS if issubclass(cls, kind)]
    if cls is errors.GraphNotFound:  # a refusal too, as it always was: but found missing first
        assert kinds == [ChannelNotFound, ChannelRefused]
    else:
        assert len(kinds) == 1, (cls, kinds)
    assert cls.action, cls


def test_the_platform_errors_are_all_there() -> None:
    names = {cls.__name__ for cls in PLATFORM}
    assert {"GraphTransient", "GraphTokenInvalid", "YouTubeReauthNeeded"} <= names
    assert len(PLATFORM) >= 20


def test_blocked_errors_say_until_when_and_for_whom() -> None:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    graph = GraphRateLimited("rate limited", retry_after=120, code=4)
    graph.scope = "app"
    assert isinstance(graph, ChannelBlocked)
    assert graph.blocked_until(now) == now + timedelta(seconds=120)
    assert (graph.scope, graph.block_code) == ("app", 4)
    resets = datetime(2026, 12, 6, 8, 0, tzinfo=UTC) + timedelta(days=1)
    quota = YouTubeQuotaExceeded("quota", resets_at=resets, status=403)
    assert isinstance(quota, ChannelBlocked)
    assert (quota.blocked_until(now), quota.scope, quota.block_code) == (resets, "app", 403)
    assert ChannelBlocked("no time given").blocked_until(now) == now + timedelta(hours=1)


def test_only_outcomes_the_platform_can_answer_are_reconciled() -> None:
    assert errors.GraphOutcomeUnknown.reconcilable
    assert not errors.YouTubeOutcomeUnknown.reconcilable  # its session is gone: staff look
    assert "YouTube channel" in errors.YouTubeOutcomeUnknown.action


def test_kinds_survive_pickling_with_their_fields() -> None:
    error = pickle.loads(pickle.dumps(GraphRateLimited("limited", retry_after=60, code=17)))
    assert isinstance(error, ChannelBlocked) and (error.retry_after, error.code) == (60, 17)
