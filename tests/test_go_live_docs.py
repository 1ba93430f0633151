"""The production guide says what the code does: the rehearsal's `doctor`, the lost-run check, the
Crashed message an operator looks for, `serve --take-over` and the takeover of crashed claims."""

from __future__ import annotations

import re
from pathlib import Path

from ifn_campaign.config import Settings
from ifn_campaign.orchestration.lost_runs import AUTOMATION_NAME, crash_message

ROOT = Path(__file__).resolve().parent.parent
GO_LIVE = ROOT / "docs/how-to/go-live.md"
SEVERAL = ROOT / "docs/how-to/several-workers.md"


def _text(page: Path) -> str:
    """The page's prose on one line each paragraph's words apart, as a reader reads it."""
    return " ".join(page.read_text(encoding="utf-8").split())


def test_the_doctor_list_has_the_lost_runs_check() -> None:
    text = _text(GO_LIVE)
    checks = text[text.index("One line per check") : text.index("The checks only read")]
    assert "**Lost runs**" in checks and AUTOMATION_NAME in checks


def test_the_rehearsal_says_which_doctor_warnings_to_expect_before_deploy() -> None:
    text = _text(GO_LIVE)
    before_deploy = text[text.index("### Database and `doctor`") : text.index("### Deployments")]
    assert "lost runs until `deploy`" in before_deploy


def test_the_crash_message_quoted_is_the_automations() -> None:
    quoted = re.search(r'\("(no heartbeat for [^"]*) \.\.\."', _text(GO_LIVE))
    assert quoted is not None
    assert crash_message(Settings()).startswith(quoted.group(1))


def test_take_over_does_not_promise_the_workers_stop() -> None:
    """The deployments stay on the pool under `serve --take-over`: a polling worker still takes
    some of their runs, so the pages tell the operator to stop the workers, as serve does."""
    for page in (GO_LIVE, SEVERAL):
        text = _text(page)
        assert "not on the workers" not in text
        assert "stop the pool's workers first" in text, page.name


def test_crashed_claims_wait_for_the_quiet_time_too() -> None:
    """A crashed run's claim is taken over once the run is Crashed and the claim has been
    untouched for prefect.lost_after_seconds (`Publisher._lost`), not at once."""
    for page in (GO_LIVE, SEVERAL):
        text = _text(page)
        assert "the claim has been untouched for `prefect.lost_after_seconds`" in text, page.name


def test_the_readme_points_to_the_rehearsal_without_a_command() -> None:
    """The README names the rehearsal among the guides; its set-up block stays two commands."""
    readme = _text(ROOT / "README.md")
    assert "rehearsing the production set-up" in readme
    assert "ifn-campaign rehearse" not in readme


def test_the_rehearsal_stops_the_server_after_the_workers() -> None:
    text = _text(GO_LIVE)
    stop = text[text.index("### Stop") : text.index("## Part 2")]
    assert stop.index("each worker has exited") < stop.index("Prefect server")
    assert "Stop the server last" in stop
