"""Per-account limits that hold across every worker and flow run: Prefect global concurrency
limits, one pair per platform account.

`ifn-<channel>-<account>` bounds the posts of the account in flight at once
(`publish.account_concurrency`); `ifn-<channel>-<account>-rate` is a rate limit (its slots decay)
that spaces the posts one account starts (`publish.account_posts_per_minute`). Graph's own usage
headers are per app and Page, so every worker already sees them; these limits are ours on top.
`ensure_account_limits` creates or updates them from the settings (`ifn-campaign deploy` and every
`publish_due` run call it); `PrefectGate` holds them around each post (the concurrency slot
over consecutive posts of one account within a claimed batch).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Protocol

import httpx

from ifn_campaign.config import Settings
from ifn_campaign.errors import GateUnavailable, OrchestrationError


class AccountGate(Protocol):
    """What the publisher holds around each post of an account, and lets go of after each
    claimed batch and when its run ends."""

    def hold(self, channel: str, account: str) -> AbstractContextManager[None]: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class AccountLimit:
    """One Prefect global concurrency limit as we want it."""

    name: str
    limit: int
    slot_decay_per_second: float = 0.0


def limit_name(channel: str, account: str) -> str:
    return f"ifn-{channel}-{account}"


def rate_name(channel: str, account: str) -> str:
    return f"ifn-{channel}-{account}-rate"


def wanted_limits(settings: Settings) -> list[AccountLimit]:
    """The limits every configured account needs."""
    publish = settings.publish
    found = []
    for channel, accounts in sorted(settings.accounts.items()):
        for account in sorted(accounts):
            found.append(AccountLimit(limit_name(channel, account), publish.account_concurrency))
            if publish.account_posts_per_minute > 0:
                # a rate limit of one slot that decays at the wanted pace: one start at a time
                per_second = publish.account_posts_per_minute / 60
                found.append(AccountLimit(rate_name(channel, account), 1, per_second))
    return found


def ensure_account_limits(settings: Settings) -> list[AccountLimit]:
    """Create, or bring to the settings' values, every account's limits on the configured Prefect
    server; returns them. Raises OrchestrationError when the server cannot be reached."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    wanted = wanted_limits(settings)
    try:
        with get_client(sync_client=True) as client:
            for limit in wanted:
                try:
                    current = client.read_global_concurrency_limit_by_name(limit.name)
                except ObjectNotFound:
                    try:
                        client.create_global_concurrency_limit(
                            GlobalConcurrencyLimitCreate(
                                name=limit.name,
                                limit=limit.limit,
                                slot_decay_per_second=limit.slot_decay_per_second,
                            )
                        )
                        continue
                    except ObjectAlreadyExists:  # another run created it meanwhile
                        current = client.read_global_concurrency_limit_by_name(limit.name)
                if (current.limit, current.slot_decay_per_second or 0.0, current.active) != (
                    limit.limit,
                    limit.slot_decay_per_second,
                    True,
                ):
                    client.update_global_concurrency_limit(
                        limit.name,
                        GlobalConcurrencyLimitUpdate(
                            limit=limit.limit,
                            slot_decay_per_second=limit.slot_decay_per_second,
                            active=True,
                        ),
                    )
    except (OSError, RuntimeError, httpx.HTTPError) as exc:
        from prefect.settings import PREFECT_API_URL

        raise OrchestrationError(
            f"cannot set the account limits on the Prefect server {PREFECT_API_URL.value()} "
            f"({type(exc).__name__}: {exc}): start it, or correct PREFECT_API_URL"
        ) from exc
    return wanted


class PrefectGate:
    """Holds an account's limits around its posts: waits for a start under the rate limit
    before each post, and for a slot of the account's concurrency limit before the first post
    of a run of posts of that account. The slot is kept while the posts that follow are of the
    same account and let go of before a post of another account and by `release`, which the
    publisher calls after each batch it claimed (so a worker never keeps an account from the
    others across claims) and when its run ends, also on failure. One worker has one post in
    flight at a time, so the limit still bounds the account's posts in flight, and a batch of
    one account's posts costs two calls to the server instead of two a post. One gate per
    publisher (not shared between threads). Limits that do not exist are an error (strict),
    not silently no limit; a lost lease is not (claims in the database keep posts exactly
    once, the slot only paces them)."""

    def __init__(self, settings: Settings, *, timeout_seconds: float = 600) -> None:
        from ifn_campaign.orchestration.deployments import quiet_slot_failures

        quiet_slot_failures()  # a slot not had is our GateUnavailable, not Prefect's log line
        self.rate = settings.publish.account_posts_per_minute > 0
        self.timeout_seconds = timeout_seconds
        self._slot = ExitStack()
        self._held: tuple[str, str] | None = None

    @contextmanager
    def hold(self, channel: str, account: str) -> Iterator[None]:
        from prefect.concurrency._asyncio import (
            AcquireConcurrencySlotTimeoutError,
            ConcurrencySlotAcquisitionError,
        )
        from prefect.concurrency.sync import concurrency, rate_limit

        try:
            if self._held != (channel, account):
                self.release()
                self._slot.enter_context(
                    concurrency(
                        limit_name(channel, account),
                        timeout_seconds=self.timeout_seconds,
                        strict=True,
                        raise_on_lease_renewal_failure=False,
                    )
                )
                self._held = (channel, account)
            if self.rate:
                rate_limit(
                    rate_name(channel, account), timeout_seconds=self.timeout_seconds, strict=True
                )
        except (
            AcquireConcurrencySlotTimeoutError,
            ConcurrencySlotAcquisitionError,
            TimeoutError,
            httpx.HTTPError,
        ) as exc:
            raise GateUnavailable(
                f"{channel}/{account}: no free slot in the account's limits "
                f"({limit_name(channel, account)}): {exc}; run `ifn-campaign deploy` if the "
                "limits are missing"
            ) from exc
        yield

    def release(self) -> None:
        """Let go of the account's slot, if one is held."""
        self._held = None
        slot, self._slot = self._slot, ExitStack()
        slot.close()


def gate_for(settings: Settings) -> PrefectGate | None:
    """The gate when a Prefect server is configured (its limits are shared with every worker),
    else None: one process alone, publishing one post at a time."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return None
    ensure_account_limits(settings)
    return PrefectGate(settings)
