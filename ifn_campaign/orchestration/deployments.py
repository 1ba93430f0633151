"""How the flows run under Prefect: deployments built from settings, their registration to a work
pool, the global concurrency limits, the lock that keeps two syncs of one registry apart, and
where compose draws its cards.

The list of deployments (which flow, scheduled or not, how many runs at once) is in
`flows/deployments.py`; schedules are data, read from the `[schedules]` settings. `register` is
what `ifn-campaign deploy` calls, and `ensure_limits` is where every concurrency limit the flows
rely on is created (the sync lock and, from `ifn_campaign.orchestration.gates`, the accounts'
limits).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ifn_campaign.config import Settings
from ifn_campaign.errors import OrchestrationError, SettingsError

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.deployments.runner import RunnerDeployment
    from prefect.task_runners import TaskRunner

__all__ = [
    "DEPLOYMENT_NAME",
    "TAGS",
    "Deployment",
    "dask_task_runner",
    "ensure_limits",
    "ensure_work_pool",
    "file_parameters",
    "job_environment",
    "quiet_slot_failures",
    "register",
    "run_environment",
    "runner_deployments",
    "shared_sync_lock",
    "sync_lock",
    "sync_lock_name",
]

DEPLOYMENT_NAME = "ifn-campaign"  # every flow's deployment: `sync_registry/ifn-campaign`, ...
TAGS = ["ifn-campaign"]
_BANNED = re.compile(r"[/%&<>]+")  # characters Prefect refuses in names


@dataclass(frozen=True)
class Deployment:
    """One flow's deployment. `scheduled` takes its cron string from `schedules.<flow name>`;
    `one_at_a_time` cancels a new run while one is still going (deployment concurrency 1)."""

    flow: Flow[..., Any]
    scheduled: bool = True
    one_at_a_time: bool = True

    @property
    def name(self) -> str:
        return self.flow.name


def schedules_for(cfg: Settings, flow_name: str) -> list[Any]:
    """The cron schedule of `flow_name` in `schedules.timezone`; none when the key is empty."""
    from prefect.schedules import Cron

    cron = getattr(cfg.schedules, flow_name, None)
    if cron is None:
        raise SettingsError(
            f"no schedules.{flow_name} setting: add it to the [schedules] settings "
            "(or mark the deployment unscheduled)"
        )
    if not cron:
        return []
    try:
        return [Cron(cron, timezone=cfg.schedules.timezone)]
    except ValueError as exc:
        raise SettingsError(f"schedules.{flow_name} = {cron!r}: {exc}") from None


def run_environment(cfg: Settings) -> dict[str, str]:
    """Environment variables every flow run of ours gets, on a worker or under `serve`: the
    heartbeat, so a run whose process dies is noticed by the server and marked Crashed
    (`ifn_campaign.orchestration.lost_runs`) instead of staying Running for ever, and the time
    that takes as the automation was made with it, which the sync lock's lease follows. The
    run's own settings get both, so they agree with each other (the settings refuse a wait
    shorter than two heartbeats) and with what the run does, whatever the worker's own."""
    return {
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(cfg.prefect.heartbeat_seconds),
        "IFN_PREFECT__HEARTBEAT_SECONDS": str(cfg.prefect.heartbeat_seconds),
        "IFN_PREFECT__LOST_AFTER_SECONDS": str(cfg.prefect.lost_after_seconds),
    }


def file_parameters(settings_file: Path | None) -> dict[str, str]:
    """The flows' `config_path` parameter: the settings file in use as an absolute path (a
    worker runs each flow in a folder of its own, where a relative path or ./ifn-campaign.toml
    would find nothing); none without a file. Made absolute as the settings make it, symbolic
    links kept: the settings file's folder is the data folder when data_dir is unset, and a
    run reading the link's target instead would use the target's folder (another database)."""
    if settings_file is None:
        return {}
    return {"config_path": os.path.normpath(Path.cwd() / settings_file.expanduser())}


def job_environment(cfg: Settings) -> dict[str, str]:
    """The environment a worker gives every flow run of ours (the deployments' job variable
    `env`): run_environment's, and the data folder as `deploy` fixed it (IFN_DATA_DIR), so a
    worker started anywhere, with default settings, writes cards and reports where the operator
    deployed instead of into its temporary working folder."""
    return {**run_environment(cfg), "IFN_DATA_DIR": str(cfg.base)}


