"""`ifn-campaign demo` through the installed entry point, for the tests that read what it leaves
(tests/cli/test_cli.py, tests/reports/test_pages_browser.py). It is the suite's most expensive
step, so one run per test session is shared (the `demo_run` fixture); a test that changes the
demo's data works on a copy of its folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ifn_campaign.config import PlannerSettings

ZONE = ZoneInfo(PlannerSettings.model_fields["display_timezone"].default)


@dataclass(frozen=True)
class DemoRun:
    """One finished `ifn-campaign demo`: it ran in `home` (its data in home/var/demo), between
    `day_before` and `day_after` (days in the display time zone: the demo plans from today)."""

    home: Path
    returncode: int
    stdout: str
    stderr: str
    day_before: date
    day_after: date

    def save(self, path: Path) -> None:
        data = asdict(self) | {"home": str(self.home)}
        data |= {"day_before": self.day_before.isoformat(), "day_after": self.day_after.isoformat()}
        path.write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DemoRun:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            home=Path(data["home"]),
            returncode=data["returncode"],
            stdout=data["stdout"],
            stderr=data["stderr"],
            day_before=date.fromisoformat(data["day_before"]),
            day_after=date.fromisoformat(data["day_after"]),
        )


def today() -> date:
    return datetime.now(UTC).astimezone(ZONE).date()


def demo_env() -> dict[str, str]:
    """The environment of a newcomer's shell: none of our IFN_ settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}


def run_demo(home: Path, timeout: float = 300) -> DemoRun:
    """`ifn-campaign demo` run in `home`, as the README tells a newcomer to."""
    exe = Path(sys.executable).parent / "ifn-campaign"
    before = today()
    run = subprocess.run(
        [str(exe), "demo"],
        cwd=home,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return DemoRun(home, run.returncode, run.stdout, run.stderr, before, today())
