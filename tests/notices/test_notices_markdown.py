"""The notices flow's summary artifact (Prefect renders it as markdown): member ids, addresses
and servers' replies in it are data, never links, images, HTML or table columns."""

from __future__ import annotations

import re

from ifn_campaign.notices.delivery import SendReport, notices_markdown
from ifn_campaign.notices.outbox import QueueReport

HOSTILE = "ifn-1 ![x](https://evil.example/t.png) [klik](https://evil.example) <b>x</b> | y"


def test_member_text_in_the_summary_is_literal() -> None:
    queued = QueueReport()
    queued.skip(HOSTILE, "no e-mail allowed")
    sent = SendReport(
        failed=[(1, f"550 {HOSTILE}")],
        refused=[(2, f"address refused: {HOSTILE}")],
    )
    text = notices_markdown(queued, sent)
    for markup in ("![x](", "[klik](", "<b>"):
        assert markup not in text, markup
    assert not re.search(r"(?<!\\)\| y", text)  # a '|' of the member's opens no column
    assert text.count("\\!\\[x\\](https://evil.example/t.png)") == 3
    table = [line for line in text.splitlines() if line.startswith("| 1 ")]
    assert len(table) == 1 and table[0].count(" | ") == 2  # three cells, the reason in one
