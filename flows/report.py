"""`report`: the monthly campaign report, and the artifacts every campaign run leaves.

The pages (`ifn_campaign.reports.page.write_html`) go to `<report.dir>/<YYYY-MM>/index.html`
(Indonesian) and `index.en.html` (English), the PDF of the `lang` page beside them
(`laporan-ifn.pdf` or `ifn-report.pdf`; an absolute folder under the data folder, so a process
worker's temporary working folder never receives them; `out_dir` overrides report.dir, a
relative one under the data folder); the Prefect UI gets the summary (counts per state,
failures with what to do, the ledger), a table of the posts (member, channel, time, reason,
link), links to the rendered cards and `report-files`: links to the PDF and both pages (Prefect
artifacts hold markdown, not files). The PDF's gallery is capped at `report.pdf_cards` cards
(`report_pdf`); each step is logged, since a big month's PDF takes a while.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from flows.artifacts import markdown_artifact, table_artifact
from ifn_campaign.errors import IFNError
from ifn_campaign.models import utcnow
from ifn_campaign.orchestration.stages import report_pdf, report_stage
from ifn_campaign.reports.markdown import escape_markdown
from ifn_campaign.reports.page import (
    CampaignReport,
    card_links,
    month_window,
    posts_table,
    summary_markdown,
)
from ifn_campaign.reports.pdf import PDF_NAMES
from ifn_campaign.reports.words import PAGE_NAMES, check_lang
from ifn_campaign.wiring import Resources


def report_artifacts(report: CampaignReport, display_timezone: str, key: str) -> None:
    """The report in the Prefect UI: summary, posts table and card links (keys `key-...`)."""
    markdown_artifact(
        key=f"{key}-summary", markdown=summary_markdown(report, display_timezone=display_timezone)
    )
    table_artifact(
        key=f"{key}-posts",
        table=posts_table(report, display_timezone=display_timezone),
        description="Posts of the period: member, channel, time, reason, link",
    )
    markdown_artifact(
        key=f"{key}-cards", markdown=card_links(report, display_timezone=display_timezone)
    )


def files_markdown(label: str, page: Path, pdf: Path | None, failed: str | None) -> str:
    """The report's files for the Prefect UI, which keeps markdown, not files: the PDF and
    both pages as file:// links on the machine that ran the flow (or why the PDF is missing)."""
    lines = [f"# Report {label}: files", ""]
    if pdf is not None:
        lines.append(f"- PDF (A4): [{pdf.name}]({pdf.resolve().as_uri()})")
    else:
        lines.append(f"- PDF: not made ({escape_markdown(failed or 'not asked for')})")
    for name in PAGE_NAMES.values():
        html = page.parent / name
        lines.append(f"- page: [{name}]({html.resolve().as_uri()})")
    lines += ["", f"Folder: `{page.parent.resolve()}`"]
    return "\n".join(lines) + "\n"


@flow(name="report", retries=0)
def report(
    month: str | None = None,
    out_dir: str | None = None,
    config_path: str | None = None,
    lang: str = "id",
    pdf: bool = True,
) -> dict[str, Any]:
    """The report of `month` (YYYY-MM; default: last month) as pages in both languages, a PDF
    in `lang` and artifacts; a PDF that cannot be made fails the run after the pages and the
    artifacts (which say why) are made."""
    now = utcnow()
    chosen = check_lang(lang)
    logger = get_run_logger()
    with Resources.load(config_path) as res:
        settings = res.settings
        zone = settings.planner.display_timezone
        since, until = month_window(month, ZoneInfo(zone), now)
        label = since.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
        folder = (settings.path(out_dir) if out_dir else settings.report.dir) / label
        made, page = report_stage(
            res,
            since=since,
            until=until,
            out_dir=folder,
            now=now,
            lang=chosen,
            progress=logger.info,
        )
    report_artifacts(made, zone, "report")
    printed: Path | None = None
    failure: IFNError | None = None
    if pdf:
        try:
            printed = report_pdf(
                settings,
                made,
                page,
                folder / PDF_NAMES[chosen],
                now=now,
                lang=chosen,
                progress=logger.info,
            )
        except IFNError as exc:
            failure = exc
    markdown_artifact(
        key="report-files",
        markdown=files_markdown(label, page, printed, str(failure) if failure else None),
        description=f"The report of {label}: its PDF and pages",
    )
    logger.info("report %s: %s posts, page %s, PDF %s", label, len(made.posts), page, printed)
    if failure is not None:
        raise failure
    return {
        "month": label,
        "posts": len(made.posts),
        "page": str(page),
        "pdf": str(printed) if printed else None,
    }
