"""The insights flow's markdown artifact shows what the platforms said as text: their error
messages are not ours, and the Prefect UI renders the artifact's markdown."""

from __future__ import annotations

from ifn_campaign.insights.reader import InsightsReport, Outcome, insights_markdown
from ifn_campaign.reports.markdown import escape_markdown


def test_the_summary_artifact_shows_the_platforms_words_as_text() -> None:
    detail = "(#100) ![seen](http://tracker.example/p.png)\n# all readings failed <b>x</b>"
    report = InsightsReport(outcomes=[Outcome(3, "instagram", "1h", "failed", detail)])
    markdown = insights_markdown(report)
    assert escape_markdown(detail) in markdown
    assert "![seen]" not in markdown and "\n# all readings" not in markdown
