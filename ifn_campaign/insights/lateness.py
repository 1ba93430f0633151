"""Late readings: a figure taken well after its mark is not a figure at that mark.

A reading is due at `published_at + mark`. When the worker was down for days, the `7d` reading
may be taken on day 12: it is then the platform's count at twelve days, higher than a 7-day count.
It is late when it was taken more than the mark's tolerance after it was due: the larger of
`insights.late_share` of the mark (reach grows with the post's age, so a day matters at `1d` and
hardly at `28d`) and `insights.late_min_hours` (the hourly flow and Meta's lag make a `1h`
reading an hour or two after its mark the rule, not lateness).

Nothing is stored for it: a reading keeps its due and read times, so lateness is worked out
from them wherever figures are used, and a changed tolerance applies to every reading at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ifn_campaign.config import InsightsSettings, mark_delta

__all__ = ["age_label", "late_by", "tolerance"]


def tolerance(mark: str, insights: InsightsSettings) -> timedelta | None:
    """How long after its due time a reading at `mark` may be taken and still count as one;
    None for a stored mark no settings would name (nothing to measure it against)."""
    try:
        after = mark_delta(mark)
    except ValueError:
        return None
    return max(after * insights.late_share, timedelta(hours=insights.late_min_hours))


def late_by(
    mark: str, due_at: datetime, read_at: datetime | None, insights: InsightsSettings
) -> timedelta | None:
    """How long after its due time a late reading was taken; None when it was on time or has
    not been read."""
    allowed = tolerance(mark, insights)
    if read_at is None or allowed is None:
        return None
    after = read_at - due_at
    return after if after > allowed else None


def age_label(delta: timedelta) -> str:
    """'5d 2h', '3h': how late, in the units marks are named in (minutes dropped)."""
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    if days and hours:
        return f"{days}d {hours}h"
    return f"{days}d" if days else f"{hours}h"
