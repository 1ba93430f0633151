"""A notice through Apprise's WhatsApp Cloud API with a message template, as the how-to sets it up
(`whatsapp://TEMPLATE:TOKEN@PHONE_ID/{whatsapp}?:body=1`): the notice's text is the template's
variable, and Meta refuses a variable holding a line break, a tab or more than four spaces in a
row (error 132018). What Apprise posts to the Graph API is caught at `requests.post`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.insights.figures import Figures
from ifn_campaign.models import NoticeKind, NoticeMedium
from ifn_campaign.notices import apprise_send
from ifn_campaign.notices.compose import NoticeFacts, NoticeWriter

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TEMPLATE = "whatsapp://ifn_pemberitahuan:TOKEN@123456789/{whatsapp}?lang=id&:body=1"
PLAIN = "whatsapp://TOKEN@123456789/{whatsapp}"


class _Answer:
    status_code = 200
    content = b'{"messages": [{"id": "wamid.1"}]}'


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def post(url: str, data: str = "", **_kw: Any) -> _Answer:
        found.append(json.loads(data))
        return _Answer()

    monkeypatch.setattr(requests, "post", post)
    return found


def _short(kind: NoticeKind) -> tuple[str, str]:
    writer = NoticeWriter(Settings(member_page={"base_url": "https://ifn.example.org"}))
    facts = NoticeFacts(
        kind=kind,
        business_name="Sepatu Kulit Bu Ani",
        channel=Channel.INSTAGRAM,
        slot_at=AT,
        page_url="https://ifn.example.org/anggota/1.abc",
        unsubscribe_url="https://ifn.example.org/anggota/berhenti/x",
        permalink="https://www.instagram.com/p/RCPT123/",
        previous_slot_at=AT.replace(hour=10),
        caption_changed=True,
        account="bpipi",
        figures=Figures(1, "7d", AT, 12345, {"reach": 12345, "likes": 3}),
    )
    message = writer.compose(facts, "id", NoticeMedium.APPRISE, cid="c@x")
    return message.subject, message.text


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_a_template_variable_is_one_line_with_every_part_of_the_message(
    kind: NoticeKind, posted: list[dict[str, Any]]
) -> None:
    subject, text = _short(kind)
    assert "\n" in text  # the short message has its links on lines of their own
    sender = apprise_send.prepare(apprise_send.apprise_url(TEMPLATE, "6281234567890"))
    assert apprise_send.notify(sender, title=subject, body=text)
    [payload] = posted
    assert payload["to"] == "+6281234567890" and payload["type"] == "template"
    [parameter] = payload["template"]["components"][0]["parameters"]
    value = parameter["text"]
    assert not re.search(r"[\r\n\t]| {5,}", value), value
    assert len(value) <= 1024
    # nothing of the message lost: each of its lines is there, in order
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert value == " ".join(lines)


def test_a_plain_text_message_keeps_its_lines(posted: list[dict[str, Any]]) -> None:
    """Without a template (a member who wrote in the last day), WhatsApp takes free text: the
    message goes with its line breaks, its subject first as Apprise puts it."""
    subject, text = _short(NoticeKind.RECEIPT)
    sender = apprise_send.prepare(apprise_send.apprise_url(PLAIN, "6281234567890"))
    assert apprise_send.notify(sender, title=subject, body=text)
    [payload] = posted
    assert payload["type"] == "text"
    assert text.strip() in payload["text"]["body"] and "\n" in payload["text"]["body"]