def runner_deployments(
    specs: Sequence[Deployment], cfg: Settings, *, parameters: dict[str, Any] | None = None
) -> list[RunnerDeployment]:
    """Prefect deployments for `specs`: cron schedules from the settings, one run at a time where
    asked (a new run is cancelled, not queued), and module entrypoints (`flows.sync.
    sync_registry`), so a worker needs the installed package, not this folder. `parameters`
    (`config_path`, the settings file) go to the flows that take them; every run gets
    `job_environment` as its environment."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    made = []
    for spec in specs:
        limit = (
            ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
            if spec.one_at_a_time
            else None
        )
        accepted = set(spec.flow.parameters.properties)
        made.append(
            spec.flow.to_deployment(
                DEPLOYMENT_NAME,
                schedules=schedules_for(cfg, spec.name) if spec.scheduled else [],
                concurrency_limit=limit,
                parameters={k: v for k, v in (parameters or {}).items() if k in accepted},
                tags=TAGS,
                job_variables={"env": job_environment(cfg)},
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return made


# --- concurrency limits ------------------------------------------------------------------------


def sync_lock_name(source: str) -> str:
    """The global concurrency limit one sync of `source` holds (`registry:<base_url>`)."""
    return "ifn-sync:" + _BANNED.sub("_", source)


def _ensure_limit(client: SyncPrefectClient, name: str, limit: int) -> bool:
    """Create the global concurrency limit unless it exists; True when it was created."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists

    try:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
    except ObjectAlreadyExists:
        return False
    return True


def ensure_limits(client: SyncPrefectClient, cfg: Settings) -> list[str]:
    """Every global concurrency limit the flows rely on, created where missing (the accounts'
    brought to the settings' values); their names: one sync at a time of the configured
    registry, and each account's publishing limits (`ifn_campaign.orchestration.gates`). Also
    the automation that marks a lost run Crashed (`ifn_campaign.orchestration.lost_runs`)."""
    from ifn_campaign.orchestration.gates import ensure_account_limits
    from ifn_campaign.orchestration.lost_runs import ensure_lost_run_automation
    from ifn_campaign.registry.client import source_name

    names = [sync_lock_name(source_name(cfg.registry))]
    for name in names:
        _ensure_limit(client, name, 1)
    ensure_lost_run_automation(client, cfg)  # a server without automations: a warning
    return names + [limit.name for limit in ensure_account_limits(cfg)]


