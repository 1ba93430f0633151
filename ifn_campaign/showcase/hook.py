"""The showcase rebuilt after a publish run: when `showcase.dir` is set, the site there is made
again from the ledger as it now stands. Publishing is what matters: a showcase that cannot be
built is logged and said in the run's summary, never a failed publish run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ifn_campaign.models import utcnow
from ifn_campaign.showcase.site import build_showcase
from ifn_campaign.wiring import Resources

__all__ = ["ShowcaseRun", "rebuild_after_publish"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShowcaseRun:
    """A rebuild after publishing: whether the site was made, and the line for the summary."""

    built: bool
    line: str


def rebuild_after_publish(res: Resources, *, now: datetime | None = None) -> ShowcaseRun | None:
    """Rebuild the showcase in `showcase.dir` (None when no folder is set) when anything it
    shows changed since the site there was built. Any failure is logged with its traceback and
    said in the returned line, never raised."""
    folder = res.settings.showcase.dir
    if folder is None:
        return None
    try:
        with res.session() as session:
            report = build_showcase(
                session, res.settings, folder, now=now or utcnow(), when_changed=True
            )
    except Exception as exc:  # the publish run goes on whatever the showcase does
        log.exception("the showcase in %s was not rebuilt", folder)
        return ShowcaseRun(False, f"showcase: not rebuilt in {folder}: {exc}")
    for note in report.notes:
        log.warning("showcase: %s", note)
    return ShowcaseRun(True, report.line())
