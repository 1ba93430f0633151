"""Per-account limits across workers, under a real local Prefect server: the limits are created
and updated from the settings, and two publishers at once never have more of one account's posts
in flight than `publish.account_concurrency` (the control run without the gate does)."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest

from ifn_campaign.orchestration.gates import (
    PrefectGate,
    ensure_account_limits,
    limit_name,
    rate_name,
)
from ifn_campaign.publishing.publisher import Publisher
from ifn_sandbox.http import Fault
from tests.support.publishing import World, approved_posts, members_by_photos

pytestmark = pytest.mark.slow


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


def publish_with_two_workers(world: World, gated: bool) -> list[int]:
    published: list[int] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        gate = PrefectGate(world.settings) if gated else None  # one per worker, as in flows
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

    published = publish_with_two_workers(world, gated)

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


def active_slots(name: str) -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


def test_the_slot_is_kept_over_a_run_of_one_accounts_posts_and_let_go_of(
    prefect_server: None, world: World
) -> None:
    """One acquire for consecutive posts of an account; another account's post lets it go
    first (a worker never holds two slots, so two workers cannot deadlock); `release` ends it,
    and a publisher's run releases when it ends, also after a failed post."""
    settings = world.settings.model_copy(
        update={
            "publish": world.settings.publish.model_copy(
                # no rate limit: this is about the concurrency slot (a start every 3 s would
                # outlast the gate's 5 s timeout on a second post)
                update={"account_concurrency": 1, "account_posts_per_minute": 0}
            )
        }
    )
    ensure_account_limits(settings)
    ig, fb = limit_name("instagram", "bpipi"), limit_name("facebook", "bpipi")
    gate = PrefectGate(settings, timeout_seconds=5)
    with gate.hold("instagram", "bpipi"):
        assert (active_slots(ig), active_slots(fb)) == (1, 0)
    with gate.hold("instagram", "bpipi"):  # the same account again: kept, not taken twice
        assert active_slots(ig) == 1
    assert active_slots(ig) == 1  # between the posts of the run
    with pytest.raises(RuntimeError), gate.hold("facebook", "bpipi"):
        assert (active_slots(ig), active_slots(fb)) == (0, 1)
        raise RuntimeError("the post failed")
    gate.release()
    assert (active_slots(ig), active_slots(fb)) == (0, 0)
    gate.release()  # twice is harmless

    # a whole publisher run: posts sent, the slot let go of at the end
    now = datetime.now(UTC)
    member = members_by_photos(world)[1][0]
    approved_posts(world, {"instagram": now - timedelta(minutes=5)}, {"instagram": member})
    world.platforms.graph.faults.add(Fault("/", "status", status=500, times=None))
    report = Publisher(world.engine, settings, worker="w", gate=gate).run()
    assert report.retry_later and active_slots(ig) == 0


class _GateWhoseServerWentAway:
    """An AccountGate (the publisher's seam to Prefect) whose server answers holds but is gone
    by the time the slot is let go of."""

    def __init__(self) -> None:
        self.releases = 0

    def hold(self, channel: str, account: str) -> nullcontext[None]:
        return nullcontext()

    def release(self) -> None:
        import httpx

        self.releases += 1
        raise httpx.ConnectError("the Prefect server went away")


def test_a_failed_release_loses_no_report(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """The posts already sent are reported even when letting go of the slot fails; the slot is
    let go of after every claimed batch, not held across claims."""
    now = datetime.now(UTC)
    by_photos = members_by_photos(world)
    members = [*by_photos[0], *by_photos[1]][:2]
    for minutes, member in zip((5, 6), members, strict=True):
        slot = now - timedelta(minutes=minutes)
        approved_posts(world, {"instagram": slot}, {"instagram": member})
    gate = _GateWhoseServerWentAway()
    report = Publisher(world.engine, world.settings, worker="w", gate=gate).run(batch=1)
    assert len(report.published) == 2
    assert gate.releases == 3  # after each of the two batches, and when the run ended
    assert "could not be released" in caplog.text


def test_a_prefect_server_that_does_not_answer_is_named_with_the_next_step() -> None:
    """Setting the limits on a Prefect server that is down is Prefect's failure, not the
    settings': an OrchestrationError naming the server and what to do."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from ifn_campaign.config import Settings
    from ifn_campaign.errors import OrchestrationError

    settings = Settings.model_validate(
        {"accounts": {"instagram": {"bpipi": {"ig_user_id": "1", "token_secret": "ig-bpipi"}}}}
    )
    with (
        temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        pytest.raises(OrchestrationError) as raised,
    ):
        ensure_account_limits(settings)
    assert "http://127.0.0.1:9/api" in str(raised.value)
    assert "PREFECT_API_URL" in str(raised.value)


def test_a_gate_without_a_free_slot_says_so_without_prefects_log_line(
    prefect_server: None,
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prefect's slot service logs "failed to process item ... TimeoutError" when a wait ends
    without a slot; the gate's own GateUnavailable is the one report of it."""
    import logging
    import time

    from prefect.concurrency.sync import concurrency

    from ifn_campaign.errors import GateUnavailable

    logger = logging.getLogger("prefect._internal.concurrency")
    monkeypatch.setattr(logger, "filters", [])  # none from earlier tests: only the gate's own
    settings = world.settings
    ensure_account_limits(settings)
    gate = PrefectGate(settings, timeout_seconds=0.5)
    name = limit_name("instagram", "bpipi")
    caplog.set_level(logging.DEBUG, logger=logger.name)
    with concurrency(name, occupy=settings.publish.account_concurrency, strict=True):
        with pytest.raises(GateUnavailable) as raised, gate.hold("instagram", "bpipi"):
            pass
        time.sleep(1)  # the service logs from its thread after handing the error over
    assert str(raised.value).startswith(
        f"instagram/bpipi: no free slot in the account's limits ({name})"
    )
    assert [r.getMessage() for r in caplog.records if "failed to process" in r.getMessage()] == []
