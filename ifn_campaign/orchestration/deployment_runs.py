"""Our deployments as a Prefect server has them, for staff: the last run of each and the next
one waiting, and "run now" (a new flow run of one of them), for the console's Today page.

Staff look here to see whether the sync, the plan, compose and the publisher ran, and start one
by hand after fixing what stopped it. The server is asked with a short deadline and without
Prefect's retries: a page must never wait on a server that is down or failing, so a server that
does not answer is one line of text (`DeploymentsView.problem`), never an exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ifn_campaign.errors import OrchestrationError

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

__all__ = [
    "ANSWER_SECONDS",
    "DEADLINE_SECONDS",
    "DeploymentStatus",
    "DeploymentsView",
    "LastRun",
    "display_url",
    "our_deployments",
    "read_deployments",
    "run_now",
]

_log = logging.getLogger(__name__)

ANSWER_SECONDS = 3.0  # one request at most
DEADLINE_SECONDS = 5.0  # every question of one page together at most
# a run that happened (or ended without starting: cancelled, crashed) as opposed to one waiting
_WAITING = ("SCHEDULED", "PENDING")
_HAPPENED = ("RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING", "PAUSED")


@dataclass(frozen=True)
class LastRun:
    """One flow run as staff read it: its name, its state's name ("Completed", "Late"...) and
    type ("COMPLETED"), and its times (UTC)."""

    name: str
    state: str
    state_type: str
    expected_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    message: str | None = None


@dataclass(frozen=True)
class DeploymentStatus:
    """One of our deployments: whether the server has it, paused or not, its last run that
    happened and its next one waiting (a scheduled run, or one started by hand not yet taken)."""

    flow: str
    name: str
    scheduled: bool
    on_server: bool = False
    paused: bool = False
    last: LastRun | None = None
    next: LastRun | None = None


@dataclass(frozen=True)
class DeploymentsView:
    """What the page shows: the server asked (None: none configured), each deployment, and
    `problem`, one line saying why nothing could be read (empty deployments then)."""

    api: str | None
    deployments: list[DeploymentStatus]
    problem: str | None = None


def our_deployments() -> list[tuple[str, bool]]:
    """Our deployments' flow names, in the order flows/deployments.py lists them, and whether
    each runs on a schedule (the rest run only by hand)."""
    from flows.deployments import DEPLOYMENTS

    return [(spec.name, spec.scheduled) for spec in DEPLOYMENTS]


def display_url(url: str) -> str:
    """`url` without user info, query or fragment (where credentials hide), fit to show on a
    page or in a message. The host is what follows the last `@`, as clients read it, so a
    password that itself holds an `@` is dropped whole."""
    split = urlsplit(url.strip())
    if not split.scheme or not split.netloc:
        return "<an address that does not parse>" if "@" in url else url.split("?")[0]
    host = split.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = split.port
    except ValueError:  # a port that is not a number: leave it out rather than fail
        port = None
    if port:
        host = f"{host}:{port}"
    # an `@` in the path means the user info held a raw `/`: what follows may be a password
    path = "/…" if "@" in split.path else split.path
    return f"{split.scheme}://{host}{path}"


def _failure(api: str, exc: BaseException) -> str:
    """Why the server could not be read, in one line without anything it answered."""
    import httpx

    where = display_url(api)
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the Prefect server {where} failed (HTTP {exc.response.status_code})"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"the Prefect server {where} did not answer within {DEADLINE_SECONDS:g} s"
    return f"the Prefect server {where} does not answer ({type(exc).__name__})"


@contextmanager
def _pointed(api: str) -> Iterator[None]:
    """Prefect's clients in this block use `api`, and never retry (one answer, or none)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_CLIENT_MAX_RETRIES: 0}):
        yield


def _run(run: FlowRun | None) -> LastRun | None:
    if run is None:
        return None
    state = run.state
    return LastRun(
        name=run.name,
        state=(state.name if state else None) or (state.type.value.title() if state else "?"),
        state_type=state.type.value if state else "UNKNOWN",
        expected_at=run.expected_start_time,
        started_at=run.start_time,
        ended_at=run.end_time,
        message=(state.message or None) if state else None,
    )


