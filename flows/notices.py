"""`notices`: a thin Prefect flow telling members about their features (issue 19).

Every 15 minutes (`schedules.notices`) it queues the notices now due (`notices.outbox`) and
sends them exactly once (`notices.delivery`: claims, the step before the end of the message,
uncertain sends looked up by Message-ID). Two runs at once would be safe (claims), but one at a
time is enough. It leaves a markdown summary artifact (`notices-summary`). A run whose mail
server could not be used (not reachable, or refusing our TLS or login settings) writes that
summary, then fails with `MailServerDown`: the e-mails wait, and the run is red, not "0 sent".
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from flows.artifacts import markdown_artifact
from ifn_campaign.errors import MailServerDown, SettingsError
from ifn_campaign.models import utcnow
from ifn_campaign.notices.delivery import SendReport, notices_markdown, run_notices, worker_name
from ifn_campaign.notices.outbox import QueueReport
from ifn_campaign.notices.staff import overdue
from ifn_campaign.wiring import Resources


def _worker() -> str:
    """The claims' holder: this flow run (`notices:flow:<id>`); outside a run, this process."""
    try:
        run = get_run_context().flow_run  # type: ignore[union-attr]
    except Exception:  # no run context at all
        run = None
    return f"notices:flow:{run.id}" if run is not None else worker_name()


@flow(name="notices", retries=0)
def notices(config_path: str | None = None) -> dict[str, Any]:
    """Queue the member notices now due and send them; returns what happened to each."""
    logger = get_run_logger()
    queued, sent = QueueReport(), SendReport()
    refused: SettingsError | None = None
    now = utcnow()
    with Resources.load(config_path) as res, res.session() as session:
        try:
            run_notices(
                session,
                res.settings,
                secrets=res.secrets,
                now=now,
                worker=_worker(),
                queued=queued,
                sent=sent,
            )
        except SettingsError as exc:  # our settings refused: the summary still says so
            refused = exc
        session.rollback()
        late = overdue(session, res.settings, now)
    for notice_id, why in sent.failed + sent.refused:
        logger.error("notice %s failed: %s", notice_id, why)
    for notice_id, why in sent.uncertain:
        logger.warning("notice %s uncertain: %s", notice_id, why)
    for why in sent.waiting:
        logger.warning("%s", why)
    markdown_artifact(
        key="notices-summary",
        markdown=notices_markdown(queued, sent, late),
        description="Member notices",
    )
    if sent.mail_server is not None:
        raise MailServerDown(f"the mail server could not be used: {sent.mail_server}")
    if refused is not None:
        raise refused
    logger.info(
        "%s queued, %s sent, %s to retry, %s failed, %s uncertain",
        queued.queued,
        len(sent.sent),
        len(sent.retry_later),
        len(sent.failed) + len(sent.refused),
        len(sent.uncertain),
    )
    return {"queued": asdict(queued), "sent": asdict(sent)}
