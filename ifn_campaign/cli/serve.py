"""Scheduling commands: `serve` runs the deployments on this machine, `deploy` registers them to a
work pool on the configured Prefect server for workers to run."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from ifn_campaign.cli.base import OPERATIONS, app, config_file, err, out, settings
from ifn_campaign.cli.tables import Col, Fitted, fit, show
from ifn_campaign.config import PrefectSettings, Settings
from ifn_campaign.errors import OrchestrationError


def _schedule(cfg: Settings, flow_name: str, scheduled: bool) -> str:
    if not scheduled:
        return "run by hand"
    cron = getattr(cfg.schedules, flow_name, "")
    return f"{cron} ({cfg.schedules.timezone})" if cron else "run by hand (no schedule set)"


def _table(cfg: Settings, title: str) -> Fitted:
    from flows.deployments import DEPLOYMENTS
    from ifn_campaign.orchestration.deployments import DEPLOYMENT_NAME

    return fit(
        [
            Col("deployment", keep=True),
            Col("schedule", lines=0, min_width=20),  # a cron line and its zone, whole
            Col("at once", keep=True),
        ],
        [
            (
                f"{spec.name}/{DEPLOYMENT_NAME}",
                escape(_schedule(cfg, spec.name, spec.scheduled)),
                "one" if spec.one_at_a_time else "any",
            )
            for spec in DEPLOYMENTS
        ],
        title=title,
        caption="at once: one = a run that finds one going is cancelled",
    )


STOP_GRACE_SECONDS = 30.0


def _stop_within(grace: float, on_stop: Callable[[], None]) -> None:
    """Ctrl+C stops `serve` for sure: Prefect 3.8's runner sometimes never returns from its
    shutdown on a busy machine ("Runner.astop was never awaited"), so after `grace` seconds
    `on_stop` is done as on a clean stop, the server we started is stopped and the process
    exits. A flow run cut off this way is a crash the publisher's exactly-once steps already
    handle."""

    from ifn_campaign.orchestration.prefect_server import stop_started

    def on_sigint(signum: int, frame: object) -> None:
        def hard_stop() -> None:
            time.sleep(grace)
            err.print(f"Prefect's runner did not stop within {grace:g} s: stopping now")
            on_stop()
            stop_started()
            out.file.flush()  # os._exit skips the flush at exit
            os._exit(130)

        threading.Thread(target=hard_stop, daemon=True).start()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigint)  # systemd's stop, `docker stop`, `kill`


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl+C: Python's default for it ends the process at once, leaving the Prefect
    server serve started running with nobody to stop it and the schedules unpaused."""
    raise KeyboardInterrupt


def _pause(url: str, names: list[str]) -> bool:
    """Pause the schedules of the served deployments `names` on `url`, as Prefect's runner means
    to when it stops: Ctrl+C cuts its own pausing short (seen: one of seven paused), leaving the
    rest scheduled with nobody running them. A deployment not made yet (stopped while the
    runner was still making them) has nothing to pause. A server that does not answer is said
    in a line; True when every schedule is paused."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectException
    from prefect.settings import PREFECT_API_URL, temporary_settings

    try:
        with (
            temporary_settings(updates={PREFECT_API_URL: url}),  # also from the hard stop's thread
            get_client(sync_client=True) as client,
        ):
            for name in names:
                try:
                    deployment = client.read_deployment_by_name(name)
                except ObjectNotFound:
                    continue
                if not deployment.paused:
                    client.pause_deployment(deployment.id)
    except (PrefectException, httpx.HTTPError) as exc:
        err.print(
            f"the schedules could not be paused ({type(exc).__name__}: {escape(str(exc))}): "
            "pause the deployments in the Prefect UI, or run `ifn-campaign serve` again"
        )
        return False
    return True


def _on_pools(on_pools: dict[str, str]) -> str:
    """`a, b on work pool p` for each pool (one, usually) of `{deployment: pool}`."""
    pools: dict[str, list[str]] = {}
    for name, pool in on_pools.items():
        pools.setdefault(pool, []).append(name)
    return "; ".join(f"{', '.join(names)} on work pool {pool}" for pool, names in pools.items())


def _refusal(url: str, configured: bool, on_pools: dict[str, str]) -> str:
    """Why `serve` will not serve against a server whose deployments belong to workers, and the
    ways out: a server of this machine's own, or `--take-over` on purpose."""
    way_out = (
        "unset PREFECT_API_URL to serve on a Prefect server of this machine's own"
        if configured
        else "leave them to the workers"
    )
    return (
        f"Prefect server {url} has the deployments on a work pool for workers "
        f"({_on_pools(on_pools)}): serving them here would run the workers' runs on this "
        f"machine and, on Ctrl+C, pause their schedules; {way_out}, or pass --take-over to "
        "take them over on purpose"
    )


def _failed(url: str, exc: Exception) -> str:
    """The server answered its health check but failed when asked for the deployments or to
    make the limits (`exc`): its answer and the next step, in one line."""
    response = getattr(exc, "response", None)
    answer = (
        f"HTTP {response.status_code}"
        if response is not None and hasattr(response, "status_code")
        else f"{type(exc).__name__}: {exc}"
    )
    return (
        f"Prefect server {url} failed when asked for the deployments ({answer}); nothing was "
        "served: see the Prefect server's log, then run `ifn-campaign serve` again"
    )