async def _status(client: Any, flow: str, scheduled: bool) -> DeploymentStatus:
    """One deployment's status: three requests, the two run lists at once."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.exceptions import ObjectNotFound

    from ifn_campaign.orchestration.deployments import DEPLOYMENT_NAME

    name = f"{flow}/{DEPLOYMENT_NAME}"
    try:
        deployment = await client.read_deployment_by_name(name)
    except ObjectNotFound:
        return DeploymentStatus(flow, name, scheduled)

    def runs(types: tuple[str, ...]) -> FlowRunFilter:
        return FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType(t) for t in types])
            ),
        )

    last, upcoming = await asyncio.gather(
        client.read_flow_runs(
            flow_run_filter=runs(_HAPPENED), sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1
        ),
        client.read_flow_runs(
            flow_run_filter=runs(_WAITING), sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=1
        ),
    )
    return DeploymentStatus(
        flow,
        name,
        scheduled,
        on_server=True,
        paused=bool(deployment.paused),
        last=_run(last[0] if last else None),
        next=_run(upcoming[0] if upcoming else None),
    )


async def _read(api: str, specs: list[tuple[str, bool]]) -> list[DeploymentStatus]:
    from prefect.client.orchestration import get_client

    with _pointed(api):
        async with get_client(httpx_settings={"timeout": ANSWER_SECONDS}) as client:
            return list(await asyncio.gather(*(_status(client, f, s) for f, s in specs)))


def read_deployments(api: str | None) -> DeploymentsView:
    """Each of our deployments as the server at `api` has it; with no server, or one that does
    not answer well within DEADLINE_SECONDS, the view says so in `problem` and lists nothing.
    Called from a thread without a running event loop (a sync route)."""
    if not api:
        return DeploymentsView(None, [], "no Prefect server configured (PREFECT_API_URL)")
    specs = our_deployments()
    try:
        found = asyncio.run(asyncio.wait_for(_read(api, specs), DEADLINE_SECONDS))
    except Exception as exc:  # httpx, Prefect's own errors, the deadline: one line, no page
        problem = _failure(api, exc)
        _log.warning("could not read our deployments: %s", problem)
        return DeploymentsView(api, [], problem)
    return DeploymentsView(api, found)


def run_now(api: str | None, flow: str) -> LastRun:
    """A new flow run of our deployment of `flow` now (as `prefect deployment run`), with the
    deployment's parameters; a worker (or `serve`) runs it. OrchestrationError when there is no
    server, it does not answer, or it has no such deployment: nothing was started then."""
    from ifn_campaign.orchestration.deployments import DEPLOYMENT_NAME

    names = [name for name, _ in our_deployments()]
    if flow not in names:
        raise OrchestrationError(f"{flow!r} is not one of our deployments ({', '.join(names)})")
    name = f"{flow}/{DEPLOYMENT_NAME}"
    if not api:
        raise OrchestrationError(
            f"no Prefect server configured (PREFECT_API_URL): start {name} with "
            "`ifn-campaign serve` running, or run the stage from the command line"
        )
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectException

    try:
        with (
            _pointed(api),
            get_client(sync_client=True, httpx_settings={"timeout": ANSWER_SECONDS}) as client,
        ):
            deployment = client.read_deployment_by_name(name)
            run = client.create_flow_run_from_deployment(deployment.id)
    except ObjectNotFound:
        raise OrchestrationError(
            f"the Prefect server {display_url(api)} has no deployment {name}: register them "
            "with `ifn-campaign deploy` (or run `ifn-campaign serve`); nothing was started"
        ) from None
    except (httpx.HTTPError, PrefectException, TimeoutError, ValueError) as exc:
        # ValueError: an answer that is not Prefect's (not JSON, or not a deployment)
        raise OrchestrationError(f"{_failure(api, exc)}: {name} was not started") from None
    found = _run(run)
    assert found is not None
    return found
