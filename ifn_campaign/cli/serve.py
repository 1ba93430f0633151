"""Scheduling commands: `serve` runs the deployments on this machine, `deploy` registers them to a
work pool on the configured Prefect server for workers to run."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from ifn_campaign.cli.base import OPERATIONS, app, config_file, err, out, settings
from ifn_campaign.cli.tables import Col, Fitted, fit, show
from ifn_campaign.config import PrefectSettings, Settings


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


def _stop_within(grace: float) -> None:
    """Ctrl+C stops `serve` for sure: Prefect 3.8's runner sometimes never returns from its
    shutdown on a busy machine ("Runner.astop was never awaited"), so after `grace` seconds the
    server we started is stopped and the process exits. A flow run cut off this way is a crash
    the publisher's exactly-once steps already handle."""

    from ifn_campaign.orchestration.prefect_server import stop_started

    def on_sigint(signum: int, frame: object) -> None:
        def hard_stop() -> None:
            time.sleep(grace)
            err.print(f"Prefect's runner did not stop within {grace:g} s: stopping now")
            stop_started()
            os._exit(130)

        threading.Thread(target=hard_stop, daemon=True).start()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)


@app.command("serve", rich_help_panel=OPERATIONS)
def serve(
    port: Annotated[
        int,
        typer.Option(metavar="PORT", help="Port of the local Prefect server, when one is started."),
    ] = 4200,
    limit: Annotated[
        int | None, typer.Option(metavar="N", help="Most flow runs at once (default: no limit).")
    ] = None,
) -> None:
    """Run the scheduled flows on this machine until Ctrl+C.

    With a local Prefect server when none is configured."""
    import prefect

    from flows.deployments import DEPLOYMENTS
    from ifn_campaign.orchestration.deployments import ensure_limits, runner_deployments
    from ifn_campaign.orchestration.prefect_server import prefect_api

    cfg = settings()
    file = config_file()
    parameters = {"config_path": str(file.resolve())} if file else {}
    deployments = runner_deployments(DEPLOYMENTS, cfg, parameters=parameters)
    with prefect_api(port, say=lambda text: err.print(escape(text))):
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            ensure_limits(client, cfg)
        show(_table(cfg, "Serving (Ctrl+C to stop)"))
        _stop_within(STOP_GRACE_SECONDS)
        prefect.serve(*deployments, limit=limit, print_starting_message=False)
    out.print("stopped; the schedules are paused until the next `ifn-campaign serve`")


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
