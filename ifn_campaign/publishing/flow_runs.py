"""Claims held by flow runs that have ended: taken over without waiting for the lease.

A publisher inside a Prefect flow run claims posts as `flow:<flow run id>` (flows/publish.py).
When its worker or process is killed, the post it had in flight stays claimed (publishing) until
`publish.lease_seconds` pass. The Prefect server knows better: once it reports that flow run
Crashed (heartbeats stopped), Failed, Cancelled or Completed, nothing of that run sends anything
any more, and the next run takes the claim over, through the same reconcile path as a lapsed
claim (the platform is asked first), once the claim has been untouched for
`prefect.lost_after_seconds` (`Publisher._lost` says why). A server that is not configured or
does not answer changes nothing: the lease holds as before.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Collection
from uuid import UUID

_log = logging.getLogger(__name__)

FLOW_PREFIX = "flow:"
"""How a publisher inside a flow run names itself (and its claims): `flow:<flow run id>`."""
ENDED = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})
"""Prefect state types after which a flow run sends nothing more."""
ANSWER_SECONDS = 5.0  # a server that does not answer by then changes nothing
DEADLINE_SECONDS = 3 * ANSWER_SECONDS
"""The whole question at most: Prefect's client retries a slow or failing server (backoff
2, 4, 8... s; for ever while it says it is in maintenance), which held every claim ~2 minutes."""

EndedRuns = Callable[[Collection[UUID]], dict[UUID, str]]
"""Which of these flow runs have ended, with their state's name (e.g. "Crashed")."""


def claim_name(flow_run_id: UUID | str) -> str:
    """The worker name (`claimed_by`, event actor) of a publisher inside this flow run."""
    return f"{FLOW_PREFIX}{flow_run_id}"


def claim_run(claimed_by: str | None) -> UUID | None:
    """The flow run a claim names, or None (a publisher outside a flow run, or no claim)."""
    if not claimed_by or not claimed_by.startswith(FLOW_PREFIX):
        return None
    try:
        return UUID(claimed_by.removeprefix(FLOW_PREFIX))
    except ValueError:
        return None


def ended_on_server(runs: Collection[UUID]) -> dict[UUID, str]:
    """The runs among `runs` that the configured Prefect server reports ended; empty when no
    server is configured or it does not answer (the claims then wait for their lease)."""
    if not runs:
        return {}
    from ifn_campaign.orchestration.prefect_server import configured_api, server_answers

    api = configured_api()
    if api is None or not server_answers(api, timeout=ANSWER_SECONDS):
        return {}
    answer: list[object] = []
    # in a thread of its own, with this context (the Prefect settings in force), so a server
    # that keeps the client retrying holds the publish run DEADLINE_SECONDS at most
    context = contextvars.copy_context()
    asking = threading.Thread(
        target=context.run, args=(_read_runs, list(runs), answer), daemon=True
    )
    asking.start()
    asking.join(DEADLINE_SECONDS)
    if not answer:
        _log.warning(
            "%s did not say within %.0f s which flow runs ended (claims wait for their lease)",
            api,
            DEADLINE_SECONDS,
        )
        return {}
    (found,) = answer
    if isinstance(found, Exception):  # httpx, Prefect's own errors: the lease decides
        _log.warning(
            "could not read flow runs from %s (claims wait for their lease): %s", api, found
        )
        return {}
    assert isinstance(found, list)
    return {
        run.id: run.state.name or run.state.type.value
        for run in found
        if run.state is not None and run.state.type.value in ENDED
    }


def _read_runs(runs: list[UUID], answer: list[object]) -> None:
    """The flow runs `runs` as the server has them, or the error, appended to `answer`; no
    retries (the next claim asks again)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    try:
        with (
            temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}),
            get_client(sync_client=True, httpx_settings={"timeout": ANSWER_SECONDS}) as client,
        ):
            answer.append(
                client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=runs)), limit=len(runs)
                )
            )
    except Exception as exc:
        answer.append(exc)
