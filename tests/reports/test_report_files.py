"""The report's files are written whole or not at all: a disk that fills up (here a file size
limit, RLIMIT_FSIZE, so a write fails part way as on a full disk) while the monthly report is
rewritten leaves last run's pages and PDF as they were, never half a page or half a PDF, and no
temporary file behind."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.errors import FileAccessError
from ifn_campaign.reports.page import CampaignReport, collect, write_html
from ifn_campaign.reports.pdf import write_pdf
from tests.support.report_month import AS_OF, SINCE, UNTIL, build_month

ZONE = "Asia/Jakarta"
LIMIT = 4096  # bytes: far less than a page (its styles alone are more) or a PDF


@contextmanager
def _disk_fills_at(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes of a file fail with EFBIG (an OSError, as ENOSPC is) instead
    of killing the process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _report(engine: Engine) -> CampaignReport:
    with Session(engine) as session:
        build_month(session)
        return collect(
            session, since=SINCE, until=UNTIL, as_of=AS_OF, file=Path, display_timezone=ZONE
        )


@pytest.mark.slow
def test_a_full_disk_keeps_last_runs_pages_and_pdf_whole(engine: Engine, tmp_path: Path) -> None:
    report = _report(engine)
    tmp_path = tmp_path / "report"
    page = write_html(report, tmp_path, display_timezone=ZONE, made_at=AS_OF)
    pdf = write_pdf(page, tmp_path / "laporan-ifn.pdf")
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    assert set(before) == {"index.html", "index.en.html", "laporan-ifn.pdf"}
    later = AS_OF + timedelta(days=1)
    with _disk_fills_at(LIMIT), pytest.raises(FileAccessError, match="cannot write the report"):
        write_html(report, tmp_path, display_timezone=ZONE, made_at=later)
    with _disk_fills_at(LIMIT), pytest.raises(FileAccessError, match="PDF"):
        write_pdf(page, pdf)
    after = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    assert after.keys() == before.keys()  # no temporary file left behind
    for name, data in before.items():
        assert after[name] == data, f"{name} was cut to {len(after[name])} bytes"