class _AcquisitionReports(logging.Filter):
    """Drops Prefect's own log line for a concurrency slot acquisition that failed ("Service
    'ConcurrencySlotAcquisitionWithLeaseService' failed to process item ... TimeoutError"): the
    service hands the same exception to the caller waiting for the slots, which says it (the
    sync lock or the gate in one clear line), so the line is only noise printed before it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        handed_over = (
            len(args) == 2
            and str(args[0]).startswith("ConcurrencySlotAcquisition")
            and isinstance(args[1], tuple)
            and bool(args[1])
            and isinstance(args[1][-1], Future)
            and args[1][-1].done()
            and not args[1][-1].cancelled()
            and args[1][-1].exception() is not None
        )
        return not (record.msg == "Service %r failed to process item %r" and handed_over)


def quiet_slot_failures() -> None:
    """Install `_AcquisitionReports` on Prefect's concurrency logger, once for the process,
    wherever we wait for slots (the sync lock, the accounts' gate): for good, since the service
    logs after it has handed the error over, when a filter added only for the wait may already
    be gone."""
    logger = logging.getLogger("prefect._internal.concurrency")
    if not any(isinstance(f, _AcquisitionReports) for f in logger.filters):
        logger.addFilter(_AcquisitionReports())


@contextmanager
def sync_lock(source: str, wait_seconds: float, lease_seconds: float = 300) -> Iterator[None]:
    """Hold the sync lock of `source` for the block: a second sync of the same source, from any
    flow, worker or machine on this Prefect server, waits up to `wait_seconds` for it, then gives
    up with an `OrchestrationError` having done nothing. The lease is renewed while the sync runs
    and lapses `lease_seconds` after its process dies, so a killed sync never blocks the next:
    the flow gives `prefect.lost_after_seconds`, the time after which the server marks its lost
    run Crashed (`ifn_campaign.orchestration.lost_runs`), so both happen together."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency
    from prefect.settings import PREFECT_API_URL

    name = sync_lock_name(source)
    quiet_slot_failures()
    held = ExitStack()
    try:
        with get_client(sync_client=True) as client:
            _ensure_limit(client, name, 1)
        held.enter_context(
            concurrency(
                name,
                occupy=1,
                timeout_seconds=wait_seconds,
                lease_duration=lease_seconds,
                strict=True,
            )
        )
    except httpx.HTTPStatusError as exc:  # it answers, but fails: Prefect's line is dropped
        raise OrchestrationError(
            f"the Prefect server {PREFECT_API_URL.value()} failed (HTTP "
            f"{exc.response.status_code}), so the sync lock of {source} cannot be taken: see "
            "the Prefect server's log; nothing was synced"
        ) from None
    except httpx.HTTPError as exc:
        raise OrchestrationError(
            f"the Prefect server does not answer ({type(exc).__name__}), so the sync lock of "
            f"{source} cannot be taken: start the server (`ifn-campaign serve`) or unset "
            "PREFECT_API_URL to sync without it; nothing was synced"
        ) from None
    except TimeoutError:
        raise OrchestrationError(
            f"another sync of {source} is still running after {wait_seconds:g} s of waiting; "
            "this run did nothing (the next one continues from where that sync ends)"
        ) from None
    with held:
        yield


def shared_sync_lock(
    source: str, wait_seconds: float, lease_seconds: float = 300
) -> AbstractContextManager[None]:
    """`sync_lock` when a Prefect server is configured (a sync by hand then never overlaps a
    scheduled one); without a server there is nobody to share the lock with."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return nullcontext()
    return sync_lock(source, wait_seconds, lease_seconds)


# --- work pool and registration ----------------------------------------------------------------


def ensure_work_pool(client: SyncPrefectClient, name: str) -> bool:
    """The process work pool `name`, created with the process worker's job template if missing;
    True when it was created. A pool of another type is refused: its workers would not run us."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        pool = client.read_work_pool(name)
    except ObjectNotFound:
        client.create_work_pool(
            WorkPoolCreate(
                name=name,
                type=ProcessWorker.type,
                base_job_template=ProcessWorker.get_default_base_job_template(),
                description="ifn-campaign flows; start workers with `prefect worker start`",
            )
        )
        return True
    if pool.type != ProcessWorker.type:
        raise OrchestrationError(
            f"work pool {name!r} is a {pool.type!r} pool; ifn-campaign needs a process pool: "
            "name another one with prefect.work_pool"
        )
    return False


@dataclass(frozen=True)
class Registration:
    """What `register` did: the pool, whether it was new, the limits and the deployments."""

    api_url: str
    pool: str
    pool_created: bool
    limits: list[str]
    deployments: dict[str, UUID]


def register(deployments: Sequence[RunnerDeployment], cfg: Settings) -> Registration:
    """Register `deployments` to the `prefect.work_pool` pool on the configured Prefect server,
    creating the pool and the concurrency limits where missing (what `ifn-campaign deploy` does).
    Workers started with `prefect worker start --pool <pool>` then run the scheduled flows."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise OrchestrationError(
            "no Prefect server configured: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api) "
            "or run the schedules on this machine with `ifn-campaign serve`"
        )
    import httpx
    from prefect.exceptions import PrefectException

    pool = cfg.prefect.work_pool
    try:
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
            if problem is not None:
                raise OrchestrationError(
                    f"Prefect server {url} does not answer ({problem}): start it, or correct "
                    "PREFECT_API_URL"
                )
            created = ensure_work_pool(client, pool)
            limits = ensure_limits(client, cfg)
        ids = {d.flow_name: d.apply(work_pool_name=pool) for d in deployments}
    except (PrefectException, httpx.HTTPError) as exc:
        raise OrchestrationError(
            f"Prefect server {url} refused the registration: {type(exc).__name__}: {exc}"
        ) from exc
    return Registration(str(url), pool, created, limits, ids)


# --- where compose runs ------------------------------------------------------------------------


def dask_task_runner(cfg: Settings) -> TaskRunner[Any]:
    """Where compose's chunks run when `prefect.dask_address` is set: prefect-dask's task
    runner on that cluster (without it, `ifn_campaign.orchestration.stages.compose_chunks` draws
    them in local processes)."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise SettingsError(
            "prefect.dask_address is set but prefect-dask is not installed: "
            "pip install 'ifn-campaign[dask]'"
        ) from None
    return DaskTaskRunner(address=cfg.prefect.dask_address)
