"""The registry client's whole-page deadline (`registry.deadline`) and size cap
(`registry.max_bytes`) over real sockets against the registry sandbox: a registry dripping a
byte at a time is cut off at the deadline and the page asked again, a huge page is refused
without being read whole, and ordinary pages are unaffected.

Before: requests' read timeout bounds each read, so a drip held the sync (and its lock) until
the registry chose to stop, and a 64 MB page was read whole into memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from ifn_campaign.config import RegistrySettings
from ifn_campaign.errors import RegistryUnreachable
from ifn_campaign.registry.client import RegistryClient
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox

MEMBERS = "/api/v1/members"
CAP = 256 * 1024
HUGE = 64 * 1024 * 1024


@pytest.fixture
def registry() -> Iterator[RegistrySandbox]:
    with RegistrySandbox(generated=25) as sandbox:
        yield sandbox


def client_for(registry: RegistrySandbox, **kw: object) -> tuple[RegistryClient, list[float]]:
    waits: list[float] = []
    values: dict[str, object] = {
        "base_url": registry.url,
        "read_timeout": 5,
        "deadline": 0.5,
        "max_bytes": CAP,
        "retries": 1,
        "backoff_factor": 0.01,
        "backoff_jitter": 0.0,
    }
    return RegistryClient(RegistrySettings.model_validate(values | kw), sleep=waits.append), waits


def test_pages_within_the_limits_are_unaffected(registry: RegistrySandbox) -> None:
    client, waits = client_for(registry, deadline=10, page_size=10)
    with client:
        assert sum(len(page.records) for page in client.pages()) == 25
    assert waits == []


def test_a_dripping_page_ends_at_the_deadline_and_is_asked_again(
    registry: RegistrySandbox,
) -> None:
    registry.faults.add(Fault(MEMBERS, "drip", delay=0.05, times=None))
    client, waits = client_for(registry)
    with client, pytest.raises(RegistryUnreachable) as caught:
        list(client.pages())
    message = str(caught.value)
    assert "0.5 s deadline" in message and "registry.deadline" in message, message
    assert f"127.0.0.1:{registry.port}" in message
    assert len(waits) == 1 and len(registry.requests.matching(MEMBERS)) == 2


def test_a_dripping_page_once_is_asked_again_and_the_sync_goes_on(
    registry: RegistrySandbox,
) -> None:
    registry.faults.add(Fault(MEMBERS, "drip", delay=0.05, times=1))
    client, waits = client_for(registry)
    with client:
        assert sum(len(page.records) for page in client.pages()) == 25
    assert len(waits) == 1


@pytest.mark.parametrize("declare", [True, False], ids=["length declared", "no length"])
def test_a_huge_page_is_refused_without_being_read_whole(
    registry: RegistrySandbox, declare: bool
) -> None:
    registry.faults.add(Fault(MEMBERS, "huge", size=HUGE, declare=declare, times=None))
    client, _ = client_for(registry, retries=0)
    tracemalloc.start()
    try:
        with client, pytest.raises(RegistryUnreachable) as caught:
            list(client.pages())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert f"at most {CAP:,} bytes" in message and "registry.max_bytes" in message, message
    assert peak < 8 * CAP, f"{peak:,} bytes held for a {HUGE:,} byte page"