@app.command("serve", rich_help_panel=OPERATIONS)
def serve(
    port: Annotated[
        int,
        typer.Option(metavar="PORT", help="Port of the local Prefect server, when one is started."),
    ] = 4200,
    limit: Annotated[
        int | None, typer.Option(metavar="N", help="Most flow runs at once (default: no limit).")
    ] = None,
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over",
            help="Serve even when the Prefect server has the deployments on a work pool "
            "(`ifn-campaign deploy`): their runs then run here (stop the pool's workers, or "
            "they take some too), and Ctrl+C pauses their schedules until `ifn-campaign "
            "deploy` gives them back to the workers.",
        ),
    ] = False,
) -> None:
    """Run the scheduled flows on this machine until Ctrl+C.

    With a local Prefect server when none is configured. Refuses a server whose deployments
    are on a work pool for workers (see --take-over)."""
    import httpx
    import prefect
    from prefect.exceptions import PrefectException

    from flows.deployments import DEPLOYMENTS
    from ifn_campaign.orchestration.deployments import (
        DEPLOYMENT_NAME,
        ensure_limits,
        file_parameters,
        runner_deployments,
    )
    from ifn_campaign.orchestration.prefect_server import (
        configured_api,
        prefect_api,
        workers_deployments,
    )

    signal.signal(signal.SIGTERM, _interrupt)  # also while the server starts: it is stopped
    cfg = settings()
    deployments = runner_deployments(DEPLOYMENTS, cfg, parameters=file_parameters(config_file()))
    for deployment in deployments:
        # Prefect refuses job variables without a work pool; serve's runs are its runner's
        # children, with serve's environment and folder, and the heartbeat given below. Not
        # sent either: a deployment taken over (--take-over) keeps deploy's on the server, so
        # a worker of its pool that takes one of its runs still gives it the heartbeat and
        # the data folder (an update sends only the fields set)
        deployment.job_variables = {}
        deployment.__pydantic_fields_set__.discard("job_variables")
    configured = configured_api() is not None
    names = [f"{spec.name}/{DEPLOYMENT_NAME}" for spec in DEPLOYMENTS]
    stopped = "stopped; the schedules are paused until the next `ifn-campaign serve`"
    # a server started here logs under the data folder, not wherever serve was started
    log = cfg.base / "var" / "prefect-server.log"
    with prefect_api(port, log=log, say=lambda text: err.print(escape(text))) as url:
        from prefect.client.orchestration import get_client

        try:
            with get_client(sync_client=True) as client:
                on_pools = workers_deployments(client, names)
                if on_pools and not take_over:
                    raise OrchestrationError(_refusal(url, configured, on_pools))
                ensure_limits(client, cfg)
        except (PrefectException, httpx.HTTPError) as exc:
            raise OrchestrationError(_failed(url, exc)) from exc
        if on_pools:
            err.print(
                f"taking over {escape(_on_pools(on_pools))} (--take-over; stop the pool's "
                "workers, or they go on taking some of the runs)"
            )
            stopped = (
                "stopped; the schedules taken over from the workers are paused: "
                "`ifn-campaign deploy` gives them back to the workers"
            )
        done = threading.Lock()

        def on_stop() -> None:
            if done.acquire(blocking=False):  # once, whether the runner returns or not
                out.print(stopped if _pause(url, names) else "stopped")

        show(_table(cfg, "Serving (Ctrl+C to stop)"))
        _stop_within(STOP_GRACE_SECONDS, on_stop)
        try:
            prefect.serve(
                *deployments,
                limit=limit,
                print_starting_message=False,
                # each run's process sends a heartbeat this often, so a lost run is marked Crashed
                heartbeat_seconds=cfg.prefect.heartbeat_seconds,
            )
        finally:  # also when the stop comes through as KeyboardInterrupt (SIGTERM)
            on_stop()


@app.command("deploy", rich_help_panel=OPERATIONS)
def deploy(
    pool: Annotated[
        str | None, typer.Option(metavar="NAME", help="Work pool (default: prefect.work_pool).")
    ] = None,
) -> None:
    """Register the deployments to a Prefect work pool.

    On the configured Prefect server (PREFECT_API_URL), creating the pool and the concurrency
    limits if missing. The flows get the settings file (its absolute path) and the data folder
    (IFN_DATA_DIR), which every worker must see at that same path."""
    from flows.deployments import DEPLOYMENTS
    from ifn_campaign.orchestration.deployments import (
        file_parameters,
        register,
        runner_deployments,
    )

    cfg = settings()
    if pool:
        try:
            chosen = PrefectSettings.model_validate({**cfg.prefect.model_dump(), "work_pool": pool})
        except ValidationError as exc:
            raise typer.BadParameter(exc.errors()[0]["msg"], param_hint="--pool") from None
        cfg = cfg.model_copy(update={"prefect": chosen})
    parameters = file_parameters(config_file())
    done = register(runner_deployments(DEPLOYMENTS, cfg, parameters=parameters), cfg)
    show(_table(cfg, f"Deployments on {escape(done.api_url)}, work pool {escape(done.pool)}"))
    if done.pool_created:
        out.print(f"work pool {escape(done.pool)} created (process workers)")
    out.print(f"concurrency limits: {escape(', '.join(done.limits))}")
    if parameters:
        out.print(f"settings file: {escape(parameters['config_path'])}", soft_wrap=True)
    out.print(
        f"data folder: {escape(str(cfg.base))} (IFN_DATA_DIR of every run): every worker must "
        "see this path, with the cards, media and reports in it",
        soft_wrap=True,
    )
    out.print(
        f"start workers (several are safe) with: prefect worker start --pool {escape(done.pool)}"
    )
