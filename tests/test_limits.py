"""Per-account limits across workers, under a real local Prefect server: the limits are created
and updated from the settings, and two publishers at once never have more of one account's posts
in flight than `publish.account_concurrency` (the control run without the gate does)."""

# ruff: noqa: F811  (pytest fixtures imported from tests.test_publisher)
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ifn_campaign.limits import PrefectGate, ensure_account_limits, limit_name, rate_name
from ifn_campaign.publisher import Publisher
from ifn_campaign.sandbox.http import Fault
from tests.test_compose_review import synced_db  # noqa: F401  (fixture)
from tests.test_publisher import World, approved_posts, world  # noqa: F401  (fixture)
from tests.test_publisher_instagram import members_by_photos

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def read_limits(names: list[str]) -> dict[str, tuple[int, float]]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = {}
        for name in names:
            limit = client.read_global_concurrency_limit_by_name(name)
            found[name] = (limit.limit, limit.slot_decay_per_second or 0.0)
        return found


def test_limits_are_created_then_brought_to_the_settings(
    prefect_server: None, world: World
) -> None:
    settings = world.settings
    names = [limit_name("instagram", "bpipi"), rate_name("instagram", "bpipi")]
    ensure_account_limits(settings)
    assert read_limits(names) == {names[0]: (2, 0.0), names[1]: (1, pytest.approx(20 / 60))}
    changed = settings.model_copy(
        update={
            "publish": settings.publish.model_copy(
                update={"account_concurrency": 3, "account_posts_per_minute": 6}
            )
        }
    )
    wanted = ensure_account_limits(changed)
    assert {w.name for w in wanted} >= set(names)
    assert read_limits(names) == {names[0]: (3, 0.0), names[1]: (1, pytest.approx(0.1))}


def most_in_flight(world: World, prefix: str) -> int:
    """The most requests under `prefix` the sandbox was answering at the same moment."""
    edges = []
    for record in world.platforms.graph.requests.matching(prefix):
        if record.done_at is not None:
            edges += [(record.at, 1), (record.done_at, -1)]
    most = now = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        now += step
        most = max(most, now)
    return most


def publish_with_two_workers(world: World, gate: PrefectGate | None) -> list[int]:
    published: list[int] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            report = Publisher(world.engine, world.settings, worker=name, gate=gate).run(batch=1)
            published.extend(report.published)
        except BaseException as exc:  # surfaced below, a thread cannot raise into the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return published


@pytest.mark.parametrize("gated", [True, False], ids=["gate", "control"])
def test_two_workers_keep_one_post_of_an_account_in_flight(
    prefect_server: None, world: World, gated: bool
) -> None:
    settings = world.settings.model_copy(
        update={
            "publish": world.settings.publish.model_copy(
                update={"account_concurrency": 1, "account_posts_per_minute": 0}
            )
        }
    )
    world.settings = settings
    ensure_account_limits(settings)
    now = datetime.now(UTC)
    members = members_by_photos(world)[1][:4]
    for i, member_id in enumerate(members):
        approved_posts(
            world, {"instagram": now - timedelta(minutes=9 - i)}, {"instagram": member_id}
        )
    world.platforms.graph.faults.add(Fault("/", "slow", delay=0.15, times=None))
    world.platforms.graph.requests.clear()

    published = publish_with_two_workers(world, PrefectGate(settings) if gated else None)

    assert len(published) == len(set(published)) == len(members)
    assert len(world.platforms.graph.media()) == len(members)
    if gated:
        assert most_in_flight(world, "/") == 1
    else:  # without the gate both workers post for the account at once: the test can fail
        assert most_in_flight(world, "/") == 2


def test_runs_creating_the_limits_at_once_do_not_fail(prefect_server: None, world: World) -> None:
    """Several publish_due runs may find the limits missing together: the losers of the race
    read what the winner made instead of crashing."""
    accounts = world.settings.accounts["instagram"]
    fresh = {"instagram": {"race-account": next(iter(accounts.values()))}}
    settings = world.settings.model_copy(update={"accounts": fresh})
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            ensure_account_limits(settings)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    name = limit_name("instagram", "race-account")
    assert read_limits([name]) == {name: (2, 0.0)}
