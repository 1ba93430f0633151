"""Which reading of a post is due, on plain data (hypothesis): the latest due mark only, the
earlier ones never read late but recorded as missed, nothing settled asked again, a retry not
before its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ifn_campaign.config import InsightsSettings, mark_delta
from ifn_campaign.insights.schedule import FINAL, Live, _due_of
from ifn_campaign.models import InsightReading, ReadingState

MARKS = InsightsSettings().read_after  # 1h, 1d, 7d, 28d
LIVE = datetime(2026, 11, 2, 12, tzinfo=UTC)
POST = Live(1, "instagram", "bpipi", "17890000000000001", LIVE)


def reading(mark: str, state: str, retry_in: timedelta) -> InsightReading:
    return InsightReading(
        post_id=1,
        mark=mark,
        due_at=LIVE + mark_delta(mark),
        state=state,
        attempts=1,
        next_attempt_at=LIVE + mark_delta(mark) + retry_in if state == ReadingState.RETRY else None,
    )


@given(
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    stored=st.dictionaries(
        st.sampled_from(MARKS),
        st.tuples(
            st.sampled_from(list(ReadingState)),
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
        ),
    ),
)
def test_only_the_latest_due_mark_is_read(
    age: timedelta, stored: dict[str, tuple[str, timedelta]]
) -> None:
    now = LIVE + age
    rows = {m: reading(m, state, wait) for m, (state, wait) in stored.items()}
    due = _due_of(POST, MARKS, rows, now)
    passed = [m for m in MARKS if LIVE + mark_delta(m) <= now]
    later = passed and any(
        r.state in FINAL and mark_delta(m) > mark_delta(passed[-1]) for m, r in rows.items()
    )
    if due is None:
        # nothing due: no mark passed, the latest is settled or waits for its retry, or a
        # later mark is settled already (read_after changed since)
        if passed and not later:
            row = rows.get(passed[-1])
            assert row is not None
            assert row.state in FINAL or (row.next_attempt_at or now) > now
        return
    assert not later  # never a mark read after a later one
    assert due.mark == passed[-1]  # never an earlier mark late
    assert due.due_at == LIVE + mark_delta(due.mark) <= now
    row = rows.get(due.mark)
    assert row is None or (row.state == ReadingState.RETRY and (row.next_attempt_at or now) <= now)
    # every earlier mark not settled is recorded missed; a settled one is left as it is
    assert set(due.missed) == {
        m for m in passed[:-1] if m not in rows or rows[m].state == ReadingState.RETRY
    }


def test_a_mark_added_before_one_already_read_is_not_read_late() -> None:
    """read_after went from 1h, 7d to 1h, 2d, 28d: a post ten days old with its +7d read is
    not read now as its "+2d" (a figure eight days late); at +28d, 2d is recorded missed. A
    stored mark that is no reading time (hostile or old data) is no later mark."""
    marks = ["1h", "2d", "28d"]
    rows = {
        "1h": reading("1h", ReadingState.READ, timedelta(0)),
        "7d": reading("7d", ReadingState.READ, timedelta(0)),
    }
    assert _due_of(POST, marks, rows, LIVE + timedelta(days=10)) is None
    due = _due_of(POST, marks, rows, LIVE + timedelta(days=28, hours=1))
    assert due is not None and (due.mark, due.missed) == ("28d", ("2d",))
    odd = {"1h": rows["1h"], "soon": reading("1h", ReadingState.READ, timedelta(0))}
    due = _due_of(POST, marks, odd, LIVE + timedelta(days=10))
    assert due is not None and due.mark == "2d"


def test_a_retry_of_a_mark_taken_out_of_read_after_is_recorded_missed() -> None:
    """read_after went from 1h, 1d, 7d to 1h, 7d while the +1d reading waited for a retry: it
    would never be asked again, so it is recorded missed with the +7d reading (a stored mark
    that is no reading time is left alone)."""
    rows = {
        "1h": reading("1h", ReadingState.READ, timedelta(0)),
        "1d": reading("1d", ReadingState.RETRY, timedelta(hours=1)),
        "odd": reading("1h", ReadingState.RETRY, timedelta(hours=1)),
    }
    due = _due_of(POST, ["1h", "7d"], rows, LIVE + timedelta(days=7, hours=1))
    assert due is not None and (due.mark, due.missed) == ("7d", ("1d",))
